"""The main job (`python -m groupquant.bench`) runs end to end on a backend.

A smoke run: tiny shapes, no torch.compile, so it takes seconds. The bench
exits non-zero if any groupquant output differs from the reference, so a
zero exit here is also a bit-exactness check of what it timed.
"""
import json
import os
import subprocess
import sys


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
