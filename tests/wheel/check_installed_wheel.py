"""Installs //python:wheel into a fresh venv and runs the test suite against it.

    check_installed_wheel.py WHEEL_DIR... SUITE_FILE.py...

This is how a GPU host without Bazel uses groupquant, so it is checked the
same way: `pip install --no-deps --no-index` of the wheel alone, then pytest
on copies of the suite from a folder where the source tree is unreachable,
with `groupquant` proven to come from the venv.

torch, numpy, pytest and hypothesis are not reinstalled (torch is 192 MB):
a .pth file makes the pinned python_env's site-packages visible after the
venv's own. `venv --system-site-packages` would not do this: it exposes the
base interpreter's packages, not python_env's.
"""

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

# Runs inside the venv, in the process that then runs the tests: where
# groupquant comes from has to hold there, not only in a separate probe.
# torch is imported once, so the metadata checks ride along.
_PYTEST_DRIVER = """
import importlib.metadata as md, os, sys
import groupquant, pytest, torch
from packaging.requirements import Requirement
venv, wheel_version = os.path.realpath(sys.argv[1]), sys.argv[2]
where = os.path.realpath(groupquant.__file__)
if not where.startswith(venv + os.sep):
    sys.exit(f"groupquant was imported from {where}, not from the venv {venv}")
if md.version("groupquant") != wheel_version:
    sys.exit(f"installed version {md.version('groupquant')} differs from the wheel name's {wheel_version}")
for line in md.requires("groupquant") or []:
    req = Requirement(line)
    if req.name == "torch" and not req.specifier.contains(torch.__version__, prereleases=True):
        sys.exit(f"torch {torch.__version__} does not satisfy the wheel's {line!r}")
print(f"groupquant {wheel_version} (requires {md.requires('groupquant')}) from {os.path.dirname(where)}; "
      f"loaded backends: {groupquant.loaded_backends()}", flush=True)
sys.exit(pytest.main(sys.argv[3:]))
"""


def _split_args(argv):
    wheels, suite = [], []
    # Absolute: the commands below run from their own folders.
    for arg in map(os.path.abspath, argv):
        if os.path.isdir(arg):
            wheels += glob.glob(os.path.join(arg, "*.whl"))
        elif arg.endswith(".py"):
            suite.append(arg)
    if len(wheels) != 1:
        sys.exit(f"expected exactly one .whl in the wheel folder argument, found {wheels} (args {argv})")
    if not any(os.path.basename(s).startswith("test_") for s in suite):
        sys.exit(f"no test_*.py among the suite files {suite}")
    return wheels[0], suite


def _clean_env(home):
    # Nothing from Bazel's runfiles or a dev setup may steer the imports.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "RUNFILES", "GROUPQUANT_", "PIP_", "VIRTUAL_ENV"))}
    env.update(HOME=home, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(argv, env, cwd, what):
    start = time.monotonic()
    shown = ["<" + what + " script>" if "\n" in a else a for a in argv]
    print(f"+ {' '.join(shown)}", flush=True)
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, end="", flush=True)
    print(f"  ({what}: {time.monotonic() - start:.1f}s, exit {proc.returncode})", flush=True)
    if proc.returncode != 0:
        sys.exit(f"{what} failed with exit code {proc.returncode}")
    return proc.stdout


def _venv_site_packages(python, env):
    out = subprocess.run([python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         env=env, stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout.strip()


def main(argv):
    wheel, suite = _split_args(argv)
    # On a remote worker (working directory `/`) test-setup.sh makes
    # TEST_TMPDIR "//...", which pathlib keeps as another root than the "/"
    # of the working directory pytest runs in; "//" means "/" on Linux.
    tmp = os.environ.get("TEST_TMPDIR")
    work = tempfile.mkdtemp(prefix="wheel_test_", dir="/" + tmp.lstrip("/") if tmp else None)
    venv = os.path.join(work, "venv")
    env = _clean_env(work)

    # The venv's pip would cost an ensurepip run; python_env's pip, seen
    # through the .pth below, installs into whichever interpreter runs it.
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env, work, "python -m venv")
    python = os.path.join(venv, "bin", "python")
    site = _venv_site_packages(python, env)
    shared = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    for path in shared:
        if glob.glob(os.path.join(path, "groupquant*")):
            sys.exit(f"python_env's {path} already holds groupquant; the check would prove nothing")
    with open(os.path.join(site, "_python_env_packages.pth"), "w", encoding="utf-8") as f:
        f.write("\n".join(shared) + "\n")

    _run([python, "-I", "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir", wheel],
         env, work, "pip install")

    tests = os.path.join(work, "suite")
    os.makedirs(tests)
    for path in suite:
        shutil.copy(path, tests)
    # -I: neither the cwd nor PYTHONPATH reaches sys.path; pytest adds only
    # the copied suite folder (for its helper modules).
    wheel_version = os.path.basename(wheel).split("-")[1]
    _run([python, "-I", "-c", _PYTEST_DRIVER, venv, wheel_version, tests, "--backend=cpu", "-x", "-q", "-rfE",
          "-p", "no:cacheprovider"], env, tests, "pytest on the installed wheel")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
