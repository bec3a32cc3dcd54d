// The one mapping between torch's stable-ABI dtypes and the format tags that
// every backend dispatches on (InputFormat / QuantFormat, quant_problem.h).
// The validators (validation.cpp, consumer_validation.cpp) are its users:
// every CPU, CUDA and HIP op call goes through one of them, and a backend
// receives only the tags, so kernels, device code and the pybind11 test
// module never see a ScalarType (their headers stay free of torch). The
// role VLLM_STABLE_DISPATCH_FLOATING_TYPES plays in vLLM: one list of the
// dtypes an op takes, written once. From a tag on, format_dispatch.h turns
// it into a template argument (torch-free, for kernels).
#pragma once

#include <initializer_list>

#include <torch/headeronly/core/ScalarType.h>

#include "csrc/quant_problem.h"

namespace groupquant {

using torch::headeronly::ScalarType;

// The activation dtypes (x, and dequantize's output).
constexpr std::initializer_list<ScalarType> kInputDtypes = {
    ScalarType::Float, ScalarType::Half, ScalarType::BFloat16};
constexpr const char* kInputDtypeNames =
    "torch.float32, torch.float16 or torch.bfloat16";

// The 8-bit code dtypes (q).
constexpr std::initializer_list<ScalarType> kQuantDtypes = {
    ScalarType::Float8_e4m3fn, ScalarType::Float8_e4m3fnuz, ScalarType::Char};
constexpr const char* kQuantDtypeNames =
    "torch.float8_e4m3fn, torch.float8_e4m3fnuz or torch.int8";

// Tags of dtypes the validators have already checked against the lists
// above (anything else is a caller bug; it maps to the last case).
inline InputFormat input_format_of(ScalarType t) {
  switch (t) {
    case ScalarType::Float: return InputFormat::kFloat32;
    case ScalarType::Half: return InputFormat::kFloat16;
    default: return InputFormat::kBFloat16;
  }
}

inline QuantFormat quant_format_of(ScalarType t) {
  switch (t) {
    case ScalarType::Float8_e4m3fn: return QuantFormat::kE4M3FN;
    case ScalarType::Float8_e4m3fnuz: return QuantFormat::kE4M3FNUZ;
    default: return QuantFormat::kInt8;
  }
}

// Python's spelling, for error messages.
inline const char* dtype_name(ScalarType t) {
  switch (t) {
    case ScalarType::Float: return "torch.float32";
    case ScalarType::Half: return "torch.float16";
    case ScalarType::BFloat16: return "torch.bfloat16";
    case ScalarType::Double: return "torch.float64";
    case ScalarType::Char: return "torch.int8";
    case ScalarType::Byte: return "torch.uint8";
    case ScalarType::Int: return "torch.int32";
    case ScalarType::Long: return "torch.int64";
    case ScalarType::Float8_e4m3fn: return "torch.float8_e4m3fn";
    case ScalarType::Float8_e4m3fnuz: return "torch.float8_e4m3fnuz";
    case ScalarType::Float8_e5m2: return "torch.float8_e5m2";
    case ScalarType::Float8_e5m2fnuz: return "torch.float8_e5m2fnuz";
    default: return torch::headeronly::toString(t);
  }
}

}  // namespace groupquant
