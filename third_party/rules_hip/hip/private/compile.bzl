"""The hipcc compile action behind hip_library (twin of rules_cuda's).

One position-independent object per source, linked by a plain cc_library.
hipcc is the @local_rocm wrapper, which pins HIP_PLATFORM=amd.
"""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

def _expand_includes(ctx, includes):
    out = []
    for inc in includes:
        path = ctx.label.package + ("/" + inc if inc not in ("", ".") else "")
        if ctx.label.workspace_root:
            path = ctx.label.workspace_root + "/" + path
        out += [path, ctx.bin_dir.path + "/" + path]
    return out

def _compile_impl(ctx):
    if ctx.file.hipcc == None:
        return [DefaultInfo(files = depset())]
    archs = ctx.attr.archs or ctx.attr._archs[BuildSettingInfo].value
    contexts = [d[CcInfo].compilation_context for d in ctx.attr.deps if CcInfo in d]

    args = ["-x", "hip", "-std=c++17", "-O3", "-fPIC"]
    args += ["--offload-arch=" + a.strip() for a in archs if a.strip()]
    for c in contexts:
        args += ["-D" + d for d in c.defines.to_list()]
        args += ["-I" + i for i in c.includes.to_list() + c.quote_includes.to_list()]
        for i in c.system_includes.to_list():
            args += ["-isystem", i]
    args += ["-D" + d for d in ctx.attr.defines + ctx.attr.local_defines]
    args += ["-I.", "-I" + ctx.bin_dir.path]
    args += ["-I" + i for i in _expand_includes(ctx, ctx.attr.includes)]
    args += ctx.attr._copts_flag[BuildSettingInfo].value + ctx.attr.copts + ctx.attr.host_copts

    headers = depset(ctx.files.hdrs, transitive = [c.headers for c in contexts])
    objects = []
    for src in ctx.files.srcs:
        obj = ctx.actions.declare_file("_objs/%s/%s.pic.o" % (ctx.label.name, src.basename.rsplit(".", 1)[0]))
        ctx.actions.run(
            executable = ctx.file.hipcc,
            arguments = args + ["-c", src.path, "-o", obj.path],
            inputs = depset([src], transitive = [headers]),
            outputs = [obj],
            mnemonic = "HipCompile",
            progress_message = "Compiling HIP %s" % src.short_path,
            use_default_shell_env = True,
        )
        objects.append(obj)
    return [DefaultInfo(files = depset(objects))]

hip_objects = rule(
    implementation = _compile_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".hip", ".cu", ".cc", ".cpp"]),
        "hdrs": attr.label_list(allow_files = True),
        "deps": attr.label_list(providers = [CcInfo]),
        "copts": attr.string_list(),
        "host_copts": attr.string_list(),
        "defines": attr.string_list(),
        "local_defines": attr.string_list(),
        "includes": attr.string_list(),
        "archs": attr.string_list(doc = "Overrides @rules_hip//hip:archs for this target."),
        "hipcc": attr.label(allow_single_file = True, executable = True, cfg = "exec"),
        "_archs": attr.label(default = "@rules_hip//hip:archs"),
        "_copts_flag": attr.label(default = "@rules_hip//hip:copts"),
    },
    doc = "Compiles HIP sources to PIC objects with hipcc (HIP_PLATFORM=amd).",
)
