// Stable-ABI dtype dispatch: switch on a torch::headeronly::ScalarType and
// run a lambda with `scalar_t` bound to the matching C++ type. Built on the
// header-only THO_* macros, so no libtorch symbol is needed; an unlisted
// dtype throws (RuntimeError in Python) naming the dispatch site and dtype.
//
//   GQ_DISPATCH_INPUT_TYPES(x.scalar_type(), "name", [&] { f<scalar_t>(); });
#pragma once

#include <torch/headeronly/core/Dispatch.h>
#include <torch/headeronly/core/ScalarType.h>
#include <torch/headeronly/util/Exception.h>

// float, c10::Half, c10::BFloat16
#define GQ_DISPATCH_INPUT_TYPES(TYPE, NAME, ...)                          \
  THO_DISPATCH_SWITCH(                                                    \
      TYPE, NAME,                                                         \
      THO_DISPATCH_CASE(torch::headeronly::ScalarType::Float, __VA_ARGS__) \
      THO_DISPATCH_CASE(torch::headeronly::ScalarType::Half, __VA_ARGS__)  \
      THO_DISPATCH_CASE(torch::headeronly::ScalarType::BFloat16, __VA_ARGS__))

// c10::Float8_e4m3fn, c10::Float8_e4m3fnuz, int8_t
#define GQ_DISPATCH_OUTPUT_TYPES(TYPE, NAME, ...)                       \
  THO_DISPATCH_SWITCH(                                                  \
      TYPE, NAME,                                                       \
      THO_DISPATCH_CASE(torch::headeronly::ScalarType::Float8_e4m3fn,   \
                        __VA_ARGS__)                                    \
      THO_DISPATCH_CASE(torch::headeronly::ScalarType::Float8_e4m3fnuz, \
                        __VA_ARGS__)                                    \
      THO_DISPATCH_CASE(torch::headeronly::ScalarType::Char, __VA_ARGS__))
