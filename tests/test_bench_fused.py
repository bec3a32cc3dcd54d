"""`python -m groupquant.bench --ops fused,masked` runs end to end (smoke
size): its exit status is also a bit-exactness check of what it timed."""
import json
import os
import subprocess
import sys


def test_bench_fused_and_masked_smoke(backend, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "groupquant.bench", "--device", backend, "--quick", "--ops", "fused,masked",
           "--compile", "off", "--layouts", "row,packed", "--masked-valid", "2,8", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "fused silu" in proc.stdout and "masked MoE" in proc.stdout
    report = json.loads(next(tmp_path.glob("bench_*.json")).read_text())
    assert not report["failures"], report["failures"]
    rows = [r for run in report["runs"] for r in run["fused"]]
    assert {r["op"] for r in rows} == {"fused", "masked"}
    assert all(r["groupquant"]["bit_exact"] for r in rows), rows
    # --quick: T = 8, so T/2 and T/8 valid rows per expert.
    assert {r["valid_rows_per_expert"] for r in rows if r["op"] == "masked"} == {4, 1}
    assert not [r for run in report["runs"] for r in run["results"]], "plain op timed without --ops quant"


def test_bench_masked_valid_must_divide_t(tmp_path):
    cmd = [sys.executable, "-m", "groupquant.bench", "--device", "cpu", "--ops", "masked",
           "--masked-valid", "3", "--out", str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--masked-valid" in proc.stderr, proc.stderr[-2000:]
