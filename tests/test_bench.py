"""The main job (`python -m groupquant.bench`) runs end to end on a backend.

A smoke run: tiny shapes, no torch.compile, so it takes seconds. The bench
exits non-zero if any groupquant output differs from the reference, so a
zero exit here is also a bit-exactness check of what it timed.
"""
import json
import os
import subprocess
import sys

import pytest

from groupquant.bench import cli


def test_bench_smoke_run_writes_table_json_and_png(backend, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "groupquant.bench", "--device", backend, "--quick",
           "--compile", "off", "--no-graphs", "--shapes", "1x256,5x512",
           "--out", str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "GB/s" in proc.stdout

    jsons = list(tmp_path.glob("bench_*.json"))
    pngs = list(tmp_path.glob("bench_*.png"))
    assert len(jsons) == 1 and len(pngs) == 1, os.listdir(tmp_path)
    report = json.loads(jsons[0].read_text())
    assert not report["failures"], report["failures"]
    rows = [r for run in report["runs"] for r in run["results"]]
    assert {(r["m"], r["k"]) for r in rows} == {(1, 256), (5, 512)}
    assert pngs[0].stat().st_size > 10_000


def test_bench_ue8m0_flag_times_power_of_two_scales(backend, tmp_path, capsys):
    rc = cli.main(["--device", backend, "--quick", "--compile", "off", "--no-graphs", "--no-accuracy", "--ue8m0",
                   "--formats", "e4m3fn,int8", "--layouts", "row,packed", "--shapes", "3x512", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 0, out[-3000:] + err[-3000:]
    # int8 has UE8M0 scales only packed: the row variant is skipped, and said so.
    assert "skipping int8/row/ue8m0" in err, err[-3000:]
    report = json.loads(next(tmp_path.glob("bench_*.json")).read_text())
    rows = [r for run in report["runs"] for r in run["results"]]
    assert sorted((r["format"], r["layout"], r["ue8m0"]) for r in rows) == [
        ("e4m3fn", "packed", True), ("e4m3fn", "row", True), ("int8", "packed", True)]
    assert all(r["groupquant"]["bit_exact"] for r in rows), rows


# The bench's own modules (matplotlib, tabulate, tqdm) are the wheel's
# `bench` extra. sys.modules[name] = None makes `import name` raise
# ImportError: it stands for a plain `pip install groupquant-*.whl`.

def test_bench_help_needs_no_extra():
    """In a fresh interpreter, so that importing the bench's modules is what
    is tested: none of them may import an extra at import time."""
    script = ("import runpy, sys\n"
              "for name in ('matplotlib', 'tabulate', 'tqdm'):\n"
              "    sys.modules[name] = None\n"
              "sys.argv = ['groupquant.bench', '--help']\n"
              "runpy.run_module('groupquant.bench', run_name='__main__', alter_sys=True)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--device" in proc.stdout


@pytest.mark.parametrize("blocked", [("matplotlib",), ("tabulate",), ("tqdm",), ("matplotlib", "tqdm")], ids="+".join)
def test_missing_extra_names_the_module_and_the_install_command(blocked, backend, tmp_path, monkeypatch, capsys):
    for name in blocked:
        monkeypatch.setitem(sys.modules, name, None)
    rc = cli.main(["--device", backend, "--quick", "--compile", "off", "--no-graphs", "--shapes", "1x256",
                   "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2, (rc, err[-3000:])
    assert "pip install 'groupquant[bench]'" in err, err[-3000:]
    assert all(name in err for name in blocked), err[-3000:]
    # Refused before measuring: nothing was written.
    assert not list(tmp_path.iterdir()), os.listdir(tmp_path)
