"""Bazel 4's native Python rules behind //python:defs.bzl.

Upstream's early releases were exactly this: thin wrappers over native.*,
so that BUILD files load from @rules_python before the rules move there.
"""

load("@bazel_tools//tools/python:toolchain.bzl", _py_runtime_pair_rule = "py_runtime_pair")

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
    _py_runtime_pair_rule(**attrs)
