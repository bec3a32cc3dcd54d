"""`torch_headers`: the include folders of python_env's torch as a cc_library.

Our C++ uses only the stable-ABI headers (torch/csrc/stable, torch/headeronly)
and never links libtorch: the loader resolves symbols against the running
torch, so one build serves every torch >= 2.10.
"""

_BUILD = """
load("@rules_cc//cc:defs.bzl", "cc_library")

package(default_visibility = ["//visibility:public"])

cc_library(
    name = "torch_headers",
    hdrs = glob(["include/torch/csrc/stable/**/*.h", "include/torch/headeronly/**/*.h",
                 "include/torch/csrc/inductor/aoti_torch/**/*.h", "include/c10/**/*.h",
                 "include/torch/csrc/Export.h"]),
    includes = ["include"],
    # Restrict the headers to what torch 2.10 already had (docs/toolchains.md, "PyTorch stable ABI").
    defines = ["TORCH_TARGET_VERSION=0x020a000000000000"],
)
"""

def _torch_headers_impl(rctx):
    site = rctx.read(rctx.attr.site_packages).strip()
    include = site + "/torch/include"
    if rctx.execute(["test", "-d", include + "/torch/csrc/stable"]).return_code != 0:
        fail("groupquant: torch stable-ABI headers not found under %s; is torch>=2.10 in requirements_lock.txt?" % include)
    rctx.symlink(include, "include")
    rctx.file("BUILD.bazel", _BUILD)

torch_headers = repository_rule(
    implementation = _torch_headers_impl,
    attrs = {
        "site_packages": attr.label(mandatory = True, allow_single_file = True, doc = "python_env's site_packages.txt."),
    },
    doc = "cc_library of the pinned torch's headers (stable ABI only is used).",
)
