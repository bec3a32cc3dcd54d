"""The built CUDA libraries hold device code for exactly the configured archs.

    sass_archs_test.py --cuobjdump PATH --archs ARCHS_TXT LIB.so [LIB.so ...]

ARCHS_TXT has one "virtual real" pair per line (the configured
@rules_cuda//cuda:archs, written by archs_file). Each library must contain a
SASS cubin for every real sm_XX and nothing else, and PTX for every
compute_XX:compute_XX pair and nothing else (cuobjdump names PTX by sm_XX).
Run by `tools/bazel test --config=cuda //tests/build_rules/...`.
"""

import argparse
import re
import subprocess
import sys


def expected(archs_txt):
    sass, ptx = set(), set()
    with open(archs_txt) as f:
        for line in f:
            if not line.strip():
                continue
            virtual, real = line.split()
            if real.startswith("sm_"):
                sass.add(real)
            else:
                ptx.add("sm_" + virtual[len("compute_"):])
    return sass, ptx


def listed(cuobjdump, lib, what):
    """Archs of the `what` ("elf" or "ptx") entries cuobjdump lists for lib."""
    res = subprocess.run([cuobjdump, "--list-" + what, lib], capture_output=True, text=True)
    if res.returncode != 0 and "does not contain" not in res.stderr:
        sys.exit(f"cuobjdump --list-{what} {lib} failed ({res.returncode}):\n{res.stderr}")
    suffix = "cubin" if what == "elf" else "ptx"
    return set(re.findall(r"\.(sm_\w+?)\." + suffix + r"\b", res.stdout)), res.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cuobjdump", required=True)
    parser.add_argument("--archs", required=True)
    parser.add_argument("libs", nargs="+")
    args = parser.parse_args()

    want_sass, want_ptx = expected(args.archs)
    print(f"configured archs: SASS {sorted(want_sass)}, PTX {sorted(want_ptx)}")
    failures = []
    for lib in args.libs:
        for what, want in (("elf", want_sass), ("ptx", want_ptx)):
            got, raw = listed(args.cuobjdump, lib, what)
            print(f"{lib}: {what} {sorted(got)}")
            if got != want:
                failures.append(f"{lib}: {what} archs {sorted(got)}, configured {sorted(want)}\n{raw}")
    if failures:
        sys.exit("device code does not match @rules_cuda//cuda:archs:\n" + "\n".join(failures))
    print("OK")


if __name__ == "__main__":
    main()
