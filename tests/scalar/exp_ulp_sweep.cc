// Error of gq_exp (csrc/quant_math.h) against the double-precision exp over
// every float32 input, in ulps of the true value's binade. The contract's
// bar: at most 2 ulp wherever the correctly rounded result is a normal
// float; everywhere else (subnormal, zero, overflow, NaN) the sweep checks
// that e(x) lands on one of the two floats around the true value, that
// overflow happens exactly where it must, and that NaN stays NaN.
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

struct Stats {
  double max_ulp = 0.0;          // normal results
  uint32_t max_ulp_input = 0;
  uint64_t normal = 0;
  uint64_t over_1ulp = 0;        // normal results more than 1 ulp away
  uint64_t non_normal = 0;       // true result subnormal, zero or overflow
  uint64_t non_normal_far = 0;   // ... and e(x) not a neighbour of it
  uint32_t far_example = 0;
  uint64_t nan_wrong = 0;
};

// |got - want| in units of 2^(floor(log2 want) - 23), want > 0 finite.
double ulps(float got, double want) {
  int exponent = 0;
  std::frexp(want, &exponent);  // want = f * 2^exponent, f in [0.5, 1)
  const double ulp = std::ldexp(1.0, exponent - 1 - 23);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

void sweep(uint64_t begin, uint64_t end, Stats* st) {
  for (uint64_t i = begin; i < end; ++i) {
    const uint32_t bits = static_cast<uint32_t>(i);
    const float x = groupquant::gq_bits_float(bits);
    const float got = groupquant::gq_exp(x);
    if (x != x) {
      if (got == got) ++st->nan_wrong;
      continue;
    }
    const double want = std::exp(static_cast<double>(x));
    const float rounded = static_cast<float>(want);
    if (std::isnormal(rounded)) {
      ++st->normal;
      const double u = std::isinf(got) ? INFINITY : ulps(got, want);
      if (u > 1.0) ++st->over_1ulp;
      if (u > st->max_ulp) {
        st->max_ulp = u;
        st->max_ulp_input = bits;
      }
      continue;
    }
    ++st->non_normal;
    // The floats on either side of the true value (inclusive).
    const float below = static_cast<float>(want) <= want
                            ? rounded
                            : std::nextafter(rounded, 0.0f);
    const float above = std::nextafter(below, INFINITY);
    const bool ok = got == below || got == above ||
                    (std::isinf(rounded) && std::isinf(got));
    if (!ok) {
      if (st->non_normal_far == 0) st->far_example = bits;
      ++st->non_normal_far;
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
    if (all.non_normal_far == 0 && s.non_normal_far) all.far_example = s.far_example;
    all.normal += s.normal;
    all.over_1ulp += s.over_1ulp;
    all.non_normal += s.non_normal;
    all.non_normal_far += s.non_normal_far;
    all.nan_wrong += s.nan_wrong;
  }
  const float worst = groupquant::gq_bits_float(all.max_ulp_input);
  std::printf("gq_exp vs double exp, all 2^32 float32 inputs\n");
  std::printf("normal results: %llu, max error %.4f ulp at x = %.9g (0x%08X), "
              "%llu above 1 ulp\n",
              static_cast<unsigned long long>(all.normal), all.max_ulp,
              static_cast<double>(worst), all.max_ulp_input,
              static_cast<unsigned long long>(all.over_1ulp));
  std::printf("subnormal/zero/overflow results: %llu, %llu not a neighbour of "
              "the true value (first at 0x%08X)\n",
              static_cast<unsigned long long>(all.non_normal),
              static_cast<unsigned long long>(all.non_normal_far),
              all.far_example);
  std::printf("NaN inputs not giving NaN: %llu\n",
              static_cast<unsigned long long>(all.nan_wrong));
  const bool pass = all.max_ulp <= 2.0 && all.non_normal_far == 0 &&
                    all.nan_wrong == 0;
  std::printf("%s\n", pass ? "PASS (<= 2 ulp where normal)" : "FAIL");
  return pass ? 0 : 1;
}
