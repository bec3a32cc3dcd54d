// The op schemas, defined once in the CPU library (always loaded first);
// device libraries only add implementations. Argument names and order follow
// vLLM's ops so callers can switch without other changes; the trailing
// fuse_silu_and_mul and masked_m (SGLang's names, docs/fused_silu_moe.md)
// default to off, so vLLM-style calls are unchanged.
#include <torch/csrc/stable/library.h>

STABLE_TORCH_LIBRARY(groupquant, m) {
  m.def(
      "per_token_group_fp8_quant(Tensor input, Tensor(a!) output_q, "
      "Tensor(b!) output_s, int group_size, float eps, float fp8_min, "
      "float fp8_max, bool scale_ue8m0, bool fuse_silu_and_mul=False, "
      "Tensor? masked_m=None) -> ()");
  m.def(
      "per_token_group_quant_int8(Tensor input, Tensor(a!) output_q, "
      "Tensor(b!) output_s, int group_size, float eps, float int8_min, "
      "float int8_max, bool fuse_silu_and_mul=False, "
      "Tensor? masked_m=None) -> ()");
  m.def(
      "per_token_group_quant_8bit_packed(Tensor input, Tensor(a!) output_q, "
      "Tensor(b!) output_s_packed, int group_size, float eps, "
      "float min_8bit, float max_8bit, bool fuse_silu_and_mul=False, "
      "Tensor? masked_m=None) -> ()");
}
