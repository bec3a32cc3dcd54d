#!/bin/bash
# A device call that runs device_check.sh steps one after another within a
# time budget (call_budget.sh), for the calls after misses_call.sh on the
# same machine:
#
#   tools/gpu/steps_call.sh WHEEL_DIR SECONDS STEP[:NEEDED]...
#
# A step starts only if at least NEEDED seconds (default 60) of SECONDS are
# left. Per-step settings come from the environment of the whole call
# (SUITE_ARGS, SWEEP_TUNES, ...; device_check.sh lists them). Everything is
# written under /tmp/gq_steps and tarred into $OUT/steps.tgz every 15 s and
# at the end (out_snapshots.sh). Example:
#
#   tools/gpu/steps_call.sh .wheels/t 560 bench:240 fusedbench:150 sanitize:120
set -u
cd "$(dirname "$0")/../.."
W=/tmp/gq_steps
. tools/gpu/out_snapshots.sh
. tools/gpu/call_budget.sh
start_snapshots "$W" steps
budget_start "$1" "$2" "$W"
shift 2
for spec in "$@"; do
  step=${spec%%:*}
  need=60
  [[ $spec == *:* ]] && need=${spec#*:}
  run_step "$need" "$step"
  [[ -f $W/sweep.tgz ]] && mv "$W/sweep.tgz" "$W/sweep_after_$step.tgz"
done
stop_snapshots
