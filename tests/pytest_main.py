"""Entry point that lets `bazel test` run a pytest file.

Bazel's py_test runs one script; this one hands its arguments (test files
and options such as --backend) to pytest and exits with pytest's status, so
an empty collection (exit 5) fails instead of passing silently.
"""
import os
import sys

import pytest

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    args = [a if a.startswith("-") or os.path.isabs(a) else os.path.join(here, a) for a in sys.argv[1:]]
    # Bazel gives each test a private, writable TEST_TMPDIR; keep caches there.
    cache = os.environ.get("TEST_TMPDIR")
    extra = ["-p", "no:cacheprovider"] if cache is None else ["-o", "cache_dir=" + os.path.join(cache, ".pytest_cache")]
    sys.exit(pytest.main(["-q", "-rfE", *extra, *args]))
