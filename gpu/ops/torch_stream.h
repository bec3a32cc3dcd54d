// torch's current GPU stream for a device, for the plain C++ registration
// files of the GPU backends (never for nvcc/hipcc translation units: the shim
// header pulls in thrust there, see launch.h).
//
// ROCm torch keeps CUDA's names on this side of the ABI: its devices are
// "cuda:N" and libtorch_hip exports the same aoti_torch_get_current_cuda_stream,
// returning a hipStream_t. The shim declares the getter only under USE_CUDA,
// which the registration targets define (cuda/ and rocm/ BUILD files).
#pragma once

#include <cstdint>

#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/headeronly/util/Exception.h>

#ifndef USE_CUDA
#error "gpu/ops/torch_stream.h needs USE_CUDA (shim.h hides the stream getter without it)"
#endif

namespace groupquant {
namespace gpu {

inline void* torch_current_stream(int32_t device) {
  void* stream = nullptr;
  STD_TORCH_CHECK(
      aoti_torch_get_current_cuda_stream(device, &stream) == AOTI_TORCH_SUCCESS,
      "groupquant: could not get torch's current stream of cuda:", device);
  return stream;
}

}  // namespace gpu
}  // namespace groupquant
