"""cuda_library, cuda_objects and requires_cuda(): what //cuda:defs.bzl exports."""

load("@rules_hip//hip:private/offload.bzl", "if_setting", "offload_library", "requires_setting")
load(":private/compile.bzl", _cuda_objects_rule = "cuda_objects")

_ENABLED = "@rules_cuda//cuda:is_enabled"

def requires_cuda():
    """target_compatible_with value for targets that need CUDA.

    While //cuda:enable is false (the default here) such targets are
    incompatible: `//...` skips them and naming one fails with the reason.
    """
    return requires_setting(_ENABLED, "@rules_cuda//cuda:cuda_enabled_marker")

def _nvcc():
    return if_setting(_ENABLED, "@local_cuda//:nvcc", None)

def cuda_objects(name, **attrs):
    """The objects alone (no linking); attributes as cuda_library's."""
    _cuda_objects_rule(name = name, nvcc = _nvcc(), **attrs)

def cuda_library(
        name,
        srcs = [],
        hdrs = [],
        deps = [],
        copts = [],
        host_copts = [],
        defines = [],
        local_defines = [],
        includes = [],
        alwayslink = False,
        archs = [],
        target_compatible_with = [],
        **attrs):
    """CUDA sources compiled by nvcc, linked like a cc_library (static cudart)."""
    offload_library(
        name = name,
        objects_rule = _cuda_objects_rule,
        compiler_attr = "nvcc",
        compiler = _nvcc(),
        runtime = if_setting(_ENABLED, ["@rules_cuda//cuda:runtime"], []),
        requires = requires_cuda(),
        objects_suffix = "_cu_objs",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        copts = copts,
        host_copts = host_copts,
        defines = defines,
        local_defines = local_defines,
        includes = includes,
        alwayslink = alwayslink,
        archs = archs,
        target_compatible_with = target_compatible_with,
        **attrs
    )
