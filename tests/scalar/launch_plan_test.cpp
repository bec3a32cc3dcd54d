// Host checks of the GPU backends' launch planning (gpu/launch/launch_plan.h):
// what each kind of problem is given. The kernels' bytes are tested on the
// device by the pytest suite; this pins down the choices that decide which
// kernel runs, so a planning change shows up in every CI run, not only on a
// GPU host. 132 SMs (an H100/H200) throughout.
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>

#include "gpu/launch/launch_plan.h"
#include "tests/scalar/launch_plan_checks.h"

namespace {

using namespace launch_plan_checks;

// A switch whose unset value -1 means "the rule": key=1 and key=0 force
// it on and off, any other value leaves the rule.
void expect_rule_switch(const char* key, int gpu::LaunchTuning::*field) {
  const std::string k(key);
  const bool ok = gpu::parse_tuning(nullptr).*field == -1 &&
                  gpu::parse_tuning((k + "=1").c_str()).*field == 1 &&
                  gpu::parse_tuning((k + "=0").c_str()).*field == 0 &&
                  gpu::parse_tuning((k + "=2").c_str()).*field == -1;
  expect(ok, (k + ": the rule unless 0 or 1 is asked").c_str());
}

void small_problems_take_the_small_kernel() {
  for (int64_t m : {1, 16, 64}) {
    const QuantProblem p = problem(m, 7168, false);
    const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms);
    // From 2^11 groups (M = 64 here) two vectors per lane.
    const int nv = m * 56 >= 2048 ? 2 : 1;
    expect(plan.vectorized && plan.nv == nv && plan.lanes == 16 / nv &&
               plan.flat_two_vector == (nv == 2),
           "small M: one 16-byte vector per lane (16 lanes per bf16 group), "
           "two from 2^11 groups");
    expect(plan.chunk == 1, "small M: one group per item");
    expect(plan.items == m * 56, "small M: one item per group");
    expect(gpu::small_kernel_shape_fits(p, plan), "small M: quant_small_kernel");
    const QuantProblem pk = problem(m, 7168, true);
    const gpu::LaunchPlan pp = gpu::plan_launch(pk, kSms);
    expect(pp.chunk == 1 && pp.items == pk.packed_rows * 56,
           "packed: one item per group of the padded word grid");
    expect(gpu::small_kernel_shape_fits(pk, pp), "small packed: quant_small_kernel");
  }
}

void mid_problems_take_the_small_kernel() {
  // Up to 2^19 groups (gpu::kSmallKernelMaxGroups) at any M; two vectors
  // per lane up to 2^14 groups (256 x 7168), one past it.
  for (auto [m, k] : {std::pair<int64_t, int64_t>{256, 7168}, {4096, 2048},
                      {4096, 7168}, {16384, 4096}, {9362, 7168}}) {
    const int nv = m * (k / 128) <= 16384 ? 2 : 1;
    const QuantProblem p = problem(m, k, false);
    const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms);
    expect(plan.nv == nv && plan.chunk == 1 && gpu::small_kernel_shape_fits(p, plan),
           "mid M: quant_small_kernel, one group per item");
    const QuantProblem pk = problem(m, k, true);
    const gpu::LaunchPlan pp = gpu::plan_launch(pk, kSms);
    expect(pp.nv == nv && pp.chunk == 1 && gpu::small_kernel_shape_fits(pk, pp),
           "mid M packed: quant_small_kernel, one group per item");
  }
  const QuantProblem over = problem(9363, 7168, false);  // 2^19 + 40 groups
  expect(gpu::plan_launch(over, kSms).nv == 2,
         "past 2^19 groups: two vectors per lane again");
}

void packed_by_bytes_takes_one_group_per_item() {
  const QuantProblem pk = problem(3, 7168, true);  // 4 padded rows, 14 words
  const gpu::LaunchPlan plan = gpu::plan_launch(pk, kSms);
  expect(plan.chunk == 1 && plan.chunks_per_row == 56 && plan.items == 4 * 56 &&
             plan.blocks == (4 * 56 * 16 + 255) / 256,
         "packed default: one item per group of the padded word grid");
  gpu::LaunchPlan again = plan;
  gpu::packed_by_bytes(pk, &again);
  expect(again.items == plan.items && again.chunk == 1, "packed_by_bytes: idempotent");
  QuantProblem big = problem(16384, 7168, true);  // past 2^19 groups
  gpu::LaunchPlan wide = gpu::plan_launch(big, kSms);
  expect(wide.nv == 2 && wide.chunk == 4,
         "large packed: two vectors per lane, one word per item (not the small kernel)");
}

void large_problems_take_two_vectors_per_lane() {
  const QuantProblem p = problem(16384, 7168, false);
  const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms);
  expect(plan.nv == 2 && plan.lanes == 8, "large M: two vectors per lane");
  expect(plan.chunk == 4, "large M: four groups per item");
  expect(plan.blocks == (16384 * 14 * 8 + 255) / 256, "large M: full grid");
  expect(!gpu::small_kernel_shape_fits(p, plan), "large M: not the small kernel");
}

void offsets_past_32_bits_keep_the_wide_kernel() {
  QuantProblem p = problem(1, 7168, false);
  p.m = 40;
  p.x_row_stride = int64_t{1} << 26;  // rows 128 MiB apart: 5 GiB of x
  const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms);
  expect(plan.chunk == 1, "strided rows: still one group per item");
  expect(!gpu::small_kernel_shape_fits(p, plan),
         "x offsets beyond 2^31 bytes: 64-bit kernel");
}

void misaligned_input_takes_the_generic_path() {
  QuantProblem p = problem(4, 7168, false);
  p.x = static_cast<const char*>(p.x) + 2;
  const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms);
  expect(!plan.vectorized && plan.lanes == gpu::kGenericLanes,
         "x not 16-byte aligned: generic kernel");
  expect(!gpu::small_kernel_shape_fits(p, plan), "generic path: not small");
}

void encode_modes() {
  QuantProblem p = problem(1, 128, false);
  gpu::EncodeMode mode;
  gpu::encode_mode(p, &mode.clamp, &mode.fnuz_via_fn);
  expect(!mode.clamp && !mode.fnuz_via_fn, "e4m3fn at +-448: no clamp");
  p.qmax = 200.f;
  gpu::encode_mode(p, &mode.clamp, &mode.fnuz_via_fn);
  expect(mode.clamp, "e4m3fn inside +-448: clamp");
  p.out_format = QuantFormat::kE4M3FNUZ;
  p.qmin = -224.f;
  p.qmax = 224.f;
  gpu::encode_mode(p, &mode.clamp, &mode.fnuz_via_fn);
  expect(!mode.clamp && mode.fnuz_via_fn, "e4m3fnuz at +-224: through fn, no clamp");
  p.qmin = -240.f;
  p.qmax = 240.f;
  gpu::encode_mode(p, &mode.clamp, &mode.fnuz_via_fn);
  expect(!mode.clamp && !mode.fnuz_via_fn, "e4m3fnuz at +-240: software encoder");
}

void masked_calls_count_all_experts() {
  QuantProblem p = problem(4096, 7168, false);
  p.masked_m = reinterpret_cast<const int32_t*>(p.s);
  p.experts = 8;
  p.x_expert_stride = 4096 * 7168;
  p.q_expert_stride = 4096 * 7168;
  p.s_expert_stride = 4096 * 56;
  int64_t rows = 0;
  const gpu::LaunchPlan flat = gpu::plan_fused(p, kSms, &rows);
  expect(rows == 4096, "masked: an expert's rows");
  expect(flat.nv == 2 && flat.chunk == 1 && !flat.one_wave && flat.row_slots > 0 &&
             flat.items == 8 * flat.row_slots * 56 &&
             gpu::fused_small_kernel_fits(p, flat),
         "masked plain: fused_small_kernel with row slots, a group per item");
  const gpu::LaunchPlan loop = gpu::plan_fused(p, kSms, &rows, false);  // mflat=0
  expect(loop.nv == 2, "masked, not fused: the plain rule (two vectors per lane)");
  expect(loop.items == 8 * 4096 * 14, "mflat=0: items over all experts");
  expect(loop.one_wave && gpu::launch_blocks(loop, 1056, true) == 1056,
         "mflat=0: one resident wave, whose warps jump over masked rows");
  expect(!gpu::fused_small_kernel_fits(p, loop) && loop.row_slots == 0,
         "mflat=0: fused_vec_kernel's four-group items");
  QuantProblem packed_masked = problem(4096, 7168, true);
  packed_masked.masked_m = p.masked_m;
  packed_masked.experts = 8;
  packed_masked.x_expert_stride = p.x_expert_stride;
  packed_masked.q_expert_stride = p.q_expert_stride;
  packed_masked.s_expert_stride = 14 * 4096;
  expect(!gpu::plan_fused(packed_masked, kSms, &rows, false).one_wave,
         "masked plain packed, mflat=0: the full grid");
  const gpu::LaunchPlan flat_packed = gpu::plan_fused(packed_masked, kSms, &rows);
  expect(flat_packed.chunk == 1 && flat_packed.chunks_per_row == 56 &&
             flat_packed.row_slots > 0 &&
             gpu::fused_small_kernel_fits(packed_masked, flat_packed),
         "masked plain packed: a byte of the word per item, row slots");
  packed_masked.fuse_silu_and_mul = true;
  const gpu::LaunchPlan fused_packed = gpu::plan_fused(packed_masked, kSms, &rows);
  expect(fused_packed.nv == 2 && fused_packed.chunk == 1 &&
             fused_packed.chunks_per_row == 56 && !fused_packed.one_wave &&
             gpu::fused_small_kernel_fits(packed_masked, fused_packed),
         "masked fused packed, 1.8M groups: fused_small_kernel, a byte per item");
  // 8 x 4096 x 56 items of 8 lanes: 57344 blocks a row each; at most 16
  // blocks per SM (2112) takes 32 rows per item, 128 slots per expert.
  expect(fused_packed.row_slots == 128 && fused_packed.items == 8 * 128 * 56 &&
             fused_packed.blocks == 8 * 128 * 56 * 8 / 256,
         "masked fused: row slots chosen by default");
  expect(gpu::masked_rows_per_item(packed_masked, kSms, fused_packed, 0) == 32,
         "masked fused, rows per item chosen: the grid within 16 blocks per SM");
  expect(gpu::masked_rows_per_item(packed_masked, kSms, fused_packed, 1) == 1,
         "masked fused, mrows=1: a row per item");
  expect(gpu::masked_rows_per_item(packed_masked, 1, fused_packed, 0) == 4096,
         "masked fused, rows per item chosen for one SM: every row in one item");
  expect(gpu::masked_rows_per_item(packed_masked, kSms, fused_packed, 3) == 3 &&
             gpu::masked_rows_per_item(packed_masked, kSms, fused_packed, 9999) == 4096,
         "masked fused, rows per item asked: taken, at most T");
  gpu::LaunchPlan slotted = fused_packed;
  gpu::use_masked_row_slots(packed_masked, 3, &slotted);
  expect(slotted.row_slots == 1366 && slotted.items == 8 * 1366 * 56 &&
             slotted.blocks == (8 * 1366 * 56 * 8 + 255) / 256,
         "masked fused: ceil(T / rows) slots per expert");
  p.fuse_silu_and_mul = true;
  const gpu::LaunchPlan fused = gpu::plan_fused(p, kSms, &rows);
  expect(fused.nv == 2 && gpu::fused_one_group_kernel(fused) &&
             gpu::fused_small_kernel_fits(p, fused) && fused.row_slots > 0 &&
             fused.items == 8 * fused.row_slots * 56,
         "masked fused, 1.8M groups: two vectors per lane, one group per item, "
         "fused_small_kernel");
  QuantProblem far_expert = p;  // expert 7 starts past 2^31 bytes
  far_expert.x_expert_stride = int64_t{1} << 28;
  const gpu::LaunchPlan far_plan = gpu::plan_fused(far_expert, kSms, &rows);
  expect(!gpu::fused_small_kernel_fits(far_expert, far_plan) && far_plan.one_wave &&
             far_plan.row_slots == 0 && far_plan.items == 8 * 4096 * 56,
         "masked fused, experts past 2^31 bytes: fused_vec_kernel, every row an item");
  p.experts = 2;
  p.m = 512;  // 57344 groups over both experts
  const gpu::LaunchPlan few = gpu::plan_fused(p, kSms, &rows);
  expect(few.nv == 1 && !gpu::fused_one_group_kernel(few),
         "masked fused, few groups: one vector per lane, four groups per item");
  for (auto [m, k, nv] : {std::tuple<int64_t, int64_t, int>{1, 7168, 1},
                          {1024, 2048, 1}, {1024, 7168, 1}, {4096, 2048, 1},
                          {4096, 7168, 2}, {16384, 2048, 2}}) {
    QuantProblem f = problem(m, k, false);
    f.fuse_silu_and_mul = true;
    const gpu::LaunchPlan plan = gpu::plan_fused(f, kSms, &rows);
    expect(gpu::fused_one_group_kernel(plan) && plan.chunk == 1 && plan.nv == nv,
           "fused, unmasked, row scales: one group per item; two vectors per "
           "lane past 2^17 groups");
  }
  QuantProblem fp = problem(3, 7168, true);  // 4 padded rows, 14 words
  fp.fuse_silu_and_mul = true;
  const gpu::LaunchPlan bytes = gpu::plan_fused(fp, kSms, &rows);
  expect(rows == 4 && bytes.chunk == 1 && bytes.chunks_per_row == 56 &&
             bytes.items == 4 * 56 && gpu::fused_one_group_kernel(bytes),
         "fused packed, small: one item per group of the padded word grid");
  expect(gpu::fused_small_kernel_fits(fp, bytes), "fused packed, small: fused_small_kernel");
  QuantProblem fbig = problem(4096, 7168, true);
  fbig.fuse_silu_and_mul = true;
  const gpu::LaunchPlan words = gpu::plan_fused(fbig, kSms, &rows);
  expect(words.nv == 2 && words.chunk == 1 && words.chunks_per_row == 56 &&
             gpu::fused_small_kernel_fits(fbig, words),
         "fused packed, 229K groups: two vectors per lane, a byte per item, "
         "fused_small_kernel");
  QuantProblem fmid = problem(1024, 7168, true);  // 57K groups
  fmid.fuse_silu_and_mul = true;
  const gpu::LaunchPlan mid = gpu::plan_fused(fmid, kSms, &rows);
  expect(mid.nv == 1 && mid.chunk == 1 && gpu::fused_small_kernel_fits(fmid, mid),
         "fused packed, 57K groups: one vector per lane, fused_small_kernel");
  QuantProblem row1 = problem(1, 7168, false);
  row1.fuse_silu_and_mul = true;
  const gpu::LaunchPlan r1 = gpu::plan_fused(row1, kSms, &rows);
  expect(gpu::fused_small_kernel_fits(row1, r1), "fused, one row: fused_small_kernel");
  QuantProblem far = row1;
  far.m = 40;
  far.x_row_stride = int64_t{1} << 25;  // rows 64 MiB apart: past 2^31 bytes
  expect(!gpu::fused_small_kernel_fits(far, gpu::plan_fused(far, kSms, &rows)),
         "fused, offsets past 2^31 bytes: fused_vec_kernel");
  QuantProblem edge = row1;  // the up half alone crosses 2^31 bytes
  edge.m = 2;
  edge.x_row_stride = (int64_t{1} << 30) - 10000;  // gate ends below 2^31 bytes, up past it
  const gpu::LaunchPlan ep = gpu::plan_fused(edge, kSms, &rows);
  QuantProblem edge_plain = edge;  // the same rows read without the up half
  edge_plain.fuse_silu_and_mul = false;
  expect(gpu::small_kernel_shape_fits(edge_plain, ep) && !gpu::small_kernel_shape_fits(edge, ep) &&
             !gpu::fused_small_kernel_fits(edge, ep),
         "fused: the up half's offsets count");
  QuantProblem masked_one = row1;
  masked_one.masked_m = reinterpret_cast<const int32_t*>(row1.s);
  expect(!gpu::fused_small_kernel_fits(masked_one, gpu::plan_fused(masked_one, kSms, &rows)),
         "masked, few groups (four per item): fused_vec_kernel");
}

void small_shape_bound_follows_memory_bandwidth() {
  // H100 SXM (2619 MHz x 5120 bits: 3352 GB/s) and unknown (0): 2^19 groups;
  // H200 (HBM3e, about 4.8 TB/s): 2^16.
  expect(gpu::small_kernel_max_groups(3352) == int64_t{1} << 19 &&
             gpu::small_kernel_max_groups(0) == int64_t{1} << 19,
         "3.35 TB/s or unknown: the small shape up to 2^19 groups");
  expect(gpu::small_kernel_max_groups(4800) == int64_t{1} << 16,
         "4.8 TB/s: the small shape up to 2^16 groups");
  const int64_t wide = gpu::small_kernel_max_groups(4800);
  for (auto [m, k, nv] : {std::tuple<int64_t, int64_t, int>{4096, 2048, 1},
                          {1024, 7168, 1}, {4096, 4096, 2}, {16384, 2048, 2},
                          {4096, 7168, 2}}) {
    for (bool packed : {false, true}) {
      const QuantProblem p = problem(m, k, packed);
      const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms, wide);
      expect(plan.nv == nv && gpu::small_kernel_shape_fits(p, plan) == (nv == 1),
             "wide memory: two vectors per lane past 2^16 groups");
      expect(gpu::plan_launch(p, kSms).nv == 1,
             "narrow memory: the small shape up to 2^19 groups");
    }
  }
}

void flat_large_plans_on_wide_memory() {
  expect(gpu::flat_large_plans(4800) == gpu::kFlatPlansTimed &&
             !gpu::flat_large_plans(3352) && !gpu::flat_large_plans(0),
         "one-group plans past the small shape: where memory is wide, once timed");
  const int64_t wide = gpu::small_kernel_max_groups(4800);
  for (auto [m, k] : {std::pair<int64_t, int64_t>{4096, 4096}, {16384, 2048},
                      {16384, 7168}}) {
    const QuantProblem p = problem(m, k, false);
    const gpu::LaunchPlan plan = gpu::plan_launch(p, kSms, wide, true);
    expect(plan.nv == 2 && plan.lanes == 8 && plan.chunk == 1 &&
               plan.items == m * (k / 128) &&
               gpu::small_kernel_shape_fits(p, plan),
           "flat large: quant_small_kernel, two vectors per lane, a group per item");
    const QuantProblem pk = problem(m, k, true);
    const gpu::LaunchPlan pp = gpu::plan_launch(pk, kSms, wide, true);
    expect(pp.nv == 2 && pp.chunk == 1 && pp.chunks_per_row == pk.packed_cols * 4 &&
               gpu::small_kernel_shape_fits(pk, pp),
           "flat large packed: a byte of the UE8M0 word per item");
    const gpu::LaunchPlan off = gpu::plan_launch(p, kSms, wide, false);
    expect(off.nv == 2 && off.chunk == 4 && !gpu::small_kernel_shape_fits(p, off),
           "flat large off: quant_vec_kernel's four-group items");
  }
  QuantProblem far = problem(16384, 7168, false);
  far.x_row_stride = int64_t{1} << 20;  // rows 2 MiB apart: 32 GiB of x
  const gpu::LaunchPlan fp = gpu::plan_launch(far, kSms, wide, true);
  expect(fp.nv == 2 && fp.chunk == 4 && !gpu::small_kernel_shape_fits(far, fp),
         "flat large past 2^31 bytes: back to four-group items");
  QuantProblem f32 = problem(1, 7168, false);  // G = 128 fp32: 32 vectors
  f32.in_format = InputFormat::kFloat32;
  const gpu::LaunchPlan f32p = gpu::plan_launch(f32, kSms, wide, true);
  expect(f32p.nv == 2 && f32p.lanes == 16 && f32p.chunk == 1 &&
             gpu::small_kernel_shape_fits(f32, f32p),
         "float32 G = 128 small M, flat plans: quant_small_kernel, two vectors per lane");
  const gpu::LaunchPlan f32v = gpu::plan_launch(f32, kSms, wide, false);
  expect(f32v.nv == 2 && !gpu::small_kernel_shape_fits(f32, f32v),
         "float32 G = 128 small M, flat plans off: quant_vec_kernel");
  expect_rule_switch("pflat", &gpu::LaunchTuning::plain_flat);
  expect(gpu::parse_tuning(nullptr).masked_plain_flat &&
             !gpu::parse_tuning("mflat=0").masked_plain_flat &&
             gpu::parse_tuning("mflat=1").masked_plain_flat,
         "mflat: on unless mflat=0");
}

void small_kernels_get_every_block() {
  gpu::LaunchPlan plan;
  plan.blocks = 5000;
  expect(gpu::launch_blocks(plan, 1056, false) == 5000,
         "a kernel without a grid-stride loop gets one block per item group");
  expect(gpu::launch_blocks(plan, 1056, true) == 5000, "default: the full grid");
  plan.one_wave = true;
  expect(gpu::launch_blocks(plan, 1056, true) == 1056, "one_wave: one resident wave");
  expect(gpu::launch_blocks(plan, 1056, false) == 5000, "one_wave never caps a loop-free kernel");
  plan.one_wave = false;
  plan.blocks = int64_t{1} << 32;
  expect(gpu::launch_blocks(plan, 1056, true) == 1056,
         "more blocks than a launch takes: one resident wave of the loop");
}

void tuning_defaults_and_overrides() {
  const gpu::LaunchTuning none = gpu::parse_tuning(nullptr);
  expect(none.small_kernel, "default: the small kernel takes small problems");
  expect(none.full_grid && none.vectors_per_lane == 0, "default: full grid, vpl per problem");
  expect(!gpu::parse_tuning("small=0").small_kernel, "small=0 turns the small kernel off");
  expect(none.packed_bytes && !gpu::parse_tuning("packed=word").packed_bytes,
         "packed scales a byte per group by default; packed=word a word per item");
  expect(!none.masked_full_grid && gpu::parse_tuning("mgrid=full").masked_full_grid,
         "masked calls: one resident wave by default; mgrid=full a sub-group per item");
  expect(none.masked_rows == 0 && gpu::parse_tuning("mrows=4").masked_rows == 4 &&
             gpu::parse_tuning("mrows=1").masked_rows == 1,
         "masked fused rows per item: chosen by default; mrows=N fixes them");
  expect(none.blocks_per_sm == 1 && gpu::parse_tuning("bps=4").blocks_per_sm == 4 &&
             gpu::parse_tuning("bps=0").blocks_per_sm == 1 &&
             gpu::parse_tuning("bps=100").blocks_per_sm == 1 &&
             gpu::parse_tuning("bps=x").blocks_per_sm == 1,
         "bps=N: 1 <= N <= 99");
  expect(gpu::parse_tuning("mrows=1000").masked_rows == 0 &&
             gpu::parse_tuning("mrows=-1").masked_rows == 0 &&
             gpu::parse_tuning("mrows=").masked_rows == 0,
         "mrows: at most three digits, no sign");
  expect(none.small_max_log2 == 0 && gpu::parse_tuning("smax=19").small_max_log2 == 19 &&
             gpu::parse_tuning("smax=9").small_max_log2 == 0 &&
             gpu::parse_tuning("smax=31").small_max_log2 == 0,
         "small-shape bound: by bandwidth by default; smax=N (10..30) sets 2^N");
  const gpu::LaunchTuning t = gpu::parse_tuning("vpl=2,grid=wave,small=bogus");
  expect(t.vectors_per_lane == 2 && !t.full_grid && t.small_kernel,
         "overrides apply one by one; an unknown value leaves the default");
}

void small_shape_with_two_vectors_per_lane() {
  // svpl=2: half the lanes per group, two vectors each, a group (packed: a
  // byte of the UE8M0 word) per item in quant_small_kernel.
  for (int64_t m : {1, 64, 256}) {
    const QuantProblem p = problem(m, 7168, false);
    const gpu::LaunchPlan plan =
        gpu::plan_launch(p, kSms, gpu::kSmallKernelMaxGroups, false, 2);
    expect(plan.nv == 2 && plan.lanes == 8 && plan.chunk == 1 &&
               plan.items == m * 56 && plan.flat_two_vector &&
               gpu::small_kernel_shape_fits(p, plan),
           "svpl=2: quant_small_kernel, two vectors per lane, a group per item");
    const QuantProblem pk = problem(m, 7168, true);
    const gpu::LaunchPlan pp =
        gpu::plan_launch(pk, kSms, gpu::kSmallKernelMaxGroups, false, 2);
    expect(pp.nv == 2 && pp.chunk == 1 &&
               pp.chunks_per_row == pk.packed_cols * 4 &&
               gpu::small_kernel_shape_fits(pk, pp),
           "svpl=2 packed: a byte of the UE8M0 word per item");
    const gpu::LaunchPlan one = gpu::plan_launch(p, kSms, gpu::kSmallKernelMaxGroups, false, 1);
    expect(one.nv == 1 && one.lanes == 16 && !one.flat_two_vector,
           "svpl=1: one vector per lane");
    expect(gpu::plan_launch(p, kSms).nv == (m == 1 ? 1 : 2),
           "small shape by default: two vectors per lane from 2^11 to 2^14 groups");
  }
  for (auto [m, k, g, f32] : {std::tuple<int64_t, int64_t, int64_t, bool>{16, 7168, 128, false},
                              {512, 7168, 128, false}, {128, 4096, 64, false},
                              {256, 4096, 128, true}}) {
    QuantProblem p = problem(m, k, false);
    p.group_size = g;
    p.groups_per_row = k / g;
    if (f32) p.in_format = InputFormat::kFloat32;
    expect(gpu::small_shape_vectors(p) == 1,
           "one vector per lane below 2^11 and above 2^14 groups, G != 128, float32");
  }
  for (auto [m, k, two] : {std::tuple<int64_t, int64_t, bool>{16, 7168, true},
                           {16, 4096, true}, {16, 2048, false}, {1, 7168, false},
                           {512, 7168, false}}) {
    expect(gpu::small_shape_vectors(problem(m, k, true)) == (two ? 2 : 1),
           "packed scales: two vectors per lane from 2^9 to 2^14 groups");
  }
  QuantProblem f32 = problem(1, 7168, false);  // 32 vectors: two per lane anyway
  f32.in_format = InputFormat::kFloat32;
  expect(!gpu::plan_launch(f32, kSms).flat_two_vector &&
             gpu::plan_launch(f32, kSms, gpu::kSmallKernelMaxGroups, false, 2)
                 .flat_two_vector,
         "float32 G = 128: the small kernel's two vectors only when asked");
  expect(gpu::parse_tuning(nullptr).small_vectors == 0 &&
             gpu::parse_tuning("svpl=1").small_vectors == 1 &&
             gpu::parse_tuning("svpl=2").small_vectors == 2 &&
             gpu::parse_tuning("svpl=4").small_vectors == 0,
         "svpl: by the rule unless 1 or 2 is asked, other values ignored");
}

void column_order_for_column_major_scales() {
  QuantProblem col = problem(64, 4096, false);
  col.s_row_stride = 1;
  col.s_group_stride = 64;
  const gpu::LaunchPlan plan = gpu::plan_launch(col, kSms);
  expect(gpu::column_ordered_items(col, plan, -1),
         "column order: on by default for column-major scales below 2^16 groups");
  QuantProblem large = problem(4096, 2048, false);  // 2^16 groups
  large.s_row_stride = 1;
  large.s_group_stride = 4096;
  expect(!gpu::column_ordered_items(large, gpu::plan_launch(large, kSms), -1) &&
             gpu::column_ordered_items(large, gpu::plan_launch(large, kSms), 1),
         "column order: row order from 2^16 groups unless corder=1");
  expect(gpu::column_ordered_items(col, plan, 1) &&
             !gpu::column_ordered_items(col, plan, 0),
         "corder=1: column-major strided scales take column order");
  const QuantProblem row = problem(64, 4096, false);
  const QuantProblem packed = problem(64, 4096, true);
  QuantProblem one_row = col;
  one_row.m = 1;
  QuantProblem one_group = problem(64, 128, false);
  one_group.s_row_stride = 1;
  one_group.s_group_stride = 64;
  expect(!gpu::column_ordered_items(row, gpu::plan_launch(row, kSms), 1) &&
             !gpu::column_ordered_items(packed, gpu::plan_launch(packed, kSms), 1) &&
             !gpu::column_ordered_items(one_row, gpu::plan_launch(one_row, kSms), 1) &&
             !gpu::column_ordered_items(one_group, gpu::plan_launch(one_group, kSms), 1),
         "column order: never for row-major or packed scales, one row or one group per row");
  expect_rule_switch("corder", &gpu::LaunchTuning::column_order);
}

void packed_word_columns_below_the_bound() {
  const QuantProblem pk = problem(64, 7168, true);
  const gpu::LaunchPlan plan = gpu::plan_launch(pk, kSms);
  expect(plan.chunk == 1 && plan.chunks_per_row == pk.packed_cols * 4,
         "packed 64 x 7168: the byte grid");
  expect(gpu::packed_word_columns(pk, plan, -1) &&
             !gpu::packed_word_columns(pk, plan, 0) &&
             gpu::packed_word_columns(pk, plan, 1),
         "word-column order of the packed byte grid: by default at 64 x 7168, "
         "off under pcorder=0");
  const QuantProblem at_bound = problem(128, 16384, true);  // 2^14 groups
  const QuantProblem past = problem(1024, 7168, true);      // 57344 groups
  const gpu::LaunchPlan past_plan = gpu::plan_launch(past, kSms);
  expect(gpu::packed_word_columns(at_bound, gpu::plan_launch(at_bound, kSms), -1) &&
             past_plan.chunk == 1 && !gpu::packed_word_columns(past, past_plan, -1) &&
             gpu::packed_word_columns(past, past_plan, 1),
         "word-column order: up to 2^14 groups unless asked");
  const QuantProblem row = problem(64, 7168, false);
  QuantProblem one_row = pk;
  one_row.m = 1;
  expect(!gpu::packed_word_columns(row, gpu::plan_launch(row, kSms), 1) &&
             !gpu::packed_word_columns(one_row, gpu::plan_launch(one_row, kSms), 1),
         "word-column order: packed scales of more than one row only");
  expect_rule_switch("pcorder", &gpu::LaunchTuning::packed_word_columns);
}

void fused_half_vectors_while_one_wave() {
  int64_t rows = 0;
  for (auto [m, k, packed, half] :
       {std::tuple<int64_t, int64_t, bool, bool>{1, 7168, false, true},
        {64, 7168, false, true}, {64, 2048, true, true}, {128, 7168, false, true},
        {1024, 2048, false, false}, {1024, 7168, true, false}}) {
    QuantProblem f = problem(m, k, packed);
    f.fuse_silu_and_mul = true;
    const gpu::LaunchPlan plan = gpu::plan_fused(f, kSms, &rows);
    expect(plan.half_vectors == half && plan.lanes == (half ? 32 : 16) &&
               plan.blocks == (plan.items * plan.lanes + 255) / 256 &&
               gpu::fused_small_kernel_fits(f, plan),
           "fused bf16, G = 128: 8-byte lanes (32 a group) while twice the "
           "16-byte grid fits one wave of 2048 threads per SM");
  }
  QuantProblem f32 = problem(64, 7168, false);
  f32.fuse_silu_and_mul = true;
  f32.in_format = InputFormat::kFloat32;
  QuantProblem plain = problem(64, 7168, false);
  QuantProblem masked = problem(64, 7168, false);
  masked.fuse_silu_and_mul = true;
  masked.masked_m = reinterpret_cast<const int32_t*>(masked.s);
  expect(!gpu::plan_fused(f32, kSms, &rows).half_vectors &&
             !gpu::plan_launch(plain, kSms).half_vectors &&
             !gpu::plan_fused(masked, kSms, &rows).half_vectors,
         "8-byte lanes: unmasked fused calls of 2-byte inputs only");
  expect_rule_switch("fhalf", &gpu::LaunchTuning::fused_half);
}

}  // namespace

int main() {
  packed_word_columns_below_the_bound();
  fused_half_vectors_while_one_wave();
  column_order_for_column_major_scales();
  tuning_defaults_and_overrides();
  small_kernels_get_every_block();
  small_shape_bound_follows_memory_bandwidth();
  flat_large_plans_on_wide_memory();
  small_problems_take_the_small_kernel();
  small_shape_with_two_vectors_per_lane();
  mid_problems_take_the_small_kernel();
  packed_by_bytes_takes_one_group_per_item();
  large_problems_take_two_vectors_per_lane();
  offsets_past_32_bits_keep_the_wide_kernel();
  misaligned_input_takes_the_generic_path();
  encode_modes();
  masked_calls_count_all_experts();
  if (failures == 0) std::printf("launch plan: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
