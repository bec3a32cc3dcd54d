# Shell helpers shared by the loopback servers (tools/remote_cache/server.sh,
# tools/remote_exec/engine.sh) and the CI checks that drive Bazel against
# them (check_cache.sh, check_rbe.sh). Sourced, never run; the sourcing
# script sets GQ_SCRIPT (its name, for messages) first.
#
# shellcheck shell=bash

die() { echo "$GQ_SCRIPT: $*" >&2; exit 1; }

# ------------------------------------------------------------ processes ----

free_port() {
  # The kernel hands out an unused port; the tiny window before the server
  # binds it is covered by the callers retrying the start.
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A pid file can outlive its process and the pid be reused: only a live
# process whose command line names the expected program counts.
live_pid() {
  local pidfile="$1" prog="$2" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$prog" || return 1
  echo "$pid"
}

kill_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "$GQ_SCRIPT: pid $pid ignored SIGTERM for 10 s, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# A log that says the port was taken between free_port and the bind, which
# is worth another try on a fresh port.
lost_port_race() { grep -qi "address already in use\|failed to bind" "$1"; }

# start and stop wipe the state folder: refuse any folder the script did
# not make (it leaves MARKER inside), so a mistyped STATE_DIR can never cost
# someone their files.
claim_state_dir() {
  local state="$1" marker="$2"
  if [[ -e "$state" && ! -e "$state/$marker" ]] && [[ -n "$(ls -A "$state" 2>/dev/null)" ]]; then
    die "$state exists, is not empty and was not made by $GQ_SCRIPT; pick another STATE_DIR"
  fi
  rm -rf "$state"
  mkdir -p "$state"
  touch "$state/$marker"
}

# ---------------------------------------------------------- BuildGrid ----

# BuildGrid's venv from its lock (tools/remote_cache/buildgrid-requirements.txt):
# the gRPC cache server, and the REAPI client both servers are probed with.
# The lock's hash is stamped in the venv, so a changed lock reinstalls.
ensure_bgd_venv() {
  local venv="$1" lock="$2" what="$3" stamp want py="" c
  stamp="$venv/.groupquant-lock-sha256"
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
  [[ -x "$venv/bin/bgd" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]] && return 0
  for c in "${BGD_PYTHON:-}" python3.11 python3; do
    [[ -n "$c" ]] && command -v "$c" >/dev/null || continue
    # 0.4.4 is the last BuildGrid for Python 3.11; it declares >= 3.11.
    "$c" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2])' && { py="$c"; break; }
  done
  [[ -n "$py" ]] || die "BuildGrid 0.4.4 needs Python >= 3.11 (set BGD_PYTHON)"
  echo "$GQ_SCRIPT: installing $what into $venv (first use, ~15 s)" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
  # Wheels only: pycurl or cryptography from source would need -dev packages.
  if ! "$venv/bin/pip" install --quiet --only-binary=:all: -r "$lock" > "$venv/install.log" 2>&1; then
    tail -n 20 "$venv/install.log" >&2
    die "pip could not install $lock into $venv"
  fi
  "$venv/bin/bgd" --help >/dev/null
  echo "$want" > "$stamp"
}

# Polls a starting REAPI server until it answers a capabilities call.
# Returns 0 once it does, 1 when its process PID died first (see its log:
# lost_port_race says whether to retry), 2 when it never answered.
wait_for_reapi() {
  local bgd="$1" url="$2" pid="$3" tries="$4" pause="$5" i
  for i in $(seq "$tries"); do
    kill -0 "$pid" 2>/dev/null || return 1
    "$bgd" capabilities --remote "$url" >/dev/null 2>&1 && return 0
    sleep "$pause"
  done
  kill -0 "$pid" 2>/dev/null && return 2
  return 1
}

# ------------------------------------------------------- Bazel's output ----

# What git would ship (tracked + untracked, not ignored), without the
# bazel-* links, which point into someone's output base and would be built
# by //...
snapshot_workspace() {
  local src="$1" dest="$2"
  mkdir -p "$dest"
  if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # --ignore-failed-read: a tracked file deleted but not yet committed.
    (cd "$src" && git ls-files -z -c -o --exclude-standard \
       | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) \
      | tar -C "$dest" -xf -
  else
    cp -a "$src/." "$dest/"
  fi
  find "$dest" -maxdepth 1 -name 'bazel-*' -type l -delete
}

# The last process summary of a Bazel 4.2.3 log, e.g. "INFO: 13 processes:
# 7 remote cache hit, 6 internal." (or "1 process: 1 internal."). Sets
# SUMMARY_PROCS (0 without a summary) and SUMMARY_ITEMS, one "N strategy"
# per entry, for the caller to classify.
bazel_process_summary() {
  local log="$1" line body item
  local -a items
  SUMMARY_PROCS=0
  SUMMARY_ITEMS=()
  line="$(grep -E '^INFO: [0-9]+ process(es)?[:.]' "$log" | tail -n 1 || true)"
  [[ -n "$line" ]] || return 0
  SUMMARY_PROCS="$(sed -E 's/^INFO: ([0-9]+) process.*/\1/' <<<"$line")"
  body="$(sed -E 's/^INFO: [0-9]+ process(es)?[:.] ?//; s/\.$//' <<<"$line")"
  IFS=',' read -ra items <<<"$body"
  for item in "${items[@]}"; do
    item="$(sed -E 's/^ +//' <<<"$item")"
    [[ "$item" =~ ^[0-9]+\ .*$ ]] && SUMMARY_ITEMS+=("$item")
  done
  return 0
}

# Bazel's "Elapsed time" and "Critical Path" of a log, in s ("?" when
# absent): sets BAZEL_ELAPSED and BAZEL_CRIT.
bazel_times() {
  local line
  BAZEL_ELAPSED="?" BAZEL_CRIT="?"
  line="$(grep -E '^INFO: Elapsed time:' "$1" | tail -n 1 || true)"
  if [[ "$line" =~ Elapsed\ time:\ ([0-9.]+)s ]]; then BAZEL_ELAPSED="${BASH_REMATCH[1]}"; fi
  if [[ "$line" =~ Critical\ Path:\ ([0-9.]+)s ]]; then BAZEL_CRIT="${BASH_REMATCH[1]}"; fi
  return 0
}
