#!/bin/bash
# The device call that decides kFlatPlansTimed (gpu/launch/launch_plan.h)
# and checks on an H200 the defaults that an H100 chose on 2026-12-07
# (masked plain on the row-slot kernel, the small shape's two vectors per
# lane from 2^11 to 2^14 groups), ordered so that a call cut short still
# returns what matters most:
#   1. device_check.sh flat: the pflat/mflat/svpl tuning tests (bytes), then the
#      plain bench default against pflat=1 at the shapes past the small-shape
#      bound, then the masked bench default against mflat=0 (the masked
#      plain plans before 2026-12-07);
#   2. the sweep default against svpl=1 at M = 16, 64, 256: the two-vector
#      small-kernel items against one vector in the CUDA-graph table;
#   3. the sweep default against pcorder=0 (packed scales' byte items by
#      word column, default up to 2^14 groups since Session 14's H100) at
#      M = 16-4096, whose bytes step 1's tuning tests check first;
#   4. the fused bench (no torch.compile) default against fhalf=0 (the
#      small fused calls' 8-byte lanes, default since Session 14's H100);
#   5. the sweep of smax=19 (the H100's small-shape rule) at step 1's
#      shapes below 2^19 groups.
#
#   tools/gpu/flat_call.sh WHEEL_DIR [SECONDS]   (default 560: a call's 600 s
#                                                  less installs and transfers)
#
# Everything is written under /tmp/gq_flat and tarred into $OUT/logs.tgz
# every 15 s and at the end (out_snapshots.sh).
set -u
cd "$(dirname "$0")/../.."
WHEEL_DIR=$1
BUDGET=${2:-560}
W=/tmp/gq_flat
. tools/gpu/out_snapshots.sh
start_snapshots "$W" logs
start=$(date +%s)
left() { echo $((BUDGET - $(date +%s) + start)); }
check() { OUT=$W timeout "$1" bash tools/gpu/device_check.sh "$WHEEL_DIR" "$2" 2>&1 | tee -a "$W/log.txt"; }
keep_sweep() {  # the sweep step's outputs under $W/$1
  mkdir -p "$W/$1"
  cp -r /tmp/gq_sweep /tmp/gq_sweep_*.txt "$W/$1/" 2>/dev/null
  rm -rf /tmp/gq_sweep /tmp/gq_sweep_*.txt "$W/sweep.tgz"
}
BIG=4096x2048,4096x4096,4096x7168,16384x2048,16384x4096,16384x7168
FLAT_SHAPES=$BIG FLAT_TESTS="pflat or mflat or svpl or corder or fhalf" check $((BUDGET - 30)) flat
l=$(left)
if ((l > 45)); then
  SWEEP_TUNES="default svpl=1" SWEEP_LAYOUTS=row,col_tma,packed \
    SWEEP_SHAPES=16x7168,64x4096,64x7168,256x4096,256x7168 check "$l" sweep
  keep_sweep small
fi
l=$(left)
if ((l > 45)); then
  SWEEP_TUNES="default pcorder=0" SWEEP_LAYOUTS=row,packed \
    SWEEP_SHAPES=16x7168,64x2048,64x4096,64x7168,256x7168,1024x7168,4096x2048 \
    check "$l" sweep
  keep_sweep pcorder
fi
l=$(left)
if ((l > 70)); then
  FUSED_TUNES="default fhalf=0" FUSED_ARGS="--ops fused" SWEEP_LAYOUTS=row,packed \
    check "$l" fusedsweep
fi
l=$(left)
if ((l > 60)); then
  SWEEP_TUNES="smax=19" SWEEP_LAYOUTS=row,col_tma,packed \
    SWEEP_SHAPES=${BIG%,16384x7168} check "$l" sweep
  keep_sweep smax19
fi
stop_snapshots
