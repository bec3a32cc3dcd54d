// gq_scalar: csrc/quant_math.h's scalar functions, applied elementwise to
// numpy arrays, so Python tests can hold every output bit of the code the
// kernels run against groupquant.reference, up to all 2^32 float32 inputs.
//
// Test-only: built by Bazel for python_env's interpreter, never shipped
// (the shipped libraries use the torch stable ABI, not Python).
//
// Inputs are float32 arrays or uint32 arrays of float32 bit patterns (what
// an exhaustive sweep builds with arange); either is read as raw 32-bit
// words, so NaN payloads and signed zeros arrive exactly as given.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "csrc/quant_math.h"

namespace py = pybind11;
namespace gq = groupquant;

namespace {

// A C-contiguous array of 32-bit words that stays alive while it is read.
struct Words {
  py::array owner;
  const uint32_t* data;
  py::ssize_t size;
  std::vector<py::ssize_t> shape;
};

Words as_words(const py::array& a, const char* arg) {
  const py::dtype dt = a.dtype();
  const bool f32 = dt.kind() == 'f' && dt.itemsize() == 4;
  const bool u32 = dt.kind() == 'u' && dt.itemsize() == 4;
  if (!f32 && !u32) {
    throw std::runtime_error(std::string(arg) +
                             ": expected a float32 array or a uint32 array of "
                             "float32 bit patterns, got dtype " +
                             py::str(dt).cast<std::string>());
  }
  Words w;
  w.owner = py::array::ensure(a, py::array::c_style);
  w.data = static_cast<const uint32_t*>(w.owner.data());
  w.size = w.owner.size();
  w.shape.assign(w.owner.shape(), w.owner.shape() + w.owner.ndim());
  return w;
}

// out[i] = fn(float at in[i]); the loop runs without the GIL.
template <typename Out, typename Fn>
py::array_t<Out> map_words(const py::array& a, const char* arg, Fn fn) {
  const Words in = as_words(a, arg);
  py::array_t<Out> out(in.shape);
  Out* dst = out.mutable_data();
  {
    py::gil_scoped_release unlocked;
    for (py::ssize_t i = 0; i < in.size; ++i) {
      dst[i] = fn(gq::gq_bits_float(in.data[i]));
    }
  }
  return out;
}

py::array_t<float> group_amax(const py::array& a) {
  const Words in = as_words(a, "x");
  if (in.shape.empty()) {
    throw std::runtime_error("x: expected at least 1 dimension, got a 0-d array");
  }
  const py::ssize_t row = in.shape.back();
  std::vector<py::ssize_t> out_shape(in.shape.begin(), in.shape.end() - 1);
  py::array_t<float> out(out_shape);
  float* dst = out.mutable_data();
  const py::ssize_t rows = row == 0 ? out.size() : in.size / row;
  {
    py::gil_scoped_release unlocked;
    for (py::ssize_t r = 0; r < rows; ++r) {
      // Same fold as the kernels: start at +0, NaN never wins.
      float acc = 0.f;
      for (py::ssize_t i = 0; i < row; ++i) {
        acc = gq::gq_abs_max_step(acc, gq::gq_bits_float(in.data[r * row + i]));
      }
      dst[r] = acc;
    }
  }
  return out;
}

py::array_t<float> abs_max_step(const py::array& acc, const py::array& v) {
  const Words a = as_words(acc, "acc");
  const Words b = as_words(v, "v");
  if (a.shape != b.shape) {
    throw std::runtime_error("v: expected the shape of acc, got a different shape");
  }
  py::array_t<float> out(a.shape);
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release unlocked;
    for (py::ssize_t i = 0; i < a.size; ++i) {
      dst[i] = gq::gq_abs_max_step(gq::gq_bits_float(a.data[i]),
                                   gq::gq_bits_float(b.data[i]));
    }
  }
  return out;
}

py::array_t<float> silu_mul(const py::array& gate, const py::array& up) {
  const Words g = as_words(gate, "gate");
  const Words u = as_words(up, "up");
  if (g.shape != u.shape) {
    throw std::runtime_error("up: expected the shape of gate, got a different shape");
  }
  py::array_t<float> out(g.shape);
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release unlocked;
    for (py::ssize_t i = 0; i < g.size; ++i) {
      dst[i] = gq::gq_silu_mul(gq::gq_bits_float(g.data[i]),
                               gq::gq_bits_float(u.data[i]));
    }
  }
  return out;
}

py::array_t<float> fma3(const py::array& a, const py::array& b,
                       const py::array& c) {
  const Words x = as_words(a, "a");
  const Words y = as_words(b, "b");
  const Words z = as_words(c, "c");
  if (x.shape != y.shape || x.shape != z.shape) {
    throw std::runtime_error("b, c: expected the shape of a, got a different shape");
  }
  py::array_t<float> out(x.shape);
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release unlocked;
    for (py::ssize_t i = 0; i < x.size; ++i) {
      dst[i] = gq::gq_fma_rn(gq::gq_bits_float(x.data[i]), gq::gq_bits_float(y.data[i]),
                             gq::gq_bits_float(z.data[i]));
    }
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(gq_scalar, m) {
  m.doc() = "csrc/quant_math.h applied elementwise to numpy arrays (tests only)";

  m.def("encode_e4m3fn", [](const py::array& v) {
    return map_words<uint8_t>(v, "v", [](float f) { return gq::gq_encode_e4m3fn(f); });
  }, py::arg("v"), "gq_encode_e4m3fn per element -> uint8 codes");

  m.def("encode_e4m3fnuz", [](const py::array& v) {
    return map_words<uint8_t>(v, "v", [](float f) { return gq::gq_encode_e4m3fnuz(f); });
  }, py::arg("v"), "gq_encode_e4m3fnuz per element -> uint8 codes");

  m.def("encode_int8", [](const py::array& v) {
    return map_words<int8_t>(v, "v", [](float f) { return gq::gq_encode_int8(f); });
  }, py::arg("v"), "gq_encode_int8 per element -> int8");

  m.def("ue8m0_round_up", [](const py::array& s) {
    return map_words<float>(s, "s", [](float f) { return gq::gq_ue8m0_round_up(f); });
  }, py::arg("s"), "gq_ue8m0_round_up per element -> float32");

  m.def("ue8m0_byte", [](const py::array& s) {
    return map_words<uint8_t>(s, "s", [](float f) { return gq::gq_ue8m0_byte(f); });
  }, py::arg("s"), "gq_ue8m0_byte per element -> uint8");

  m.def("group_scale", [](const py::array& amax, float eps, float qmax, bool ue8m0) {
    return map_words<float>(amax, "amax", [=](float a) {
      return gq::gq_group_scale(a, eps, qmax, ue8m0);
    });
  }, py::arg("amax"), py::arg("eps"), py::arg("qmax"), py::arg("ue8m0"),
     "gq_group_scale per element -> float32");

  m.def("clamp_keep_nan", [](const py::array& v, float lo, float hi) {
    return map_words<float>(v, "v", [=](float f) { return gq::gq_clamp_keep_nan(f, lo, hi); });
  }, py::arg("v"), py::arg("lo"), py::arg("hi"), "gq_clamp_keep_nan per element -> float32");

  m.def("abs_max_step", &abs_max_step, py::arg("acc"), py::arg("v"),
        "gq_abs_max_step per element pair -> float32");

  m.def("exp", [](const py::array& x) {
    return map_words<float>(x, "x", [](float f) { return gq::gq_exp(f); });
  }, py::arg("x"), "gq_exp per element -> float32");

  m.def("fma", &fma3, py::arg("a"), py::arg("b"), py::arg("c"),
        "gq_fma_rn per element triple -> float32");

  m.def("silu_mul", &silu_mul, py::arg("gate"), py::arg("up"),
        "gq_silu_mul per element pair -> float32");

  m.def("group_amax", &group_amax, py::arg("x"),
        "gq_abs_max_step folded over the last dim from +0 -> float32");
}
