"""`python_env`: the pinned Python used by every py_test and py_binary.

Creates (once per lock-file content) a venv from `lock` and registers it as
Bazel's Python toolchain, so tests run the same interpreter and packages on
every machine. Also exposes `site_packages`, which torch_headers reads.
"""

load("//tools:cached_venv.bzl", "cached_venv")

_BUILD = """
load("@rules_python//python:defs.bzl", "py_runtime", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

py_runtime(
    name = "py3_runtime",
    interpreter_path = "{python}",
    python_version = "PY3",
    # The launcher stub must start under the same interpreter: strict action
    # env has no `python` on PATH on Debian.
    stub_shebang = "#!{python}",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":py3_runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)

exports_files(["python", "site_packages.txt"])
"""

def _python_env_impl(rctx):
    venv = cached_venv(rctx, "python", rctx.read(rctx.attr.lock), rctx.attr.python)
    python = venv + "/bin/python3"
    site = rctx.execute([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    rctx.file("site_packages.txt", site + "\n")
    rctx.symlink(python, "python")
    rctx.file("BUILD.bazel", _BUILD.format(python = python))

python_env = repository_rule(
    implementation = _python_env_impl,
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = True, doc = "Pinned requirements (pip -r format, exact versions)."),
        "python": attr.string(default = "python3", doc = "Interpreter used to create the venv."),
    },
    environ = ["GROUPQUANT_CACHE_DIR", "HOME"],
    doc = "A venv built from a pinned lock file, registered as the Python toolchain.",
)
