"""`pybind11_headers`: pybind11 and Python's C headers as cc_library targets.

Both come from python_env's interpreter, so a test extension is compiled
against exactly the Python that runs the tests: pybind11 from the pinned lock
file (pybind11.get_include()), Python.h from that interpreter's sysconfig
(a venv has none of its own; it reports its base interpreter's folders).

Targets: `@pybind11//:pybind11` (depends on `:python_headers`) and
`@pybind11//:python_headers`. Extensions are built with a plain
cc_binary(linkshared = True) and never link libpython: the interpreter that
imports them provides its symbols.

Only test code uses this: the shipped libraries talk to torch through the
stable ABI, never through Python.
"""

_BUILD = """
load("@rules_cc//cc:defs.bzl", "cc_library")

package(default_visibility = ["//visibility:public"])

cc_library(
    name = "python_headers",
    hdrs = glob(["python_include/**/*.h", "python_platinclude/**/*.h"], allow_empty = True),
    includes = ["python_include"{platinclude}],
)

cc_library(
    name = "pybind11",
    hdrs = glob(["include/pybind11/**/*.h"]),
    includes = ["include"],
    deps = [":python_headers"],
)
"""

# Both folders in one call: pybind11's own answer, and the interpreter's.
_QUERY = """
import sysconfig, pybind11
paths = sysconfig.get_paths()
print(pybind11.get_include())
print(paths["include"])
print(paths.get("platinclude", paths["include"]))
print(pybind11.__version__)
"""

def _pybind11_headers_impl(rctx):
    # Reading site_packages.txt ties this repository to python_env's lock
    # file: a new lock means a new venv, and this rule re-runs.
    site = rctx.read(rctx.attr.site_packages).strip()
    python = rctx.path(rctx.attr.python)

    # Started through the repository's symlink, the interpreter does not see
    # its venv (pyvenv.cfg sits next to the venv's own bin/python3), so the
    # venv's site-packages is named explicitly.
    res = rctx.execute([python, "-c", _QUERY], environment = {"PYTHONPATH": site})
    if res.return_code != 0:
        fail("groupquant: cannot import pybind11 in python_env (%s); is pybind11 pinned in requirements_lock.txt?\n%s" % (python, res.stderr[-2000:]))
    pybind_inc, py_inc, py_platinc, version = res.stdout.strip().split("\n")
    if rctx.execute(["test", "-f", pybind_inc + "/pybind11/pybind11.h"]).return_code != 0:
        fail("groupquant: pybind11 %s reports %s, which has no pybind11/pybind11.h" % (version, pybind_inc))
    if not pybind_inc.startswith(site):
        fail("groupquant: pybind11 came from %s, not from python_env's %s" % (pybind_inc, site))
    if rctx.execute(["test", "-f", py_inc + "/Python.h"]).return_code != 0:
        fail("groupquant: %s has no Python.h; install the interpreter's development headers (Debian: apt-get install -y python3-dev)" % py_inc)
    rctx.symlink(pybind_inc, "include")
    rctx.symlink(py_inc, "python_include")

    # Debian keeps pyconfig.h in a separate, arch-specific folder.
    platinclude = ""
    if py_platinc != py_inc:
        rctx.symlink(py_platinc, "python_platinclude")
        platinclude = ', "python_platinclude"'
    rctx.file("BUILD.bazel", _BUILD.format(platinclude = platinclude))

pybind11_headers = repository_rule(
    implementation = _pybind11_headers_impl,
    attrs = {
        "python": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "python_env's interpreter (@python_env//:python).",
        ),
        "site_packages": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "python_env's site_packages.txt.",
        ),
    },
    doc = "cc_library targets for pybind11 and Python.h, taken from python_env's interpreter.",
)
