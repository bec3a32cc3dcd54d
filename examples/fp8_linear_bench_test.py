"""The timing script runs end to end (CPU path, toy sizes) and writes the
JSON it promises: one row per (M, N, K) with every timing finite."""

import json
import math
import os
import sys
import tempfile

import fp8_linear_bench


def main():
    out = os.path.join(tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")), "bench.json")
    rc = fp8_linear_bench.main(["--device=cpu", "--ms=3,16", "--shapes=256x384,128x256", "--reps=2",
                                "--warmup=1", f"--json={out}"])
    assert rc == 0, rc
    with open(out, encoding="utf-8") as f:
        result = json.load(f)
    rows = result["rows"]
    assert [(r["M"], r["N"], r["K"]) for r in rows] == [(3, 256, 384), (16, 256, 384), (3, 128, 256),
                                                         (16, 128, 256)], rows
    for r in rows:
        for key in ("bf16_matmul_us", "groupquant_quant_us", "fp8_layer_us", "groupquant_share_of_layer"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r)
    assert "torch" in result["machine"]
    print("fp8_linear_bench wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
