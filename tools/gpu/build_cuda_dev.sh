#!/bin/bash
# Dev build of libgroupquant_cuda.so outside Bazel (the Bazel target is the
# lead's): nvcc for the kernels, g++ for the stable-ABI registration, linked
# with the static CUDA runtime and not against libtorch. Output goes to
# python/groupquant/lib/ (git-ignored). Usage: tools/gpu/build_cuda_dev.sh [outdir]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-python/groupquant/lib}
TI=${TORCH_INCLUDE:-$(python3 -c "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'include'))")}
CUDA_LIB=${CUDA_LIB:-/usr/local/cuda-13.0/lib}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DEFS="-DUSE_CUDA -DTORCH_TARGET_VERSION=0x020a000000000000"
nvcc -std=c++17 -O3 -Xcompiler -fPIC -Xcompiler -fvisibility=hidden \
  --expt-relaxed-constexpr $DEFS ${EXTRA_NVCC_FLAGS:-} \
  ${GENCODES:--gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_80,code=compute_80} \
  -I. -I"$TI" --resource-usage -c cuda/quant_cuda.cu -o "$TMP/quant_cuda.o" \
  > "$TMP/resource.txt" 2>&1 || { cat "$TMP/resource.txt"; exit 1; }
if grep -q "[1-9][0-9]* bytes spill" "$TMP/resource.txt"; then
  echo "warning: register spills:"; grep -B2 "[1-9][0-9]* bytes spill" "$TMP/resource.txt" | grep -o "Function properties for [^ ]*\|sm_[0-9a]*\|[0-9]* bytes spill stores"
fi
# The validators are linked in (hidden) rather than taken from the CPU
# library: torch loads op libraries RTLD_LOCAL, so nothing in one is visible
# to another.
for f in cuda/register_cuda.cpp csrc/validation.cpp csrc/consumer_validation.cpp csrc/validation_util.cpp; do
  g++ -O2 -std=c++17 -fPIC -fvisibility=hidden $DEFS -I. -I"$TI" -c "$f" -o "$TMP/$(basename "$f" .cpp).o"
done
mkdir -p "$OUT"
g++ -shared -o "$OUT/libgroupquant_cuda.so" "$TMP/quant_cuda.o" "$TMP/register_cuda.o" "$TMP/validation.o" \
  "$TMP/consumer_validation.o" "$TMP/validation_util.o" \
  "$CUDA_LIB/libcudart_static.a" -ldl -lrt -lpthread
echo "built $OUT/libgroupquant_cuda.so"
