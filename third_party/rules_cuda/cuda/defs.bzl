"""Stand-in for @rules_cuda (upstream public face: //cuda:defs.bzl).

Upstream rules_cuda needs a newer Bazel and a download; this mirrors the
subset groupquant uses with upstream's names: cuda_library / cuda_objects
with attributes srcs, hdrs, deps, copts, host_copts, defines, local_defines,
includes, alwayslink, archs; requires_cuda() for target_compatible_with;
flags //cuda:archs, //cuda:enable, //cuda:copts, //cuda:host_copts. With
//cuda:enable false (the default here; upstream defaults to auto-detect)
every cuda_library is incompatible, so `//...` skips it and no CUDA toolkit
is ever fetched. As upstream, this file only re-exports from private/.
"""

load(
    ":private/defs.bzl",
    _cuda_library = "cuda_library",
    _cuda_objects = "cuda_objects",
    _requires_cuda = "requires_cuda",
)

cuda_library = _cuda_library
cuda_objects = _cuda_objects
requires_cuda = _requires_cuda
