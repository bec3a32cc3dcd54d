// Argument validation of the consumer-side ops, shared by every backend
// (the same rules and message style as csrc/validation.h): each op's
// implementation calls its validator first and launches only on the problem
// it returns. Failures raise RuntimeError "groupquant.<op>: <arg> must be
// <expected>, got <given>".
//
// What is checked:
// - dtypes; strided layout; all tensors on one device of the backend's type.
// - per_block_quant: input 2-D float32/float16/bfloat16 [N, K] with stride 1
//   along K; output_q [N, K] e4m3fn/e4m3fnuz/int8, stride 1 along K, row
//   stride >= K; output_s float32 [ceil(N/block_n), ceil(K/block_k)],
//   row-major (column stride 1, row stride >= its columns) or column-major;
//   block_n, block_k > 0; eps, qmin, qmax as for the group ops.
// - dequantize_per_token_group: q [*lead, K] (e4m3fn/e4m3fnuz/int8, leading
//   dims collapsible, stride 1 along K), K % group_size == 0; s float32
//   [*lead, K/G] or [M, K/G], or int32 packed UE8M0 [M, ceil(K/G/4)], any
//   non-negative strides (s is only read); output float32/float16/bfloat16
//   of q's shape, stride 1 along K, rows not overlapping.
// - dequantize_per_block: q 2-D [N, K]; s float32 [ceil(N/block_n),
//   ceil(K/block_k)] with any non-negative strides; output as above.
// - every element touched lies inside its tensor's storage (64-bit,
//   overflow-checked); the written tensors do not overlap any other tensor.
// Empty problems pass and come back with empty() true.
#pragma once

#include <cstdint>

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>

#include "csrc/consumer_problem.h"

namespace groupquant {

BlockQuantProblem validate_block_quant(const torch::stable::Tensor& input,
                                       const torch::stable::Tensor& output_q,
                                       const torch::stable::Tensor& output_s,
                                       int64_t block_n, int64_t block_k,
                                       double eps, double qmin, double qmax,
                                       bool scale_ue8m0,
                                       torch::headeronly::DeviceType device_type);

DequantProblem validate_dequant_group(const torch::stable::Tensor& q,
                                      const torch::stable::Tensor& s,
                                      const torch::stable::Tensor& output,
                                      int64_t group_size,
                                      torch::headeronly::DeviceType device_type);

DequantProblem validate_dequant_block(const torch::stable::Tensor& q,
                                      const torch::stable::Tensor& s,
                                      const torch::stable::Tensor& output,
                                      int64_t block_n, int64_t block_k,
                                      torch::headeronly::DeviceType device_type);

}  // namespace groupquant
