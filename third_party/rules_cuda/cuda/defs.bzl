"""Stand-in for @rules_cuda (upstream public face: //cuda:defs.bzl).

Upstream rules_cuda needs a newer Bazel and a download; this mirrors the
subset groupquant uses with upstream's names: cuda_library / cuda_objects
with attributes srcs, hdrs, deps, copts, host_copts, defines, local_defines,
includes, alwayslink, archs; flags //cuda:archs, //cuda:enable, //cuda:copts,
//cuda:host_copts. With //cuda:enable false (the default here; upstream
defaults to auto-detect) every cuda_library is incompatible, so `//...`
skips it and no CUDA toolkit is ever fetched.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")
load(":private/compile.bzl", _cuda_objects = "cuda_objects")

def _enabled(then, otherwise):
    return select({"@rules_cuda//cuda:is_enabled": then, "//conditions:default": otherwise})

def cuda_objects(name, **attrs):
    _cuda_objects(name = name, nvcc = _enabled("@local_cuda//:nvcc", None), **attrs)

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
    _cuda_objects(
        name = name + "_cu_objs",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        copts = copts,
        host_copts = host_copts,
        defines = defines,
        local_defines = local_defines,
        includes = includes,
        archs = archs,
        nvcc = _enabled("@local_cuda//:nvcc", None),
        target_compatible_with = _enabled([], ["@rules_cuda//cuda:cuda_enabled_marker"]) + target_compatible_with,
        visibility = ["//visibility:private"],
        tags = attrs.get("tags", []),
    )
    cc_library(
        name = name,
        srcs = [":" + name + "_cu_objs"],
        hdrs = hdrs,
        deps = deps + _enabled(["@rules_cuda//cuda:runtime"], []),
        defines = defines,
        includes = includes,
        alwayslink = alwayslink,
        linkstatic = True,
        target_compatible_with = _enabled([], ["@rules_cuda//cuda:cuda_enabled_marker"]) + target_compatible_with,
        **attrs
    )
