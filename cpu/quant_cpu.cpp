// Options the kernels need whatever the build mode (the Bazel BUILD passes
// the same as copts; this keeps other builds right too):
// - no-trapping-math: otherwise GCC keeps float compare-selects as branches
//   (a NaN compare may raise an FP exception), which blocks vectorizing the
//   encoders below AVX-512. Nothing reads FP exception flags; no value
//   changes (rounding is untouched).
// - fp-contract=off: a fused multiply-add would skip a rounding that the
//   reference performs; the math must be exactly the IEEE op sequence.
// - O3: -O2 (Bazel's opt mode) does not vectorize these loops in GCC 12.
// It must precede every include so that inlined helpers get the same options.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=off")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "cpu/quant_cpu.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cpu/parallel.h"
#include "csrc/format_dispatch.h"
#include "csrc/quant_math.h"
#include "csrc/quant_problem.h"

namespace groupquant {
namespace cpu_backend {
namespace {

// Quantizes rows [begin, end) of a problem.
using RowsFnPtr = void (*)(const QuantProblem&, int64_t, int64_t);

// The row kernel, once per instruction set (see cpu/quant_cpu_kernel.h).
#define GQ_ISA_NS isa_baseline
#define GQ_ISA_ATTR
#include "cpu/quant_cpu_kernel.h"
#include "cpu/quant_cpu_fused_kernel.h"
#undef GQ_ISA_NS
#undef GQ_ISA_ATTR

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GQ_HAVE_X86_VARIANTS 1
#define GQ_ISA_NS isa_avx2
#define GQ_ISA_ATTR __attribute__((target("avx2")))
#include "cpu/quant_cpu_kernel.h"
#include "cpu/quant_cpu_fused_kernel.h"
#undef GQ_ISA_NS
#undef GQ_ISA_ATTR

#define GQ_ISA_NS isa_avx512
#define GQ_ISA_ATTR \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2")))
#include "cpu/quant_cpu_kernel.h"
#include "cpu/quant_cpu_fused_kernel.h"
#undef GQ_ISA_NS
#undef GQ_ISA_ATTR
#else
#define GQ_HAVE_X86_VARIANTS 0
#endif

// Which instruction set to use; GROUPQUANT_CPU_ISA=baseline|avx2|avx512
// lowers the choice (for tests and benchmarks of each path).
enum class Isa { kBaseline, kAvx2, kAvx512 };

Isa detect_isa() {
  Isa best = Isa::kBaseline;
#if GQ_HAVE_X86_VARIANTS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    best = Isa::kAvx2;
  }
  if (best == Isa::kAvx2 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq")) {
    best = Isa::kAvx512;
  }
#endif
  const char* want = std::getenv("GROUPQUANT_CPU_ISA");
  if (want != nullptr) {
    const std::string w(want);
    Isa cap = best;
    if (w == "baseline") cap = Isa::kBaseline;
    if (w == "avx2") cap = Isa::kAvx2;
    if (static_cast<int>(cap) < static_cast<int>(best)) best = cap;
  }
  return best;
}

RowsFnPtr pick_kernel(const QuantProblem& p) {
  static const Isa isa = detect_isa();
  const bool fused = p.fuse_silu_and_mul;
#if GQ_HAVE_X86_VARIANTS
  if (isa == Isa::kAvx512) {
    return fused ? isa_avx512::pick_fused(p) : isa_avx512::pick(p);
  }
  if (isa == Isa::kAvx2) {
    return fused ? isa_avx2::pick_fused(p) : isa_avx2::pick(p);
  }
#endif
  (void)isa;
  return fused ? isa_baseline::pick_fused(p) : isa_baseline::pick(p);
}

// Below this many elements per thread, starting a thread costs more than it
// saves.
constexpr int64_t kMinElemsPerThread = int64_t{1} << 16;

void zero_packed_padding(const QuantProblem& p) {
  int32_t* base = static_cast<int32_t*>(p.s);
  for (int64_t c = 0; c < p.packed_cols; ++c) {
    for (int64_t r = p.m; r < p.packed_rows; ++r) {
      base[c * p.packed_col_stride + r] = 0;
    }
  }
}

// Rows [0, p.m) of an unmasked problem, over the available threads.
void run_rows(const QuantProblem& p, RowsFnPtr fn) {
  const int64_t elems = p.m * p.k * (p.fuse_silu_and_mul ? 8 : 1);
  int64_t threads = std::min(usable_threads(), p.m);
  threads = std::min(threads, std::max<int64_t>(1, elems / kMinElemsPerThread));
  if (threads <= 1) {
    fn(p, 0, p.m);
    return;
  }
  // Contiguous row ranges; the calling thread takes the first one.
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  const int64_t base = p.m / threads, extra = p.m % threads;
  int64_t begin = base + (extra > 0 ? 1 : 0);
  const int64_t first_end = begin;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t end = begin + base + (t < extra ? 1 : 0);
    try {
      pool.emplace_back(fn, std::cref(p), begin, end);
    } catch (...) {
      fn(p, begin, end);  // no thread available: do it here
    }
    begin = end;
  }
  fn(p, 0, first_end);
  for (std::thread& th : pool) th.join();
}

// Masked: expert e is the 2-D problem of its first clamp(masked_m[e], 0, T)
// rows, with no padding rows (nothing past them is written).
void quantize_masked(const QuantProblem& p, RowsFnPtr fn) {
  const int64_t in_bytes = p.in_format == InputFormat::kFloat32 ? 4 : 2;
  const int64_t s_bytes = 4;  // float or int32 words
  for (int64_t e = 0; e < p.experts; ++e) {
    const int64_t valid = std::min<int64_t>(
        std::max<int64_t>(p.masked_m[e], 0), p.m);
    if (valid == 0) continue;
    QuantProblem block = p;
    block.masked_m = nullptr;
    block.experts = 1;
    block.m = valid;
    block.packed_rows = valid;
    block.x = static_cast<const char*>(p.x) + e * p.x_expert_stride * in_bytes;
    block.q = static_cast<char*>(p.q) + e * p.q_expert_stride;
    block.s = static_cast<char*>(p.s) + e * p.s_expert_stride * s_bytes;
    run_rows(block, fn);
  }
}

}  // namespace

void quantize(const QuantProblem& p) {
  if (p.empty()) return;
  const RowsFnPtr fn = pick_kernel(p);
  if (p.masked()) {
    quantize_masked(p, fn);
    return;
  }
  if (p.layout == ScaleLayout::kPackedUE8M0) zero_packed_padding(p);
  run_rows(p, fn);
}

}  // namespace cpu_backend
}  // namespace groupquant
