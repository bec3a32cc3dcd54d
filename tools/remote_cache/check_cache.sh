#!/usr/bin/env bash
# CI check that Bazel's remote cache really works for this workspace, not
# just that builds pass (Bazel only warns when the cache is broken):
#
#   1. cold build with the cache              -> uploads every action
#   2. clean --expunge, rebuild               -> every action a remote hit, faster
#   3. a second copy of the workspace at another path, own output base
#                                             -> every action a remote hit
#                                                (action keys hold no absolute
#                                                paths, no timestamps)
#   4. a comment appended to one source       -> only its dependants re-run
#   5. server stopped, the source changed again
#                                             -> build still succeeds, warns
#
# It builds in throw-away copies of the workspace with their own
# --output_user_root, so the developer's tree, output base and bazel-*
# links are never touched, and removes everything on exit.
#
# usage: check_cache.sh [-w WORKSPACE] [-k http|grpc|both] [-m SRC]
#                       [-e MAX_RERUN] [-c build|test] [-- BUILD_ARGS...]
#   -w  workspace to check (default: the repository holding this script)
#   -k  which server to check against (default: both)
#   -m  source file (relative to WORKSPACE) to modify in steps 4 and 5;
#       without it those steps only rebuild (default without -w:
#       cuda/quant_cuda.cu)
#   -e  most actions step 4 may re-run (default: fewer than the cold build)
#   -c  Bazel command: build (default) or test (test results are cached
#       actions too)
#   BUILD_ARGS  flags and targets for `bazel build` (default: //..., and
#       --config=cuda //... without -w)
# env: BAZEL (default bazel), JOBS (default 2), KEEP_TMP=1 keeps the temp
#      folder for a post-mortem.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GQ_SCRIPT=check_cache.sh
# shellcheck source=../lib/server_util.sh
source "$HERE/../lib/server_util.sh"
WORKSPACE="$(cd "$HERE/../.." && pwd)"
WORKSPACE_GIVEN=""
KINDS=both
MODIFY=""
MAX_RERUN=""
COMMAND=build
BAZEL="${BAZEL:-bazel}"
JOBS="${JOBS:-2}"

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while getopts "w:k:m:e:c:h" opt; do
  case "$opt" in
    w) WORKSPACE="$(cd "$OPTARG" && pwd)" WORKSPACE_GIVEN=1 ;;
    k) KINDS="$OPTARG" ;;
    m) MODIFY="$OPTARG" ;;
    e) MAX_RERUN="$OPTARG" ;;
    c) COMMAND="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ "${1:-}" == "--" ]] && shift
BUILD_ARGS=("$@")
# Checking groupquant itself (no -w): the CUDA config builds every library,
# and the CUDA kernel source is the most expensive action to get wrong.
if [[ -z "$WORKSPACE_GIVEN" ]]; then
  [[ -n "$MODIFY" ]] || MODIFY=cuda/quant_cuda.cu
  [[ ${#BUILD_ARGS[@]} -gt 0 ]] || BUILD_ARGS=(--config=cuda //...)
fi
[[ ${#BUILD_ARGS[@]} -gt 0 ]] || BUILD_ARGS=(//...)
case "$KINDS" in http|grpc) ;; both) KINDS="http grpc" ;; *) usage ;; esac
case "$COMMAND" in build|test) ;; *) usage ;; esac
[[ -f "$WORKSPACE/WORKSPACE" || -f "$WORKSPACE/WORKSPACE.bazel" ]] \
  || { echo "check_cache.sh: $WORKSPACE is not a Bazel workspace" >&2; exit 2; }
if [[ -n "$MODIFY" && ! -f "$WORKSPACE/$MODIFY" ]]; then
  echo "check_cache.sh: -m $MODIFY: no such file in $WORKSPACE" >&2
  exit 2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gq-cache-check.XXXXXX")"
# nginx workers (user nobody when we are root) must reach the server's
# folder under here; mktemp made it 700.
chmod 755 "$TMP"
USER_ROOT="$TMP/output_user_root"
OUTPUT_BASES=()
SERVERS=()
RESTORE=()

cleanup() {
  local rc=$? i ob kind state
  set +e
  for i in "${!RESTORE[@]}"; do
    # Each entry is "backup|target"; the copies are throw-away, but a later
    # step must never see an earlier step's edit.
    cp -p "${RESTORE[$i]%%|*}" "${RESTORE[$i]##*|}"
  done
  for state in "${SERVERS[@]}"; do
    kind="${state##*/server-}"
    "$HERE/server.sh" stop "$kind" "$state" >/dev/null 2>&1
  done
  for ob in "${OUTPUT_BASES[@]}"; do
    # Run from the owning workspace: elsewhere `shutdown` runs in batch mode
    # and leaves the server alive.
    (cd "${ob%%|*}" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="${ob##*|}" shutdown >/dev/null 2>&1)
  done
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "check_cache.sh: kept $TMP" >&2
  else
    if [[ $rc != 0 && -d "$TMP/logs" ]]; then
      # The output bases are large; the logs are what a failure needs.
      local kept
      kept="$(mktemp -d "${TMPDIR:-/tmp}/gq-cache-check-logs.XXXXXX")"
      cp -a "$TMP/logs/." "$kept/"
      echo "check_cache.sh: logs kept in $kept (log paths above: read $TMP/logs as $kept)" >&2
    fi
    chmod -R u+w "$TMP" 2>/dev/null
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The flags a `build:remote-cache` config should carry; used until the
# workspace's .bazelrc defines that config itself.
remote_flags() {
  local url="$1"
  if grep -qE '^build:remote-cache[[:space:]]' "$WS_A/.bazelrc" 2>/dev/null; then
    REMOTE_FLAGS=(--config=remote-cache "--remote_cache=$url")
  else
    # strict_action_env: without it the client's PATH is in every key.
    REMOTE_FLAGS=("--remote_cache=$url" --remote_upload_local_results
                  --remote_timeout=30 --remote_local_fallback
                  --incompatible_remote_results_ignore_disk
                  --experimental_guard_against_concurrent_changes
                  --incompatible_strict_action_env)
  fi
}

# Runs one build; sets PROCS HITS INTERNAL EXECUTED ELAPSED CRIT WALL RC LOG.
run_build() {
  local ws="$1" ob="$2" name="$3" t0 t1 item n label
  shift 3
  LOG="$TMP/logs/$name.log"
  mkdir -p "$TMP/logs"
  [[ " ${OUTPUT_BASES[*]} " == *" $ws|$ob "* ]] || OUTPUT_BASES+=("$ws|$ob")
  t0="$(date +%s.%N)"
  set +e
  (cd "$ws" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$ob" \
     "$COMMAND" --color=no --curses=no --disk_cache= \
     --experimental_convenience_symlinks=ignore --jobs="$JOBS" \
     "${REMOTE_FLAGS[@]}" "$@" "${BUILD_ARGS[@]}") > "$LOG" 2>&1
  RC=$?
  set -e
  t1="$(date +%s.%N)"
  WALL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  HITS=0 INTERNAL=0 EXECUTED=0
  # Every strategy other than a cache hit or Bazel-internal bookkeeping ran
  # a real process on this machine.
  bazel_process_summary "$LOG"
  PROCS=$SUMMARY_PROCS
  for item in ${SUMMARY_ITEMS[@]+"${SUMMARY_ITEMS[@]}"}; do
    n="${item%% *}" label="${item#* }"
    case "$label" in
      *"cache hit") HITS=$((HITS + n)) ;;
      internal) INTERNAL=$((INTERNAL + n)) ;;
      *) EXECUTED=$((EXECUTED + n)) ;;
    esac
  done
  bazel_times "$LOG"
  ELAPSED=$BAZEL_ELAPSED CRIT=$BAZEL_CRIT
}

# Bazel's warnings about the cache, each joined with the line after it (4.2.3
# prints "WARNING: Reading from Remote Cache:" and the cause on the next).
remote_warnings() {
  awk '/^WARNING: .*([Rr]emote|[Cc]ache|[Cc]onnection refused|UNAVAILABLE)/ {
         w = $0; if ((getline nxt) > 0 && nxt !~ /^(INFO|WARNING|ERROR|Loading|Analyzing|\[)/) w = w " " nxt
         print w }' "$LOG"
}

ROWS=()
FAILED=0
row() {
  # kind step procs hits internal executed elapsed crit wall verdict
  [[ "${10}" != FAIL* ]] || FAILED=1
  ROWS+=("$(printf '%-5s %-30s %6s %5s %5s %5s %8s %6s %6s  %s' "$@")")
}
verdict() {
  local ok="$1" why="$2"
  if [[ "$ok" == 1 ]]; then echo "PASS${why:+ ($why)}"; else echo "FAIL: $why"; fi
}
fgt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

append_comment() {
  local file="$1" tag="$2" backup
  backup="$TMP/backup.$RANDOM.$(basename "$file")"
  cp -p "$file" "$backup"
  RESTORE+=("$backup|$file")
  # A fresh nonce every run: a text the cache has seen would come back as a
  # hit and hide whether dependants re-run.
  printf '\n// remote-cache check %s %s-%s\n' "$tag" "$(date +%s%N)" "$RANDOM" >> "$file"
}
restore_all() {
  local i
  for i in "${!RESTORE[@]}"; do cp -p "${RESTORE[$i]%%|*}" "${RESTORE[$i]##*|}"; done
  RESTORE=()
}

WS_A="$TMP/a/$(basename "$WORKSPACE")"
WS_B="$TMP/second-clone/path/elsewhere/$(basename "$WORKSPACE")"
snapshot_workspace "$WORKSPACE" "$WS_A"
snapshot_workspace "$WORKSPACE" "$WS_B"
echo "check_cache.sh: workspace $WORKSPACE, bazel $COMMAND ${BUILD_ARGS[*]}" >&2
echo "check_cache.sh: temp folder $TMP (logs in $TMP/logs)" >&2

for kind in $KINDS; do
  state="$TMP/server-$kind"
  SERVERS+=("$state")
  url="$("$HERE/server.sh" start "$kind" "$state")"
  echo "check_cache.sh: $kind cache at $url" >&2
  remote_flags "$url"
  echo "check_cache.sh: remote flags: ${REMOTE_FLAGS[*]}" >&2
  ob1="$TMP/ob-$kind-1"
  ob2="$TMP/ob-$kind-2"

  echo "check_cache.sh: [$kind] 1/5 cold build" >&2
  run_build "$WS_A" "$ob1" "$kind-1-cold"
  C_EXEC=$EXECUTED C_ELAPSED=$ELAPSED
  warn="$(remote_warnings | head -n 1)"
  if [[ $RC != 0 ]]; then v="$(verdict 0 "build failed, see $LOG")"
  elif [[ -n "$warn" ]]; then v="$(verdict 0 "cache errors: $warn")"
  elif [[ $EXECUTED == 0 ]]; then v="$(verdict 0 "nothing executed: not a cold cache?")"
  else v="$(verdict 1 "")"; fi
  row "$kind" "1 cold (uploads)" "$PROCS" "$HITS" "$INTERNAL" "$EXECUTED" "$ELAPSED" "$CRIT" "$WALL" "$v"
  [[ $RC == 0 ]] || { echo "check_cache.sh: cold build failed; tail of $LOG:" >&2; tail -n 30 "$LOG" >&2; exit 1; }

  echo "check_cache.sh: [$kind] 2/5 clean --expunge + rebuild" >&2
  (cd "$WS_A" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$ob1" clean --expunge >/dev/null 2>&1)
  run_build "$WS_A" "$ob1" "$kind-2-expunged"
  if [[ $RC != 0 ]]; then v="$(verdict 0 "build failed, see $LOG")"
  elif [[ $EXECUTED != 0 || $HITS == 0 ]]; then v="$(verdict 0 "$EXECUTED actions ran locally, see $LOG")"
  elif ! fgt "$C_ELAPSED" "$ELAPSED"; then v="$(verdict 0 "not faster than cold (${ELAPSED}s vs ${C_ELAPSED}s)")"
  else v="$(verdict 1 "$(awk -v a="$C_ELAPSED" -v b="$ELAPSED" 'BEGIN { printf "%.1fx faster", a / b }')")"; fi
  row "$kind" "2 expunge + rebuild" "$PROCS" "$HITS" "$INTERNAL" "$EXECUTED" "$ELAPSED" "$CRIT" "$WALL" "$v"

  echo "check_cache.sh: [$kind] 3/5 second clone path, second output base" >&2
  run_build "$WS_B" "$ob2" "$kind-3-second-clone"
  if [[ $RC != 0 ]]; then v="$(verdict 0 "build failed, see $LOG")"
  elif [[ $EXECUTED != 0 || $HITS == 0 ]]; then
    v="$(verdict 0 "$EXECUTED actions missed: their keys depend on the path or output base, see $LOG")"
  else v="$(verdict 1 "")"; fi
  row "$kind" "3 other clone + output base" "$PROCS" "$HITS" "$INTERNAL" "$EXECUTED" "$ELAPSED" "$CRIT" "$WALL" "$v"
  (cd "$WS_B" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$ob2" shutdown >/dev/null 2>&1) || true

  if [[ -n "$MODIFY" ]]; then
    echo "check_cache.sh: [$kind] 4/5 modify $MODIFY" >&2
    append_comment "$WS_A/$MODIFY" "$kind-step4"
    run_build "$WS_A" "$ob1" "$kind-4-modified"
    if [[ $RC != 0 ]]; then v="$(verdict 0 "build failed, see $LOG")"
    elif [[ $EXECUTED == 0 ]]; then v="$(verdict 0 "nothing re-ran: is $MODIFY in the build?")"
    elif [[ -n "$MAX_RERUN" ]] && (( EXECUTED > MAX_RERUN )); then
      v="$(verdict 0 "$EXECUTED re-ran, at most $MAX_RERUN expected")"
    elif (( EXECUTED >= C_EXEC )); then v="$(verdict 0 "$EXECUTED re-ran, as many as cold ($C_EXEC)")"
    else v="$(verdict 1 "$EXECUTED of $C_EXEC re-ran")"; fi
    row "$kind" "4 comment in $(basename "$MODIFY")" "$PROCS" "$HITS" "$INTERNAL" "$EXECUTED" "$ELAPSED" "$CRIT" "$WALL" "$v"
    restore_all
  else
    row "$kind" "4 modify one source" - - - - - - - "SKIP (no -m SRC)"
  fi

  echo "check_cache.sh: [$kind] 5/5 server down" >&2
  "$HERE/server.sh" stop "$kind" "$state"
  if [[ -n "$MODIFY" ]]; then
    append_comment "$WS_A/$MODIFY" "$kind-step5"
  fi
  run_build "$WS_A" "$ob1" "$kind-5-server-down"
  warn="$(remote_warnings | head -n 1)"
  if [[ $RC != 0 ]]; then v="$(verdict 0 "build failed without the cache, see $LOG")"
  elif [[ -z "$warn" ]]; then v="$(verdict 0 "no warning about the unreachable cache")"
  else v="$(verdict 1 "warned: ${warn#WARNING: }")"; fi
  row "$kind" "5 server down$([[ -n $MODIFY ]] && echo ', source changed')" "$PROCS" "$HITS" "$INTERNAL" "$EXECUTED" "$ELAPSED" "$CRIT" "$WALL" "$v"
  restore_all
  (cd "$WS_A" && "$BAZEL" --output_user_root="$USER_ROOT" --output_base="$ob1" shutdown >/dev/null 2>&1) || true
done

echo
printf '%-5s %-30s %6s %5s %5s %5s %8s %6s %6s  %s\n' \
  kind step procs hits intern ran elapsed crit wall verdict
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(procs/hits/intern/ran from Bazel's process summary; ran = executed locally;"
echo " elapsed, crit: Bazel's 'Elapsed time' and 'Critical Path' in s; wall: the whole"
echo " bazel command in s, Bazel server start included)"
if [[ $FAILED != 0 ]]; then
  echo "check_cache.sh: FAILED" >&2
  exit 1
fi
echo "check_cache.sh: all checks passed" >&2
