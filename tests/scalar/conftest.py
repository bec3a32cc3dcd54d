"""pytest setup for the scalar-math tests: finds gq_scalar, gates the sweep.

gq_scalar.so sits next to these files in Bazel's runfiles; a plain pytest
run from the source tree finds it in bazel-bin/tests/scalar after
`tools/bazel build //tests/scalar:gq_scalar.so`. Under Bazel a missing
module is an error; outside Bazel (an installed wheel has no gq_scalar) these
tests are left out with a warning, since they test the build, not the wheel.

Tests marked `exhaustive` (every float32 pattern, minutes) run only with
--run-exhaustive or GROUPQUANT_RUN_EXHAUSTIVE=1; their Bazel target passes it.
"""

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
# The tests import scalar_cases from here, whatever pytest's import mode.
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def _find_gq_scalar():
    repo = os.path.dirname(os.path.dirname(_HERE))
    for folder in (_HERE, os.path.join(repo, "bazel-bin", "tests", "scalar")):
        if os.path.exists(os.path.join(folder, "gq_scalar.so")):
            if folder not in sys.path:
                sys.path.insert(0, folder)
            return True
    return False


collect_ignore_glob = []
if not _find_gq_scalar():
    _MISSING = ("gq_scalar.so not found next to the tests or in bazel-bin/tests/scalar; "
                "build it with `tools/bazel build //tests/scalar:gq_scalar.so`")
    if "TEST_SRCDIR" in os.environ:
        raise ImportError(_MISSING)
    sys.stderr.write(f"tests/scalar: left out: {_MISSING}\n")
    collect_ignore_glob = ["test_*.py"]


def pytest_addoption(parser):
    parser.getgroup("groupquant").addoption(
        "--run-exhaustive", action="store_true",
        default=os.environ.get("GROUPQUANT_RUN_EXHAUSTIVE", "") not in ("", "0"),
        help="also run the exhaustive float32 sweeps (minutes; env GROUPQUANT_RUN_EXHAUSTIVE=1)")


def pytest_configure(config):
    config.addinivalue_line("markers", "exhaustive: sweeps all 2^32 float32 patterns; run with --run-exhaustive")


def pytest_collection_modifyitems(config, items):
    # The option exists only when this conftest was loaded at startup.
    default = os.environ.get("GROUPQUANT_RUN_EXHAUSTIVE", "") not in ("", "0")
    if config.getoption("--run-exhaustive", default=default):
        return
    skip = pytest.mark.skip(reason="exhaustive: run with --run-exhaustive or GROUPQUANT_RUN_EXHAUSTIVE=1")
    for item in items:
        if "exhaustive" in item.keywords:
            item.add_marker(skip)
