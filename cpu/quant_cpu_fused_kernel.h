// The CPU row kernel of fuse_silu_and_mul, compiled once per instruction set
// next to cpu/quant_cpu_kernel.h (same GQ_ISA_NS / GQ_ISA_ATTR protocol,
// included right after it): each row's y = gq_silu_mul(gate, up) is built
// in float32 in a per-thread buffer, then that one row goes through the
// plain row kernel for float32 input, so the quantization itself is the
// very code of the unfused op.
//
// No include guard or #pragma once: it is meant to be included repeatedly.

namespace GQ_ISA_NS {

template <InputFormat FI>
GQ_ISA_ATTR inline void silu_mul_row(const typename In<FI>::Raw* __restrict gate,
                                     const typename In<FI>::Raw* __restrict up,
                                     uint32_t* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = gq_float_bits(
        gq_silu_mul(In<FI>::to_float(gate[i]), In<FI>::to_float(up[i])));
  }
}

template <InputFormat FI, QuantFormat FO, bool kPacked, bool kUE8M0>
GQ_ISA_ATTR void fused_rows(const QuantProblem& p, int64_t row_begin,
                            int64_t row_end) {
  using Raw = typename In<FI>::Raw;
  std::vector<uint32_t> y(static_cast<size_t>(p.k));
  QuantProblem row = p;  // one float32 row: y
  row.m = 1;
  row.in_format = InputFormat::kFloat32;
  row.x = y.data();
  row.x_row_stride = p.k;
  row.fuse_silu_and_mul = false;
  const Raw* x_base = static_cast<const Raw*>(p.x);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const Raw* gate = x_base + r * p.x_row_stride;
    silu_mul_row<FI>(gate, gate + p.k, y.data(), p.k);
    row.q = static_cast<uint8_t*>(p.q) + r * p.q_row_stride;
    row.s = kPacked ? static_cast<void*>(static_cast<int32_t*>(p.s) + r)
                    : static_cast<void*>(static_cast<float*>(p.s) +
                                         r * p.s_row_stride);
    quantize_rows<InputFormat::kFloat32, FO, kPacked, kUE8M0>(row, 0, 1);
  }
}

template <InputFormat FI, QuantFormat FO>
RowsFnPtr pick_fused_layout(const QuantProblem& p) {
  if (p.layout == ScaleLayout::kPackedUE8M0) {
    return &fused_rows<FI, FO, true, true>;
  }
  return p.ue8m0 ? &fused_rows<FI, FO, false, true>
                 : &fused_rows<FI, FO, false, false>;
}

template <InputFormat FI>
RowsFnPtr pick_fused_output(const QuantProblem& p) {
  switch (p.out_format) {
    case QuantFormat::kE4M3FN:
      return pick_fused_layout<FI, QuantFormat::kE4M3FN>(p);
    case QuantFormat::kE4M3FNUZ:
      return pick_fused_layout<FI, QuantFormat::kE4M3FNUZ>(p);
    case QuantFormat::kInt8:
      return pick_fused_layout<FI, QuantFormat::kInt8>(p);
  }
  return nullptr;
}

inline RowsFnPtr pick_fused(const QuantProblem& p) {
  switch (p.in_format) {
    case InputFormat::kFloat32:
      return pick_fused_output<InputFormat::kFloat32>(p);
    case InputFormat::kFloat16:
      return pick_fused_output<InputFormat::kFloat16>(p);
    case InputFormat::kBFloat16:
      return pick_fused_output<InputFormat::kBFloat16>(p);
  }
  return nullptr;
}

}  // namespace GQ_ISA_NS
