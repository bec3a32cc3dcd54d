#!/usr/bin/env bash
# CI check that the toolkit repository rules do not cache a missing tool:
# after installing what the error names, the same command succeeds, with no
# `clean --expunge` and the Bazel server still running.
#
#   rocm: no hipcc -> the @local_rocm wrapper prints the install hint;
#         hipcc appears AND the package database changes (what apt-get
#         install does) -> the same build re-finds it
#         (control: hipcc appears without the database changing -> still
#         the hint, so the database watch is what re-runs the rule)
#   cuda: CUDA_PATH without bin/nvcc -> the fetch fails with the hint;
#         the toolkit appears there -> the same build succeeds
#
# Stand-ins keep it fast and root-free: a fake hipcc and nvcc in a temp
# folder, GROUPQUANT_PACKAGE_DB pointing at a fake package database.
# Runs in a throw-away copy of the workspace with its own output base.
# env: BAZEL (default: tools/bazel of this repository).
set -euo pipefail

WORKSPACE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BAZEL="${BAZEL:-$WORKSPACE/tools/bazel}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/gq-refetch.XXXXXX")"
WS="$TMP/ws"
OB="$TMP/ob"
cleanup() {
  local rc=$?
  (cd "$WS" 2>/dev/null && "$BAZEL" --output_user_root="$TMP/root" --output_base="$OB" shutdown >/dev/null 2>&1) || true
  chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT

mkdir -p "$WS" "$TMP/bin"
(cd "$WORKSPACE" && git ls-files -z -c -o --exclude-standard \
   | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$WS" -xf -
find "$WS" -maxdepth 1 -name 'bazel-*' -type l -delete
echo "Package: base" > "$TMP/status"

# One PATH and one package database for every command: the environment
# stays the same, only what is installed changes. The host's own hipcc (if
# any) is left out of that PATH, so its absence can be shown anywhere.
mkdir -p "$TMP/sysbin"
for f in /usr/local/bin/* /usr/bin/*; do
  [[ "$(basename "$f")" == hipcc* || -e "$TMP/sysbin/$(basename "$f")" ]] || ln -s "$f" "$TMP/sysbin/"
done
export PATH="$TMP/bin:$TMP/sysbin"
export GROUPQUANT_PACKAGE_DB="$TMP/status"
unset ROCM_PATH CUDA_PATH
bz() {
  (cd "$WS" && "$BAZEL" --output_user_root="$TMP/root" --output_base="$OB" "$@" \
     --experimental_convenience_symlinks=ignore --color=no --curses=no) > "$TMP/last.log" 2>&1
}
FAILED=0
check() {
  if [[ "$1" == 1 ]]; then echo "PASS  $2"; else echo "FAIL  $2"; FAILED=1; tail -n 15 "$TMP/last.log"; fi
}
fake_tool() {
  printf '#!/bin/sh\necho "%s fake 1.0 ($0 $*)"\n' "$2" > "$1"
  chmod +x "$1"
}
wrapper_says() { "$OB/external/local_rocm/hipcc" --version 2>&1 || true; }

if [[ -x /opt/rocm/bin/hipcc ]]; then
  echo "FAIL  rocm: /opt/rocm/bin/hipcc is searched before PATH, so its absence cannot be shown here"
  FAILED=1
else
  bz build --config=rocm @local_rocm//:hipcc || true
  check "$([[ $(wrapper_says) == *"apt-get install -y hipcc"* ]] && echo 1)" "rocm: no hipcc -> the wrapper gives the install hint"
  fake_tool "$TMP/bin/hipcc" "HIP version:"
  bz build --config=rocm @local_rocm//:hipcc || true
  check "$([[ $(wrapper_says) == *"apt-get install -y hipcc"* ]] && echo 1)" "rocm control: hipcc copied in, package db unchanged -> still the hint (the db is the trigger)"
  echo "Package: hipcc" >> "$TMP/status"
  bz build --config=rocm @local_rocm//:hipcc || true
  check "$([[ $(wrapper_says) == *"fake 1.0 ($TMP/bin/hipcc"* ]] && echo 1)" "rocm: package db changed -> same command finds hipcc, no expunge"
fi

export CUDA_PATH="$TMP/cuda"
mkdir -p "$CUDA_PATH"
if bz build --config=cuda @local_cuda//:nvcc; then ok=""; else ok=1; fi
[[ -n "$ok" ]] && grep -q "CUDA_PATH=$CUDA_PATH has no bin/nvcc" "$TMP/last.log" || ok=""
check "$ok" "cuda: CUDA_PATH without nvcc -> the fetch fails with the hint"
mkdir -p "$CUDA_PATH/bin" "$CUDA_PATH/lib64" "$CUDA_PATH/include"
fake_tool "$CUDA_PATH/bin/nvcc" "Cuda compilation tools,"
fake_tool "$CUDA_PATH/bin/cuobjdump" cuobjdump
: > "$CUDA_PATH/lib64/libcudart_static.a"
if bz build --config=cuda @local_cuda//:nvcc; then ok=1; else ok=""; fi
[[ -n "$ok" && "$("$OB/external/local_cuda/nvcc" --version)" == *"fake 1.0 ($CUDA_PATH/bin/nvcc"* ]] || ok=""
check "$ok" "cuda: toolkit installed at CUDA_PATH -> same command uses it, no expunge"

[[ $FAILED == 0 ]] || { echo "check_toolkit_refetch.sh: FAILED" >&2; exit 1; }
echo "check_toolkit_refetch.sh: all checks passed" >&2
