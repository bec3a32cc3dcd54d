// Schemas of the consumer-side ops (weight block quantization, dequantize),
// a fragment of the groupquant library defined in the CPU library next to
// csrc/op_schemas.cpp; device libraries only add implementations.
#include <torch/csrc/stable/library.h>

STABLE_TORCH_LIBRARY_FRAGMENT(groupquant, m) {
  m.def(
      "per_block_quant(Tensor input, Tensor(a!) output_q, Tensor(b!) "
      "output_s, int block_n, int block_k, float eps, float qmin, "
      "float qmax, bool scale_ue8m0) -> ()");
  m.def(
      "dequantize_per_token_group(Tensor q, Tensor s, Tensor(a!) output, "
      "int group_size) -> ()");
  m.def(
      "dequantize_per_block(Tensor q, Tensor s, Tensor(a!) output, "
      "int block_n, int block_k) -> ()");
}
