"""@rules_hip: the HIP twin of @rules_cuda's cuda_library (upstream has none).

hip_library takes cuda_library's attribute names, so rocm/ reads like cuda/;
requires_rocm() is requires_cuda()'s twin for target_compatible_with.
Flags: //hip:archs (default gfx90a,gfx940; `--rocm_archs` alias),
//hip:enable, //hip:copts. This file only re-exports from private/.
"""

load(
    ":private/defs.bzl",
    _hip_library = "hip_library",
    _requires_rocm = "requires_rocm",
)

hip_library = _hip_library
requires_rocm = _requires_rocm
