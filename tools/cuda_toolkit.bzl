"""`cuda_toolkit`: the CUDA compiler, headers and static runtime (@local_cuda).

Default: CUDA 13.0 from pinned PyPI wheels (nvcc, crt, nvvm, cccl, runtime,
plus cuobjdump to inspect the SASS we ship), installed once into a cached
venv. With CUDA_PATH set, that system toolkit is used instead. The rule only
runs when a CUDA target is built, so CPU builds never need a toolkit.

A CUDA_PATH without nvcc fails the fetch, and a failed fetch is retried on
the next command; the host's package database is read too, so a toolkit
installed or upgraded by apt in place is picked up without `clean --expunge`.
"""

load("//tools:cached_venv.bzl", "cached_venv")
load("//tools:package_db.bzl", "package_db")

# Exact pins (docs/toolchains.md, "CUDA toolkit"): nvvm must match ptxas 13.0, and cuobjdump's
# oldest 13.x release reads our 13.0 objects.
_WHEELS = """\
nvidia-cuda-nvcc==13.0.88
nvidia-cuda-crt==13.0.88
nvidia-nvvm==13.0.88
nvidia-cuda-cccl==13.0.85
nvidia-cuda-runtime==13.0.96
nvidia-cuda-cuobjdump==13.2.51
"""

_BUILD = """
load("@rules_cc//cc:defs.bzl", "cc_library")

package(default_visibility = ["//visibility:public"])

exports_files(["nvcc", "cuobjdump"])

cc_library(
    name = "cuda_headers",
    hdrs = glob(["cuda/include/**/*.h", "cuda/include/**/*.hpp"], allow_empty = True),
    includes = ["cuda/include"],
)

# Static cudart: the backend library then needs no CUDA runtime at load time
# beyond the driver.
cc_library(
    name = "cuda_runtime_static",
    srcs = ["{cudart}"],
    linkopts = ["-ldl", "-lpthread", "-lrt"],
    deps = [":cuda_headers"],
)
"""

_WRAPPER = """#!/bin/sh
# Toolkit identity (part of every CUDA action's key): {identity}
exec "{root}/bin/{tool}" "$@"
"""

def _cuda_toolkit_impl(rctx):
    # Read, not used: makes installing a package re-run this rule.
    rctx.read(rctx.attr.package_db)
    system = rctx.os.environ.get("CUDA_PATH", "")
    if system:
        root = system
        if rctx.execute(["test", "-x", root + "/bin/nvcc"]).return_code != 0:
            fail("groupquant: CUDA_PATH=%s has no bin/nvcc; unset CUDA_PATH to use the pinned PyPI toolkit" % root)
    else:
        venv = cached_venv(rctx, "cuda", _WHEELS)
        site = rctx.execute([venv + "/bin/python3", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
        root = site + "/nvidia/cu13"
        if rctx.execute(["test", "-x", root + "/bin/nvcc"]).return_code != 0:
            fail("groupquant: the pinned CUDA wheels installed but %s/bin/nvcc is missing" % root)
    rctx.symlink(root, "cuda")

    # nvcc finds nvcc.profile, cicc, ptxas and its own headers next to the
    # path it was started from, and those are no action inputs: the wrappers
    # start the real binaries in the real toolkit folder, by absolute path,
    # which a sandbox and a remote worker (README: worker image) both see.
    # That path is the toolkit's identity (CUDA_PATH, or the venv named by
    # the hash of the pins under GROUPQUANT_CACHE_DIR), and the wrappers,
    # the only toolkit files actions list, also carry nvcc's version line:
    # a different nvcc means different action keys and no stale cache hits.
    identity = rctx.execute([root + "/bin/nvcc", "--version"]).stdout.strip().split("\n")[-1]
    for tool in ["nvcc", "cuobjdump"]:
        rctx.file(tool, _WRAPPER.format(tool = tool, identity = identity, root = root), executable = True)
    cudart = "cuda/lib/libcudart_static.a"
    if rctx.execute(["test", "-f", root + "/lib64/libcudart_static.a"]).return_code == 0:
        cudart = "cuda/lib64/libcudart_static.a"
    rctx.file("BUILD.bazel", _BUILD.format(cudart = cudart))

_cuda_toolkit = repository_rule(
    implementation = _cuda_toolkit_impl,
    attrs = {
        "package_db": attr.label(mandatory = True, allow_single_file = True, doc = "The host package database (tools/package_db.bzl); read so that installs re-run the rule."),
    },
    environ = ["CUDA_PATH", "GROUPQUANT_CACHE_DIR", "HOME"],
    doc = "CUDA toolkit from pinned PyPI wheels, or a system one via CUDA_PATH.",
)

def cuda_toolkit(name):
    """@NAME: nvcc, cuobjdump, headers and static cudart; see the file doc.

    Args:
      name: the repository name (upstream rules_cuda's is local_cuda).
    """
    if not native.existing_rule("groupquant_package_db"):
        package_db(name = "groupquant_package_db")
    _cuda_toolkit(name = name, package_db = "@groupquant_package_db//:db")
