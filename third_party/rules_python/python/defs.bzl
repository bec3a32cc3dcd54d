"""Stand-in for @rules_python (upstream public face: //python:defs.bzl).

Upstream's early releases re-exported Bazel's native Python rules; Bazel
4.2.3 still has them natively, so this file does the same. Swap in the real
rules_python and nothing that loads from here changes.
"""

load("@bazel_tools//tools/python:toolchain.bzl", _py_runtime_pair = "py_runtime_pair")

def py_library(**attrs):
    native.py_library(**attrs)

def py_binary(**attrs):
    native.py_binary(**attrs)

def py_test(**attrs):
    native.py_test(**attrs)

def py_runtime(**attrs):
    native.py_runtime(**attrs)

def py_runtime_pair(**attrs):
    # py_runtime_pair is a Starlark rule shipped in @bazel_tools in Bazel 4.
    _py_runtime_pair(**attrs)
