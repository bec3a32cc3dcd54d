// Exhaustive proof obligations for the hardware conversions that the CUDA
// kernels use in place of the shared software encoders (encode_pair in
// gpu/device/quant_kernel.cuh), each over all 2^32 float bit patterns and in
// both byte positions of a pair:
//   e4m3fn    cvt.rn.satfinite.e4m3x2.f32     == gq_encode_e4m3fn(v)
//   e4m3fnuz  the same on 2v, with fix-ups    == gq_encode_e4m3fnuz(clamp(v, -224, 224))
//   int8      cvt.rni.s32.f32 + integer clamp == gq_encode_int8(v)
// Exit status 0 only when every byte matches and the hardware paths were
// compiled in. Build:
//   nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -I. \
//        tools/gpu/gpu_encode_check.cu -o gpu_encode_check
#include <cstdint>
#include <cstdio>

#include "gpu/device/quant_kernel.cuh"

using groupquant::QuantFormat;
namespace gq = groupquant;

template <QuantFormat F>
__device__ uint32_t software(float v) {
  if constexpr (F == QuantFormat::kE4M3FN) {
    return gq::gq_encode_e4m3fn(v);
  } else if constexpr (F == QuantFormat::kE4M3FNUZ) {
    return gq::gq_encode_e4m3fnuz(gq::gq_clamp_keep_nan(v, -224.f, 224.f));
  } else {
    return static_cast<uint8_t>(gq::gq_encode_int8(v));
  }
}

template <QuantFormat F>
__global__ void compare_all(unsigned long long* mismatches,
                            unsigned int* first_bad) {
  constexpr bool kAlt = F == QuantFormat::kE4M3FNUZ;
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  unsigned long long bad = 0;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x +
                    threadIdx.x;
       i < (1ull << 32); i += stride) {
    const uint32_t b = static_cast<uint32_t>(i);
    // Pair each pattern with its bit reversal so that both the low-byte and
    // the high-byte slot see every pattern over the sweep.
    const float lo = __uint_as_float(b);
    const float hi = __uint_as_float(__brev(b));
    const uint32_t got = gq::gpu::encode_pair<F, kAlt>(lo, hi);
    const uint32_t want = software<F>(lo) | (software<F>(hi) << 8);
    if (got != want) {
      ++bad;
      atomicMin(first_bad, b);
    }
  }
  if (bad) atomicAdd(mismatches, bad);
}

__global__ void hw_flag(int* out) { *out = GQ_HW_E4M3; }

// pow2_reciprocal against the IEEE division for every power of two and +Inf.
__global__ void check_reciprocals(int* bad) {
  const uint32_t e = threadIdx.x;  // biased exponent 1..255
  if (e == 0) return;
  const float s = __uint_as_float(e << 23);
  if (__float_as_uint(gq::gpu::pow2_reciprocal(s)) !=
      __float_as_uint(__fdiv_rn(1.f, s))) {
    atomicAdd(bad, 1);
  }
}

template <QuantFormat F>
bool run(const char* name) {
  unsigned long long* d_mis;
  unsigned int* d_first;
  cudaMalloc(&d_mis, sizeof(*d_mis));
  cudaMalloc(&d_first, sizeof(*d_first));
  cudaMemset(d_mis, 0, sizeof(*d_mis));
  cudaMemset(d_first, 0xFF, sizeof(*d_first));
  compare_all<F><<<132 * 16, 256>>>(d_mis, d_first);
  const cudaError_t e = cudaDeviceSynchronize();
  unsigned long long mis = 0;
  unsigned int first = 0;
  cudaMemcpy(&mis, d_mis, sizeof(mis), cudaMemcpyDeviceToHost);
  cudaMemcpy(&first, d_first, sizeof(first), cudaMemcpyDeviceToHost);
  cudaFree(d_mis);
  cudaFree(d_first);
  if (e != cudaSuccess) {
    std::printf("%-9s CUDA error %s\n", name, cudaGetErrorString(e));
    return false;
  }
  if (mis == 0) {
    std::printf("%-9s 0 mismatching pairs of 2^32 (bit-identical)\n", name);
  } else {
    std::printf("%-9s %llu mismatching pairs of 2^32, first bad pattern 0x%08X\n",
                name, mis, first);
  }
  return mis == 0;
}

int main() {
  int* d_hw;
  int hw = -1;
  cudaMalloc(&d_hw, sizeof(*d_hw));
  hw_flag<<<1, 1>>>(d_hw);
  cudaMemcpy(&hw, d_hw, sizeof(hw), cudaMemcpyDeviceToHost);
  std::printf("encode check: hardware e4m3 path %s\n",
              hw == 1 ? "compiled in" : "NOT compiled in");
  bool ok = hw == 1;
  int* d_bad;
  int bad = -1;
  cudaMalloc(&d_bad, sizeof(*d_bad));
  cudaMemset(d_bad, 0, sizeof(*d_bad));
  check_reciprocals<<<1, 256>>>(d_bad);
  cudaMemcpy(&bad, d_bad, sizeof(bad), cudaMemcpyDeviceToHost);
  std::printf("1/2^e     %d mismatches of 255 exponents\n", bad);
  ok &= bad == 0;
  ok &= run<QuantFormat::kE4M3FN>("e4m3fn");
  ok &= run<QuantFormat::kE4M3FNUZ>("e4m3fnuz");
  ok &= run<QuantFormat::kInt8>("int8");
  return ok ? 0 : 1;
}
