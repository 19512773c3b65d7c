#!/usr/bin/env bash
# Builds the sgemm harness (native/gemm.inc as AVX-512, AVX2, generic and sanitized copies) and the
# OpenBLAS reference timer, runs the correctness tests, then prints smollab vs OpenBLAS GFLOP/s.
# Usage: bench/gemm/run.sh [--json] [--rounds N] [--cpu-time] [--threads 1,2] [shape...]
# The two libraries alternate shape by shape for N rounds (default 3) and each keeps its best, so
# both see the same load on a shared machine. OpenBLAS (Debian libopenblas-dev) is a reference
# for this benchmark only, installed here if missing.
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
g++ ${F/-O3/-O1} $AVX512 -g -fsanitize=address,undefined "$here/harness.cc" -o "$out/harness_asan"
g++ -O2 -std=c++17 "$here/openblas.cc" -o "$out/openblas" -lopenblas
for isa in avx512 avx2 generic asan; do echo -n "$isa: " >&2; "$out/harness_$isa" test >&2; done

json=0 rounds=3 args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --json) json=1 ;;
    --rounds) rounds="$2"; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
opts=() filters=()  # options go to every run, filters pick the shapes
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --threads) opts+=(--threads "${args[i + 1]}"); i=$((i + 1)) ;;
    --*) opts+=("${args[i]}") ;;
    *) filters+=("${args[i]}") ;;
  esac
done
results=""
for ((r = 0; r < rounds; r++)); do
  for s in $("$out/harness_avx512" list "${filters[@]}"); do
    results+="$("$out/harness_avx512" bench "${opts[@]}" "$s\$")"$'\n'
    results+="$("$out/openblas" "${opts[@]}" "$s\$")"$'\n'
  done
done
# Lines are "<lib> <shape> <threads> <gflops>": keep each library's best per (shape, threads).
awk -v json=$json '
  NF == 4 { k = $2 " " $3; if (!(k in seen)) { seen[k] = 1; key[++n] = k }
            if ($4 > best[$1 " " k]) best[$1 " " k] = $4 }
  END {
    if (!json) printf "%-20s %7s %10s %10s %7s\n", "shape", "threads", "smollab", "openblas", "ratio"
    for (i = 1; i <= n; i++) {
      split(key[i], f, " "); s = best["smollab " key[i]]; o = best["openblas " key[i]]
      r = o > 0 ? s / o : 0
      if (json) printf "{\"shape\":\"%s\",\"threads\":%d,\"smollab_gflops\":%s,\"openblas_gflops\":%s,\"ratio\":%.3f}\n", f[1], f[2], s, o, r
      else printf "%-20s %7d %10.1f %10.1f %7.2f\n", f[1], f[2], s, o, r
    }
  }' <<<"$results"
