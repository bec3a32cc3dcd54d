// Host side of the shared GPU backend, part one: the launch plan of a
// validated QuantProblem (vector shape, item shape, grid size, encoder and
// clamp choice, which kernel takes it). Plain C++ with no GPU header, so the
// choices are unit-tested on any machine (tests/scalar/launch_plan_test.cpp);
// gpu/launch/*_launch.cuh turn a plan into a kernel launch.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "csrc/format_traits.h"
#include "csrc/quant_problem.h"
#include "gpu/device/kernel_geometry.h"

namespace groupquant {
namespace gpu {

// Launch shape knobs. The defaults are what measured best on the H200
// (docs/cuda_kernel_notes.md); GROUPQUANT_GPU_TUNE="vpl=2,chunk=2,grid=full"
// overrides them for tuning on another GPU without a rebuild. vpl: at least
// this many 16-byte vectors per lane and group where the group allows it;
// chunk: at most this many groups per item (packed always uses 4); grid:
// `full` (default) launches one sub-group per item, `wave` caps the grid at
// one resident wave of a grid-stride loop; bps: the chunk shrinks while the
// grid would have fewer than this many blocks per SM; small=0 restores the
// plans from before the small kernels (quant_vec_kernel and four-group
// fused items); packed=word writes packed scales a word per item; mgrid=full
// gives every masked call a sub-group per item; flat=0 keeps two-vector
// fused calls on fused_vec_kernel; mrows=N gives each masked fused item of
// fused_small_kernel N rows of its expert (1: a sub-group per row; 0: a
// number chosen per problem); smax=N lets plain problems of up to 2^N
// groups take the small kernel's shape (10 <= N <= 30); pflat=1 / pflat=0
// turn quant_small_kernel's two-vector plans for larger plain problems on /
// off (unset: flat_large_plans's default); mflat=1 / mflat=0 the
// same for masked calls without the fusion (masked_plain_flat, on by
// default); svpl=1 / svpl=2 give the small shape one / two vectors per lane
// where the group has them (unset: small_shape_vectors's rule); corder=1 /
// corder=0 turn the small kernel's column order of items for column-major
// scales on / off (unset: column_ordered_items's rule); pcorder=1 /
// pcorder=0 the same for the packed byte grid's word-column order (unset:
// packed_word_columns's rule); fhalf=1 / fhalf=0 the fused small kernel's
// 8-byte lane vectors (unset: fused_half_vectors's rule).
// Measured on the H200 with two vectors per lane (two or three resident
// blocks per SM), the full grid ran 3-12% faster at M = 16384: the hardware
// block scheduler balances the tail that a fixed wave leaves. Every value
// named here is checked bit-exact by tests/test_gpu_tuning.py.
struct LaunchTuning {
  int64_t vectors_per_lane = 0;  // 0: chosen per problem (vectors_per_lane())
  int chunk = kChunk;
  bool full_grid = true;
  int64_t blocks_per_sm = 1;  // the chunk shrinks below this many blocks/SM
  // quant_small_kernel where it applies (one vector per lane, one group or
  // packed word per item). Checked bit-exact and sanitizer-clean on an H100
  // and faster at every small shape there (docs/cuda_kernel_notes.md, graph
  // replay at M = 1: 1.51 against 1.75 µs); small=0 turns it off.
  bool small_kernel = true;
  // Packed problems that the small kernel takes get one group per item,
  // each writing its byte of the UE8M0 word, instead of one item per word
  // (four groups one after the other per sub-group). Measured on an H100
  // (docs/h100/2026-12-06/packed_byte_sweep_{word,byte}.txt, same run,
  // bf16, K = 7168): M = 1 95% of copy against 83%, M = 64 94% against 85%,
  // and no shape slower; packed=word turns it off.
  bool packed_bytes = true;
  // Masked calls (except plain packed ones) run one resident wave of the
  // grid-stride loop, whose warps jump over masked rows (fused_kernel.cuh,
  // skip_masked_rows), instead of a sub-group per item, where every masked
  // item is a block launched only to find it has nothing to do. H100, E =
  // 8, T = 4096, half of each expert's rows valid, same run
  // (docs/h100/2026-12-06-s22/call2/fused_sweep_new_{a,mgrid_full}.json):
  // plain row K = 7168 154 -> 131 us (79% -> 93% of the valid rows' copy),
  // fused H = 2048 row 99.8 -> 97.4 us, packed 95.0 -> 90.6 us; plain packed
  // (four groups a word per item) went the other way, 132 -> 138 us, and
  // keeps the full grid. mgrid=full gives every masked call the full grid.
  bool masked_full_grid = false;
  // Fused calls of two vectors per lane (unmasked or masked) run the
  // loop-free fused_small_kernel where its 32-bit offsets fit, packed ones
  // a byte of the UE8M0 word per item; flat=0 keeps them on fused_vec_kernel
  // (masked: one wave of its grid-stride loop; packed: a word per item).
  // H100, bf16, G = 128, same wheel and call
  // (docs/h100/2026-12-06-s24/fused_sweep_{default,flat_0}.json): 16384 x
  // 7168 row 219.7 -> 194.7 us (90% -> 102% of copy), packed 221.4 ->
  // 193.6 us, 4096 x 7168 row 60.3 -> 53.5 us, 16384 x 2048 69.5 -> 60.8
  // us, masked fused H = 2048 row 82.8 -> 71.4 us; nothing slower.
  bool fused_flat = true;
  // Rows of its expert per masked item of fused_small_kernel
  // (masked_rows_per_item); 0: chosen per problem, mrows=1 restores a row
  // per item. H200, E = 8, T = 4096, H = 2048, row, same wheel and call
  // (docs/h200/2026-12-06-s9/masked_sweep_{default,mrows_0}.json, mrows=1 then 0):
  // T valid rows 115 -> 113 µs, T/2 70.1 -> 60.2 µs (61.7% -> 71.9% of the
  // valid rows' copy), T/32 18.7 -> 10.4 µs; mrows=2 and 4 in between.
  int64_t masked_rows = 0;
  // log2 of the most groups a plain problem takes the small kernel's shape
  // at (small_kernel_max_groups); 0: by the device's memory bandwidth.
  int small_max_log2 = 0;
  // Plain problems past the small-shape bound with two vectors per lane run
  // quant_small_kernel with one group per item (flat_large_plans); -1:
  // flat_large_plans's default, 0 / 1: off / on.
  int plain_flat = -1;
  // Masked calls without the fusion, two vectors per lane: fused_small_kernel
  // with row slots (masked_plain_flat); mflat=0 turns it off
  // (fused_vec_kernel's one-wave loop).
  bool masked_plain_flat = true;
  // At least this many 16-byte vectors per lane for plain problems of the
  // small shape (1 or 2); 0: small_shape_vectors's rule.
  int small_vectors = 0;
  // Column-major scales: quant_small_kernel's one-group items ordered down
  // the columns of the scale matrix (column_ordered_items); -1: its rule,
  // 0 / 1: off / on.
  int column_order = -1;
  // Packed scales on quant_small_kernel's byte grid: items in (word column,
  // row, byte) order (packed_word_columns); -1: its rule, 0 / 1: off / on.
  int packed_word_columns = -1;
  // Unmasked fused calls of 2-byte inputs on fused_small_kernel: 8-byte
  // lane vectors, twice the lanes per group (fused_half_vectors); -1: its
  // rule, 0 / 1: off / on.
  int fused_half = -1;
};

// `val` as a number of at most `max_digits` decimal digits in [lo, hi], or
// false (the setting keeps its default).
inline bool parse_bounded(const std::string& val, size_t max_digits, int lo,
                          int hi, int* out) {
  if (val.empty() || val.size() > max_digits ||
      val.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int n = std::stoi(val);
  if (n < lo || n > hi) return false;
  *out = n;
  return true;
}

inline LaunchTuning parse_tuning(const char* text) {
  LaunchTuning t;
  if (text == nullptr) return t;
  const std::string spec(text);
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string val = eq == std::string::npos ? "" : item.substr(eq + 1);
    int n = 0;
    if (key == "vpl" && (val == "1" || val == "2" || val == "4")) {
      t.vectors_per_lane = std::stoi(val);
    } else if (key == "chunk" && (val == "1" || val == "2" || val == "4")) {
      t.chunk = std::stoi(val);
    } else if (key == "bps" && parse_bounded(val, 2, 1, 99, &n)) {
      t.blocks_per_sm = n;
    } else if (key == "grid" && (val == "wave" || val == "full")) {
      t.full_grid = val == "full";
    } else if (key == "small" && (val == "0" || val == "1")) {
      t.small_kernel = val == "1";
    } else if (key == "packed" && (val == "word" || val == "byte")) {
      t.packed_bytes = val == "byte";
    } else if (key == "mgrid" && (val == "wave" || val == "full")) {
      t.masked_full_grid = val == "full";
    } else if (key == "flat" && (val == "0" || val == "1")) {
      t.fused_flat = val == "1";
    } else if (key == "mrows" && parse_bounded(val, 3, 0, 999, &n)) {
      t.masked_rows = n;
    } else if (key == "smax" && parse_bounded(val, 2, 10, 30, &n)) {
      t.small_max_log2 = n;
    } else if (key == "pflat" && (val == "0" || val == "1")) {
      t.plain_flat = val == "1";
    } else if (key == "mflat" && (val == "0" || val == "1")) {
      t.masked_plain_flat = val == "1";
    } else if (key == "svpl" && (val == "1" || val == "2")) {
      t.small_vectors = std::stoi(val);
    } else if (key == "corder" && (val == "0" || val == "1")) {
      t.column_order = val == "1";
    } else if (key == "pcorder" && (val == "0" || val == "1")) {
      t.packed_word_columns = val == "1";
    } else if (key == "fhalf" && (val == "0" || val == "1")) {
      t.fused_half = val == "1";
    }
    pos = end + 1;
  }
  return t;
}

inline const LaunchTuning& tuning() {
  static const LaunchTuning t = parse_tuning(std::getenv("GROUPQUANT_GPU_TUNE"));
  return t;
}

struct LaunchPlan {
  bool vectorized = false;
  int nv = 0;     // 16-byte vectors per lane per group (vectorized only)
  int lanes = 0;  // lanes per group
  int chunk = 0;  // groups per item
  int64_t chunks_per_row = 0;
  int64_t items = 0;
  int64_t blocks = 0;  // one sub-group per item; capped at launch
  bool one_wave = false;  // capped at one resident wave (grid-stride loop)
  // Masked fused_small_kernel plans: an item takes its expert's rows slot,
  // slot + row_slots, ... (items = experts * row_slots * chunks_per_row).
  int64_t row_slots = 0;
  // Plans without the fusion: a small kernel (quant_small_kernel, or
  // fused_small_kernel for masked calls) may take this plan with two vectors
  // per lane (flat_large_plans / masked_plain_flat chose one group per item
  // for it).
  bool flat_two_vector = false;
  // fused_small_kernel with 8-byte lane vectors (fused_half_vectors): lanes
  // is then twice the 16-byte lanes per group.
  bool half_vectors = false;
};

inline int input_bytes(InputFormat f) {
  return f == InputFormat::kFloat32 ? 4 : 2;
}

inline int log2_exact(int v) {
  int l = 0;
  while ((1 << l) < v) ++l;
  return l;
}

// The fast path needs whole 16-byte vectors everywhere it loads and whole
// output vectors everywhere it stores, and a per-lane vector count it was
// compiled for. Returns lanes and nv, or false for the generic path.
// Two vectors per lane halve the per-group work every lane repeats
// (shuffles, scale, reciprocal) but double the registers per lane (two or
// three resident blocks per SM instead of four). On the H200 that won, with
// the full grid, for every layout once there are enough groups to fill the
// chip several times (bf16, K 7168, M 16384: row 96% of copy against 78%,
// packed 101% against 93%), and lost for small M, where more lanes in
// flight matter more.
inline int64_t vectors_per_lane(int64_t groups, int sm_count) {
  if (tuning().vectors_per_lane > 0) return tuning().vectors_per_lane;
  return groups >= 48 * static_cast<int64_t>(sm_count) ? 2 : 1;
}

inline bool vector_shape(const QuantProblem& p, int64_t min_vectors,
                         int* lanes, int* nv) {
  const int64_t in_bytes = input_bytes(p.in_format);
  const int64_t out_vec = 16 / in_bytes;
  const int64_t group_bytes = p.group_size * in_bytes;
  if (group_bytes % 16 != 0) return false;
  if (reinterpret_cast<uintptr_t>(p.x) % 16 != 0) return false;
  if ((p.x_row_stride * in_bytes) % 16 != 0) return false;
  if (reinterpret_cast<uintptr_t>(p.q) % out_vec != 0) return false;
  if (p.q_row_stride % out_vec != 0) return false;
  const int64_t vectors = group_bytes / 16;
  // Lanes per group: a power of two dividing the group's vector count, at
  // most 16, and (when the group is big enough) leaving each lane at least
  // min_vectors vectors (see vectors_per_lane()).
  int64_t l = vectors & -vectors;  // largest power of two dividing it
  if (l > 16) l = 16;
  while (l > 1 && vectors / l < min_vectors) l >>= 1;
  const int64_t n = vectors / l;
  if (n != 1 && n != 2 && n != 4) return false;
  *lanes = static_cast<int>(l);
  *nv = static_cast<int>(n);
  return true;
}

// The item shape of a plan whose vector shape is set: `rows` rows (all
// experts' for the fused/masked kernels) of p.groups_per_row groups. Four
// groups per item keep 4 * nv loads in flight per lane. Only when that would
// leave SMs without a block (tiny m) does the chunk shrink, trading bytes in
// flight per lane for more lanes (measured on H100: at m = 256 x 7168, one
// group per item was 1.6x slower than four in quant_vec_kernel, whose
// registers are sized for four). max_chunk is 1 where the small kernel's
// shape is preferred (prefers_small_shape). Packed words need their 4
// groups in one item.
// One sub-group of `lanes` lanes per item, kBlockThreads lanes per block.
inline int64_t blocks_for(int64_t items, int lanes) {
  return (items * lanes + kBlockThreads - 1) / kBlockThreads;
}

// The blocks a launch gets: one sub-group per item, or for a kernel with a
// grid-stride loop (loops) under grid=wave, for a one_wave plan, or with
// more blocks than a launch takes, at most one resident wave (`wave`
// blocks). A kernel without
// the loop (the small kernels) always gets every block: capping it would
// leave items unwritten.
inline int64_t launch_blocks(const LaunchPlan& plan, int64_t wave, bool loops) {
  if (!loops) return plan.blocks;
  if (!tuning().full_grid || plan.one_wave || plan.blocks > INT32_MAX) {
    return plan.blocks < wave ? plan.blocks : wave;
  }
  return plan.blocks;
}

inline void plan_items(const QuantProblem& p, int sm_count, int64_t rows,
                       LaunchPlan* plan, int max_chunk = tuning().chunk) {
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  const int64_t want_threads = static_cast<int64_t>(sm_count) *
                               tuning().blocks_per_sm * kBlockThreads;
  plan->chunk = packed ? kChunk : max_chunk;
  while (!packed && plan->chunk > 1 &&
         rows * ((p.groups_per_row + plan->chunk - 1) / plan->chunk) *
                 plan->lanes <
             want_threads) {
    plan->chunk >>= 1;
  }
  plan->chunks_per_row =
      packed ? p.packed_cols
             : (p.groups_per_row + plan->chunk - 1) / plan->chunk;
  plan->items = rows * plan->chunks_per_row;
  plan->blocks = blocks_for(plan->items, plan->lanes);
}

// Up to this many groups a plain problem prefers quant_small_kernel's shape
// (one vector per lane, one group or packed word per item) at every M, not
// only where two vectors per lane would leave the GPU idle. Measured on an
// H100 (docs/h100/2026-12-06/mid_sweep_*, same run, bf16, G = 128): at
// 256 x 7168 through 16384 x 4096 (the largest problem timed, 2^19 groups)
// it beat two vectors per lane by 0-11 points of copy (4096 x 2048 row 91%
// against 82%, 16384 x 2048 row 100% against 96%): the small kernel's 28
// registers let 8 blocks reside per SM where the two-vector kernel's 80
// allow 3, and its one-group items leave no partial last wave. Larger
// problems keep two vectors per lane (16384 x 7168: 99.6% of copy there).
constexpr int64_t kSmallKernelMaxGroups = int64_t{1} << 19;

// Memory faster than this (peak GB/s, gpu::peak_memory_gbps) needs more
// bytes in flight per SM than the small kernel's one 16-byte load per lane
// past 2^16 groups. The H200 (HBM3e, 4.8 TB/s peak against the H100's 3.35)
// ran the 2^19 rule slower than the two-vector plans of its 2026-12-01
// build at every shape above 2^16 groups that changed kernel, and faster at
// and below it (docs/h200/2026-12-06-s9/bench_cuda.json against
// docs/h200/2026-12-01/bench_cuda.json, same kernels otherwise: 16384 x
// 4096 row 58.9 against 54.9 µs, packed 58.8 against 51.7; 16384 x 2048
// row 31.8 against 30.6; 4096 x 7168 packed 28.2 against 26.0; 4096 x
// 4096 packed 18.2 against 16.8; but 4096 x 2048 row 11.1 against 11.8
// and 1024 x 7168 10.3 against 11.3). smax=N in GROUPQUANT_GPU_TUNE sets
// the bound to 2^N.
constexpr int kWideMemoryGbps = 4000;
constexpr int64_t kSmallKernelMaxGroupsWideMemory = int64_t{1} << 16;

inline int64_t small_kernel_max_groups(int peak_memory_gbps) {
  if (tuning().small_max_log2 > 0) return int64_t{1} << tuning().small_max_log2;
  return peak_memory_gbps > kWideMemoryGbps ? kSmallKernelMaxGroupsWideMemory
                                            : kSmallKernelMaxGroups;
}

// Whether the per-problem shape rules apply: the small kernels on, vectors
// per lane and groups per item not fixed by GROUPQUANT_GPU_TUNE.
inline bool shape_rules_untuned() {
  return tuning().small_kernel && tuning().vectors_per_lane == 0 &&
         tuning().chunk == kChunk;
}

inline bool prefers_small_shape(const QuantProblem& p, int64_t max_groups) {
  return shape_rules_untuned() && p.m * p.groups_per_row <= max_groups;
}

// Whether plain problems of two vectors per lane (past the small-shape
// bound, and float32 groups of 128 at any size) run quant_small_kernel with
// two vectors per lane and one group per item (packed: a byte of the UE8M0
// word) instead of quant_vec_kernel's four-group items: no grid-stride
// loop, 32-bit offsets, items small enough that the last wave leaves no SM
// idle for long. Meant for wide memory (the H200: the four-group items' 80
// registers allow 3 resident blocks per SM, and their four groups in a row
// per sub-group come out as a latency chain; the two-vector small kernel
// has 38, bf16 -> e4m3fn, sm_90a); pflat=0 / pflat=1 in
// GROUPQUANT_GPU_TUNE force it off / on. On by default above 4 TB/s since
// an H200 timed it (docs/h200/2026-12-07-s16/flat_call/flat_{default,
// pflat_1}.txt, same wheel and call, bf16 -> e4m3fn, % of copy): M = 16384
// row 90.7/93.2/96.4 -> 97.9/98.1/99.3 at K = 2048/4096/7168, col_tma
// 89.9/91.6/94.7 -> 95.0/94.4/96.9, packed 96.4/99.1/101 -> 101/102/102;
// M = 4096 K = 4096 row 83.1 -> 92.9, K = 7168 90.3 -> 98.0; K = 2048
// within 0.3 either way (86-87%). An H100 measured it equal to the default
// within a point (docs/h100/2026-12-07/flat_*.json), so narrower memory
// keeps quant_vec_kernel's items. ROCm devices above 4 TB/s follow the
// same bandwidth rule as for the small-shape bound, untimed (no AMD GPU
// here); pflat=0 restores quant_vec_kernel's items there.
constexpr bool kFlatPlansTimed = true;

inline bool flat_large_plans(int peak_memory_gbps) {
  if (tuning().plain_flat >= 0) return tuning().plain_flat == 1;
  return kFlatPlansTimed && peak_memory_gbps > kWideMemoryGbps;
}

inline void packed_by_bytes(const QuantProblem& p, LaunchPlan* plan);
inline bool small_kernel_fits(const QuantProblem& p, const LaunchPlan& plan);

// Vectors per lane of the small shape's bf16/fp16 groups: two (half the
// lanes and blocks, two loads in flight per lane, one shuffle fewer per
// group) from 2^11 to 2^14 groups, one elsewhere. Timed on an H100 80GB
// HBM3 (docs/h100/2026-12-07/, svpl=2 against the default, same machine,
// bf16 -> e4m3fn, K = 4096 and 7168): CUDA-graph replay at M = 64 and 256
// faster or equal at all 12 shapes and layouts (M = 256, K = 7168: row
// 2.62 -> 2.47 µs, packed 2.76 -> 2.44, col_tma 2.85 -> 2.71; M = 64 packed
// 2.14 -> 1.94), but M = 16 (896 groups) row 1.64 -> 1.67. Packed scales
// gain below 2^11 too, from 2^9 groups (docs/h100/2026-12-07-s13/
// small16_{default,svpl_2}.*, same call: 16 x 7168 1.81 -> 1.64 µs, 32 x
// 7168 2.02 -> 1.86, 16 x 4096 (512 groups) 1.59 -> 1.58, but 16 x 2048
// 1.54 -> 1.57), where row and col_tma lose 0.04-0.09 µs. Larger problems,
// other group sizes and float32 groups are untimed with it and keep one
// vector (float32 G = 128 has two per lane anyway, on quant_vec_kernel).
constexpr int64_t kSmallTwoVectorMinGroups = int64_t{1} << 11;
constexpr int64_t kSmallTwoVectorMinGroupsPacked = int64_t{1} << 9;
constexpr int64_t kSmallTwoVectorMaxGroups = int64_t{1} << 14;

inline int small_shape_vectors(const QuantProblem& p) {
  const int64_t groups = p.m * p.groups_per_row;
  const int64_t min_groups = p.layout == ScaleLayout::kPackedUE8M0
                                 ? kSmallTwoVectorMinGroupsPacked
                                 : kSmallTwoVectorMinGroups;
  const bool two = p.in_format != InputFormat::kFloat32 &&
                   p.group_size == 128 && groups >= min_groups &&
                   groups <= kSmallTwoVectorMaxGroups;
  return two ? 2 : 1;
}

// small_max_groups: small_kernel_max_groups of the device; flat_large:
// flat_large_plans of the device; small_vectors: the least vectors per lane
// of the small shape (LaunchTuning::small_vectors; 0: small_shape_vectors).
inline LaunchPlan plan_launch(const QuantProblem& p, int sm_count,
                              int64_t small_max_groups = kSmallKernelMaxGroups,
                              bool flat_large = false, int small_vectors = 0) {
  LaunchPlan plan;
  const bool small_shape = prefers_small_shape(p, small_max_groups);
  if (small_vectors == 0) small_vectors = small_shape_vectors(p);
  plan.vectorized = vector_shape(
      p,
      small_shape ? small_vectors
                  : vectors_per_lane(p.m * p.groups_per_row, sm_count),
      &plan.lanes, &plan.nv);
  if (!plan.vectorized) plan.lanes = kGenericLanes;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  const int64_t rows = packed ? p.packed_rows : p.m;
  // One group per item for quant_small_kernel: the small shape with one
  // vector per lane (or the two small_vectors asked for), and under
  // flat_large every plan of two (past the small shape, and where a group
  // needs 16 lanes' worth of them: float32 G = 128).
  const bool one_group =
      plan.vectorized &&
      ((small_shape && (plan.nv == 1 || plan.nv == small_vectors)) ||
       (flat_large && shape_rules_untuned() && plan.nv == 2));
  plan.flat_two_vector = one_group && plan.nv == 2;
  plan_items(p, sm_count, rows, &plan, one_group ? 1 : tuning().chunk);
  if (packed && tuning().packed_bytes) packed_by_bytes(p, &plan);
  if (plan.flat_two_vector && !small_kernel_fits(p, plan)) {
    // quant_vec_kernel has no one-group instance with two vectors per lane.
    plan.flat_two_vector = false;
    plan_items(p, sm_count, rows, &plan, tuning().chunk);
  }
  return plan;
}

// Which encoder path and whether the clamp to [qmin, qmax] is needed. The
// clamp is skipped only where the encoder saturates to the same bounds on
// its own (proved on all floats by tools/gpu/gpu_encode_check.cu): every
// encoder saturates at its format's finite range (csrc/format_traits.h), and
// e4m3fnuz can also go through the e4m3fn conversion of 2v, which saturates
// at its default +-224 and is used whenever the bounds lie inside it (vLLM's
// and SGLang's default).
inline void encode_mode(const QuantProblem& p, bool* clamp, bool* fnuz_via_fn) {
  const FormatTraits f = format_traits(p.out_format);
  *fnuz_via_fn = p.out_format == QuantFormat::kE4M3FNUZ &&
                 p.qmin >= f.default_qmin && p.qmax <= f.default_qmax;
  const float lo = *fnuz_via_fn ? f.default_qmin : f.finite_min;
  const float hi = *fnuz_via_fn ? f.default_qmax : f.finite_max;
  *clamp = !(p.qmin <= lo && p.qmax >= hi);
}

// The encoder and clamp choice of a problem: template arguments of the fast
// kernel.
struct EncodeMode {
  bool clamp;
  bool fnuz_via_fn;
};

// The scale division max(amax, eps) / qmax may use qmax's reciprocal only
// for the bounds whose every dividend tools/gpu/gpu_division_check.cu checked:
// each format's finite maximum and default qmax (448, 240, 224, 127).
inline bool scale_division_by_reciprocal(float qmax) {
  for (QuantFormat f : {QuantFormat::kE4M3FN, QuantFormat::kE4M3FNUZ,
                        QuantFormat::kInt8}) {
    if (qmax == format_traits(f).finite_max ||
        qmax == format_traits(f).default_qmax) {
      return true;
    }
  }
  return false;
}

// What a small kernel's 32-bit offsets must reach, over all experts: x's
// byte past the last element read (fused calls: the up half's, H elements
// after the gate), q's byte past the last one written, and the number of
// scale words (float or UE8M0) up to the last one touched, padding rows
// and columns of the packed grid included.
struct SmallKernelExtent {
  int64_t x_end;
  int64_t q_end;
  int64_t s_words;
};

inline SmallKernelExtent small_kernel_extent(const QuantProblem& p) {
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  const int64_t e = p.experts - 1, last = p.m - 1;
  const int64_t x_elems = p.fuse_silu_and_mul ? 2 * p.k : p.k;
  SmallKernelExtent ext;
  ext.x_end = (e * p.x_expert_stride + last * p.x_row_stride + x_elems) *
              input_bytes(p.in_format);
  ext.q_end = e * p.q_expert_stride + last * p.q_row_stride + p.k;
  ext.s_words =
      e * p.s_expert_stride +
      (packed ? p.packed_rows + (p.packed_cols - 1) * p.packed_col_stride
              : last * p.s_row_stride +
                    (p.groups_per_row - 1) * p.s_group_stride + 1);
  return ext;
}

// Whether quant_small_kernel can take the call: one group per item
// (strided, or a byte of the packed word) with one vector per lane, or two
// in a flat_two_vector plan, or one packed word per item with one vector
// per lane, and every offset the call touches below 2^31 (its index
// arithmetic is 32-bit; scales are indexed by word).
inline bool small_kernel_shape_fits(const QuantProblem& p,
                                    const LaunchPlan& plan) {
  if (!plan.vectorized || p.m < 1) return false;
  if (plan.nv != 1 && !(plan.nv == 2 && plan.flat_two_vector)) return false;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  if (plan.chunk != 1 && (!packed || plan.nv != 1)) return false;
  const SmallKernelExtent ext = small_kernel_extent(p);
  return ext.x_end < INT32_MAX && ext.q_end < INT32_MAX &&
         ext.s_words < INT32_MAX && plan.items * plan.lanes < INT32_MAX;
}

// Whether it does (the tuning switch, then the shape).
inline bool small_kernel_fits(const QuantProblem& p, const LaunchPlan& plan) {
  return tuning().small_kernel && small_kernel_shape_fits(p, plan);
}

// Whether the small kernels' one-group items of a column-major strided
// problem (plain: quant_small_kernel; fused, unmasked: fused_small_kernel)
// go down the columns of the scale matrix (item = group * M + row)
// rather than along its rows: a warp's sub-groups then store their scales
// to consecutive floats of one column (one sector) instead of one float
// per group column M floats apart, and read whole groups either way. On
// by default below kColumnOrderMaxGroups. Timed on an H100 80GB HBM3
// (docs/h100/2026-12-07-s13/corder_{default,1}.*, same call, bf16 ->
// e4m3fn): CUDA-graph replay with warm x, col and col_tma, now as fast as
// row-major scales (64 x 4096 2.00 -> 1.74 µs, 64 x 7168 2.09 -> 1.82,
// 256 x 7168 2.74 -> 2.49, 64 x 2048 1.81 -> 1.67; the H200 showed the
// same 0.15-0.3 µs gap, docs/h200/2026-12-06-s9/bench_cuda.json) and 1024 x 7168
// (57344 groups) 88.9% -> 90.6% of copy; at 4096 x 2048 (2^16 groups)
// 89.7% -> 89.2% and at 16384 x 2048 99.5% -> 95.8%, where rows 4 KB
// apart per sub-group cost DRAM locality. order: tuning().column_order
// (corder=1 / corder=0 in GROUPQUANT_GPU_TUNE force it on / off; -1 the
// rule).
constexpr int64_t kColumnOrderMaxGroups = int64_t{1} << 16;

inline bool column_ordered_items(const QuantProblem& p, const LaunchPlan& plan,
                                 int order) {
  const bool column_major = p.layout == ScaleLayout::kStrided &&
                            p.s_row_stride == 1 && p.groups_per_row > 1 &&
                            p.m > 1;
  if (!column_major || plan.chunk != 1 || p.masked()) return false;
  if (order >= 0) return order == 1;
  return p.m * p.groups_per_row < kColumnOrderMaxGroups;
}

// Whether quant_small_kernel's packed byte grid (one group per item, each
// writing its byte of the UE8M0 word) orders its items (word column, row,
// byte) rather than (row, word column, byte): the eight words of a 32-byte
// sector of a word column then come from consecutive sub-groups, one block,
// instead of eight rows in up to eight blocks. The packed twin of
// column_ordered_items, which made column-major float scales replay as fast
// as row-major ones; it needs its own kernel instance (kWordColumns), the
// byte being the item's low two bits. On by default up to
// kPackedWordColumnsMaxGroups. Timed on an H100 80GB HBM3
// (docs/h100/2026-12-07-s14/call1_sweep_{default,pcorder_1}.*, same call, bf16 ->
// e4m3fn, CUDA-graph replay with warm x): packed 64 x 4096 1.86 -> 1.69 µs,
// 64 x 7168 1.93 -> 1.78, 256 x 7168 2.43 -> 2.35, 64 x 2048 1.65 -> 1.61,
// 16 x 7168 1.63 -> 1.60; eager at 1024 x 7168 (57344 groups) 91.7% ->
// 90.4% of copy, within the run-to-run spread but no gain, so the bound
// stops below it. order: tuning().packed_word_columns (pcorder=1 /
// pcorder=0 force it on / off; -1 the rule).
constexpr int64_t kPackedWordColumnsMaxGroups = int64_t{1} << 14;

inline bool packed_word_columns(const QuantProblem& p, const LaunchPlan& plan,
                                int order) {
  if (p.layout != ScaleLayout::kPackedUE8M0 || plan.chunk != 1 ||
      plan.chunks_per_row != p.packed_cols * kChunk || p.m <= 1 ||
      p.masked()) {
    return false;
  }
  if (order >= 0) return order == 1;
  return p.m * p.groups_per_row <= kPackedWordColumnsMaxGroups;
}

// One group per item on the padded grid of UE8M0 words (`rows` rows of
// packed_cols words, four items per word), each item writing its byte.
inline void use_packed_byte_grid(const QuantProblem& p, int64_t rows,
                                 LaunchPlan* plan) {
  plan->chunk = 1;
  plan->chunks_per_row = p.packed_cols * kChunk;
  plan->items = rows * plan->chunks_per_row;
  plan->blocks = blocks_for(plan->items, plan->lanes);
}

// Whether every byte of the packed scale words has an offset below 2^31:
// the small kernels store the bytes with 32-bit offsets.
inline bool packed_bytes_fit_31_bits(const QuantProblem& p) {
  return small_kernel_extent(p).s_words * 4 < INT32_MAX;
}

// Whether every byte offset fused_small_kernel forms for the call, every
// expert's and the up half's, fits 31 bits: the experts' base offsets are
// bytes, the scales' too (e * words * 4).
inline bool fused_small_offsets_fit(const QuantProblem& p) {
  const SmallKernelExtent ext = small_kernel_extent(p);
  return ext.x_end < INT32_MAX && ext.q_end < INT32_MAX &&
         ext.s_words * 4 < INT32_MAX;
}

// Unmasked fused calls of 2-byte inputs with four vectors per lane (vpl=4
// in GROUPQUANT_GPU_TUNE; a candidate, off by default): one group per item
// on fused_small_kernel, a quarter of the lanes per group, so the item's
// fixed cost (index math, the group maximum's shuffles, the scale, its
// reciprocal and store: about 150 of the two-vector item's 650 issued
// instructions, sm_90a) is shared by 32 elements per lane instead of 16.
// On the H200 the large fused calls are issue-bound (docs/performance.md).
// float32 inputs would hold 2 x 16 input vectors per lane, masked calls
// keep their row slots' two-vector items, and calls whose byte offsets
// pass 31 bits keep the generic path that four vectors took before (only
// fused_small_kernel has a four-vector instance).
inline bool fused_four_vector_items(const QuantProblem& p, int nv) {
  if (nv != 4 || !p.fuse_silu_and_mul || p.masked() ||
      input_bytes(p.in_format) != 2 || tuning().vectors_per_lane != 4 ||
      !tuning().small_kernel) {
    return false;
  }
  return fused_small_offsets_fit(p);
}

// Whether fused_small_kernel takes a fused/masked plan: one group per item
// (packed: a byte of the word per item); fused calls with one vector per
// lane, or two under `flat` (masked calls: two only), or four
// (fused_four_vector_items); masked calls without
// the fusion with two (masked_plain_flat chooses their one-group plan);
// and every byte offset of every expert below 2^31, the up half (H elements
// after the gate) included.
inline bool fused_small_kernel_fits(const QuantProblem& p,
                                    const LaunchPlan& plan) {
  const bool flat = tuning().fused_flat;
  if (!tuning().small_kernel || !plan.vectorized || plan.chunk != 1 ||
      p.m < 1) {
    return false;
  }
  if (!p.fuse_silu_and_mul) {
    // Masked plain calls: the plans masked_plain_flat chose.
    if (!p.masked() || plan.nv != 2 || !plan.flat_two_vector) return false;
  } else if (p.masked() ? !(flat && plan.nv == 2)
                        : !(plan.nv == 1 || (flat && plan.nv == 2) ||
                            fused_four_vector_items(p, plan.nv))) {
    return false;
  }
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  if (packed && plan.chunks_per_row != p.packed_cols * kChunk) return false;
  return fused_small_offsets_fit(p) && plan.items * plan.lanes < INT32_MAX;
}

// The packed plan as one group per item (chunk 1, four items per UE8M0
// word, each writing its byte): only for the small kernel, whose byte
// offsets of the scale words must then fit 31 bits as well.
inline void packed_by_bytes(const QuantProblem& p, LaunchPlan* plan) {
  if (!plan->vectorized || (plan->nv != 1 && !plan->flat_two_vector)) return;
  LaunchPlan b = *plan;
  use_packed_byte_grid(p, p.packed_rows, &b);
  if (small_kernel_fits(p, b) && packed_bytes_fit_31_bits(p)) *plan = b;
}

// The plain fast path's conditions (vector_shape, one vector per lane where
// the group allows it) for expert 0; the other experts must start on the
// same 16-byte grid. The up half starts H elements after the gate, a whole
// number of groups, whose bytes vector_shape requires to be a multiple of
// 16. Four vectors per lane (float32 groups of 256 and more) would hold
// 2 x 16 input vectors and 64 values per lane: those take the generic path
// rather than risk spills.
// Masked calls without the fusion are the plain op per expert and take the
// plain rule for vectors per lane over all experts' groups; fused ones hold
// gate and up vectors, one of each per lane where the group allows it, two
// for wide_fused_rows problems (vpl=N in GROUPQUANT_GPU_TUNE asks for N).
inline bool fused_vector_shape(const QuantProblem& p, int sm_count,
                               bool wide_rows, int* lanes, int* nv) {
  const int64_t min_vectors =
      p.fuse_silu_and_mul
          ? (tuning().vectors_per_lane > 0 ? tuning().vectors_per_lane
                                           : (wide_rows ? 2 : 1))
          : vectors_per_lane(p.experts * p.m * p.groups_per_row, sm_count);
  if (!vector_shape(p, min_vectors, lanes, nv)) return false;
  if (*nv > 2 && !fused_four_vector_items(p, *nv)) return false;
  const int64_t in_bytes = input_bytes(p.in_format);
  const int64_t out_vec = 16 / in_bytes;
  if (p.experts > 1) {
    if ((p.x_expert_stride * in_bytes) % 16 != 0) return false;
    if (p.q_expert_stride % out_vec != 0) return false;
  }
  return true;
}

// Whether a fused/masked plan runs the one-group instance of
// fused_vec_kernel: every plan of one group per item does (its registers
// for the item's vectors are a quarter of the four-group instance's: 40
// against 78, sm_90a, so twice the resident blocks).
inline bool fused_one_group_kernel(const LaunchPlan& plan) {
  return plan.vectorized && plan.chunk == 1;
}

// Up to this many groups an unmasked fused problem takes one group per item
// (packed ones a byte of the UE8M0 word each). Measured on an H100
// (docs/h100/2026-12-06/fused_sweep_{default,chunk_1}.json, same run, bf16,
// G = 128): one group per item was 4-12% faster at 1024 x 2048 through
// 4096 x 2048 (64K groups) and 1024 x 7168, and 5-10% slower
// at 4096 x 7168 (229K groups) and 16384 rows, where the four-group
// kernel's loads in flight per lane matter more than its occupancy.
// Larger ones take wide_fused_rows's shape (two vectors per lane, still one
// group per item; packed scales too, under flat); masked calls of fewer
// groups keep four groups per item.
constexpr int64_t kFusedOneGroupMaxGroups = int64_t{1} << 17;

// Fused problems of more than 2^17 groups over all experts, with strided
// (not packed) scales, take two vectors per lane and one group per item:
// half the lanes per group, so each group's reduction, scale and
// reciprocal are shared by twice the elements. Measured on an H100
// (docs/h100/2026-12-06-s22/call4, fused_sweep vpl=2,chunk=1 against the
// default, same wheel and call): 16384 x 7168 row 249 -> 225 µs (80% ->
// 88% of copy), 4096 x 7168 68.3 -> 61.2 µs, 16384 x 2048 78.1 -> 70.4 µs,
// masked E = 8, T = 4096, H = 2048 96.9 -> 83.7 µs; slower at 64K groups
// and fewer (4096 x 2048 19.9 -> 22.7 µs: fewer lanes in flight) and for
// packed scales (16384 x 7168 228 -> 295 µs: their items hold a word's
// four groups, whose eight vectors per lane spill). vpl=1 restores one
// vector per lane.
// With `flat` (fused_small_kernel), packed calls take it too, a byte of the
// word per item.
inline bool wide_fused_rows(const QuantProblem& p) {
  return p.fuse_silu_and_mul &&
         (p.layout != ScaleLayout::kPackedUE8M0 || tuning().fused_flat) &&
         shape_rules_untuned() &&
         p.experts * p.m * p.groups_per_row > kFusedOneGroupMaxGroups;
}

// A masked fused call on fused_small_kernel: how many rows of its expert
// each item takes. Which rows masked_m leaves valid is known only on the
// device, so a grid of one item per row launches a block for every masked
// row too; a grid of a few waves launches few such blocks, and at
// masked_m = T still has every row's loads in flight across its waves.
// `asked` (mrows=N) > 0 is taken as is; 0 gives the fewest rows, a power
// of two, that keep the grid within kMaskedSlotBlocksPerSm blocks per SM.
constexpr int64_t kMaskedSlotBlocksPerSm = 16;

// Row slots per expert for `rows_per_item` rows per item.
inline int64_t masked_row_slots(const QuantProblem& p, int64_t rows_per_item) {
  return (p.m + rows_per_item - 1) / rows_per_item;
}

inline int64_t masked_rows_per_item(const QuantProblem& p, int sm_count,
                                    const LaunchPlan& plan, int64_t asked) {
  if (asked > 0) return asked < p.m ? asked : p.m;
  const int64_t target = static_cast<int64_t>(sm_count) * kMaskedSlotBlocksPerSm;
  int64_t n = 1;
  while (n < p.m && blocks_for(p.experts * masked_row_slots(p, n) *
                                   plan.chunks_per_row,
                               plan.lanes) > target) {
    n *= 2;
  }
  return n < p.m ? n : p.m;
}

// The grid of row slots for `rows_per_item` rows per item.
inline void use_masked_row_slots(const QuantProblem& p, int64_t rows_per_item,
                                 LaunchPlan* plan) {
  plan->row_slots = masked_row_slots(p, rows_per_item);
  plan->items = p.experts * plan->row_slots * plan->chunks_per_row;
  plan->blocks = blocks_for(plan->items, plan->lanes);
}

// Masked calls without the fusion (the plain op per expert) with two
// vectors per lane take one group per item on fused_small_kernel, with row
// slots as the masked fused calls, instead of fused_vec_kernel's one-wave
// loop of four-group items (101 registers, 2 resident blocks per SM) or,
// packed, its full grid over every row. On the H200 that loop ran the
// bench's masked case (E = 8, T = 4096, K = 7168, T/2 valid) at 77-82% of
// the valid rows' copy (docs/h200/2026-12-06-s9/masked_sweep_mrows_0.json). On an H100
// 80GB HBM3 (docs/h100/2026-12-07/, same machine): T/32 valid row 16.2 ->
// 9.66 µs and packed 38.3 -> 9.12; T/2 row 131 -> 126, packed 132 -> 128;
// all rows valid row 255 -> 254 but packed 237 -> 251 µs, the one case it
// loses (masks leave most rows of a DeepGEMM masked layout empty).
// mflat=0 turns it off (masked_flat false).
inline bool masked_plain_flat(const QuantProblem& p, bool masked_flat) {
  return p.masked() && !p.fuse_silu_and_mul && shape_rules_untuned() &&
         masked_flat;
}

// Unmasked fused calls on fused_small_kernel with 2-byte inputs, one
// 16-byte vector per lane and at most 16 lanes per group: whether each lane
// loads 8 bytes of gate and of up instead of 16, so that a group has twice
// the lanes and each lane half the SiLU chain. A call whose 16-byte grid
// leaves most of the GPU's thread slots empty is bound by the latency of
// that chain, not by issue (ncu, H100, M = 64, H = 7168: 0.32 warp
// instructions issued per scheduler cycle, 19% of the warp slots
// occupied), so by default a call takes them while the doubled grid still
// fits one wave of kFusedHalfThreadsPerSm threads per SM (the SM's limit;
// H100/H200: 132 SMs, so up to 8448 groups of 128 bf16). Timed on an H100
// 80GB HBM3, bf16, G = 128 (docs/h100/2026-12-07-s14/, README there):
// CUDA-graph replay per call, fhalf=0 -> default (call3_fused_*, same
// call): 1 x 2048 row 2.05 -> 1.79 µs (1.36x -> 1.17x the plain op at the
// same M x H), 1 x 7168 2.05 -> 1.76, 64 x 2048 row 2.75 -> 2.48, 64 x 7168
// row 3.32 -> 3.07, packed at M = 64 unchanged (2.73 -> 2.83, 3.24 ->
// 3.21); forced past the bound (call1_fused_*): 1024 x 2048 eager 8.74 ->
// 9.34 µs, 1024 x 7168 17.2 -> 20.6, hence the bound. fhalf=1 / fhalf=0
// force it on / off.
constexpr int64_t kFusedHalfThreadsPerSm = 2048;

inline bool fused_half_vectors(const QuantProblem& p, const LaunchPlan& plan,
                               int sm_count) {
  const int asked = tuning().fused_half;
  const int64_t doubled_threads = plan.items * plan.lanes * 2;
  if (asked == 0 || !p.fuse_silu_and_mul || p.masked() ||
      input_bytes(p.in_format) != 2 || plan.nv != 1 || plan.lanes > 16 ||
      !fused_small_kernel_fits(p, plan) || doubled_threads >= INT32_MAX) {
    return false;
  }
  return asked == 1 ||
         doubled_threads <= int64_t{sm_count} * kFusedHalfThreadsPerSm;
}

// plan_launch's choices with experts * rows rows; `rows` is one expert's.
// masked_flat: masked_plain_flat on (unless mflat=0 in GROUPQUANT_GPU_TUNE).
inline LaunchPlan plan_fused(const QuantProblem& p, int sm_count,
                             int64_t* rows, bool masked_flat = true) {
  LaunchPlan plan;
  const bool wide = wide_fused_rows(p);
  plan.vectorized =
      fused_vector_shape(p, sm_count, wide, &plan.lanes, &plan.nv);
  if (!plan.vectorized) plan.lanes = kGenericLanes;
  const bool packed = p.layout == ScaleLayout::kPackedUE8M0;
  // Masked calls never touch the padding rows; unmasked packed ones zero them.
  *rows = packed && !p.masked() ? p.packed_rows : p.m;
  // small=0 restores the plans from before the small kernels (four groups).
  const bool one_group = p.fuse_silu_and_mul && !p.masked() &&
                         tuning().small_kernel && tuning().chunk == kChunk &&
                         p.m * p.groups_per_row <= kFusedOneGroupMaxGroups;
  // Several vectors per lane, still one group per item: two (wide fused
  // rows, masked plain calls) or four (fused_four_vector_items).
  const bool wide_items =
      (plan.nv == 2 && (wide || masked_plain_flat(p, masked_flat))) ||
      fused_four_vector_items(p, plan.nv);
  plan.flat_two_vector = wide_items && !p.fuse_silu_and_mul;
  plan_items(p, sm_count, *rows * p.experts, &plan,
             one_group || wide_items ? 1 : tuning().chunk);
  plan.one_wave = p.masked() && (p.fuse_silu_and_mul || !packed) &&
                  !tuning().masked_full_grid;
  if (packed && plan.vectorized && (one_group || wide_items)) {
    // A word's four groups are no longer one sub-group's serial work (H100,
    // M = 1: 11.3 us packed against 5.8 us row-major).
    use_packed_byte_grid(p, *rows * p.experts, &plan);
  }
  if (p.masked() && fused_small_kernel_fits(p, plan)) {
    plan.one_wave = false;  // no grid-stride loop there
    use_masked_row_slots(
        p, masked_rows_per_item(p, sm_count, plan, tuning().masked_rows), &plan);
  }
  if (fused_half_vectors(p, plan, sm_count)) {
    plan.lanes *= 2;
    plan.half_vectors = true;
    plan.blocks = blocks_for(plan.items, plan.lanes);
  }
  return plan;
}

}  // namespace gpu
}  // namespace groupquant
