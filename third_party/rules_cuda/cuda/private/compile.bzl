"""The nvcc compile action behind cuda_library.

Each source becomes one position-independent object (.pic.o) that a plain
cc_library then links, so CUDA code joins the C++ graph like any object.

Sandbox note: Bazel < 7's linux-sandbox shares /tmp between actions and gives
every action the same tiny PID, and nvcc names its temp files by PID, so two
parallel compiles can delete each other's files. `-objtemp` makes nvcc keep
its intermediates next to the (unique) output object instead.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")
load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load(":private/archs.bzl", "ArchsInfo", "gencode_flags", "parse_archs")

def _expand_includes(ctx, includes):
    # Package-relative include dirs, in the source tree and in bin/genfiles.
    out = []
    for inc in includes:
        path = ctx.label.package + ("/" + inc if inc not in ("", ".") else "")
        if ctx.label.workspace_root:
            path = ctx.label.workspace_root + "/" + path
        out += [path, ctx.bin_dir.path + "/" + path]
    return out

def _compile_impl(ctx):
    if ctx.file.nvcc == None:
        # Only reached in configurations where the target is incompatible.
        return [DefaultInfo(files = depset())]
    cc_toolchain = find_cpp_toolchain(ctx)
    pairs = parse_archs(",".join(ctx.attr.archs)) if ctx.attr.archs else ctx.attr._archs[ArchsInfo].pairs
    contexts = [d[CcInfo].compilation_context for d in ctx.attr.deps if CcInfo in d]

    args = ["-x", "cu", "-std=c++17", "-O3", "-objtemp", "--expt-relaxed-constexpr"]
    args += ["-ccbin", cc_toolchain.compiler_executable, "-Xcompiler", "-fPIC"]
    args += gencode_flags(pairs)
    for c in contexts:
        args += ["-D" + d for d in c.defines.to_list()]
        args += ["-I" + i for i in c.includes.to_list() + c.quote_includes.to_list()]
        args += ["-isystem=" + i for i in c.system_includes.to_list()]
    args += ["-D" + d for d in ctx.attr.defines + ctx.attr.local_defines]
    args += ["-I.", "-I" + ctx.bin_dir.path]
    args += ["-I" + i for i in _expand_includes(ctx, ctx.attr.includes)]
    args += ctx.attr._copts_flag[BuildSettingInfo].value + ctx.attr.copts
    for h in ctx.attr._host_copts_flag[BuildSettingInfo].value + ctx.attr.host_copts:
        args += ["-Xcompiler", h]

    headers = depset(ctx.files.hdrs, transitive = [c.headers for c in contexts])
    objects = []
    for src in ctx.files.srcs:
        obj = ctx.actions.declare_file("_objs/%s/%s.pic.o" % (ctx.label.name, src.basename.rsplit(".", 1)[0]))
        ctx.actions.run(
            executable = ctx.file.nvcc,
            arguments = args + ["-c", src.path, "-o", obj.path],
            inputs = depset([src], transitive = [headers, cc_toolchain.all_files]),
            outputs = [obj],
            mnemonic = "CudaCompile",
            progress_message = "Compiling CUDA %s" % src.short_path,
            # nvcc finds its host compiler's helpers through PATH.
            use_default_shell_env = True,
        )
        objects.append(obj)
    return [DefaultInfo(files = depset(objects))]

cuda_objects = rule(
    implementation = _compile_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".cu", ".cc", ".cpp"]),
        "hdrs": attr.label_list(allow_files = True),
        "deps": attr.label_list(providers = [CcInfo]),
        "copts": attr.string_list(),
        "host_copts": attr.string_list(),
        "defines": attr.string_list(),
        "local_defines": attr.string_list(),
        "includes": attr.string_list(),
        "archs": attr.string_list(doc = "Overrides @rules_cuda//cuda:archs for this target."),
        "nvcc": attr.label(allow_single_file = True, executable = True, cfg = "exec"),
        "_archs": attr.label(default = "@rules_cuda//cuda:archs"),
        "_copts_flag": attr.label(default = "@rules_cuda//cuda:copts"),
        "_host_copts_flag": attr.label(default = "@rules_cuda//cuda:host_copts"),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
    doc = "Compiles CUDA sources to PIC objects with the configured nvcc.",
)
