// The numbers that define each 8-bit output format, in one table, so that
// validation, the CPU and GPU code and python/groupquant/_formats.py (its
// Python twin) cannot drift apart. tests/test_reference.py pins the Python
// table to the contract, tests/test_validation.py this one to the Python.
// docs/contract.md ("Formats") is the prose form of the same table.
//
// Torch-free and constexpr, so device code can read it at compile time.
#pragma once

#include <cstdint>

#include "csrc/quant_problem.h"

#if defined(__CUDACC__) || defined(__HIPCC__)
#define GQ_TRAITS_HD __host__ __device__
#else
#define GQ_TRAITS_HD
#endif

namespace groupquant {

struct FormatTraits {
  // Largest and smallest finite values: the encoder saturates there, and a
  // clamp bound outside them is refused (so no result depends on how a
  // backend converts out-of-range values).
  float finite_min;
  float finite_max;
  // The public functions' bounds. e4m3fnuz's 224 rather than 240 is vLLM's
  // and SGLang's choice on ROCm: the full range costs accuracy with dynamic
  // scales.
  float default_qmin;
  float default_qmax;
  // 0 for int8, which has no exponent field.
  int32_t exponent_bias;
  // What NaN encodes to (int8 has no NaN: 0).
  uint8_t nan_code;
};

GQ_TRAITS_HD constexpr FormatTraits format_traits(QuantFormat f) {
  switch (f) {
    case QuantFormat::kE4M3FN:
      return {-448.f, 448.f, -448.f, 448.f, 7, 0x7F};
    case QuantFormat::kE4M3FNUZ:
      return {-240.f, 240.f, -224.f, 224.f, 8, 0x80};
    case QuantFormat::kInt8:
    default:
      return {-128.f, 127.f, -128.f, 127.f, 0, 0x00};
  }
}

}  // namespace groupquant
