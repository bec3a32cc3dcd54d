// The pieces both validators (validation.cpp for the group ops,
// consumer_validation.cpp for block quant and dequantize) are built from:
// the error style, reading a tensor through the shim once, and the storage,
// overlap and scalar checks. Sharing them keeps the two families' messages
// the same word for word, which the tests match on.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/DeviceType.h>
#include <torch/headeronly/core/ScalarType.h>

namespace groupquant {
namespace validation_util {

// Thrown directly rather than through STD_TORCH_CHECK, which would prefix
// function, file and line: users get "groupquant.<op>: ..." alone.
template <typename... Args>
[[noreturn]] void fail(const char* op, const Args&... args) {
  std::ostringstream oss;
  oss << "groupquant." << op << ": ";
  ((oss << args), ...);
  throw std::runtime_error(oss.str());
}

#define GQ_REQUIRE(cond, op, ...)                                          \
  do {                                                                     \
    if (!(cond)) ::groupquant::validation_util::fail(op, __VA_ARGS__);     \
  } while (0)

std::string device_name(torch::headeronly::DeviceType type, int32_t index);
std::string shape_str(const std::vector<int64_t>& v);

inline bool mul_ok(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool add_ok(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// DeepGEMM's packed UE8M0 layout (docs/contract.md, "Scale layouts"): four
// exponent bytes per int32 word along the groups, rows padded to a multiple
// of 4. Python's twin is groupquant._layouts.packed_geometry.
inline int64_t packed_cols(int64_t groups) { return (groups + 3) / 4; }
inline int64_t packed_rows(int64_t m) { return (m + 3) / 4 * 4; }

// Everything the checks need from one tensor, read once through the shim.
struct Info {
  const char* name = "";
  torch::headeronly::ScalarType dtype = torch::headeronly::ScalarType::Float;
  torch::headeronly::DeviceType device_type =
      torch::headeronly::DeviceType::CPU;
  int32_t device_index = -1;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  int64_t storage_offset = 0;
  int64_t storage_nbytes = -1;  // unknown until read_storage
  int64_t elem_size = 1;
  int64_t numel = 0;
};

Info read_info(const char* op, const torch::stable::Tensor& t,
               const char* name);

// Call only for tensors that passed check_device: a tensor of a foreign
// device type may not have the storage the shim expects.
void read_storage(const torch::stable::Tensor& t, Info& info);

void check_dtype_in(
    const char* op, const Info& t,
    std::initializer_list<torch::headeronly::ScalarType> allowed,
    const char* expected);

// t must be on a device of type `expected`, with ref's index.
void check_device(const char* op, const Info& t, const Info& ref,
                  torch::headeronly::DeviceType expected);

// A tensor seen as [rows, cols]. Strides of extents <= 1 are never used.
struct Rows2D {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;
  int64_t col_stride = 0;
};

// t seen as [rows, cols]: the last dim is cols, the leading dims collapse
// into one row stride or the call fails (dims of size 1 are ignored, each
// remaining outer dim must step exactly over the inner one; a size-0 dim
// makes rows 0 without an overflow check of the others).
Rows2D collapse_rows(const char* op, const Info& t);

// Whether float32 scales seen as [rows, cols] (r) are row-major (column
// stride 1, row stride >= cols) rather than column-major (row stride 1,
// column stride >= rows); fails if neither. Strides of extents <= 1 do not
// count. `col` names a column in the message ("group" for the group ops).
bool scales_row_major(const char* op, const Info& s, const Rows2D& r,
                      int64_t rows, int64_t cols, const char* col);

// Highest element offset a [rows, cols] walk touches (rows, cols >= 1).
int64_t max_offset_2d(const char* op, const Info& t, const Rows2D& r);

// Byte range [lo, hi) a kernel touches, for the overlap check.
struct Span {
  uintptr_t lo = 0;
  uintptr_t hi = 0;
};

// Fails unless elements [0, max_offset] from the tensor's start lie inside
// its storage; returns the touched byte span. `what` names the extent.
Span check_storage(const char* op, const Info& t, const void* data,
                   int64_t max_offset, const char* what = "");

void check_disjoint(const char* op, const Info& a, Span sa, const Info& b,
                    Span sb);

// eps and the clamp bounds, checked in float32 (the precision the kernels
// use), the bounds against the output format's finite range.
struct ClampScalars {
  float eps = 0.f;
  float qmin = 0.f;
  float qmax = 0.f;
};

ClampScalars check_clamp_scalars(const char* op, double eps,
                                 const char* min_name, double qmin,
                                 const char* max_name, double qmax,
                                 torch::headeronly::ScalarType q_dtype);

}  // namespace validation_util
}  // namespace groupquant
