"""Loads the groupquant op libraries into torch and reports what loaded.

The libraries are built against the PyTorch stable ABI and not linked to
libtorch: their `aoti_torch_*` symbols resolve against the torch libraries
already in the process. torch loads those privately (RTLD_LOCAL), so they
are first re-opened with RTLD_GLOBAL (RTLD_NOLOAD: only if already loaded,
never a second copy) before torch.ops.load_library.

Load order: libgroupquant_cpu.so (it defines the op schemas) first, then the
GPU library matching this torch build, never the other one: CUDA impls under
a CUDA torch, HIP impls under a ROCm torch (both register the CUDA key).

A library file that is missing is recorded, not raised: `import groupquant`
still works (the reference is pure PyTorch) and calling an op then raises
RuntimeError naming the file and the build command. A library file that is
present but fails to load is a broken install and raises ImportError.
"""

import ctypes
import dataclasses
import os

import torch

# Overrides the folder searched for the libraries (a dev build, a test).
LIB_DIR_ENV = "GROUPQUANT_LIB_DIR"

BACKENDS = ("cpu", "cuda", "rocm")

_BUILD_COMMAND = {
    "cpu": "tools/bazel build //python:groupquant",
    "cuda": "tools/bazel build --config=cuda //python:groupquant",
    "rocm": "tools/bazel build --config=rocm //python:groupquant",
}

# torch's own libraries whose symbols each backend's library needs.
_TORCH_LIBRARIES = {
    "cpu": ("libtorch_cpu.so",),
    "cuda": ("libtorch_cuda.so",),
    "rocm": ("libtorch_hip.so",),
}


@dataclasses.dataclass(frozen=True)
class BackendStatus:
    """What is known about one backend; `usable` is built, loaded and a device."""

    name: str
    library: str  # the path looked for
    built: bool  # the library file exists
    loaded: bool  # torch.ops.load_library succeeded
    device_present: bool  # the device kind exists in this process
    reason: str  # why it is not usable ("" when it is)

    @property
    def usable(self):
        return self.built and self.loaded and self.device_present


_loaded = {}  # backend -> library path, filled by load()
_not_loaded = {}  # backend -> reason


def library_dir():
    override = os.environ.get(LIB_DIR_ENV)
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")


def library_path(backend):
    return os.path.join(library_dir(), f"libgroupquant_{backend}.so")


def _torch_matches(backend):
    """Whether this torch build can host the backend's library at all."""
    if backend == "cpu":
        return True
    if backend == "cuda":
        return torch.version.cuda is not None
    return torch.version.hip is not None


def _torch_build_name():
    if torch.version.hip is not None:
        return f"ROCm {torch.version.hip}"
    if torch.version.cuda is not None:
        return f"CUDA {torch.version.cuda}"
    return "CPU-only"


def _reopen_torch_libraries(backend):
    torch_lib_dir = os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "lib")
    for name in _TORCH_LIBRARIES[backend]:
        path = os.path.join(torch_lib_dir, name)
        if not os.path.exists(path):
            continue
        try:
            ctypes.CDLL(path, mode=os.RTLD_GLOBAL | os.RTLD_NOLOAD)
        except OSError:
            # Not loaded by torch in this process: nothing to promote. The
            # library load below then reports any unresolved symbol.
            pass


def _load_one(backend):
    path = library_path(backend)
    if not os.path.exists(path):
        _not_loaded[backend] = (
            f"{path} not found; build it with `{_BUILD_COMMAND[backend]}` "
            f"(or set {LIB_DIR_ENV} to the folder holding it)")
        return
    _reopen_torch_libraries(backend)
    try:
        torch.ops.load_library(path)
    except (OSError, RuntimeError) as e:
        raise ImportError(
            f"groupquant: {path} exists but failed to load under torch {torch.__version__} "
            f"({_torch_build_name()}): {e}. Rebuild it with `{_BUILD_COMMAND[backend]}`.") from e
    _loaded[backend] = path


def load():
    """Load every library this torch build can use. Idempotent."""
    if _loaded or _not_loaded:
        return
    _load_one("cpu")
    if "cpu" not in _loaded:
        # GPU libraries hold impls only; without the schemas they cannot load.
        for backend in ("cuda", "rocm"):
            _not_loaded[backend] = "libgroupquant_cpu.so (which defines the op schemas) is not loaded"
        return
    for backend in ("cuda", "rocm"):
        if _torch_matches(backend):
            _load_one(backend)
        else:
            _not_loaded[backend] = (
                f"not applicable: torch {torch.__version__} is a {_torch_build_name()} build")


def _device_present(backend):
    if backend == "cpu":
        return True
    return _torch_matches(backend) and torch.cuda.is_available()


def backend_status():
    """{backend: BackendStatus} for cpu, cuda and rocm."""
    load()
    result = {}
    for backend in BACKENDS:
        path = library_path(backend) if backend not in _loaded else _loaded[backend]
        loaded = backend in _loaded
        device = _device_present(backend)
        if not loaded:
            reason = _not_loaded.get(backend, "not loaded")
        elif not device:
            reason = f"library loaded but no {backend.upper()} device is available (torch.cuda.is_available() is False)"
        else:
            reason = ""
        result[backend] = BackendStatus(
            name=backend, library=path, built=os.path.exists(path), loaded=loaded,
            device_present=device, reason=reason)
    return result


def loaded_backends():
    """Backends whose library is loaded, device or not (e.g. ['cpu', 'cuda'])."""
    load()
    return [b for b in BACKENDS if b in _loaded]


def available_backends():
    """Backends that can run now: library loaded and device present."""
    return [name for name, st in backend_status().items() if st.usable]


def require_ops():
    """Raise RuntimeError with the reason when the op schemas are not loaded."""
    load()
    if "cpu" not in _loaded:
        raise RuntimeError(f"groupquant ops are not available: {_not_loaded['cpu']}")


def require_device_backend(device):
    """Raise RuntimeError when no loaded library serves tensors on `device`."""
    require_ops()
    if device.type != "cuda":
        return
    backend = "rocm" if torch.version.hip is not None else "cuda"
    if backend not in _loaded:
        raise RuntimeError(
            f"groupquant has no {backend.upper()} kernels loaded for {device} tensors: "
            f"{_not_loaded.get(backend, 'not loaded')}")
