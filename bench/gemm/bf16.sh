#!/usr/bin/env bash
# Builds and runs bench/gemm/bf16.cc (the AVX512-BF16 GEMM vs the fp32 sgemm on training shapes,
# with per-thread peaks measured in the same process). Needs a CPU with AVX512-BF16.
# Usage: bench/gemm/bf16.sh [--threads 1,2] [--cpu-time] [shape filters...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${GEMM_BUILD_DIR:-/tmp/smollab-gemm}"
mkdir -p "$out"
F="-std=c++17 -O3 -fopenmp -fno-math-errno -fno-trapping-math -ffp-contract=fast -funroll-loops"
AVX512="-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mfma -mavx2 -mf16c -mprefer-vector-width=512"
g++ $F $AVX512 ${BF16_EXTRA:-} "$here/bf16.cc" -o "$out/bf16"
exec "$out/bf16" "$@"
