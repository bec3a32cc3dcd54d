#include "csrc/validation.h"

#include "csrc/dispatch_utils.h"
#include "csrc/validation_util.h"

#include <cstdint>
#include <string>
#include <vector>

#include <torch/headeronly/core/ScalarType.h>

namespace groupquant {
namespace {

using namespace validation_util;
using torch::headeronly::DeviceType;
using torch::headeronly::ScalarType;
using torch::stable::Tensor;

// The [T, cols] block of a masked [E, T, cols] tensor as Rows2D (row stride
// strides[1]), with the expert stride beside it. Every stride of a dim
// longer than 1 must be non-negative; the caller checks dim() == 3.
Rows2D masked_block(const char* op, const Info& t, int64_t* expert_stride) {
  Rows2D r;
  r.rows = t.sizes[1];
  r.cols = t.sizes[2];
  r.row_stride = r.rows > 1 ? t.strides[1] : 0;
  r.col_stride = r.cols > 1 ? t.strides[2] : 0;
  *expert_stride = t.sizes[0] > 1 ? t.strides[0] : 0;
  if (t.numel == 0) return r;
  for (size_t i = 0; i < 3; ++i) {
    GQ_REQUIRE(t.sizes[i] <= 1 || t.strides[i] >= 0, op, t.name,
               " must have non-negative strides, got strides ",
               shape_str(t.strides));
  }
  return r;
}

// max_offset_2d of one block plus (experts - 1) expert strides.
int64_t max_offset_blocks(const char* op, const Info& t, int64_t block_max,
                          int64_t experts, int64_t expert_stride) {
  int64_t a = 0, s = 0;
  const bool ok = mul_ok(experts - 1, expert_stride, &a) &&
                  add_ok(a, block_max, &s);
  GQ_REQUIRE(ok, op, t.name, " must have an extent that fits in 64 bits, got "
             "shape ", shape_str(t.sizes), " and strides ",
             shape_str(t.strides));
  return s;
}

// What the three ops share: input and output_q, scalars and device.
struct Common {
  Info in;
  Info q;
  Rows2D x2;
  Rows2D q2;
  int64_t m = 0;
  int64_t k = 0;
  int64_t groups = 0;
  float eps = 0.f;
  float qmin = 0.f;
  float qmax = 0.f;
  QuantFormat out_format = QuantFormat::kE4M3FN;
  InputFormat in_format = InputFormat::kBFloat16;
  // Fused/masked (FusedMasked): m is T per expert when masked.
  bool fused = false;
  bool masked = false;
  int64_t experts = 1;
  int64_t x_expert_stride = 0;
  int64_t q_expert_stride = 0;
  Info mm;  // masked_m, when masked
};

// Reads and checks input/output_q and the scalars. `scale` is the third
// tensor: its dtype is checked by the caller, its device here.
Common check_common(const char* op, const Tensor& input,
                    const Tensor& output_q, const Tensor& scale,
                    const char* scale_name, Info* scale_info,
                    std::initializer_list<ScalarType> q_types,
                    const char* q_expected, int64_t group_size, double eps,
                    const char* min_name, double qmin, const char* max_name,
                    double qmax, DeviceType device_type,
                    const FusedMasked& fm) {
  Common c;
  c.fused = fm.fuse_silu_and_mul;
  c.masked = fm.masked_m != nullptr;
  c.in = read_info(op, input, "input");
  c.q = read_info(op, output_q, "output_q");
  *scale_info = read_info(op, scale, scale_name);

  check_dtype_in(op, c.in, kInputDtypes, kInputDtypeNames);
  check_dtype_in(op, c.q, q_types, q_expected);

  check_device(op, c.in, c.in, device_type);
  check_device(op, c.q, c.in, device_type);
  check_device(op, *scale_info, c.in, device_type);
  read_storage(input, c.in);
  read_storage(output_q, c.q);
  read_storage(scale, *scale_info);
  if (c.masked) {
    c.mm = read_info(op, *fm.masked_m, "masked_m");
    check_dtype_in(op, c.mm, {ScalarType::Int}, "torch.int32");
    check_device(op, c.mm, c.in, device_type);
    read_storage(*fm.masked_m, c.mm);
  }

  GQ_REQUIRE(group_size > 0, op, "group_size must be > 0, got ", group_size);
  GQ_REQUIRE(!c.in.sizes.empty(), op,
             "input must have at least 1 dimension, got a 0-dim tensor");
  const int64_t last = c.in.sizes.back();
  if (c.fused) {
    GQ_REQUIRE(last % 2 == 0, op,
               "input's last dim must be even (2H: gate then up) with "
               "fuse_silu_and_mul, got ", last);
  }
  c.k = c.fused ? last / 2 : last;
  GQ_REQUIRE(c.k % group_size == 0, op,
             c.fused ? "input's last dim / 2 (H, with fuse_silu_and_mul)"
                     : "input's last dim",
             " must be a multiple of group_size (", group_size, "), got ",
             c.k);
  c.groups = c.k / group_size;

  std::vector<int64_t> q_shape = c.in.sizes;
  q_shape.back() = c.k;
  GQ_REQUIRE(c.q.sizes == q_shape, op, "output_q must have shape ",
             shape_str(q_shape),
             c.fused ? " (input's, last dim halved)" : " (input's)", ", got ",
             shape_str(c.q.sizes));

  if (c.masked) {
    GQ_REQUIRE(c.in.sizes.size() == 3, op,
               "input must be 3-D [E, T, K] with masked_m, got shape ",
               shape_str(c.in.sizes));
    const std::vector<int64_t> mm_shape = {c.in.sizes[0]};
    GQ_REQUIRE(c.mm.sizes == mm_shape, op, "masked_m must have shape ",
               shape_str(mm_shape), " (input's E), got ",
               shape_str(c.mm.sizes));
    GQ_REQUIRE(c.mm.sizes[0] <= 1 || c.mm.strides[0] == 1, op,
               "masked_m must have stride 1, got strides ",
               shape_str(c.mm.strides));
    c.experts = c.in.sizes[0];
    c.x2 = masked_block(op, c.in, &c.x_expert_stride);
    c.q2 = masked_block(op, c.q, &c.q_expert_stride);
    c.m = c.experts == 0 ? 0 : c.x2.rows;
  } else {
    c.x2 = collapse_rows(op, c.in);
    c.q2 = collapse_rows(op, c.q);
    c.m = c.x2.rows;
  }
  if (c.in.numel > 0) {
    GQ_REQUIRE(c.k <= 1 || c.in.strides.back() == 1, op,
               "input must have stride 1 in its last dim, got strides ",
               shape_str(c.in.strides));
    GQ_REQUIRE(c.q2.cols <= 1 || c.q.strides.back() == 1, op,
               "output_q must have stride 1 in its last dim, got strides ",
               shape_str(c.q.strides));
    GQ_REQUIRE(c.m <= 1 || c.q2.row_stride >= c.k, op,
               "output_q must have a row stride >= ", c.k,
               " (rows must not overlap), got strides ",
               shape_str(c.q.strides));
    if (c.masked && c.experts > 1) {
      // Each expert's block ends at (T - 1) * row stride + K.
      const int64_t block = (c.m - 1) * (c.m > 1 ? c.q2.row_stride : 0) + c.k;
      GQ_REQUIRE(c.q_expert_stride >= block, op,
                 "output_q must have an expert stride >= ", block,
                 " (expert blocks must not overlap), got strides ",
                 shape_str(c.q.strides));
    }
  }

  const ClampScalars sc = check_clamp_scalars(op, eps, min_name, qmin,
                                              max_name, qmax, c.q.dtype);
  c.eps = sc.eps;
  c.qmin = sc.qmin;
  c.qmax = sc.qmax;
  c.out_format = quant_format_of(c.q.dtype);
  c.in_format = input_format_of(c.in.dtype);
  return c;
}

// Storage and overlap checks of input/output_q plus a third span; fills the
// fields of QuantProblem they own.
void finish(const char* op, const Tensor& input, const Tensor& output_q,
            Common& c, const Info& s_info, const void* s_data,
            int64_t s_max_offset, const char* s_what, QuantProblem* p,
            const FusedMasked& fm) {
  p->m = c.m;
  p->fuse_silu_and_mul = c.fused;
  p->experts = c.experts;
  p->k = c.k;
  p->groups_per_row = c.groups;
  p->eps = c.eps;
  p->qmin = c.qmin;
  p->qmax = c.qmax;
  p->in_format = c.in_format;
  p->out_format = c.out_format;
  p->device_index = c.in.device_type == DeviceType::CPU ? -1
                                                        : c.in.device_index;
  if (p->empty()) return;

  const void* x = input.const_data_ptr();
  void* q = output_q.mutable_data_ptr();
  const Span sx = check_storage(
      op, c.in, x,
      max_offset_blocks(op, c.in, max_offset_2d(op, c.in, c.x2), c.experts,
                        c.x_expert_stride));
  const Span sq = check_storage(
      op, c.q, q,
      max_offset_blocks(op, c.q, max_offset_2d(op, c.q, c.q2), c.experts,
                        c.q_expert_stride));
  const Span ss = check_storage(op, s_info, s_data, s_max_offset, s_what);
  check_disjoint(op, c.in, sx, c.q, sq);
  check_disjoint(op, c.in, sx, s_info, ss);
  check_disjoint(op, c.q, sq, s_info, ss);
  if (c.masked) {
    const void* mm = fm.masked_m->const_data_ptr();
    const Span smm = check_storage(op, c.mm, mm, c.experts - 1);
    check_disjoint(op, c.mm, smm, c.q, sq);
    check_disjoint(op, c.mm, smm, s_info, ss);
    p->masked_m = static_cast<const int32_t*>(mm);
    p->x_expert_stride = c.x_expert_stride;
    p->q_expert_stride = c.q_expert_stride;
  }

  p->x = x;
  p->q = q;
  // Unused row strides (one row) get the dense value so kernels may use
  // them unconditionally.
  p->x_row_stride = c.m > 1 ? c.x2.row_stride : c.x2.cols;
  p->q_row_stride = c.m > 1 ? c.q2.row_stride : c.k;
}

// Strided float32 scales: [*lead, K/G] or [M, K/G], row- or column-major.
void check_strided_scales(const char* op, const Common& c, const Info& s,
                          QuantProblem* p, int64_t* max_offset) {
  check_dtype_in(op, s, {ScalarType::Float}, "torch.float32");
  std::vector<int64_t> lead_shape(c.in.sizes.begin(), c.in.sizes.end() - 1);
  lead_shape.push_back(c.groups);
  const std::vector<int64_t> flat_shape = {c.m, c.groups};
  const std::string expected_shapes =
      lead_shape == flat_shape || c.masked
          ? shape_str(c.masked ? lead_shape : flat_shape)
          : shape_str(lead_shape) + " or " + shape_str(flat_shape);
  GQ_REQUIRE(s.sizes == lead_shape || (!c.masked && s.sizes == flat_shape),
             op, "output_s must have shape ", expected_shapes, ", got ",
             shape_str(s.sizes));
  p->layout = ScaleLayout::kStrided;
  *max_offset = 0;
  if (c.m == 0 || c.groups == 0 || c.experts == 0) return;

  // Masked: the same 2-D rules per expert block of T rows.
  int64_t s_expert_stride = 0;
  const Rows2D r = c.masked ? masked_block(op, s, &s_expert_stride)
                            : collapse_rows(op, s);
  const int64_t m = c.m, g = c.groups;
  // Strides of size-1 dims are arbitrary in torch; give kernels values
  // consistent with the layout that was accepted.
  if (scales_row_major(op, s, r, m, g, "group")) {
    p->s_group_stride = 1;
    p->s_row_stride = m > 1 ? r.row_stride : g;
  } else {
    p->s_row_stride = 1;
    p->s_group_stride = g > 1 ? r.col_stride : m;
  }
  *max_offset = max_offset_2d(op, s, r);
  if (c.masked) {
    GQ_REQUIRE(c.experts <= 1 || s_expert_stride > *max_offset, op,
               "output_s must have an expert stride > ", *max_offset,
               " (expert blocks must not overlap), got strides ",
               shape_str(s.strides));
    p->s_expert_stride = s_expert_stride;
    *max_offset =
        max_offset_blocks(op, s, *max_offset, c.experts, s_expert_stride);
  }
}

// The part of the fp8 and int8 validators after their dtype checks: both
// take float32 scales in the strided (row/column-major) layouts.
QuantProblem finish_strided(const char* op, const Tensor& input,
                            const Tensor& output_q, const Tensor& output_s,
                            Common& c, const Info& s, int64_t group_size,
                            bool ue8m0, const FusedMasked& fm) {
  QuantProblem p;
  p.group_size = group_size;
  p.ue8m0 = ue8m0;
  int64_t s_max = 0;
  check_strided_scales(op, c, s, &p, &s_max);
  void* s_data = nullptr;
  if (c.m != 0 && c.k != 0) s_data = output_s.mutable_data_ptr();
  finish(op, input, output_q, c, s, s_data, s_max, "", &p, fm);
  p.s = s_data;
  return p;
}

}  // namespace

QuantProblem validate_fp8_quant(const Tensor& input, const Tensor& output_q,
                                const Tensor& output_s, int64_t group_size,
                                double eps, double fp8_min, double fp8_max,
                                bool scale_ue8m0, DeviceType device_type,
                                const FusedMasked& fm) {
  const char* op = "per_token_group_fp8_quant";
  Info s;
  Common c = check_common(
      op, input, output_q, output_s, "output_s", &s,
      {ScalarType::Float8_e4m3fn, ScalarType::Float8_e4m3fnuz},
      "torch.float8_e4m3fn or torch.float8_e4m3fnuz", group_size, eps,
      "fp8_min", fp8_min, "fp8_max", fp8_max, device_type, fm);
  return finish_strided(op, input, output_q, output_s, c, s, group_size,
                        scale_ue8m0, fm);
}

QuantProblem validate_int8_quant(const Tensor& input, const Tensor& output_q,
                                 const Tensor& output_s, int64_t group_size,
                                 double eps, double int8_min, double int8_max,
                                 DeviceType device_type,
                                 const FusedMasked& fm) {
  const char* op = "per_token_group_quant_int8";
  Info s;
  Common c = check_common(op, input, output_q, output_s, "output_s", &s,
                          {ScalarType::Char}, "torch.int8", group_size, eps,
                          "int8_min", int8_min, "int8_max", int8_max,
                          device_type, fm);
  return finish_strided(op, input, output_q, output_s, c, s, group_size,
                        /*ue8m0=*/false, fm);
}

QuantProblem validate_packed_quant(const Tensor& input, const Tensor& output_q,
                                   const Tensor& output_s_packed,
                                   int64_t group_size, double eps,
                                   double min_8bit, double max_8bit,
                                   DeviceType device_type,
                                   const FusedMasked& fm) {
  const char* op = "per_token_group_quant_8bit_packed";
  Info s;
  Common c = check_common(
      op, input, output_q, output_s_packed, "output_s_packed", &s,
      kQuantDtypes, kQuantDtypeNames, group_size,
      eps, "min_8bit", min_8bit, "max_8bit", max_8bit, device_type, fm);
  check_dtype_in(op, s, {ScalarType::Int}, "torch.int32");

  QuantProblem p;
  p.group_size = group_size;
  p.ue8m0 = true;
  p.layout = ScaleLayout::kPackedUE8M0;
  const int64_t m = c.m;
  const int64_t cols = packed_cols(c.groups);
  const int64_t rows_padded = packed_rows(m);  // m < 2^62: no overflow
  // Masked: [E, T, cols], each expert block the 2-D layout of M = T.
  std::vector<int64_t> shape = {m, cols};
  if (c.masked) shape = {c.experts, m, cols};
  GQ_REQUIRE(s.sizes == shape, op, "output_s_packed must have shape ",
             shape_str(shape),
             c.masked ? " ([E, T, ceil(K / group_size / 4)])"
                      : " ([M, ceil(K / group_size / 4)])",
             ", got ", shape_str(s.sizes));
  p.packed_cols = cols;
  p.packed_rows = rows_padded;
  p.packed_col_stride = rows_padded;

  int64_t s_max = 0;
  void* s_data = nullptr;
  if (m != 0 && c.k != 0 && c.experts != 0) {
    const size_t d = c.masked ? 1 : 0;  // index of the row dim
    GQ_REQUIRE(m <= 1 || s.strides[d] == 1, op,
               "output_s_packed must have row stride 1 (column-major), got "
               "strides ", shape_str(s.strides));
    GQ_REQUIRE(cols <= 1 || s.strides[d + 1] >= rows_padded, op,
               "output_s_packed must have column stride >= ", rows_padded,
               c.masked ? " (T rounded up to 4)" : " (M rounded up to 4)",
               ", got strides ", shape_str(s.strides));
    if (cols > 1) p.packed_col_stride = s.strides[d + 1];
    // The padding rows of the last column are written too (unmasked) or
    // are part of each expert's block (masked).
    int64_t last = 0;
    const bool ok = mul_ok(cols - 1, p.packed_col_stride, &last) &&
                    add_ok(last, rows_padded - 1, &s_max);
    GQ_REQUIRE(ok, op, "output_s_packed must have an extent that fits in 64 "
               "bits, got strides ", shape_str(s.strides));
    if (c.masked) {
      const int64_t es = c.experts > 1 ? s.strides[0] : 0;
      GQ_REQUIRE(c.experts <= 1 || es > s_max, op,
                 "output_s_packed must have an expert stride > ", s_max,
                 " (expert blocks must not overlap), got strides ",
                 shape_str(s.strides));
      p.s_expert_stride = es;
      s_max = max_offset_blocks(op, s, s_max, c.experts, es);
    }
    s_data = output_s_packed.mutable_data_ptr();
  }
  finish(op, input, output_q, c, s, s_data, s_max,
         ", padding rows up to round_up(M, 4) of every column included", &p,
         fm);
  p.s = s_data;
  return p;
}

}  // namespace groupquant
