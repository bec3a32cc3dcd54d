#!/bin/bash
# The device call for what an H200 still misses (docs/performance.md, "What
# limits the misses"), ordered so that a call cut short still returns the
# profiles that explain the misses first, then what would change a default:
#   1. Nsight Compute: the plain misses (NCU_CALLS of gpu_ncu_probe.py), the
#      fused kernel's stall reasons (fusedstall) and the small calls'
#      instructions and stalls (smallncu, graph replay at M = 1 and 64);
#   2. the tuning test's smax, corder and vpl cases, the bytes of what
#      steps 3-5 time (its smax=14 case takes the plans smax=15 gives 2^15-2^16 groups;
#      smax=15 itself is not in its list);
#   3. the sweep default against smax=15 and smax=14 at the shapes from 2^13
#      to 2^16 groups: whether 4096 x 2048 (86-87% of copy, the small shape
#      at its 2^16-group bound) and M = 1024 gain from the two-vector
#      one-group plans that won at 4096 x 4096 (83 -> 93%);
#   4. the sweep default against corder=1 for col_tma past the small shape
#      (col_tma at K = 4096: 89.7% at M = 4096, 94.4% at 16384, where row on
#      the same kernel reaches 92.9% and 98.1%);
#   5. the fused and masked bench (no torch.compile) under the fused plans'
#      tunes: the H200's fused misses (70-88% of copy) against vpl=4 (four
#      vectors per lane: 37 instructions per element instead of 39, slower
#      on the H100, where memory is the bound) and flat=0, and the masked
#      row slots against mrows=2 and mrows=16.
#
#   tools/gpu/misses_call.sh WHEEL_DIR [SECONDS]   (default 540: a call's 600 s
#                                                   less installs and transfers)
#
# Everything is written under /tmp/gq_misses and tarred into $OUT/logs.tgz
# every 15 s and at the end (out_snapshots.sh); each step starts only if
# the time it needs is left (call_budget.sh).
set -u
cd "$(dirname "$0")/../.."
# The misses are the H200's: on another card the call ends before its
# installs, so a wrong card costs only its start.
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
[[ $gpu == *H200* ]] || { echo "misses_call.sh: $gpu is not an H200; nothing run" >&2; exit 3; }
W=/tmp/gq_misses
. tools/gpu/out_snapshots.sh
. tools/gpu/call_budget.sh
start_snapshots "$W" logs
budget_start "$1" "${2:-540}" "$W"
keep_sweep() {  # the sweep step's outputs under $W/$1
  mkdir -p "$W/$1"
  cp -r /tmp/gq_sweep /tmp/gq_sweep_*.txt "$W/$1/" 2>/dev/null
  rm -rf /tmp/gq_sweep /tmp/gq_sweep_*.txt "$W/sweep.tgz"
}
run_step 41 ncu NCU_CALLS=4096x2048:row,4096x2048:col_tma,16384x4096:row,16384x4096:col_tma \
  NCU_COUNT=4
run_step 31 fusedstall
run_step 31 smallncu
run_step 60:150 tuning TUNING_TESTS="smax or corder or vpl"
run_step 61 sweep SWEEP_TUNES="default smax=15 smax=14" SWEEP_LAYOUTS=row,col_tma,packed \
  SWEEP_SHAPES=256x7168,1024x2048,1024x4096,1024x7168,4096x2048 && keep_sweep smax
run_step 46 sweep SWEEP_TUNES="default corder=1" SWEEP_LAYOUTS=row,col_tma \
  SWEEP_SHAPES=4096x2048,4096x4096,4096x7168,16384x2048,16384x4096 && keep_sweep corder
run_step 91 fusedsweep FUSED_TUNES="default vpl=4 flat=0 mrows=2 mrows=16" \
  FUSED_ARGS="--masked-valid 1,2" SWEEP_LAYOUTS=row,packed
stop_snapshots
