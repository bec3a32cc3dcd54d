"""@rules_hip: the HIP twin of @rules_cuda's cuda_library (upstream has none).

hip_library takes cuda_library's attribute names, so rocm/ reads like cuda/.
Flags: //hip:archs (default gfx90a,gfx940; `--rocm_archs` alias),
//hip:enable, //hip:copts.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")
load(":private/compile.bzl", _hip_objects = "hip_objects")

def _enabled(then, otherwise):
    return select({"@rules_hip//hip:is_enabled": then, "//conditions:default": otherwise})

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
    _hip_objects(
        name = name + "_hip_objs",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        copts = copts,
        host_copts = host_copts,
        defines = defines,
        local_defines = local_defines,
        includes = includes,
        archs = archs,
        hipcc = _enabled("@local_rocm//:hipcc", None),
        target_compatible_with = _enabled([], ["@rules_hip//hip:hip_enabled_marker"]) + target_compatible_with,
        visibility = ["//visibility:private"],
        tags = attrs.get("tags", []),
    )
    cc_library(
        name = name,
        srcs = [":" + name + "_hip_objs"],
        hdrs = hdrs,
        deps = deps + _enabled(["@rules_hip//hip:runtime"], []),
        defines = defines,
        includes = includes,
        alwayslink = alwayslink,
        linkstatic = True,
        target_compatible_with = _enabled([], ["@rules_hip//hip:hip_enabled_marker"]) + target_compatible_with,
        **attrs
    )
