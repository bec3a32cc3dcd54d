"""The loader: what it reports, and its messages when a library is missing
or broken (checked in fresh interpreters, since loading happens at import)."""

import os
import subprocess
import sys

import groupquant


def test_backend_under_test_is_reported_usable(backend):
    status = groupquant.backend_status()
    assert set(status) == {"cpu", "cuda", "rocm"}
    assert backend in groupquant.available_backends()
    assert backend in groupquant.loaded_backends()
    st = status[backend]
    assert st.built and st.loaded and st.device_present and st.usable and st.reason == ""
    for name, s in status.items():
        assert s.usable == (name in groupquant.available_backends())
        assert s.usable or s.reason, f"{name}: not usable but no reason given"


def test_never_loads_the_other_gpu_library():
    import torch
    loaded = groupquant.loaded_backends()
    if torch.version.hip is None:
        assert "rocm" not in loaded
    if torch.version.cuda is None:
        assert "cuda" not in loaded


def _python(code, lib_dir):
    env = dict(os.environ, GROUPQUANT_LIB_DIR=str(lib_dir))
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(groupquant.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


_PROBE = """
import torch, groupquant
print("backends", groupquant.available_backends())
q, s = groupquant.reference.per_token_group_quant_fp8(torch.ones(1, 128), 128)
print("reference ok")
try:
    groupquant.per_token_group_quant_fp8(torch.ones(1, 128), 128)
except RuntimeError as e:
    print("error:", e)
"""


def test_missing_library_is_a_clear_error_at_call_time(tmp_path):
    r = _python(_PROBE, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "backends []" in r.stdout and "reference ok" in r.stdout
    error = r.stdout.split("error:", 1)[1]
    assert str(tmp_path / "libgroupquant_cpu.so") in error
    assert "tools/bazel build //python:groupquant" in error


def test_broken_library_is_an_import_error(tmp_path):
    (tmp_path / "libgroupquant_cpu.so").write_bytes(b"not an ELF file")
    r = _python("import groupquant", tmp_path)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and str(tmp_path / "libgroupquant_cpu.so") in r.stderr
