// Error of gq_exp (csrc/quant_math.h) against the double-precision exp over
// every float32 input, in ulps of the true value's binade. The contract's
// bar: at most 2 ulp wherever the correctly rounded result is a normal
// float. Outside [LO, HI] the contract makes e saturate, and the sweep checks
// exactly that: e(x) == e(LO) below LO (true value subnormal or zero),
// e(x) == e(HI) above HI (true value overflows), e(NaN) == e(HI), and every
// result a finite normal float (the exponent-field addition never wraps).
//
//   tools/bazel run //tests/scalar:exp_ulp_sweep     (about a minute)
//
// Exit status 0 only when every check holds; the report goes to stdout.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "csrc/quant_math.h"

namespace {

using groupquant::gq_bits_float;
using groupquant::gq_exp;

struct Stats {
  double max_ulp = 0.0;          // normal results inside [LO, HI]
  uint32_t max_ulp_input = 0;
  uint64_t normal = 0;
  uint64_t over_1ulp = 0;        // normal results more than 1 ulp away
  uint64_t saturated = 0;        // x outside [LO, HI] or NaN
  uint64_t saturated_wrong = 0;  // ... not giving e(LO) / e(HI)
  uint64_t not_normal = 0;       // any result that is not a finite normal
  uint32_t bad_example = 0;
};

// |got - want| in units of 2^(floor(log2 want) - 23), want > 0 finite.
double ulps(float got, double want) {
  int exponent = 0;
  std::frexp(want, &exponent);  // want = f * 2^exponent, f in [0.5, 1)
  const double ulp = std::ldexp(1.0, exponent - 1 - 23);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

void sweep(uint64_t begin, uint64_t end, Stats* st) {
  const float lo = gq_bits_float(groupquant::detail::kExpLoBits);
  const float hi = gq_bits_float(groupquant::detail::kExpHiBits);
  const float e_lo = gq_exp(lo);
  const float e_hi = gq_exp(hi);
  for (uint64_t i = begin; i < end; ++i) {
    const uint32_t bits = static_cast<uint32_t>(i);
    const float x = gq_bits_float(bits);
    const float got = gq_exp(x);
    if (!std::isnormal(got)) {
      if (st->not_normal == 0) st->bad_example = bits;
      ++st->not_normal;
    }
    if (x != x || x < lo || x > hi) {
      ++st->saturated;
      const float want = (x == x && x < lo) ? e_lo : e_hi;
      if (got != want) {
        if (st->saturated_wrong == 0 && st->not_normal == 0) st->bad_example = bits;
        ++st->saturated_wrong;
      }
      continue;
    }
    // Inside [LO, HI] every true value is a normal float (by the choice of
    // LO and HI), so this is the contract's bar.
    const double want = std::exp(static_cast<double>(x));
    ++st->normal;
    const double u = ulps(got, want);
    if (u > 1.0) ++st->over_1ulp;
    if (u > st->max_ulp) {
      st->max_ulp = u;
      st->max_ulp_input = bits;
    }
  }
}

}  // namespace

int main() {
  unsigned threads = std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  const uint64_t total = uint64_t{1} << 32;
  std::vector<Stats> stats(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back(sweep, total * t / threads, total * (t + 1) / threads,
                      &stats[t]);
  }
  for (std::thread& th : pool) th.join();
  Stats all;
  for (const Stats& s : stats) {
    if (s.max_ulp > all.max_ulp) {
      all.max_ulp = s.max_ulp;
      all.max_ulp_input = s.max_ulp_input;
    }
    if (all.not_normal + all.saturated_wrong == 0 &&
        s.not_normal + s.saturated_wrong != 0) {
      all.bad_example = s.bad_example;
    }
    all.normal += s.normal;
    all.over_1ulp += s.over_1ulp;
    all.saturated += s.saturated;
    all.saturated_wrong += s.saturated_wrong;
    all.not_normal += s.not_normal;
  }
  const float worst = gq_bits_float(all.max_ulp_input);
  std::printf("gq_exp vs double exp, all 2^32 float32 inputs\n");
  std::printf("inside [LO, HI] (normal results): %llu, max error %.4f ulp at "
              "x = %.9g (0x%08X), %llu above 1 ulp\n",
              static_cast<unsigned long long>(all.normal), all.max_ulp,
              static_cast<double>(worst), all.max_ulp_input,
              static_cast<unsigned long long>(all.over_1ulp));
  std::printf("outside [LO, HI] or NaN: %llu, %llu not the saturation value\n",
              static_cast<unsigned long long>(all.saturated),
              static_cast<unsigned long long>(all.saturated_wrong));
  std::printf("results that are not finite normal floats: %llu\n",
              static_cast<unsigned long long>(all.not_normal));
  if (all.not_normal + all.saturated_wrong != 0) {
    std::printf("first bad input: 0x%08X\n", all.bad_example);
  }
  const bool pass = all.max_ulp <= 2.0 && all.saturated_wrong == 0 &&
                    all.not_normal == 0;
  std::printf("%s\n", pass ? "PASS (<= 2 ulp inside [LO, HI], saturation outside)" : "FAIL");
  return pass ? 0 : 1;
}
