// The few things the shared GPU kernel body needs that are spelled
// differently by CUDA (nvcc) and HIP (hipcc, ROCm 5.2 on gfx90a/gfx94x).
// Everything else in quant_kernel.cuh is plain C++ that both compilers accept
// unchanged, so this header is the whole porting surface.
#pragma once

#include <cstdint>

#if defined(__HIPCC__)
#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>
#define GQ_PLATFORM_HIP 1
#else
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define GQ_PLATFORM_HIP 0
#endif

// The sm_89+ hardware float->e4m3 conversion. It is only used where the
// exhaustive check (tools/gpu/gpu_encode_check.cu) showed it equals
// gq_encode_e4m3fn on every float; -DGQ_NO_HW_E4M3 turns it off.
#if !GQ_PLATFORM_HIP && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890 && \
    !defined(GQ_NO_HW_E4M3)
#define GQ_HW_E4M3 1
#else
#define GQ_HW_E4M3 0
#endif

namespace groupquant {
namespace gpu {

#if GQ_PLATFORM_HIP
using Stream = hipStream_t;
using Error = hipError_t;
constexpr Error kSuccess = hipSuccess;
// gfx90a and gfx94x run 64-lane wavefronts. Nothing in the kernels depends
// on it beyond the loop bookkeeping; reductions use sub-groups of <= 16.
constexpr int kWarpSize = 64;
inline const char* error_string(Error e) { return hipGetErrorString(e); }
inline Error last_error() { return hipGetLastError(); }
inline Error get_device(int* d) { return hipGetDevice(d); }
inline Error set_device(int d) { return hipSetDevice(d); }
inline Error multiprocessor_count(int device, int* n) {
  return hipDeviceGetAttribute(n, hipDeviceAttributeMultiprocessorCount,
                               device);
}
inline Error memory_clock_and_bus(int device, int* khz, int* bits) {
  const Error e =
      hipDeviceGetAttribute(khz, hipDeviceAttributeMemoryClockRate, device);
  if (e != kSuccess) return e;
  return hipDeviceGetAttribute(bits, hipDeviceAttributeMemoryBusWidth, device);
}
template <typename Kernel>
inline Error resident_blocks_per_sm(Kernel kernel, int block, int* n) {
  return hipOccupancyMaxActiveBlocksPerMultiprocessor(n, kernel, block, 0);
}
#else
using Stream = cudaStream_t;
using Error = cudaError_t;
constexpr Error kSuccess = cudaSuccess;
constexpr int kWarpSize = 32;
inline const char* error_string(Error e) { return cudaGetErrorString(e); }
inline Error last_error() { return cudaGetLastError(); }
inline Error get_device(int* d) { return cudaGetDevice(d); }
inline Error set_device(int d) { return cudaSetDevice(d); }
inline Error multiprocessor_count(int device, int* n) {
  return cudaDeviceGetAttribute(n, cudaDevAttrMultiProcessorCount, device);
}
inline Error memory_clock_and_bus(int device, int* khz, int* bits) {
  const Error e = cudaDeviceGetAttribute(khz, cudaDevAttrMemoryClockRate, device);
  if (e != kSuccess) return e;
  return cudaDeviceGetAttribute(bits, cudaDevAttrGlobalMemoryBusWidth, device);
}
template <typename Kernel>
inline Error resident_blocks_per_sm(Kernel kernel, int block, int* n) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(n, kernel, block, 0);
}
#endif

// The device memory's peak bandwidth in GB/s (two transfers per clock over
// the bus), or 0 where the runtime does not say.
inline int peak_memory_gbps(int device) {
  int khz = 0, bits = 0;
  if (memory_clock_and_bus(device, &khz, &bits) != kSuccess || khz <= 0 ||
      bits <= 0) {
    (void)last_error();  // clear it: an unknown bandwidth is not an error
    return 0;
  }
  return static_cast<int>(2 * static_cast<int64_t>(khz) * bits / 8 / 1000000);
}

// Makes `device` current for the launch and restores the caller's device
// afterwards, so a call on cuda:1 from a thread whose current device is
// cuda:0 launches where the tensors live and leaves the caller undisturbed.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    status_ = get_device(&previous_);
    if (status_ == kSuccess && previous_ != device) {
      status_ = set_device(device);
      switched_ = status_ == kSuccess;
    }
  }
  ~DeviceGuard() {
    if (switched_) (void)set_device(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  Error status() const { return status_; }

 private:
  int previous_ = -1;
  bool switched_ = false;
  Error status_ = kSuccess;
};

// Launches and reports the launch error (bad configuration, no kernel image
// for this device), which would otherwise surface at some later call.
template <typename... KArgs, typename... Args>
inline Error launch(void (*kernel)(KArgs...), unsigned grid, unsigned block,
                    Stream stream, Args... args) {
  kernel<<<grid, block, 0, stream>>>(args...);
  return last_error();
}

// XOR butterfly among `width` consecutive lanes (width a power of two <= 16).
// The explicit width keeps the exchange inside a sub-group on both 32- and
// 64-lane hardware. Every lane of the warp must call it (full mask on CUDA;
// HIP has no mask and requires the same).
__device__ inline float shfl_xor(float v, int lane_mask, int width) {
#if GQ_PLATFORM_HIP
  return __shfl_xor(v, lane_mask, width);
#else
  return __shfl_xor_sync(0xFFFFFFFFu, v, lane_mask, width);
#endif
}

// Whether `pred` holds on any lane of the warp. Every lane of the warp must
// call it, like shfl_xor: it is what lets a warp skip work whose shuffles
// would otherwise need all of its lanes.
__device__ inline bool warp_any(bool pred) {
#if GQ_PLATFORM_HIP
  return __any(pred);
#else
  return __any_sync(0xFFFFFFFFu, pred);
#endif
}

// Whether `pred` holds on every lane of the warp; every lane must call it.
__device__ inline bool warp_all(bool pred) {
#if GQ_PLATFORM_HIP
  return __all(pred);
#else
  return __all_sync(0xFFFFFFFFu, pred);
#endif
}

// 16-byte global load of read-only input: one LDG.128 (CUDA) /
// global_load_dwordx4 (AMD). The caller guarantees 16-byte alignment.
// -DGQ_LOAD_L2_PREFETCH (CUDA, sm_80+) adds the no-L1-allocate and 256-byte
// L2 prefetch hints: each group is read once, in whole 256-byte runs.
__device__ inline uint4 load16(const void* p) {
#if GQ_PLATFORM_HIP
  return *static_cast<const uint4*>(p);
#elif defined(GQ_LOAD_L2_PREFETCH) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint4 r;
  asm volatile(
      "ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p));
  return r;
#else
  return __ldg(static_cast<const uint4*>(p));
#endif
}

// 8-byte load of read-only input (fused_small_kernel's half vectors). The
// caller guarantees 8-byte alignment.
__device__ inline uint2 load8(const void* p) {
#if GQ_PLATFORM_HIP
  return *static_cast<const uint2*>(p);
#else
  return __ldg(static_cast<const uint2*>(p));
#endif
}

// Stores of the quantized bytes, never read again by this kernel.
// -DGQ_STORE_STREAMING (CUDA) marks them evict-first (st.global.cs).
__device__ inline void store8(void* p, uint32_t a, uint32_t b) {
#if !GQ_PLATFORM_HIP && defined(GQ_STORE_STREAMING)
  __stcs(static_cast<uint2*>(p), make_uint2(a, b));
#else
  *static_cast<uint2*>(p) = make_uint2(a, b);
#endif
}

__device__ inline void store4(void* p, uint32_t a) {
#if !GQ_PLATFORM_HIP && defined(GQ_STORE_STREAMING)
  __stcs(static_cast<unsigned int*>(p), a);
#else
  *static_cast<uint32_t*>(p) = a;
#endif
}

// Exact fp16 -> fp32 (every half, subnormals included, is a float).
__device__ inline float half_bits_to_float(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}

}  // namespace gpu
}  // namespace groupquant
