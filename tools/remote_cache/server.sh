#!/usr/bin/env bash
# Loopback remote cache servers for Bazel: nginx (HTTP/WebDAV) or BuildGrid
# (gRPC REAPI). Each server lives in one state folder holding its pid, URL,
# logs and data, so several can run side by side and each is stopped by
# its own pid.
#
#   server.sh start  http|grpc [STATE_DIR]   start; prints the URL
#   server.sh stop   http|grpc [STATE_DIR]   stop it, delete its data
#   server.sh url    http|grpc [STATE_DIR]   print the URL of a running one
#   server.sh status http|grpc [STATE_DIR]   exit 0 when running
#
# STATE_DIR defaults to $GROUPQUANT_REMOTE_CACHE_DIR/KIND, else
# ${TMPDIR:-/tmp}/groupquant-remote-cache-$UID/KIND. Set KEEP_DATA=1 to keep
# the cached blobs on stop.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GQ_SCRIPT=server.sh
# shellcheck source=../lib/server_util.sh
source "$HERE/../lib/server_util.sh"
CACHE_HOME="${GROUPQUANT_CACHE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/groupquant}"
BGD_VENV="${BGD_VENV:-$CACHE_HOME/buildgrid-venv}"
BGD_LOCK="$HERE/buildgrid-requirements.txt"

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- nginx ----

# A fresh Debian/Ubuntu machine has no nginx: install it once, saying so.
ensure_nginx() {
  # Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
  export PATH="$PATH:/usr/sbin:/sbin"
  command -v nginx >/dev/null && return
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  echo "server.sh: installing nginx with apt-get (the HTTP cache server, once)" >&2
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq nginx >&2
  # The package starts a system nginx on port 80; ours runs on its own port.
  "${sudo[@]}" systemctl disable --now nginx >/dev/null 2>&1 || "${sudo[@]}" service nginx stop >/dev/null 2>&1 || true
}

http_start() {
  local state="$1" port user_line="" worker_user worker_group attempt pid
  ensure_nginx
  mkdir -p "$state/data" "$state/tmp"
  if [[ "$(id -u)" == 0 ]]; then
    # Started as root, nginx drops its workers to an unprivileged user, and a
    # folder they cannot write turns every request into 403/500 that Bazel
    # only warns about. Name that user and hand it the folders it writes.
    worker_user=nobody
    worker_group="$(id -gn "$worker_user")"
    user_line="user $worker_user $worker_group;"
    chown -R "$worker_user:$worker_group" "$state/data" "$state/tmp"
    chmod 755 "$state"
  fi
  for attempt in 1 2 3; do
    port="$(free_port)"
    sed -e "s|@STATE_DIR@|$state|g" -e "s|@DATA_DIR@|$state/data|g" \
        -e "s|@PORT@|$port|g" -e "s|@USER_LINE@|$user_line|g" \
        "$HERE/nginx.conf.in" > "$state/nginx.conf"
    if nginx -p "$state/" -e "$state/error.log" -c "$state/nginx.conf" 2>>"$state/error.log"; then
      # `daemon on`: nginx returns once the master has written its pid file.
      for _ in $(seq 50); do
        pid="$(live_pid "$state/nginx.pid" nginx)" && break
        sleep 0.1
      done
      [[ -n "${pid:-}" ]] || die "nginx started but wrote no pid file; see $state/error.log"
      echo "http://127.0.0.1:$port/cache" > "$state/url"
      http_probe "$state" || { http_stop "$state"; exit 1; }
      return 0
    fi
    grep -q "Address already in use" "$state/error.log" || break
  done
  die "nginx did not start; see $state/error.log"
}

# Bazel treats a broken cache as a warning, so prove here that a blob really
# goes in and comes back out before anyone relies on this server.
http_probe() {
  local state="$1" url body got
  url="$(cat "$state/url")/_probe/$$"
  body="groupquant-probe-$$-$RANDOM"
  if ! curl -fsS -X PUT --data-binary "$body" "$url" >/dev/null 2>"$state/probe.err"; then
    echo "server.sh: nginx is up but PUT $url failed ($(cat "$state/probe.err")): the nginx workers must be able to write $state/data and search every folder above it; see $state/error.log" >&2
    return 1
  fi
  if ! got="$(curl -fsS "$url" 2>"$state/probe.err")" || [[ "$got" != "$body" ]]; then
    echo "server.sh: GET $url did not return the bytes just PUT ($(cat "$state/probe.err"))" >&2
    return 1
  fi
}

http_stop() {
  local state="$1" pid
  if pid="$(live_pid "$state/nginx.pid" nginx)"; then
    kill_pid "$pid"
  fi
}

# ------------------------------------------------------------ BuildGrid ----

grpc_start() {
  local state="$1" port attempt pid rc
  ensure_bgd_venv "$BGD_VENV" "$BGD_LOCK" BuildGrid
  mkdir -p "$state/data"
  for attempt in 1 2 3; do
    port="$(free_port)"
    # setsid: the server must not die with the shell (or CI step) that
    # started it, nor get that terminal's Ctrl-C.
    BGD_ADDRESS="127.0.0.1:$port" BGD_CAS_DIR="$state/data" \
      setsid "$BGD_VENV/bin/bgd" server start --pid-file "$state/bgd.pid" \
        "$HERE/buildgrid.yml" >"$state/bgd.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$state/bgd.pid"
    echo "grpc://127.0.0.1:$port" > "$state/url"
    rc=0
    wait_for_reapi "$BGD_VENV/bin/bgd" "$(cat "$state/url")" "$pid" 60 0.5 || rc=$?
    if [[ $rc == 0 ]]; then
      grpc_probe "$state" || { grpc_stop "$state"; exit 1; }
      return 0
    fi
    if [[ $rc == 2 ]]; then
      grpc_stop "$state"
      die "BuildGrid did not answer within 30 s; see $state/bgd.log"
    fi
    lost_port_race "$state/bgd.log" || break
  done
  die "BuildGrid did not start; see $state/bgd.log"
}

grpc_probe() {
  local state="$1" out
  echo "groupquant-probe-$$-$RANDOM" > "$state/probe.txt"
  if ! out="$(cd "$state" && "$BGD_VENV/bin/bgd" cas --remote "$(cat url)" upload-file probe.txt 2>&1)" \
      || ! grep -q "Success" <<<"$out"; then
    echo "server.sh: BuildGrid is up but a CAS upload failed: $out; see $state/bgd.log" >&2
    return 1
  fi
}

grpc_stop() {
  local state="$1" pid
  if pid="$(live_pid "$state/bgd.pid" bgd)"; then
    kill_pid "$pid"
  fi
}

# ----------------------------------------------------------------- main ----

MARKER=.groupquant-remote-cache

[[ $# -ge 2 ]] || usage
cmd="$1" kind="$2"
case "$kind" in http|grpc) ;; *) usage ;; esac
root="${GROUPQUANT_REMOTE_CACHE_DIR:-${TMPDIR:-/tmp}/groupquant-remote-cache-$(id -u)}"
state="${3:-$root/$kind}"
state="$(realpath -m "$state")"
prog="$([[ $kind == http ]] && echo nginx || echo bgd)"
pidfile="$state/$([[ $kind == http ]] && echo nginx.pid || echo bgd.pid)"

case "$cmd" in
  start)
    if live_pid "$pidfile" "$prog" >/dev/null; then
      die "a $kind cache already runs from $state ($(cat "$state/url")); stop it first"
    fi
    claim_state_dir "$state" "$MARKER"
    "${kind}_start" "$state"
    cat "$state/url"
    ;;
  stop)
    "${kind}_stop" "$state"
    if [[ "${KEEP_DATA:-0}" == 1 ]]; then
      rm -f "$state/url"
    elif [[ -e "$state/$MARKER" ]]; then
      rm -rf "$state"
    fi
    ;;
  url)
    live_pid "$pidfile" "$prog" >/dev/null || die "no $kind cache runs from $state"
    cat "$state/url"
    ;;
  status)
    live_pid "$pidfile" "$prog" >/dev/null
    ;;
  *) usage ;;
esac
