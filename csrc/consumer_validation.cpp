#include "csrc/consumer_validation.h"

#include "csrc/dispatch_utils.h"
#include "csrc/validation_util.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <torch/headeronly/core/ScalarType.h>

namespace groupquant {
namespace {

using namespace validation_util;
using torch::headeronly::DeviceType;
using torch::headeronly::ScalarType;
using torch::stable::Tensor;

// Element (r, c) of a [rows, cols] tensor must be contiguous along c, and
// (for a written tensor) rows must not overlap.
void check_rows(const char* op, const Info& t, const Rows2D& v,
                bool written) {
  if (t.numel == 0) return;
  GQ_REQUIRE(v.cols <= 1 || v.col_stride == 1, op, t.name,
             " must have stride 1 in its last dim, got strides ",
             shape_str(t.strides));
  GQ_REQUIRE(!written || v.rows <= 1 || v.row_stride >= v.cols, op, t.name,
             " must have a row stride >= ", v.cols,
             " (rows must not overlap), got strides ", shape_str(t.strides));
}

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }


void check_positive(const char* op, const char* name, int64_t v) {
  GQ_REQUIRE(v > 0, op, name, " must be > 0, got ", v);
}

void check_2d(const char* op, const Info& t, const char* what) {
  GQ_REQUIRE(t.sizes.size() == 2, op, t.name, " must be 2-D ", what,
             ", got shape ", shape_str(t.sizes));
}

// q and output of a dequantize op: reads, dtypes, devices, shapes, rows.
struct DequantTensors {
  Info q, s, out;
  Rows2D q2, out2;
};

DequantTensors read_dequant(const char* op, const Tensor& q, const Tensor& s,
                            const Tensor& output,
                            std::initializer_list<ScalarType> s_types,
                            const char* s_names, DeviceType device_type) {
  DequantTensors d;
  d.q = read_info(op, q, "q");
  d.s = read_info(op, s, "s");
  d.out = read_info(op, output, "output");
  check_dtype_in(op, d.q, kQuantDtypes, kQuantDtypeNames);
  check_dtype_in(op, d.s, s_types, s_names);
  check_dtype_in(op, d.out, kInputDtypes, kInputDtypeNames);
  check_device(op, d.q, d.q, device_type);
  check_device(op, d.s, d.q, device_type);
  check_device(op, d.out, d.q, device_type);
  read_storage(q, d.q);
  read_storage(s, d.s);
  read_storage(output, d.out);
  GQ_REQUIRE(!d.q.sizes.empty(), op,
             "q must have at least 1 dimension, got a 0-dim tensor");
  GQ_REQUIRE(d.out.sizes == d.q.sizes, op, "output must have shape ",
             shape_str(d.q.sizes), " (q's), got ", shape_str(d.out.sizes));
  d.q2 = collapse_rows(op, d.q);
  d.out2 = collapse_rows(op, d.out);
  check_rows(op, d.q, d.q2, false);
  check_rows(op, d.out, d.out2, true);
  return d;
}

// Scale tensor [rows, cols] read through any non-negative strides.
Rows2D scale_view(const char* op, const Info& s) {
  return collapse_rows(op, s);
}

void finish_dequant(const char* op, const Tensor& q, const Tensor& s,
                    const Tensor& output, DequantTensors& d,
                    const Rows2D& s2, DequantProblem* p) {
  p->m = d.q2.rows;
  p->k = d.q2.cols;
  p->q_format = quant_format_of(d.q.dtype);
  p->out_format = input_format_of(d.out.dtype);
  p->device_index =
      d.q.device_type == DeviceType::CPU ? -1 : d.q.device_index;
  if (p->empty()) return;
  p->s_row_stride = s2.rows > 1 ? s2.row_stride : 0;
  p->s_col_stride = s2.cols > 1 ? s2.col_stride : 0;
  const void* qd = q.const_data_ptr();
  const void* sd = s.const_data_ptr();
  void* od = output.mutable_data_ptr();
  const Span sq = check_storage(op, d.q, qd, max_offset_2d(op, d.q, d.q2));
  const Span ss = check_storage(op, d.s, sd, max_offset_2d(op, d.s, s2));
  const Span so =
      check_storage(op, d.out, od, max_offset_2d(op, d.out, d.out2));
  check_disjoint(op, d.out, so, d.q, sq);
  check_disjoint(op, d.out, so, d.s, ss);
  p->q = qd;
  p->s = sd;
  p->out = od;
  p->q_row_stride = p->m > 1 ? d.q2.row_stride : p->k;
  p->out_row_stride = p->m > 1 ? d.out2.row_stride : p->k;
}

}  // namespace

BlockQuantProblem validate_block_quant(const Tensor& input,
                                       const Tensor& output_q,
                                       const Tensor& output_s, int64_t block_n,
                                       int64_t block_k, double eps,
                                       double qmin, double qmax,
                                       bool scale_ue8m0,
                                       DeviceType device_type) {
  const char* op = "per_block_quant";
  Info x = read_info(op, input, "input");
  Info q = read_info(op, output_q, "output_q");
  Info s = read_info(op, output_s, "output_s");
  check_dtype_in(op, x, kInputDtypes, kInputDtypeNames);
  check_dtype_in(op, q, kQuantDtypes, kQuantDtypeNames);
  check_dtype_in(op, s, {ScalarType::Float}, "torch.float32");
  check_device(op, x, x, device_type);
  check_device(op, q, x, device_type);
  check_device(op, s, x, device_type);
  read_storage(input, x);
  read_storage(output_q, q);
  read_storage(output_s, s);

  check_positive(op, "block_n", block_n);
  check_positive(op, "block_k", block_k);
  check_2d(op, x, "[N, K]");
  GQ_REQUIRE(q.sizes == x.sizes, op, "output_q must have shape ",
             shape_str(x.sizes), " (input's), got ", shape_str(q.sizes));
  BlockQuantProblem p;
  p.n = x.sizes[0];
  p.k = x.sizes[1];
  p.block_n = block_n;
  p.block_k = block_k;
  p.blocks_n = ceil_div(p.n, block_n);
  p.blocks_k = ceil_div(p.k, block_k);
  const std::vector<int64_t> s_shape = {p.blocks_n, p.blocks_k};
  GQ_REQUIRE(s.sizes == s_shape, op, "output_s must have shape ",
             shape_str(s_shape),
             " ([ceil(N / block_n), ceil(K / block_k)]), got ",
             shape_str(s.sizes));

  const ClampScalars sc =
      check_clamp_scalars(op, eps, "qmin", qmin, "qmax", qmax, q.dtype);
  p.eps = sc.eps;
  p.qmin = sc.qmin;
  p.qmax = sc.qmax;
  p.out_format = quant_format_of(q.dtype);
  p.in_format = input_format_of(x.dtype);
  p.ue8m0 = scale_ue8m0;
  p.device_index = x.device_type == DeviceType::CPU ? -1 : x.device_index;

  const Rows2D x2 = collapse_rows(op, x);
  const Rows2D q2 = collapse_rows(op, q);
  check_rows(op, x, x2, false);
  check_rows(op, q, q2, true);
  if (p.empty()) return p;

  const Rows2D s2 = collapse_rows(op, s);
  const int64_t r = p.blocks_n, c = p.blocks_k;
  scales_row_major(op, s, s2, r, c, "column");  // the kernel takes either
  p.s_row_stride = r > 1 ? s2.row_stride : 0;
  p.s_col_stride = c > 1 ? s2.col_stride : 0;

  const void* xd = input.const_data_ptr();
  void* qd = output_q.mutable_data_ptr();
  void* sd = output_s.mutable_data_ptr();
  const Span sx = check_storage(op, x, xd, max_offset_2d(op, x, x2));
  const Span sq = check_storage(op, q, qd, max_offset_2d(op, q, q2));
  const Span ss = check_storage(op, s, sd, max_offset_2d(op, s, s2));
  check_disjoint(op, x, sx, q, sq);
  check_disjoint(op, x, sx, s, ss);
  check_disjoint(op, q, sq, s, ss);
  p.x = xd;
  p.q = qd;
  p.s = static_cast<float*>(sd);
  p.x_row_stride = p.n > 1 ? x2.row_stride : p.k;
  p.q_row_stride = p.n > 1 ? q2.row_stride : p.k;
  return p;
}

DequantProblem validate_dequant_group(const Tensor& q, const Tensor& s,
                                      const Tensor& output, int64_t group_size,
                                      DeviceType device_type) {
  const char* op = "dequantize_per_token_group";
  DequantTensors d = read_dequant(op, q, s, output,
                                  {ScalarType::Float, ScalarType::Int},
                                  "torch.float32 or torch.int32 (packed UE8M0)",
                                  device_type);
  check_positive(op, "group_size", group_size);
  const int64_t k = d.q.sizes.back();
  GQ_REQUIRE(k % group_size == 0, op,
             "q's last dim must be a multiple of group_size (", group_size,
             "), got ", k);
  const int64_t m = d.q2.rows, groups = k / group_size;
  DequantProblem p;
  p.row_block = 1;
  p.col_block = group_size;
  p.packed = d.s.dtype == ScalarType::Int;
  if (p.packed) {
    const std::vector<int64_t> shape = {m, packed_cols(groups)};
    GQ_REQUIRE(d.s.sizes == shape, op,
               "s (packed UE8M0, int32) must have shape ", shape_str(shape),
               " ([M, ceil(K / group_size / 4)]), got ", shape_str(d.s.sizes));
  } else {
    std::vector<int64_t> lead(d.q.sizes.begin(), d.q.sizes.end() - 1);
    lead.push_back(groups);
    const std::vector<int64_t> flat = {m, groups};
    GQ_REQUIRE(d.s.sizes == lead || d.s.sizes == flat, op,
               "s must have shape ",
               lead == flat ? shape_str(flat)
                          : shape_str(lead) + " or " + shape_str(flat),
               ", got ", shape_str(d.s.sizes));
  }
  const Rows2D s2 =
      m == 0 || groups == 0 ? Rows2D{} : scale_view(op, d.s);
  finish_dequant(op, q, s, output, d, s2, &p);
  return p;
}

DequantProblem validate_dequant_block(const Tensor& q, const Tensor& s,
                                      const Tensor& output, int64_t block_n,
                                      int64_t block_k,
                                      DeviceType device_type) {
  const char* op = "dequantize_per_block";
  DequantTensors d = read_dequant(op, q, s, output, {ScalarType::Float},
                                  "torch.float32", device_type);
  check_positive(op, "block_n", block_n);
  check_positive(op, "block_k", block_k);
  check_2d(op, d.q, "[N, K]");
  const std::vector<int64_t> shape = {ceil_div(d.q.sizes[0], block_n),
                                      ceil_div(d.q.sizes[1], block_k)};
  GQ_REQUIRE(d.s.sizes == shape, op, "s must have shape ", shape_str(shape),
             " ([ceil(N / block_n), ceil(K / block_k)]), got ",
             shape_str(d.s.sizes));
  DequantProblem p;
  p.row_block = block_n;
  p.col_block = block_k;
  const Rows2D s2 = shape[0] == 0 || shape[1] == 0 ? Rows2D{}
                                                   : scale_view(op, d.s);
  finish_dequant(op, q, s, output, d, s2, &p);
  return p;
}

}  // namespace groupquant
