"""The nvcc compile action behind cuda_library.

Each source becomes one position-independent object (.pic.o) that a plain
cc_library then links, so CUDA code joins the C++ graph like any object
(the shared part is @rules_hip//hip:private/offload.bzl).

Sandbox note: Bazel < 7's linux-sandbox shares /tmp between actions and gives
every action the same tiny PID, and nvcc names its temp files by PID, so two
parallel compiles can delete each other's files. `-objtemp` makes nvcc keep
its intermediates next to the (unique) output object instead.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")
load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("@rules_hip//hip:private/offload.bzl", "OBJECTS_ATTRS", "compile_each", "dependency_flags", "own_flags")
load(":private/archs.bzl", "ArchsInfo", "gencode_flags", "parse_archs")

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
    args += dependency_flags(contexts, isystem_joined = True)
    args += own_flags(ctx)
    args += ctx.attr._copts_flag[BuildSettingInfo].value + ctx.attr.copts
    for h in ctx.attr._host_copts_flag[BuildSettingInfo].value + ctx.attr.host_copts:
        args += ["-Xcompiler", h]

    headers = depset(ctx.files.hdrs, transitive = [c.headers for c in contexts])
    objects = compile_each(ctx, ctx.file.nvcc, args, [headers, cc_toolchain.all_files], "CudaCompile", "CUDA")
    return [DefaultInfo(files = depset(objects))]

_ATTRS = dict(OBJECTS_ATTRS)
_ATTRS.update({
    "srcs": attr.label_list(allow_files = [".cu", ".cc", ".cpp"], doc = "CUDA sources, one object each."),
    "archs": attr.string_list(doc = "Overrides @rules_cuda//cuda:archs for this target (same spec syntax)."),
    "nvcc": attr.label(
        allow_single_file = True,
        executable = True,
        cfg = "exec",
        doc = "The nvcc to run; None only where CUDA is disabled (the target is then incompatible).",
    ),
    "_archs": attr.label(default = "@rules_cuda//cuda:archs", doc = "The --cuda_archs flag."),
    "_copts_flag": attr.label(default = "@rules_cuda//cuda:copts", doc = "Flag-wide nvcc flags."),
    "_host_copts_flag": attr.label(default = "@rules_cuda//cuda:host_copts", doc = "Flag-wide host compiler flags."),
    "_cc_toolchain": attr.label(
        default = "@bazel_tools//tools/cpp:current_cc_toolchain",
        doc = "The C++ toolchain whose compiler nvcc drives (-ccbin).",
    ),
})

cuda_objects = rule(
    implementation = _compile_impl,
    attrs = _ATTRS,
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
    doc = "Compiles CUDA sources to PIC objects with the configured nvcc.",
)
