# Sourced by the device-call scripts (misses_call.sh, steps_call.sh): a call's
# logs are written under one folder and tarred into $OUT every 15 s and at
# the end, since the device tool returns at most 8 files from $OUT and a call
# killed at its limit returns only what $OUT holds at that moment.
#
#   start_snapshots DIR NAME   # DIR tarred to $OUT/NAME.tgz (default OUT
#                              # /tmp/gq_out off the device machine)
#   stop_snapshots             # the last snapshot, then lists $OUT
start_snapshots() {
  SNAP_DIR=$1
  SNAP_TGZ=${OUT:-/tmp/gq_out}/$2.tgz
  mkdir -p "$SNAP_DIR" "$(dirname "$SNAP_TGZ")"
  (while sleep 15; do take_snapshot; done) &
  SNAP_PID=$!
}
take_snapshot() {
  tar czf "$SNAP_TGZ.tmp" -C "$(dirname "$SNAP_DIR")" "$(basename "$SNAP_DIR")" 2>/dev/null &&
    mv "$SNAP_TGZ.tmp" "$SNAP_TGZ"
}
stop_snapshots() {
  kill "$SNAP_PID"
  take_snapshot
  ls -la "$(dirname "$SNAP_TGZ")"
}
