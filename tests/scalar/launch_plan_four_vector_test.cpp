// Host checks of the four-vector fused plans (fused_four_vector_items in
// gpu/launch/launch_plan.h), which only GROUPQUANT_GPU_TUNE=vpl=4 turns on:
// launch_plan_test.cpp checks the default tuning, and the tuning is read
// once per process, so these run in their own binary with the variable set
// before the first plan. The kernels' bytes under vpl=4 are the GPU tuning
// test's (tests/test_gpu_tuning.py). 132 SMs throughout.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "gpu/launch/launch_plan.h"
#include "tests/scalar/launch_plan_checks.h"

namespace {

using namespace launch_plan_checks;

// fuse_silu_and_mul on a contiguous bf16 [m, 2h] input: q is [m, h].
QuantProblem fused(int64_t m, int64_t h, bool packed) {
  QuantProblem p = problem(m, h, packed);
  p.x_row_stride = 2 * h;
  p.fuse_silu_and_mul = true;
  return p;
}

void four_vectors_one_group_per_item() {
  int64_t rows = 0;
  for (const int64_t m : {1, 64, 4096, 16384}) {
    const QuantProblem p = fused(m, 7168, false);
    const gpu::LaunchPlan plan = gpu::plan_fused(p, kSms, &rows);
    expect(plan.vectorized && plan.nv == 4 && plan.lanes == 4 && plan.chunk == 1,
           "bf16 G = 128: four vectors per lane, four lanes, one group per item");
    expect(plan.items == m * 56 && !plan.half_vectors,
           "an item per group, 16-byte lanes");
    expect(gpu::fused_small_kernel_fits(p, plan), "runs fused_small_kernel");
  }
  const QuantProblem pk = fused(16384, 7168, true);
  const gpu::LaunchPlan packed = gpu::plan_fused(pk, kSms, &rows);
  expect(packed.nv == 4 && packed.chunk == 1 &&
             packed.chunks_per_row == pk.packed_cols * gpu::kChunk &&
             gpu::fused_small_kernel_fits(pk, packed),
         "packed scales: a byte of the UE8M0 word per item");
}

void four_vectors_only_where_the_small_kernel_has_them() {
  int64_t rows = 0;
  QuantProblem f32 = fused(4096, 7168, false);
  f32.in_format = InputFormat::kFloat32;
  const gpu::LaunchPlan f32_plan = gpu::plan_fused(f32, kSms, &rows);
  expect(!f32_plan.vectorized, "float32 inputs: the generic path, as before");
  QuantProblem masked = fused(4096, 7168, false);
  masked.experts = 8;
  masked.x_expert_stride = 4096 * 2 * 7168;
  masked.q_expert_stride = 4096 * 7168;
  masked.s_expert_stride = 4096 * 56;
  masked.masked_m = reinterpret_cast<const int32_t*>(masked.s);
  const gpu::LaunchPlan masked_plan = gpu::plan_fused(masked, kSms, &rows);
  expect(!masked_plan.vectorized, "masked calls: the generic path, as before");
  QuantProblem far = fused(40, 7168, false);
  far.x_row_stride = int64_t{1} << 26;  // x past 2^31 bytes
  const gpu::LaunchPlan plan = gpu::plan_fused(far, kSms, &rows);
  expect(!plan.vectorized && plan.lanes == gpu::kGenericLanes,
         "offsets past 31 bits: the generic path, as before vpl=4 had plans");
}

}  // namespace

int main() {
  setenv("GROUPQUANT_GPU_TUNE", "vpl=4", 1);
  if (gpu::tuning().vectors_per_lane != 4) {
    std::printf("FAIL: vpl=4 not read\n");
    return 1;
  }
  four_vectors_one_group_per_item();
  four_vectors_only_where_the_small_kernel_has_them();
  if (failures == 0) std::printf("four-vector fused plans: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
