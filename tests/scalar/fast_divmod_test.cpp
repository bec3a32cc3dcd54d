// Host checks of two pieces of GPU index/division arithmetic that have host
// spellings: FastDivU32 (gpu/device/fast_divmod.h) against '/', and
// gq_div_by_rcp (csrc/quant_math.h) against IEEE division on quotients
// inside its documented domain. The device versions are checked over every
// dividend by tools/gpu/gpu_division_check.cu; this one runs in every CI.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>

#include "gpu/device/fast_divmod.h"
#include "csrc/quant_math.h"

namespace {

int check_divider() {
  std::mt19937_64 rng(12345);
  long bad = 0;
  auto check = [&](uint32_t d, uint32_t n) {
    const groupquant::gpu::FastDivU32 f(d);
    uint32_t q, r;
    f.divmod(n, q, r);
    if (q != n / d || r != n % d) {
      if (bad < 5) std::printf("divider %u: %u -> %u r %u\n", d, n, q, r);
      ++bad;
    }
  };
  const uint32_t edges[] = {1u, 2u, 3u, 7u, 14u, 56u, 57u, 448u, 65535u,
                            65536u, 0x7FFFFFFFu, 0x80000000u, 0x80000001u,
                            0xFFFFFFFEu, 0xFFFFFFFFu};
  for (uint32_t d : edges) {
    for (uint32_t n = 0; n < 4096; ++n) check(d, n);
    for (uint32_t n = 0; n < 4096; ++n) check(d, 0xFFFFFFFFu - n);
    for (int i = 0; i < 100000; ++i) check(d, static_cast<uint32_t>(rng()));
  }
  for (int i = 0; i < 200000; ++i) {
    uint32_t d = static_cast<uint32_t>(rng()) >> (rng() % 32);
    if (d == 0) d = 1;
    check(d, static_cast<uint32_t>(rng()));
    check(d, 0xFFFFFFFFu);
    check(d, d * (static_cast<uint32_t>(rng()) % 3 + 1) - 1);
  }
  std::printf("FastDivU32: %ld mismatches\n", bad);
  return bad == 0 ? 0 : 1;
}

float bits_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

int check_reciprocal_division() {
  std::mt19937_64 rng(777);
  std::uniform_real_distribution<double> log_q(-12.0, 9.0);
  const uint32_t lo = float_bits(0x1p-90f), hi = float_bits(0x1p90f);
  long bad = 0, n = 0;
  for (int i = 0; i < 3000000; ++i) {
    const float s = bits_float(lo + static_cast<uint32_t>(rng() % (hi - lo)));
    // Dividends whose quotient lands in the domain, some nudged off the
    // product by a few ulps so that quotients are not all near floats.
    float t = static_cast<float>(std::exp2(log_q(rng)));
    if (rng() & 1) t = -t;
    float x = s * t;
    x = bits_float(float_bits(x) ^ static_cast<uint32_t>(rng() & 7));
    const float want = x / s;
    if (!(std::fabs(want) >= 0x1p-12f && std::fabs(want) <= 0x1p20f)) continue;
    const float got =
        groupquant::gq_div_by_rcp(x, s, groupquant::gq_rcp_rn(s));
    ++n;
    if (float_bits(got) != float_bits(want)) {
      if (bad < 5) std::printf("x=%a s=%a: %a vs %a\n", x, s, got, want);
      ++bad;
    }
  }
  // -0 keeps its sign (e4m3fn encodes it as 0x80).
  const float z = groupquant::gq_div_by_rcp(-0.f, 3.f, groupquant::gq_rcp_rn(3.f));
  if (float_bits(z) != 0x80000000u) {
    std::printf("-0 / 3 gave %a\n", z);
    ++bad;
  }
  std::printf("gq_div_by_rcp: %ld mismatches in %ld quotients\n", bad, n);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main() { return check_divider() | check_reciprocal_division(); }
