// From a run-time format tag to a compile-time one: each helper calls `fn`
// with std::integral_constant<Format, F>, so the callee instantiates its
// kernel for F (decltype(tag)::value) and the switch over the tags is written
// once. dispatch_utils.h maps torch dtypes to these tags; this header stays
// free of torch so kernels and device code can use it too.
//
// Tags the validators did not produce cannot arrive; an unknown value takes
// the last case, as dispatch_utils.h's mapping does.
#pragma once

#include <type_traits>

#include "csrc/quant_problem.h"

namespace groupquant {

template <InputFormat F>
using InputFormatTag = std::integral_constant<InputFormat, F>;
template <QuantFormat F>
using QuantFormatTag = std::integral_constant<QuantFormat, F>;

template <typename Fn>
decltype(auto) dispatch_input_format(InputFormat f, Fn&& fn) {
  switch (f) {
    case InputFormat::kFloat32:
      return fn(InputFormatTag<InputFormat::kFloat32>{});
    case InputFormat::kFloat16:
      return fn(InputFormatTag<InputFormat::kFloat16>{});
    default:
      return fn(InputFormatTag<InputFormat::kBFloat16>{});
  }
}

template <typename Fn>
decltype(auto) dispatch_quant_format(QuantFormat f, Fn&& fn) {
  switch (f) {
    case QuantFormat::kE4M3FN:
      return fn(QuantFormatTag<QuantFormat::kE4M3FN>{});
    case QuantFormat::kE4M3FNUZ:
      return fn(QuantFormatTag<QuantFormat::kE4M3FNUZ>{});
    default:
      return fn(QuantFormatTag<QuantFormat::kInt8>{});
  }
}

}  // namespace groupquant
