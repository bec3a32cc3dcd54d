#include "csrc/validation_util.h"

#include <cmath>

#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/headeronly/core/Layout.h>

#include "csrc/dispatch_utils.h"
#include "csrc/format_traits.h"

namespace groupquant {
namespace validation_util {

using torch::headeronly::DeviceType;
using torch::headeronly::ScalarType;
using torch::stable::Tensor;

std::string device_name(DeviceType type, int32_t index) {
  std::string name;
  switch (type) {
    case DeviceType::CPU: return "cpu";
    case DeviceType::CUDA: name = "cuda"; break;
    case DeviceType::HIP: name = "hip"; break;
    case DeviceType::Meta: return "meta";
    case DeviceType::XPU: name = "xpu"; break;
    case DeviceType::MPS: name = "mps"; break;
    default: name = "device type " + std::to_string(static_cast<int>(type));
  }
  if (index >= 0) name += ":" + std::to_string(index);
  return name;
}

std::string shape_str(const std::vector<int64_t>& v) {
  std::ostringstream oss;
  oss << "[";
  for (size_t i = 0; i < v.size(); ++i) oss << (i ? ", " : "") << v[i];
  oss << "]";
  return oss.str();
}

Info read_info(const char* op, const Tensor& t, const char* name) {
  GQ_REQUIRE(t.defined(), op, name, " must be a defined tensor, got None");
  GQ_REQUIRE(t.layout() == torch::headeronly::Layout::Strided, op, name,
             " must be a strided (dense) tensor, got a non-strided layout");
  Info info;
  info.name = name;
  info.dtype = t.scalar_type();
  const torch::stable::Device dev = t.device();
  info.device_type = dev.type();
  info.device_index = dev.index();
  const auto sizes = t.sizes();
  const auto strides = t.strides();
  info.sizes.assign(sizes.begin(), sizes.end());
  info.strides.assign(strides.begin(), strides.end());
  info.storage_offset = t.storage_offset();
  info.elem_size = static_cast<int64_t>(t.element_size());
  info.numel = t.numel();
  return info;
}

void read_storage(const Tensor& t, Info& info) {
  int64_t nbytes = 0;
  info.storage_nbytes =
      aoti_torch_get_storage_size(t.get(), &nbytes) == AOTI_TORCH_SUCCESS
          ? nbytes
          : -1;
}

void check_dtype_in(const char* op, const Info& t,
                    std::initializer_list<ScalarType> allowed,
                    const char* expected) {
  for (ScalarType a : allowed) {
    if (t.dtype == a) return;
  }
  fail(op, t.name, " must have dtype ", expected, ", got ",
       dtype_name(t.dtype));
}

void check_device(const char* op, const Info& t, const Info& ref,
                  DeviceType expected) {
  GQ_REQUIRE(t.device_type == expected, op, t.name, " must be on a ",
             device_name(expected, -1), " device (this backend's), got ",
             device_name(t.device_type, t.device_index));
  GQ_REQUIRE(t.device_index == ref.device_index, op, t.name,
             " must be on the same device as ", ref.name, " (",
             device_name(ref.device_type, ref.device_index), "), got ",
             device_name(t.device_type, t.device_index));
}

Rows2D collapse_rows(const char* op, const Info& t) {
  Rows2D r;
  const size_t d = t.sizes.size();
  r.cols = t.sizes[d - 1];
  r.col_stride = r.cols > 1 ? t.strides[d - 1] : 0;
  r.rows = 1;
  for (size_t i = 0; i + 1 < d; ++i) {
    if (t.sizes[i] == 0) {
      r.rows = 0;
      break;
    }
  }
  if (r.rows != 0) {
    for (size_t i = 0; i + 1 < d; ++i) {
      GQ_REQUIRE(mul_ok(r.rows, t.sizes[i], &r.rows), op, t.name,
                 " must have fewer than 2^63 rows, got shape ",
                 shape_str(t.sizes));
    }
  }
  if (t.numel == 0) return r;  // no element is touched: strides are moot
  for (size_t i = 0; i < d; ++i) {
    GQ_REQUIRE(t.sizes[i] <= 1 || t.strides[i] >= 0, op, t.name,
               " must have non-negative strides, got strides ",
               shape_str(t.strides));
  }
  // Walk leading dims from the innermost outwards.
  bool have_inner = false;
  int64_t expected = 0;
  for (size_t j = d - 1; j-- > 0;) {
    if (t.sizes[j] == 1) continue;
    if (!have_inner) {
      r.row_stride = t.strides[j];
      have_inner = true;
    } else {
      GQ_REQUIRE(t.strides[j] == expected, op, t.name,
                 " must have leading dims that collapse into one row stride "
                 "(stride[", j, "] == stride[", j + 1, "] * size[", j + 1,
                 "]), got shape ", shape_str(t.sizes), " and strides ",
                 shape_str(t.strides));
    }
    GQ_REQUIRE(mul_ok(t.strides[j], t.sizes[j], &expected), op, t.name,
               " must have strides whose extent fits in 64 bits, got strides ",
               shape_str(t.strides));
  }
  return r;
}

bool scales_row_major(const char* op, const Info& s, const Rows2D& r,
                      int64_t rows, int64_t cols, const char* col) {
  const bool row_major =
      (cols <= 1 || r.col_stride == 1) && (rows <= 1 || r.row_stride >= cols);
  const bool col_major =
      (rows <= 1 || r.row_stride == 1) && (cols <= 1 || r.col_stride >= rows);
  GQ_REQUIRE(row_major || col_major, op, s.name, " must be row-major (", col,
             " stride 1, row stride >= ", cols, ") or column-major (row stride 1, ",
             col, " stride >= ", rows, "), got shape ", shape_str(s.sizes),
             " and strides ", shape_str(s.strides));
  return row_major;
}

int64_t max_offset_2d(const char* op, const Info& t, const Rows2D& r) {
  int64_t a = 0, b = 0, s = 0;
  const bool ok = mul_ok(r.rows - 1, r.row_stride, &a) &&
                  mul_ok(r.cols - 1, r.col_stride, &b) && add_ok(a, b, &s);
  GQ_REQUIRE(ok, op, t.name, " must have an extent that fits in 64 bits, got "
             "shape ", shape_str(t.sizes), " and strides ",
             shape_str(t.strides));
  return s;
}

Span check_storage(const char* op, const Info& t, const void* data,
                   int64_t max_offset, const char* what) {
  int64_t end_elems = 0, end_bytes = 0;
  const bool ok = add_ok(t.storage_offset, max_offset, &end_elems) &&
                  add_ok(end_elems, 1, &end_elems) &&
                  mul_ok(end_elems, t.elem_size, &end_bytes);
  GQ_REQUIRE(ok && t.storage_offset >= 0 && t.storage_nbytes >= 0 &&
                 end_bytes <= t.storage_nbytes,
             op, t.name, " must lie inside its storage", what, " (needs ",
             ok ? std::to_string(end_bytes) : std::string("> 2^63"),
             " bytes from the storage start), got a storage of ",
             t.storage_nbytes, " bytes");
  Span s;
  s.lo = reinterpret_cast<uintptr_t>(data);
  s.hi = s.lo + static_cast<uintptr_t>((max_offset + 1) * t.elem_size);
  return s;
}

void check_disjoint(const char* op, const Info& a, Span sa, const Info& b,
                    Span sb) {
  GQ_REQUIRE(sa.hi <= sb.lo || sb.hi <= sa.lo, op, a.name, " and ", b.name,
             " must not overlap in memory, got overlapping storage ranges");
}

namespace {

float finite_float(const char* op, const char* name, double v) {
  const float f = static_cast<float>(v);
  GQ_REQUIRE(std::isfinite(v) && std::isfinite(f), op, name,
             " must be finite in float32, got ", v);
  return f;
}

}  // namespace

ClampScalars check_clamp_scalars(const char* op, double eps,
                                 const char* min_name, double qmin,
                                 const char* max_name, double qmax,
                                 ScalarType q_dtype) {
  ClampScalars c;
  GQ_REQUIRE(std::isfinite(eps) && eps >= 0.0 &&
                 std::isfinite(static_cast<float>(eps)),
             op, "eps must be finite and >= 0, got ", eps);
  c.eps = static_cast<float>(eps);
  c.qmin = finite_float(op, min_name, qmin);
  c.qmax = finite_float(op, max_name, qmax);
  GQ_REQUIRE(c.qmin < c.qmax, op, min_name, " must be < ", max_name, " (",
             qmax, "), got ", qmin);
  GQ_REQUIRE(c.qmax > 0.f, op, max_name, " must be > 0, got ", qmax);
  // Bounds beyond the format would make results depend on each backend's
  // overflow behaviour (saturate, NaN, wrap).
  const FormatTraits t = format_traits(quant_format_of(q_dtype));
  GQ_REQUIRE(c.qmin >= t.finite_min, op, min_name, " must be >= ",
             t.finite_min, " for ", dtype_name(q_dtype), ", got ", qmin);
  GQ_REQUIRE(c.qmax <= t.finite_max, op, max_name, " must be <= ",
             t.finite_max, " for ", dtype_name(q_dtype), ", got ", qmax);
  return c;
}

}  // namespace validation_util
}  // namespace groupquant
