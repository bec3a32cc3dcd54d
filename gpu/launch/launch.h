// The device half of a GPU backend's op call, shared by the CUDA (nvcc) and
// HIP (hipcc) launchers: make the problem's device current, run the shared
// dispatcher on the caller's stream, and turn a launch failure into a
// RuntimeError at this call rather than at some later, unrelated one.
//
// The stream comes in as a pointer from torch (gpu/ops/torch_stream.h, plain
// C++): torch's stream getter lives in the AOTI shim, whose headers pull in
// thrust under a GPU compiler, and ROCm 5.2 as packaged by Debian has no
// rocThrust. Only torch's header-only exception macro is used here.
#pragma once

#include <atomic>

#include <torch/headeronly/util/Exception.h>

#include "gpu/launch/fused_launch.cuh"
#include "gpu/device/portability.h"
#include "gpu/launch/quant_launch.cuh"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace gpu {

#if GQ_PLATFORM_HIP
constexpr const char* kPlatformName = "HIP";
#else
constexpr const char* kPlatformName = "CUDA";
#endif

// The grid is sized from the multiprocessor (CU) count, and the plain
// kernels' shape from the memory's peak bandwidth; asking the runtime on
// every call would cost more host time than a small kernel runs, so each is
// read once per device. A function-local static in an inline function is one
// object per shared library, whichever files include this header.
constexpr int kMaxCachedDevices = 64;

template <typename Read>
inline int cached_device_value(std::atomic<int>* slots, int device, Read read) {
  const bool cacheable = device >= 0 && device < kMaxCachedDevices;
  if (cacheable) {
    const int cached = slots[device].load(std::memory_order_relaxed);
    if (cached > 0) return cached;
  }
  const int v = read();
  if (cacheable && v > 0) slots[device].store(v, std::memory_order_relaxed);
  return v;
}

inline int cached_multiprocessor_count(int device) {
  static std::atomic<int> counts[kMaxCachedDevices];
  return cached_device_value(counts, device, [device] {
    int n = 0;
    const Error e = multiprocessor_count(device, &n);
    STD_TORCH_CHECK(e == kSuccess && n > 0,
                    "groupquant: could not read the multiprocessor count of "
                    "cuda:", device, ": ", error_string(e));
    return n;
  });
}

// 0 (not cached, read again next call) where the runtime does not say.
inline int cached_peak_memory_gbps(int device) {
  static std::atomic<int> gbps[kMaxCachedDevices];
  return cached_device_value(gbps, device,
                             [device] { return peak_memory_gbps(device); });
}

// Quantizes a validated problem on `stream` (a cudaStream_t / hipStream_t of
// the problem's device). Empty problems return before touching the runtime.
inline void launch_on_stream(const QuantProblem& problem, void* stream) {
  if (problem.empty()) return;
  const int device = problem.device_index;
  DeviceGuard guard(device);
  STD_TORCH_CHECK(guard.status() == kSuccess,
                  "groupquant: could not make cuda:", device,
                  " the current device: ", error_string(guard.status()));
  // Fused / masked problems take their own kernels (fused_launch.cuh), so
  // the plain ones stay exactly as tuned.
  const int sms = cached_multiprocessor_count(device);
  const int gbps = cached_peak_memory_gbps(device);
  const Error e =
      problem.fused_or_masked()
          ? launch_fused(problem, static_cast<Stream>(stream), sms)
          : launch_quant(problem, static_cast<Stream>(stream), sms, gbps);
  STD_TORCH_CHECK(e == kSuccess, "groupquant: ", kPlatformName,
                  " kernel launch failed on cuda:", device, ": ",
                  error_string(e));
}

}  // namespace gpu
}  // namespace groupquant
