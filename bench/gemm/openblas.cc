// Times OpenBLAS cblas_sgemm (benchmark reference only, never a SmolLab dependency) on the
// shapes of common.h with 1 and 2 threads. Prints "openblas <shape> <threads> <GFLOP/s>" lines.
// Build: g++ -O2 -std=c++17 openblas.cc -lopenblas (see run.sh).
#include <cblas.h>

#include "common.h"

extern "C" void openblas_set_num_threads(int);

int main(int argc, char** argv) {
  Opts o(argc, argv, 1);
  for (const Shape& s : bench_shapes()) {
    if (!o.wants(s)) continue;
    Operands op(s);
    for (int t : o.threads) {
      openblas_set_num_threads(t);
      double sec = best_time(t, [&] {
        cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
                    s.M, s.N, s.K, 1.0f, op.a.data(), op.lda, op.b.data(), op.ldb, s.acc ? 1.0f : 0.0f,
                    op.c.data(), op.ldc);
      });
      report("openblas", s, t, sec);
    }
  }
}
