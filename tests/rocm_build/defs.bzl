"""`hip_archs_file`: the --rocm_archs value as a file, for tests to read."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

def _hip_archs_file_impl(ctx):
    archs = [a.strip() for a in ctx.attr._archs[BuildSettingInfo].value if a.strip()]
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, "".join([a + "\n" for a in archs]))
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

hip_archs_file = rule(
    implementation = _hip_archs_file_impl,
    attrs = {
        "_archs": attr.label(default = "@rules_hip//hip:archs", doc = "The --rocm_archs flag."),
    },
    doc = "Writes <name>.txt: the @rules_hip//hip:archs offload archs, one per line.",
)
