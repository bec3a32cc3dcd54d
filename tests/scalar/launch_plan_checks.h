// What the launch-plan tests share (launch_plan_test.cpp and
// launch_plan_four_vector_test.cpp, one binary each because the tuning is
// read once per process): the failure count, and the problem they plan.
#pragma once

#include <cstdint>
#include <cstdio>

#include "gpu/launch/launch_plan.h"

namespace launch_plan_checks {

using groupquant::InputFormat;
using groupquant::QuantFormat;
using groupquant::QuantProblem;
using groupquant::ScaleLayout;
namespace gpu = groupquant::gpu;

constexpr int kSms = 132;  // an H100/H200
inline int failures = 0;

inline void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what);
    ++failures;
  }
}

// A contiguous bf16 [m, k] problem with G = 128, 16-byte aligned pointers.
inline QuantProblem problem(int64_t m, int64_t k, bool packed) {
  alignas(16) static char storage[64];
  QuantProblem p;
  p.m = m;
  p.k = k;
  p.group_size = 128;
  p.groups_per_row = k / 128;
  p.x_row_stride = k;
  p.q_row_stride = k;
  p.qmin = -448.f;
  p.qmax = 448.f;
  p.in_format = InputFormat::kBFloat16;
  p.out_format = QuantFormat::kE4M3FN;
  p.x = storage;
  p.q = storage;
  p.s = storage;
  if (packed) {
    p.layout = ScaleLayout::kPackedUE8M0;
    p.ue8m0 = true;
    p.packed_cols = (p.groups_per_row + 3) / 4;
    p.packed_rows = (m + 3) / 4 * 4;
    p.packed_col_stride = p.packed_rows;
  } else {
    p.s_row_stride = p.groups_per_row;
    p.s_group_stride = 1;
  }
  return p;
}

}  // namespace launch_plan_checks
