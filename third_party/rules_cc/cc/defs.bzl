"""Stand-in for @rules_cc (upstream public face: //cc:defs.bzl).

Bazel 4.2.3's own WORKSPACE suffix wants to download rules_cc, and Debian's
bazel-rules-cc 0.0.4 needs symbols 4.2.3 lacks, so these are thin wrappers
over the native rules, exactly what early upstream releases were.
"""

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)
