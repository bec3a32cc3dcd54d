"""Stand-in for @rules_python (upstream public face: //python:defs.bzl).

Upstream's early releases re-exported Bazel's native Python rules; Bazel
4.2.3 still has them natively, so this does the same (private/). Swap in the
real rules_python and nothing that loads from here changes.
"""

load(
    ":private/native_rules.bzl",
    _py_binary = "py_binary",
    _py_library = "py_library",
    _py_runtime = "py_runtime",
    _py_runtime_pair = "py_runtime_pair",
    _py_test = "py_test",
)

py_library = _py_library
py_binary = _py_binary
py_test = _py_test
py_runtime = _py_runtime
py_runtime_pair = _py_runtime_pair
