#!/bin/bash
# One GPU session's checks on a host without Bazel: install the wheel built
# here (tools/bazel build --config=cuda //python:wheel) into a private
# folder, then run the named steps, writing logs and JSON under $OUT.
#
#   tools/gpu/device_check.sh WHEEL_DIR STEP...
#
# Steps:
#   divcheck   exhaustive gq_div_by_rcp check (tools/gpu/gpu_division_check.cu)
#   enccheck   exhaustive hardware-encoder check (tools/gpu/gpu_encode_check.cu)
#   silucheck  exhaustive silu division check (tools/gpu/gpu_silu_check.cu)
#   suite      pytest tests --backend=cuda (xdist)
#   slow       the >2^31-element tests (--run-slow)
#   sanitize   compute-sanitizer memcheck/initcheck/racecheck over
#              test_bitexact.py and test_validation.py
#   sweep      the bench on a few shapes for each GROUPQUANT_GPU_TUNE variant
#   bench      python -m groupquant.bench --device cuda (the default run)
#   fusedbench the bench's fused SiLU-mul and masked MoE cases
#   fusedsweep the fused/masked bench for each FUSED_TUNES value (no compile)
#   linear     examples/fp8_linear_bench.py (quant + cuBLAS blockwise GEMM)
#   ncu        Nsight Compute on a few representative calls
#   fused      the fuse_silu_and_mul / masked_m tests (tests/test_fused*.py)
#   fusedsan   compute-sanitizer memcheck/initcheck over tests/test_fused.py
#   fusedncu   Nsight Compute on the fused kernel at M = 16384, H = 7168
#   fusedstall the fused kernel's stall reasons per issued instruction (ncu)
#              at 16384 x 7168 row, 16384 x 7168 packed and 4096 x 7168 row
#   maskedstall the masked kernels' DRAM throughput, occupancy and stall
#              reasons (ncu) on the bench's masked cases (E = 8, T = 4096,
#              half the rows valid: fused H = 2048, plain K = 7168), under
#              the default plans (masked plain: fused_small_kernel) and
#              mflat=0 (fused_vec_kernel's loop)
#   tuning     the tuning test's cases named by TUNING_TESTS (its -k)
#   smallncu   instructions, issue-slot use and stall reasons (ncu) of the
#              plain and the fused op at M = 1 and 64, H = 7168 (row), with
#              the plain op at the fused call's M x H
#   flat       what turning kFlatPlansTimed on needs (gpu/launch/launch_plan.h):
#              the tuning test's pflat/mflat cases (FLAT_TESTS: its -k),
#              then the plain bench default against pflat=1 (FLAT_TUNES to
#              time others too) and the masked bench against mflat=0
#              (FLAT_MASKED_TUNES: the masked tunes to time)
set -uo pipefail
cd "$(dirname "$0")/../.."
WHEEL_DIR=$1
shift
OUT=${OUT:-/tmp/gq_out}
mkdir -p "$OUT" /tmp/gq_var /tmp/gq_fsweep
export PYTHONUNBUFFERED=1
SITE=/tmp/gq_site
rm -rf "$SITE"
python3 -m pip install -q --no-deps --no-index --target "$SITE" "$WHEEL_DIR"/groupquant-*cuda*.whl || exit 1
export PYTHONPATH=$SITE
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
python3 -c "import torch, groupquant; print('torch', torch.__version__, groupquant.backend_status())"
status=0
run_pytest() {  # log-name, pytest args...
  local name=$1; shift
  python3 -m pytest -q -p no:cacheprovider "$@" >"$OUT/$name.txt" 2>&1
  local rc=$?
  tail -3 "$OUT/$name.txt"
  return $rc
}
for step in "$@"; do
  echo "=== $step ($(date +%T))"
  case $step in
    divcheck)
      nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -I. \
        tools/gpu/gpu_division_check.cu -o /tmp/gq_divcheck || { status=1; continue; }
      /tmp/gq_divcheck --json "$OUT/division_check.json" | tee "$OUT/division_check.txt" | tail -5 || status=1
      ;;
    enccheck)
      nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -I. \
        tools/gpu/gpu_encode_check.cu -o /tmp/gq_enccheck || { status=1; continue; }
      /tmp/gq_enccheck | tee "$OUT/encode_check.txt" | tail -5 || status=1
      ;;
    silucheck)
      nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -I. \
        tools/gpu/gpu_silu_check.cu -o /tmp/gq_silucheck || { status=1; continue; }
      /tmp/gq_silucheck | tee "$OUT/silu_check.txt" | tail -5 || status=1
      ;;
    suite)
      # SUITE_ARGS: more pytest arguments (e.g. --ignore of a file a call
      # has already run on its own, as the tuning test).
      run_pytest pytest_cuda tests/test_*.py examples/*_test.py --backend=cuda -n 8 -rfE ${SUITE_ARGS:-} || status=1
      ;;
    slow)
      run_pytest pytest_cuda_slow tests/test_bitexact.py --backend=cuda --run-slow -m slow -rfE || status=1
      ;;
    sanitize)
      # SAN_FILES: the test files (default: bit-exactness and validation);
      # SAN_TIMEOUT: seconds per tool (a cut-off log says so at its end);
      # SAN_WORKERS: xdist workers, 0 by default: with 8 workers under the
      # sanitizer no test finished in 100 s (H200, 2026-12), while one
      # process ran 472 tests in about 5 s on the H100.
      for tool in memcheck initcheck racecheck; do
        timeout "${SAN_TIMEOUT:-600}" compute-sanitizer --tool "$tool" --error-exitcode 1 --print-limit 20 \
          python3 -m pytest -q -p no:cacheprovider ${SAN_FILES:-tests/test_bitexact.py tests/test_validation.py} \
          --backend=cuda -n "${SAN_WORKERS:-0}" >"$OUT/sanitizer_$tool.txt" 2>&1
        rc=$?
        [[ $rc -eq 124 ]] && echo "TIMED OUT after ${SAN_TIMEOUT:-600} s" >>"$OUT/sanitizer_$tool.txt"
        [[ $rc -ne 0 ]] && status=1
        echo "$tool rc=$rc: $(grep -E "ERROR SUMMARY" "$OUT/sanitizer_$tool.txt" | sort | uniq -c | tr '\n' ' ') $(tail -1 "$OUT/sanitizer_$tool.txt")"
      done
      ;;
    sweep)
      # SWEEP_TUNES: space-separated GROUPQUANT_GPU_TUNE values; "default" = unset.
      for tune in ${SWEEP_TUNES:-default packed=word small=0}; do
        name=sweep_${tune//[=,]/_}
        [[ $tune == default ]] && tune=""
        GROUPQUANT_GPU_TUNE=$tune python3 -m groupquant.bench --device cuda \
          --shapes "${SWEEP_SHAPES:-1x7168,64x7168,256x7168,4096x7168,16384x7168,16384x2048}" \
          --layouts "${SWEEP_LAYOUTS:-row,packed}" --compile off --no-accuracy \
          --out "/tmp/gq_sweep/$name" >"/tmp/gq_sweep_$name.txt" 2>&1 || status=1
        echo "--- tune '$tune'"
        grep -E "^\| (row|col|col_tma|packed|e4m3fn) " "/tmp/gq_sweep_$name.txt" \
          | awk -F'|' '{print $2,$3,$4,$5,$8}' | head -40
      done
      tar czf "$OUT/sweep.tgz" -C /tmp gq_sweep $(cd /tmp && ls gq_sweep_*.txt) 2>/dev/null
      ;;
    variants)
      # Dev-built CUDA libraries (tools/gpu/build_cuda_dev.sh DIR) timed with the
      # working tree's Python package: VARIANTS="dir[:TUNE] ...".
      for spec in ${VARIANTS:-}; do
        dir=${spec%%:*}; tune=""; [[ $spec == *:* ]] && tune=${spec#*:}
        cp "$SITE/groupquant/lib/libgroupquant_cpu.so" "$dir/" 2>/dev/null
        name=var_$(basename "$dir")_${tune//[=,]/_}
        GROUPQUANT_LIB_DIR=$PWD/$dir GROUPQUANT_GPU_TUNE=$tune PYTHONPATH=$PWD/python \
          python3 -m groupquant.bench --device cuda \
          --shapes "${SWEEP_SHAPES:-1x7168,64x7168,256x7168,4096x2048,4096x4096,4096x7168,16384x2048,16384x4096,16384x7168}" \
          --layouts "${SWEEP_LAYOUTS:-row,col_tma,packed}" --compile off --no-accuracy \
          --out "/tmp/gq_var/$name" >"/tmp/gq_var/$name.txt" 2>&1 || status=1
        echo "--- $name"
        grep -E "^\| (row|col_tma|packed|e4m3fn) " "/tmp/gq_var/$name.txt" | awk -F'|' '{print $2,$3,$4,$5,$6,$8,$9}'
      done
      tar czf "$OUT/variants.tgz" -C /tmp gq_var 2>/dev/null
      ;;
    fusedbench)
      python3 -m groupquant.bench --device cuda --ops fused,masked --out "$OUT/bench_fused" \
        ${FUSED_ARGS:-} >"$OUT/bench_fused_stdout.txt" 2>&1 || status=1
      grep -vE "^\s*$|it/s|step/s" "$OUT/bench_fused_stdout.txt" | tail -40
      ;;
    fusedsweep)
      # The fused/masked bench per GROUPQUANT_GPU_TUNE value (FUSED_TUNES,
      # "default" = unset), without torch.compile so a run fits one call.
      for tune in ${FUSED_TUNES:-default chunk=1 vpl=1,chunk=1}; do
        name=fused_${tune//[=,]/_}
        [[ $tune == default ]] && tune=""
        GROUPQUANT_GPU_TUNE=$tune python3 -m groupquant.bench --device cuda --ops fused,masked \
          --compile off --layouts "${SWEEP_LAYOUTS:-row,packed}" ${FUSED_ARGS:-} \
          --out "/tmp/gq_fsweep/$name" >"/tmp/gq_fsweep/$name.txt" 2>&1 || status=1
        echo "--- tune '$tune'"
        grep -E "^\| (e4m3fn/|fused|plain)" "/tmp/gq_fsweep/$name.txt" | awk -F'|' '{print $2,$3,$4,$5,$7}' | head -40
      done
      tar czf "$OUT/fused_sweep.tgz" -C /tmp gq_fsweep 2>/dev/null
      ;;
    linear)
      python3 examples/fp8_linear_bench.py --json "$OUT/fp8_linear.json" >"$OUT/fp8_linear.txt" 2>&1 || status=1
      tail -20 "$OUT/fp8_linear.txt"
      ;;
    bench)
      python3 -m groupquant.bench --device cuda --out "$OUT/bench" ${BENCH_ARGS:-} \
        >"$OUT/bench_stdout.txt" 2>&1 || status=1
      tail -60 "$OUT/bench_stdout.txt"
      ;;
    ncu)
      ncu --clock-control none --section SpeedOfLight --section WarpStateStats \
        --section LaunchStats --section Occupancy --section InstructionStats \
        --section SchedulerStats \
        -k "regex:quant_(vec|small)_kernel" --launch-count ${NCU_COUNT:-4} \
        python3 tools/gpu/gpu_ncu_probe.py >"$OUT/ncu.txt" 2>&1 || status=1
      grep -E "quant_(vec|small)_kernel|Duration|SM Frequency|DRAM Throughput|Issue Slots Busy|Achieved Occupancy|Registers Per|Executed Instructions  |Warp Cycles Per Issued" "$OUT/ncu.txt" | head -60
      ;;
    fused)
      run_pytest pytest_cuda_fused tests/test_fused.py tests/test_fused_compile.py \
        tests/test_fused_validation.py tests/test_bench_fused.py --backend=cuda || status=1
      ;;
    fusedsan)
      for tool in memcheck initcheck; do
        compute-sanitizer --tool "$tool" --error-exitcode 1 --print-limit 20 \
          python3 -m pytest -q -p no:cacheprovider tests/test_fused.py --backend=cuda \
          >"$OUT/sanitizer_fused_$tool.txt" 2>&1 || status=1
        grep -E "ERROR SUMMARY|passed|failed" "$OUT/sanitizer_fused_$tool.txt" | tail -2
      done
      ;;
    fusedncu)
      ncu --clock-control none --section SpeedOfLight --section WarpStateStats \
        --section LaunchStats --section Occupancy --section InstructionStats \
        -k regex:fused_vec_kernel --launch-count 2 python3 -c "
import torch, groupquant
x = torch.randn(16384, 2 * 7168, device='cuda', dtype=torch.bfloat16)
for _ in range(2): groupquant.per_token_group_quant_fp8(x, 128, fuse_silu_and_mul=True)
torch.cuda.synchronize()" >"$OUT/ncu_fused.txt" 2>&1 || status=1
      grep -E "Duration|DRAM Throughput|Issue Slots Busy|Achieved Occupancy|Registers Per|Executed Ipc" \
        "$OUT/ncu_fused.txt" | head -30
      ;;
    fusedstall)
      ncu --clock-control none --section SpeedOfLight --section Occupancy \
        --section LaunchStats --section WarpStateStats --section SchedulerStats \
        --section InstructionStats \
        --metrics "regex:^smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio$" \
        -k regex:fused_ --launch-count 3 python3 -c "
import torch, groupquant
for m, packed in ((16384, False), (16384, True), (4096, False)):
    x = torch.randn(m, 2 * 7168, device='cuda', dtype=torch.bfloat16)
    if packed:
        groupquant.per_token_group_quant_8bit_packed(x, 128, fuse_silu_and_mul=True)
    else:
        groupquant.per_token_group_quant_fp8(x, 128, fuse_silu_and_mul=True)
torch.cuda.synchronize()" >"$OUT/ncu_fused_stall.txt" 2>&1 || status=1
      grep -E "fused_|Duration|SM Frequency|DRAM Throughput|Registers Per|Achieved Occupancy|Issue Slots Busy|Executed Instructions  |Issued Warp Per|stalled_(long|wait|math|short|no_inst|not_sel|lg|barrier|mio|dispatch|branch|selected)" \
        "$OUT/ncu_fused_stall.txt" | head -120
      ;;
    maskedstall)
      for tune in default mflat=0; do
        name=ncu_masked_${tune//[=,]/_}
        [[ $tune == default ]] && tune=""
        GROUPQUANT_GPU_TUNE=$tune ncu --clock-control none --section SpeedOfLight \
          --section Occupancy --section LaunchStats --section WarpStateStats \
          --metrics "regex:^smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio$" \
          -k regex:fused_ --launch-count 2 python3 -c "
import torch, groupquant
E, T = 8, 4096
m = torch.full((E,), T // 2, dtype=torch.int32, device='cuda')
for k, fused in ((2 * 2048, True), (7168, False)):
    x = torch.randn(E, T, k, device='cuda', dtype=torch.bfloat16)
    groupquant.per_token_group_quant_fp8(x, 128, fuse_silu_and_mul=fused, masked_m=m)
torch.cuda.synchronize()" >"$OUT/$name.txt" 2>&1 || status=1
        echo "--- tune '$tune'"
        grep -E "fused_|Duration|DRAM Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Grid Size|Issued Warp Per|stalled_(long|wait|math|short|no_inst|not_sel|lg|barrier|mio|branch)" \
          "$OUT/$name.txt" | head -60
      done
      ;;
    tuning)
      run_pytest pytest_tuning tests/test_gpu_tuning.py --backend=cuda -k "${TUNING_TESTS:?}" || status=1
      ;;
    smallncu)
      ncu --clock-control none --section SpeedOfLight --section Occupancy \
        --section LaunchStats --section WarpStateStats --section SchedulerStats \
        --section InstructionStats \
        --metrics "regex:^smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio$" \
        -k "regex:(quant|fused)_" python3 -c "
import torch, groupquant
for m in (1, 64):
    x = torch.randn(m, 2 * 7168, device='cuda', dtype=torch.bfloat16)
    groupquant.per_token_group_quant_fp8(x[:, :7168].contiguous(), 128)
    groupquant.per_token_group_quant_fp8(x, 128, fuse_silu_and_mul=True)
torch.cuda.synchronize()" >"$OUT/ncu_small.txt" 2>&1 || status=1
      grep -E "(quant|fused)_[a-z_]*kernel|Duration|Registers Per|Achieved Occupancy|Grid Size|Issue Slots Busy|Executed Instructions  |Issued Warp Per|stalled_(long|wait|math|short|no_inst|not_sel|lg|barrier|mio|branch|dispatch)" \
        "$OUT/ncu_small.txt" | head -90
      ;;
    flat)
      run_pytest pytest_tuning_flat tests/test_gpu_tuning.py --backend=cuda -k "${FLAT_TESTS:-pflat or mflat}" || status=1
      for tune in ${FLAT_TUNES:-default pflat=1}; do
        name=flat_${tune//[=,]/_}
        [[ $tune == default ]] && tune=""
        GROUPQUANT_GPU_TUNE=$tune python3 -m groupquant.bench --device cuda \
          --shapes "${FLAT_SHAPES:-256x7168,1024x7168,4096x2048,4096x4096,4096x7168,16384x2048,16384x4096,16384x7168}" \
          --layouts row,col_tma,packed --compile off --no-accuracy \
          --out "$OUT/$name" >"$OUT/$name.txt" 2>&1 || status=1
        echo "--- tune '$tune'"
        grep -E "^\| (row|col_tma|packed) " "$OUT/$name.txt" | awk -F'|' '{print $2,$3,$4,$5,$8}'
      done
      for tune in ${FLAT_MASKED_TUNES:-default mflat=0}; do
        name=flat_masked_${tune//[=,]/_}
        [[ $tune == default ]] && tune=""
        GROUPQUANT_GPU_TUNE=$tune python3 -m groupquant.bench --device cuda --ops masked \
          --masked-valid 1,2,32 --layouts row,packed --compile off \
          --out "$OUT/$name" >"$OUT/$name.txt" 2>&1 || status=1
        echo "--- tune '$tune'"
        grep -E "^\| (fused|plain)" "$OUT/$name.txt" | awk -F'|' '{print $2,$3,$4,$5,$7}'
      done
      ;;
    *)
      echo "unknown step $step"; status=2
      ;;
  esac
done
exit $status
