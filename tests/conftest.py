"""pytest setup: which backend is under test, its device, and per-test seeds.

    pytest tests/ --backend=cpu|cuda|rocm     (default: $GROUPQUANT_TEST_BACKEND or cpu)

Asking for a backend whose library did not load, or whose device is absent,
ends the session with a non-zero exit and the reason: a platform without
its device must never pass by skipping everything.
"""

import os
import secrets
import zlib

import pytest
import torch

BACKENDS = ("cpu", "cuda", "rocm")
_EXIT_BACKEND_UNUSABLE = 3


def pytest_addoption(parser):
    group = parser.getgroup("groupquant")
    group.addoption("--backend", default=os.environ.get("GROUPQUANT_TEST_BACKEND", "cpu"),
                    help="backend under test: cpu, cuda or rocm (env GROUPQUANT_TEST_BACKEND)")
    group.addoption("--seed", type=int, default=None,
                    help="base seed for random inputs (default: fresh each run, printed on failure)")
    group.addoption("--run-slow", action="store_true",
                    default=os.environ.get("GROUPQUANT_RUN_SLOW", "") not in ("", "0"),
                    help="also run tests marked slow (env GROUPQUANT_RUN_SLOW=1)")
    group.addoption("--require-gpus", type=int, default=0,
                    help="fail the session (never skip) when fewer devices of the backend exist")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: large problems; run with --run-slow")
    config.addinivalue_line("markers", "gpu_only: needs a CUDA/ROCm backend (deselected with --backend=cpu)")
    config.addinivalue_line("markers", "cpu_only: a claim made for the CPU backend only (deselected with "
                                       "--backend=cuda|rocm)")
    config.addinivalue_line("markers", "multi_gpu: needs two GPUs (deselected on hosts with fewer)")


def _check_backend(config):
    backend = config.getoption("--backend")
    if backend not in BACKENDS:
        pytest.exit(f"groupquant tests: --backend must be one of {BACKENDS}, got {backend!r}",
                    returncode=_EXIT_BACKEND_UNUSABLE)
    try:
        import groupquant
    except ImportError as e:
        pytest.exit(f"groupquant tests: `import groupquant` failed: {e}", returncode=_EXIT_BACKEND_UNUSABLE)
    status = groupquant.backend_status()[backend]
    if not status.usable:
        pytest.exit(f"groupquant tests asked for backend '{backend}', which cannot run here: "
                    f"{status.reason}", returncode=_EXIT_BACKEND_UNUSABLE)
    return backend


def pytest_sessionstart(session):
    session.config._groupquant_backend = _check_backend(session.config)
    need = session.config.getoption("--require-gpus")
    if need and torch.cuda.device_count() < need:
        pytest.exit(f"groupquant tests need {need} {session.config._groupquant_backend} devices "
                    f"(--require-gpus); this host has {torch.cuda.device_count()}",
                    returncode=_EXIT_BACKEND_UNUSABLE)
    seed = session.config.getoption("--seed")
    session.config._groupquant_seed = seed if seed is not None else secrets.randbelow(2**31)


def pytest_report_header(config):
    import groupquant
    lines = [f"groupquant {groupquant.__version__} from {os.path.dirname(groupquant.__file__)}",
             f"torch {torch.__version__} (cuda {torch.version.cuda}, hip {torch.version.hip})"]
    for name, st in groupquant.backend_status().items():
        lines.append(f"  {name}: {'usable' if st.usable else st.reason}")
    return lines


def _deselection_rules(config):
    """(marker, why) for every marker whose tests cannot run in this session.

    Such tests are deselected, not skipped: a skip would count among the
    results as if the case had been covered, and the summary line names them.
    """
    rules = []
    if not config.getoption("--run-slow"):
        rules.append(("slow", "slow: run with --run-slow (or GROUPQUANT_RUN_SLOW=1)"))
    backend = config._groupquant_backend
    if backend == "cpu":
        rules.append(("gpu_only", "gpu_only: the backend under test is the CPU (run with --backend=cuda|rocm)"))
    else:
        rules.append(("cpu_only", f"cpu_only: the backend under test is {backend} (run with --backend=cpu)"))
        if torch.cuda.device_count() < 2:
            rules.append(("multi_gpu", f"multi_gpu: {torch.cuda.device_count()} {backend} device(s) here"))
    return rules


def pytest_collection_modifyitems(config, items):
    kept, reasons = [], {}
    rules = _deselection_rules(config)
    for item in items:
        why = next((why for marker, why in rules if item.get_closest_marker(marker)), None)
        if why is None:
            kept.append(item)
        else:
            reasons.setdefault(why, []).append(item)
    if reasons:
        config.hook.pytest_deselected(items=[i for group in reasons.values() for i in group])
        items[:] = kept
    config._groupquant_deselected = {why: len(group) for why, group in reasons.items()}


def pytest_terminal_summary(terminalreporter, config):
    for why, n in getattr(config, "_groupquant_deselected", {}).items():
        terminalreporter.write_line(f"groupquant: deselected {n} test(s), {why}")


@pytest.fixture(scope="session")
def backend(request):
    return request.config._groupquant_backend


@pytest.fixture(scope="session")
def device(backend):
    return torch.device("cpu") if backend == "cpu" else torch.device("cuda", torch.cuda.current_device())


@pytest.fixture
def seed(request):
    """Per-test seed derived from the session seed and the test id."""
    base = request.config._groupquant_seed
    value = (base * 1000003 + zlib.crc32(request.node.nodeid.encode())) % (2**63)
    request.node._groupquant_seed = (base, value)
    return value


@pytest.fixture
def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    seeds = getattr(item, "_groupquant_seed", None)
    if report.failed and seeds is not None:
        report.sections.append(("groupquant seed", f"session seed {seeds[0]} (rerun with --seed={seeds[0]}), "
                                                   f"test seed {seeds[1]}"))
    return report
