"""The hipcc compile action behind hip_library.

One position-independent object per source, linked by a plain cc_library
(offload.bzl, shared with rules_cuda). hipcc is the @local_rocm wrapper,
which pins HIP_PLATFORM=amd.
"""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load(":private/offload.bzl", "OBJECTS_ATTRS", "compile_each", "dependency_flags", "own_flags")

def _compile_impl(ctx):
    if ctx.file.hipcc == None:
        # Only reached in configurations where the target is incompatible.
        return [DefaultInfo(files = depset())]
    archs = ctx.attr.archs or ctx.attr._archs[BuildSettingInfo].value
    contexts = [d[CcInfo].compilation_context for d in ctx.attr.deps if CcInfo in d]

    args = ["-x", "hip", "-std=c++17", "-O3", "-fPIC"]
    args += ["--offload-arch=" + a.strip() for a in archs if a.strip()]
    args += dependency_flags(contexts, isystem_joined = False)
    args += own_flags(ctx)
    # hipcc is clang: host and device flags go to the same driver.
    args += ctx.attr._copts_flag[BuildSettingInfo].value + ctx.attr.copts + ctx.attr.host_copts

    headers = depset(ctx.files.hdrs, transitive = [c.headers for c in contexts])
    objects = compile_each(ctx, ctx.file.hipcc, args, [headers], "HipCompile", "HIP")
    return [DefaultInfo(files = depset(objects))]

_ATTRS = dict(OBJECTS_ATTRS)
_ATTRS.update({
    "srcs": attr.label_list(allow_files = [".hip", ".cu", ".cc", ".cpp"], doc = "HIP sources, one object each."),
    "archs": attr.string_list(doc = "Overrides @rules_hip//hip:archs for this target (offload archs, e.g. gfx90a)."),
    "hipcc": attr.label(
        allow_single_file = True,
        executable = True,
        cfg = "exec",
        doc = "The hipcc to run; None only where HIP is disabled (the target is then incompatible).",
    ),
    "_archs": attr.label(default = "@rules_hip//hip:archs", doc = "The --rocm_archs flag."),
    "_copts_flag": attr.label(default = "@rules_hip//hip:copts", doc = "Flag-wide hipcc flags."),
})

hip_objects = rule(
    implementation = _compile_impl,
    attrs = _ATTRS,
    doc = "Compiles HIP sources to PIC objects with hipcc (HIP_PLATFORM=amd).",
)
