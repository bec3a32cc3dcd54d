#!/bin/bash
# A device call that runs device_check.sh steps one after another within a
# time budget, for the calls after misses_call.sh on the same machine:
#
#   tools/gpu/steps_call.sh WHEEL_DIR SECONDS STEP[:NEEDED]...
#
# A step starts only if at least NEEDED seconds (default 60) of SECONDS are
# left, and is cut at what is left, so the call ends inside the tool's limit
# and the steps after a long one are skipped rather than killed half-way.
# Everything is written under /tmp/gq_steps and tarred into $OUT/steps.tgz
# every 15 s and at the end (out_snapshots.sh). Example:
#
#   tools/gpu/steps_call.sh .wheels/t 560 bench:240 fusedbench:150 sanitize:120
set -u
cd "$(dirname "$0")/../.."
WHEEL_DIR=$1
BUDGET=$2
shift 2
W=/tmp/gq_steps
. tools/gpu/out_snapshots.sh
start_snapshots "$W" steps
start=$(date +%s)
for spec in "$@"; do
  step=${spec%%:*}
  need=60
  [[ $spec == *:* ]] && need=${spec#*:}
  left=$((BUDGET - $(date +%s) + start))
  if ((left < need)); then
    echo "=== skip $step: $left s left, it needs $need" | tee -a "$W/log.txt"
    continue
  fi
  OUT=$W timeout "$((left - 5))" bash tools/gpu/device_check.sh "$WHEEL_DIR" "$step" 2>&1 | tee -a "$W/log.txt"
  [[ -f $W/sweep.tgz ]] && mv "$W/sweep.tgz" "$W/sweep_after_$step.tgz"
done
stop_snapshots
