#!/usr/bin/env bash
# CI check that every action of this workspace runs on a real REAPI engine
# (tools/remote_exec/engine.sh), not just that `--config=rbe` parses:
#
#   1. test --config=rbe //...          -> passes; Bazel's process summary
#                                          says N remote, nothing local or
#                                          sandboxed, and the engine ran N
#   2. clean --expunge, the same test   -> every action a remote cache hit
#   3. build --config=rbe --config=cuda //...
#                                       -> the CUDA actions (nvcc) remote too
#                                          (one arch by default: the same
#                                          actions, a third of nvcc's time)
#
# With -p the engine is a forwarding pair (engine.sh start-pair) and the
# table says how many actions each executor ran.
#
# usage: check_rbe.sh [-p] [-s] [-a ARCHS] [-- EXTRA_BAZEL_FLAGS...]
#   -p  two executors, the front forwarding to the back one
#   -s  skip step 3 (no CUDA build)
#   -a  --cuda_archs for step 3 (default sm_90a; -a '' for the config's)
# env: BAZEL (default: tools/bazel of this repository), KEEP_TMP=1 keeps
#      the temp folder, JOBS / HYBRID_LIMIT (engine.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GQ_SCRIPT=check_rbe.sh
# shellcheck source=../lib/server_util.sh
source "$HERE/../lib/server_util.sh"
WORKSPACE="$(cd "$HERE/../.." && pwd)"
BAZEL="${BAZEL:-$WORKSPACE/tools/bazel}"
PAIR=""
CUDA=1
ARCHS=sm_90a

usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "psa:h" opt; do
  case "$opt" in
    p) PAIR=1 ;;
    s) CUDA="" ;;
    a) ARCHS="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ "${1:-}" == "--" ]] && shift
EXTRA=("$@")

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gq-rbe-check.XXXXXX")"
WS="$TMP/ws/$(basename "$WORKSPACE")"
OB="$TMP/ob"
USER_ROOT="$TMP/output_user_root"
STATE="$TMP/engine"

cleanup() {
  local rc=$?
  set +e
  (cd "$WS" 2>/dev/null && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$OB" shutdown >/dev/null 2>&1)
  "$HERE/engine.sh" stop "$STATE" >/dev/null 2>&1
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "check_rbe.sh: kept $TMP" >&2
  else
    if [[ $rc != 0 && -d "$TMP/logs" ]]; then
      local kept
      kept="$(mktemp -d "${TMPDIR:-/tmp}/gq-rbe-check-logs.XXXXXX")"
      cp -a "$TMP/logs/." "$kept/"
      echo "check_rbe.sh: logs kept in $kept" >&2
    fi
    chmod -R u+w "$TMP" 2>/dev/null
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/logs"
snapshot_workspace "$WORKSPACE" "$WS"

URL="$("$HERE/engine.sh" "$([[ -n $PAIR ]] && echo start-pair || echo start)" "$STATE")"
echo "check_rbe.sh: engine at $URL ($([[ -n $PAIR ]] && echo 'front forwarding to back' || echo 'one executor'))" >&2
RBE=(--config=rbe "--remote_executor=$URL")

# Runs one Bazel command; sets RC LOG ELAPSED and the process summary's
# counts: REMOTE HITS INTERNAL OTHER (any other strategy: ran on this host)
# and OTHER_NAMES.
run() {
  local name="$1" item n label
  shift
  LOG="$TMP/logs/$name.log"
  set +e
  (cd "$WS" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$OB" "$@" \
     --color=no --curses=no --disk_cache= --experimental_convenience_symlinks=ignore \
     "${RBE[@]}" "${EXTRA[@]}") > "$LOG" 2>&1
  RC=$?
  set -e
  REMOTE=0 HITS=0 INTERNAL=0 OTHER=0 OTHER_NAMES=""
  # Strategies: "remote", "remote cache hit", "internal", and anything else
  # ("linux-sandbox", "local", "processwrapper-sandbox") ran on this host.
  bazel_process_summary "$LOG"
  for item in ${SUMMARY_ITEMS[@]+"${SUMMARY_ITEMS[@]}"}; do
    n="${item%% *}" label="${item#* }"
    case "$label" in
      remote) REMOTE=$((REMOTE + n)) ;;
      "remote cache hit") HITS=$((HITS + n)) ;;
      internal) INTERNAL=$((INTERNAL + n)) ;;
      *) OTHER=$((OTHER + n)) OTHER_NAMES+="${OTHER_NAMES:+, }$n $label" ;;
    esac
  done
  bazel_times "$LOG"
  ELAPSED=$BAZEL_ELAPSED
  return 0
}

executed_total() { "$HERE/engine.sh" counts "$STATE" | awk '{ s += $2 } END { print s + 0 }'; }

ROWS=()
FAILED=0
row() {
  [[ "$7" == PASS* ]] || FAILED=1
  ROWS+=("$(printf '%-26s %6s %6s %6s %6s %8s  %s' "$@")")
}
fail_tail() { echo "check_rbe.sh: $1 failed; tail of $LOG:" >&2; tail -n 40 "$LOG" >&2; }

echo "check_rbe.sh: 1/3 test //... remotely" >&2
before="$(executed_total)"
run 1-test test //...
ran=$(( $(executed_total) - before ))
if [[ $RC != 0 ]]; then v="FAIL: bazel test failed (rc $RC), see above"; fail_tail "step 1"
elif [[ $OTHER != 0 ]]; then v="FAIL: ran on this host: $OTHER_NAMES"
elif [[ $REMOTE == 0 ]]; then v="FAIL: nothing ran remotely"
elif [[ $ran -lt $REMOTE ]]; then v="FAIL: Bazel says $REMOTE remote, the engine ran $ran"
else v="PASS (engine ran $ran)"; fi
row "1 test //... (cold)" "$REMOTE" "$HITS" "$INTERNAL" "$OTHER" "$ELAPSED" "$v"
COUNTS_1="$("$HERE/engine.sh" counts "$STATE" | paste -sd' ')"
COLD_REMOTE=$REMOTE

echo "check_rbe.sh: 2/3 clean --expunge, test //... again" >&2
(cd "$WS" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$OB" clean --expunge >/dev/null 2>&1)
before="$(executed_total)"
run 2-rebuild test //...
ran=$(( $(executed_total) - before ))
if [[ $RC != 0 ]]; then v="FAIL: bazel test failed (rc $RC)"; fail_tail "step 2"
elif [[ $OTHER != 0 || $REMOTE != 0 || $ran != 0 ]]; then v="FAIL: $REMOTE remote (engine ran $ran), ${OTHER_NAMES:-0 local}: not all cache hits"
elif [[ $HITS -lt $COLD_REMOTE ]]; then v="FAIL: $HITS hits for $COLD_REMOTE cold actions"
else v="PASS (all hits)"; fi
row "2 expunge + test //..." "$REMOTE" "$HITS" "$INTERNAL" "$OTHER" "$ELAPSED" "$v"

if [[ -n "$CUDA" ]]; then
  echo "check_rbe.sh: 3/3 build --config=cuda //... remotely" >&2
  before="$(executed_total)"
  run 3-cuda build --config=cuda ${ARCHS:+--cuda_archs=$ARCHS} //... --execution_log_json_file="$TMP/logs/3-cuda.exec.json"
  ran=$(( $(executed_total) - before ))
  # The nvcc compiles themselves, from Bazel's own log of each spawn.
  nvcc_remote="$(python3 - "$TMP/logs/3-cuda.exec.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
dec, i, n = json.JSONDecoder(), 0, 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    spawn, i = dec.raw_decode(text, i)
    if spawn.get("mnemonic") == "CudaCompile" and spawn.get("runner") == "remote":
        n += 1
print(n)
EOF
)"
  if [[ $RC != 0 ]]; then v="FAIL: bazel build --config=cuda failed (rc $RC)"; fail_tail "step 3"
  elif [[ $OTHER != 0 ]]; then v="FAIL: ran on this host: $OTHER_NAMES"
  elif [[ $nvcc_remote == 0 ]]; then v="FAIL: no CudaCompile ran remotely"
  else v="PASS ($nvcc_remote nvcc remote)"; fi
  row "3 build --config=cuda" "$REMOTE" "$HITS" "$INTERNAL" "$OTHER" "$ELAPSED" "$v"
fi

echo
printf '%-26s %6s %6s %6s %6s %8s  %s\n' step remote hits intern local elapsed verdict
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(remote/hits/intern from Bazel's process summary; local = any strategy that"
echo " ran on this host: local, linux-sandbox, ...; elapsed: Bazel's, in s)"
echo "actions per executor, step 1: $COUNTS_1; all steps: $("$HERE/engine.sh" counts "$STATE" | paste -sd' ')"
if [[ $FAILED != 0 ]]; then
  echo "check_rbe.sh: FAILED" >&2
  exit 1
fi
echo "check_rbe.sh: all checks passed" >&2
