// Exhaustive check of gq_div_by_rcp (csrc/quant_math.h) against the IEEE
// division __fdiv_rn, over all 2^32 float32 dividends x for each of a few
// hundred adversarial divisors s. The kernels use it in two places, and each
// has its own obligation (docs/exact_division.md):
//
//  * element division x / s, s a group scale in [2^-90, 2^90]:
//    (a) the fp32 quotient equals __fdiv_rn(x, s) bit for bit wherever
//        2^-12 <= |x / s| <= 2^20 (NaN compared as NaN);
//    (b) the encoded byte of clamp(quotient) equals that of the IEEE quotient
//        for e4m3fn, e4m3fnuz and int8 wherever |x / s| <= 2^20 (a group's
//        quotients never exceed qmax <= 448 in magnitude);
//  * scale division a / qmax, qmax in {448, 240, 224, 127}: the quotient
//    equals __fdiv_rn(a, qmax) bit for bit for every a in [2^-80, FLT_MAX].
//
// Mismatches outside those domains are counted and printed, not failed.
// Exit status 0 only when every obligation holds. Build and run:
//   nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -I. \
//        tools/gpu/gpu_division_check.cu -o gpu_division_check
//   ./gpu_division_check [--json out.json]
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "csrc/quant_math.h"

namespace gq = groupquant;

struct Counts {
  unsigned long long hard;       // obligation broken
  unsigned long long soft;       // fp32 differs outside the domain
  unsigned long long bytes_bad;  // encoded byte differs inside |q| <= 2^20
  unsigned int first_hard;       // smallest x pattern breaking it
};

__device__ inline bool same_float(float a, float b) {
  return __float_as_uint(a) == __float_as_uint(b) || (a != a && b != b);
}

template <bool kScaleDivision>
__global__ void sweep(float s, Counts* out) {
  const float r = gq::gq_rcp_rn(s);
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  unsigned long long hard = 0, soft = 0, bytes_bad = 0;
  unsigned int first = 0xFFFFFFFFu;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x +
                    threadIdx.x;
       i < (1ull << 32); i += stride) {
    const uint32_t bits = static_cast<uint32_t>(i);
    const float x = __uint_as_float(bits);
    const float want = __fdiv_rn(x, s);
    const float got = gq::gq_div_by_rcp(x, s, r);
    const bool equal = same_float(want, got);
    const float aw = fabsf(want);
    if (kScaleDivision) {
      const float ax = fabsf(x);
      const bool in_domain = ax >= 0x1p-80f && ax <= 3.40282347e38f;
      if (!equal) {
        if (in_domain) {
          ++hard;
          first = min(first, bits);
        } else {
          ++soft;
        }
      }
      continue;
    }
    const bool in_domain = aw >= 0x1p-12f && aw <= 0x1p20f;
    if (!equal) {
      if (in_domain) {
        ++hard;
        first = min(first, bits);
      } else {
        ++soft;
      }
    }
    if (!(aw <= 0x1p20f) && want == want) continue;  // never a group quotient
    const float cw = gq::gq_clamp_keep_nan(want, -448.f, 448.f);
    const float cg = gq::gq_clamp_keep_nan(got, -448.f, 448.f);
    const float uw = gq::gq_clamp_keep_nan(want, -224.f, 224.f);
    const float ug = gq::gq_clamp_keep_nan(got, -224.f, 224.f);
    const bool bytes_equal =
        gq::gq_encode_e4m3fn(cw) == gq::gq_encode_e4m3fn(cg) &&
        gq::gq_encode_e4m3fnuz(uw) == gq::gq_encode_e4m3fnuz(ug) &&
        gq::gq_encode_int8(want) == gq::gq_encode_int8(got);
    if (!bytes_equal) {
      ++bytes_bad;
      first = min(first, bits);
    }
  }
  if (hard) atomicAdd(&out->hard, hard);
  if (soft) atomicAdd(&out->soft, soft);
  if (bytes_bad) atomicAdd(&out->bytes_bad, bytes_bad);
  if (first != 0xFFFFFFFFu) atomicMin(&out->first_hard, first);
}

static float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
static uint32_t to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

struct Divisor {
  float s;
  std::string why;
  bool scale_division;
};

// The divisors: adversarial mantissas at many exponents, both ends of the
// accepted range, the scales the default eps produces, and scales of real
// groups (amax / qmax for random bf16 amax).
static std::vector<Divisor> divisors() {
  std::vector<Divisor> d;
  for (float q : {448.f, 240.f, 224.f, 127.f}) {
    d.push_back({q, "qmax (scale division)", true});
  }
  const uint32_t mantissas[] = {0x000000u, 0x000001u, 0x7FFFFFu, 0x7FFFFEu,
                                0x400000u, 0x3FFFFFu, 0x555555u, 0x2AAAAAu,
                                0x600000u, 0x0C0000u};
  for (int e = -90; e <= 90; e += 15) {
    for (uint32_t m : mantissas) {
      const uint32_t b = (static_cast<uint32_t>(e + 127) << 23) | m;
      d.push_back({from_bits(b), "2^" + std::to_string(e) + " mantissa " +
                                     std::to_string(m), false});
    }
  }
  // The range ends and their neighbours inside it.
  for (uint32_t b : {to_bits(0x1p-90f), to_bits(0x1p-90f) + 1,
                     to_bits(0x1p-90f) + 0x7FFFFFu, to_bits(0x1p90f),
                     to_bits(0x1p90f) - 1, to_bits(0x1p90f) - 0x400000u}) {
    d.push_back({from_bits(b), "range end", false});
  }
  // Just above and below powers of two near the scales seen in practice.
  for (int e = -50; e <= 10; e += 3) {
    const uint32_t p = static_cast<uint32_t>(e + 127) << 23;
    d.push_back({from_bits(p - 1), "below 2^" + std::to_string(e), false});
    d.push_back({from_bits(p + 1), "above 2^" + std::to_string(e), false});
    d.push_back({from_bits(p + 2), "above 2^" + std::to_string(e), false});
  }
  // Default eps over each qmax, and its neighbours.
  for (float q : {448.f, 224.f, 127.f}) {
    const float s = 1e-10f / q;
    d.push_back({s, "1e-10 / qmax", false});
    d.push_back({from_bits(to_bits(s) + 1), "1e-10 / qmax + ulp", false});
  }
  // 1/qmax and neighbours (amax = 1).
  for (float q : {448.f, 224.f, 127.f, 240.f}) {
    const float s = 1.f / q;
    d.push_back({s, "1 / qmax", false});
    d.push_back({from_bits(to_bits(s) - 1), "1 / qmax - ulp", false});
    d.push_back({from_bits(to_bits(s) + 1), "1 / qmax + ulp", false});
  }
  // Scales of real groups: bf16 amax (8-bit mantissa) over each qmax.
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<uint32_t> bf16_bits(0x2F80u, 0x4780u);
  for (int i = 0; i < 60; ++i) {
    const float amax = from_bits(bf16_bits(rng) << 16);
    const float q = (i % 3 == 0) ? 448.f : (i % 3 == 1 ? 224.f : 127.f);
    d.push_back({amax / q, "bf16 amax / qmax", false});
  }
  // Random normal scales in the accepted range.
  std::uniform_int_distribution<uint32_t> any_bits(to_bits(0x1p-90f),
                                                   to_bits(0x1p90f));
  for (int i = 0; i < 60; ++i) {
    d.push_back({from_bits(any_bits(rng)), "random", false});
  }
  return d;
}

int main(int argc, char** argv) {
  const char* json_path = nullptr;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) json_path = argv[i + 1];
  }
  const std::vector<Divisor> list = divisors();
  Counts* dev = nullptr;
  if (cudaMalloc(&dev, sizeof(Counts)) != cudaSuccess) {
    std::fprintf(stderr, "cudaMalloc failed\n");
    return 2;
  }
  FILE* json = json_path ? std::fopen(json_path, "w") : nullptr;
  if (json) std::fprintf(json, "{\"divisors\": [\n");
  unsigned long long total_hard = 0, total_bytes = 0, total_soft = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const Divisor& d = list[i];
    Counts init{0, 0, 0, 0xFFFFFFFFu};
    cudaMemcpy(dev, &init, sizeof(init), cudaMemcpyHostToDevice);
    if (d.scale_division) {
      sweep<true><<<132 * 8, 256>>>(d.s, dev);
    } else {
      sweep<false><<<132 * 8, 256>>>(d.s, dev);
    }
    Counts c;
    const cudaError_t e = cudaMemcpy(&c, dev, sizeof(c), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
      std::fprintf(stderr, "kernel failed: %s\n", cudaGetErrorString(e));
      return 2;
    }
    total_hard += c.hard;
    total_bytes += c.bytes_bad;
    total_soft += c.soft;
    if (c.hard || c.bytes_bad) {
      std::printf("FAIL s=%a (%s): %llu quotient, %llu byte mismatches, "
                  "first x bits 0x%08x\n",
                  d.s, d.why.c_str(), c.hard, c.bytes_bad, c.first_hard);
    }
    if (json) {
      std::fprintf(json,
                   "  {\"s\": \"%a\", \"why\": \"%s\", \"scale_division\": %s, "
                   "\"domain_mismatches\": %llu, \"byte_mismatches\": %llu, "
                   "\"outside_domain_mismatches\": %llu}%s\n",
                   d.s, d.why.c_str(), d.scale_division ? "true" : "false",
                   c.hard, c.bytes_bad, c.soft,
                   i + 1 < list.size() ? "," : "");
    }
  }
  if (json) {
    std::fprintf(json, "],\n\"total_domain_mismatches\": %llu, "
                 "\"total_byte_mismatches\": %llu, "
                 "\"total_outside_domain_mismatches\": %llu}\n",
                 total_hard, total_bytes, total_soft);
    std::fclose(json);
  }
  std::printf("%zu divisors x 2^32 dividends: %llu in-domain quotient "
              "mismatches, %llu byte mismatches, %llu fp32 differences "
              "outside the domain\n",
              list.size(), total_hard, total_bytes, total_soft);
  return (total_hard == 0 && total_bytes == 0) ? 0 : 1;
}
