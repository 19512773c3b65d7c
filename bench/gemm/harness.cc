// Standalone harness for native/gemm.inc, compiled for one ISA by the flags given (run.sh builds
// avx512, avx2 and generic copies). `test`: checks sgemm against a double-precision triple loop
// (the kernel's naive twin) on awkward shapes, NaN-filled padding, every transpose, accumulate
// on/off, and bit-identical results with 1, 2 and 3 threads. `bench`: timings, see common.h;
// `list`: the benchmark shapes the filters select.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace smol {
namespace host {
#include "../../native/gemm.inc"
}  // namespace host
}  // namespace smol

#include "common.h"

using smol::host::sgemm;

static uint32_t rng = 12345;
static float frand() { return (float)((rng = rng * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f; }

// One random case; returns false (after printing why) on a mismatch.
static bool check(bool ta, bool tb, int M, int N, int K, bool acc, int pad) {
  const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const float nan = std::nanf("");
  std::vector<float> A((size_t)(ta ? K : M) * lda, nan), B((size_t)(tb ? N : K) * ldb, nan);
  std::vector<float> C((size_t)M * ldc, nan);
  auto at = [&](int i, int k) -> float& { return A[ta ? (size_t)k * lda + i : (size_t)i * lda + k]; };
  auto bt = [&](int k, int j) -> float& { return B[tb ? (size_t)j * ldb + k : (size_t)k * ldb + j]; };
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++) at(i, k) = frand();
  for (int k = 0; k < K; k++)
    for (int j = 0; j < N; j++) bt(k, j) = frand();
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = acc ? frand() : nan;
  std::vector<float> C0 = C, C1 = C, C3 = C;
  omp_set_num_threads(2);
  sgemm(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, acc);
  omp_set_num_threads(1);
  sgemm(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, C1.data(), ldc, acc);
  omp_set_num_threads(3);
  sgemm(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, C3.data(), ldc, acc);
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      const size_t ij = (size_t)i * ldc + j;
      double ref = acc ? C0[ij] : 0, mag = std::fabs(ref);
      for (int k = 0; k < K; k++) {
        const double p = (double)at(i, k) * bt(k, j);
        ref += p, mag += std::fabs(p);
      }
      const double err = std::fabs(C[ij] - ref), tol = (K + 2) * 0x1p-23 * mag + 1e-30;
      worst = std::max(worst, err / tol);
      if (!(err <= tol) || std::memcmp(&C[ij], &C1[ij], 4) || std::memcmp(&C[ij], &C3[ij], 4)) {
        std::printf("FAIL ta=%d tb=%d M=%d N=%d K=%d acc=%d pad=%d at [%d,%d]: got %g (1 thread %g) "
                    "want %g\n", ta, tb, M, N, K, acc, pad, i, j, C[ij], C1[ij], ref);
        return false;
      }
    }
  for (size_t ij = 0; ij < C.size(); ij++)  // padding columns untouched
    if ((int)(ij % ldc) >= N && !std::isnan(C[ij])) return std::printf("FAIL: wrote padding\n"), false;
  return true;
}

static int test() {
  int n = 0, bad = 0;
  const int dims[] = {1, 2, 3, 5, 7, 13, 16, 17, 31, 33, 64, 65, 100};
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int M : dims)
        for (int N : {1, 3, 16, 17, 33, 47, 64, 97})
          for (int K : {1, 4, 17, 64}) n++, bad += !check(ta, tb, M, N, K, (M + N + K) % 2, M * N % 3);
  // Several blocks in every direction (KC, MC, NC edges), larger and odd.
  const int big[][3] = {{257, 300, 513}, {200, 4200, 300}, {1000, 77, 777}, {35, 5000, 600},
                        {300, 300, 1200}};
  for (auto& d : big)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) n++, bad += !check(ta, tb, d[0], d[1], d[2], (ta + tb) % 2, ta + 2 * tb);
  std::printf("gemm tests: %d passed, %d failed\n", n - bad, bad);
  return bad ? 1 : 0;
}

static void bench(const Opts& o) {
  for (const Shape& s : bench_shapes()) {
    if (!o.wants(s)) continue;
    Operands op(s);
    for (int t : o.threads) {
      omp_set_num_threads(t);
      double sec = best_time(t, [&] {
        sgemm(s.ta, s.tb, s.M, s.N, s.K, op.a.data(), op.lda, op.b.data(), op.ldb, op.c.data(), op.ldc,
              s.acc);
      });
      report("smollab", s, t, sec);
    }
  }
}

int main(int argc, char** argv) {
  if (argc > 1 && !strcmp(argv[1], "test")) return test();
  if (argc > 1 && !strcmp(argv[1], "bench")) return bench(Opts(argc, argv, 2)), 0;
  if (argc > 1 && !strcmp(argv[1], "list")) {
    Opts o(argc, argv, 2);
    for (const Shape& s : bench_shapes())
      if (o.wants(s)) std::printf("%s\n", s.name.c_str());
    return 0;
  }
  std::printf("usage: harness test | harness bench|list [--cpu-time] [--threads 1,2] [shape...]\n");
  return 2;
}
