# Sourced by the device-call scripts (misses_call.sh, steps_call.sh): runs
# device_check.sh steps one after another inside one call's time budget, so
# the call ends inside the device tool's limit and the steps after a long
# one are skipped rather than killed half-way. Each step's output goes to
# the terminal and to $CALL_DIR/log.txt; the caller has started its
# snapshots of CALL_DIR (out_snapshots.sh).
#
#   budget_start WHEEL_DIR SECONDS CALL_DIR
#   run_step NEEDED[:CAP] STEP [VAR=VALUE...]
#       starts STEP only if at least NEEDED seconds are left, with VAR=VALUE
#       in its environment, and cuts it at what is left less 5 s (or at CAP
#       seconds, if smaller); returns 1 when the step was skipped.
budget_start() {
  BUDGET_WHEEL_DIR=$1
  BUDGET_SECONDS=$2
  CALL_DIR=$3
  BUDGET_START=$(date +%s)
}
budget_left() { echo $((BUDGET_SECONDS - $(date +%s) + BUDGET_START)); }
run_step() {
  local need=${1%%:*} cap= step=$2
  [[ $1 == *:* ]] && cap=${1#*:}
  shift 2
  local left
  left=$(budget_left)
  if ((left < need)); then
    echo "=== skip $step: $left s left, it needs $need" | tee -a "$CALL_DIR/log.txt"
    return 1
  fi
  local limit=$((left - 5))
  [[ -n $cap ]] && ((cap < limit)) && limit=$cap
  env "$@" OUT="$CALL_DIR" timeout "$limit" \
    bash tools/gpu/device_check.sh "$BUDGET_WHEEL_DIR" "$step" 2>&1 | tee -a "$CALL_DIR/log.txt"
}
