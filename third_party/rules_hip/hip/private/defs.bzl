"""hip_library and requires_rocm(): what //hip:defs.bzl exports."""

load(":private/compile.bzl", _hip_objects_rule = "hip_objects")
load(":private/offload.bzl", "if_setting", "offload_library", "requires_setting")

_ENABLED = "@rules_hip//hip:is_enabled"

def requires_rocm():
    """target_compatible_with value for targets that need ROCm/HIP.

    While //hip:enable is false (the default) such targets are incompatible:
    `//...` skips them and nothing of @local_rocm (hipcc) is needed.
    """
    return requires_setting(_ENABLED, "@rules_hip//hip:hip_enabled_marker")

def hip_library(
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
    """HIP sources compiled by hipcc, linked like a cc_library."""
    offload_library(
        name = name,
        objects_rule = _hip_objects_rule,
        compiler_attr = "hipcc",
        compiler = if_setting(_ENABLED, "@local_rocm//:hipcc", None),
        runtime = if_setting(_ENABLED, ["@rules_hip//hip:runtime"], []),
        requires = requires_rocm(),
        objects_suffix = "_hip_objs",
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
