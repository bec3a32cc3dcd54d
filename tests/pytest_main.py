"""Entry point that lets `bazel test` run a pytest file.

Bazel's py_test runs one script; this one hands its arguments (test files
and options such as --backend) to pytest and exits with pytest's status, so
an empty collection (exit 5) fails instead of passing silently.
"""
import os
import sys

import pytest


def _one_root(path):
    # On a remote worker the test starts in `/`, and Bazel's test-setup.sh
    # prefixes $PWD/ to relative paths, giving "//...". POSIX lets a leading
    # "//" mean something else, so pathlib keeps it and pytest's path
    # comparisons fail; "/" is what it means on Linux.
    return "/" + path.lstrip("/") if path.startswith("//") else path


def _normalize_runfiles_paths():
    for key, value in list(os.environ.items()):
        if key.startswith(("TEST_", "RUNFILES", "PYTHONPATH", "XML_OUTPUT_FILE")):
            os.environ[key] = os.pathsep.join(_one_root(p) for p in value.split(os.pathsep))
    sys.path[:] = [_one_root(p) for p in sys.path]


if __name__ == "__main__":
    _normalize_runfiles_paths()
    here = _one_root(os.path.dirname(os.path.abspath(__file__)))
    args = [a if a.startswith("-") or os.path.isabs(a) else os.path.join(here, a) for a in sys.argv[1:]]
    # Bazel gives each test a private, writable TEST_TMPDIR; keep caches there.
    cache = os.environ.get("TEST_TMPDIR")
    extra = ["-p", "no:cacheprovider"] if cache is None else ["-o", "cache_dir=" + os.path.join(cache, ".pytest_cache")]
    sys.exit(pytest.main(["-q", "-rfE", *extra, *args]))
