#!/usr/bin/env bash
# Builds the sgemm harness (native/gemm.inc, AVX-512 + AVX2 + generic copies) and the OpenBLAS
# reference timer into a temp dir, runs the correctness tests, then prints smollab vs OpenBLAS
# GFLOP/s side by side. Usage: bench/gemm/run.sh [--json] [--cpu-time] [--threads 1,2] [shape...]
# OpenBLAS (Debian libopenblas-dev) is a benchmark reference only, installed here if missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${GEMM_BUILD_DIR:-/tmp/smollab-gemm}"
mkdir -p "$out"
if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ]; then
  (apt-get update -qq && apt-get install -y -qq libopenblas-dev) >/dev/null
fi
# Same flags as binding.gyp.
F="-std=c++17 -O3 -fopenmp -fno-math-errno -fno-trapping-math -ffp-contract=fast -funroll-loops"
AVX512="-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mfma -mavx2 -mf16c -mprefer-vector-width=512"
g++ $F $AVX512 "$here/harness.cc" -o "$out/harness_avx512"
g++ $F -mavx2 -mfma -mf16c "$here/harness.cc" -o "$out/harness_avx2"
g++ $F "$here/harness.cc" -o "$out/harness_generic"
g++ -O2 -std=c++17 "$here/openblas.cc" -o "$out/openblas" -lopenblas
g++ ${F/-O3/-O1} $AVX512 -g -fsanitize=address,undefined "$here/harness.cc" -o "$out/harness_asan"
for isa in avx512 avx2 generic asan; do echo -n "$isa: " >&2; "$out/harness_$isa" test >&2; done

json=0
args=()
for a in "$@"; do if [ "$a" = --json ]; then json=1; else args+=("$a"); fi; done
smol="$("$out/harness_avx512" bench "${args[@]}")"
blas="$("$out/openblas" "${args[@]}")"
# Join "<lib> <shape> <threads> <gflops>" lines on (shape, threads).
awk -v json=$json '
  $1 == "openblas" { ob[$2 " " $3] = $4; next }
  { key[++n] = $2 " " $3; sm[$2 " " $3] = $4 }
  END {
    if (!json) printf "%-20s %7s %10s %10s %7s\n", "shape", "threads", "smollab", "openblas", "ratio"
    for (i = 1; i <= n; i++) {
      split(key[i], k, " "); s = sm[key[i]]; o = ob[key[i]]; r = o > 0 ? s / o : 0
      if (json) printf "{\"shape\":\"%s\",\"threads\":%d,\"smollab_gflops\":%s,\"openblas_gflops\":%s,\"ratio\":%.3f}\n", k[1], k[2], s, o, r
      else printf "%-20s %7d %10.1f %10.1f %7.2f\n", k[1], k[2], s, o, r
    }
  }' <<<"$smol
$blas"
