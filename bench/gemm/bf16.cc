// Timing harness for the AVX512-BF16 GEMM (native/gemm_bf16.inc) on training shapes, next to the
// fp32 sgemm (native/gemm.inc) and a vdpbf16ps / FMA peak loop measured in the same process, so
// "% of peak" is against this machine. Shapes: the linear layers of research-19m (T = 4096 tokens,
// d 384, q 384, kv 128, ffn 1024, vocab 16384) and SmolLM2-135M (T = 2048, d 576, ffn 1536,
// vocab 49152): fwd Y = X W^T (NT), dX = dY W (NN), dW += dY^T X (TN).
// Build and run: bench/gemm/bf16.sh [--threads 1,2] [--cpu-time] [filters...]
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
#include "../../native/gemm_bf16.inc"
}  // namespace host
}  // namespace smol

#include "common.h"

// Peak of one thread (best of 20 bursts of 12 independent chains), GFLOP/s.
static double peak_loop(bool bf16) {
  double best = 0;
  float sink = 0;
  for (int rep = 0; rep < 20; rep++) {
    __m512 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    const __m512bh xb = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f), yb = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    const long iters = 2000000;
    const double t0 = clock_s(1);
    if (bf16)
      for (long n = 0; n < iters; n++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], xb, yb);
    else
      for (long n = 0; n < iters; n++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    const double dt = clock_s(1) - t0;
    for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(a[i]);
    best = std::max(best, iters * 12.0 * 16 * (bf16 ? 4 : 2) / dt * 1e-9);
  }
  if (sink == 12345.0f) std::printf("#\n");
  return best;
}

int main(int argc, char** argv) {
  Opts o(argc, argv, 1);
  const double pbf = peak_loop(true), p32 = peak_loop(false);
  std::printf("peak/thread: bf16 %.1f GFLOP/s, fp32 %.1f GFLOP/s\n", pbf, p32);
  std::vector<Shape> shapes;
  for (auto [T, d, outs] : {std::tuple<int, int, std::vector<int>>{4096, 384, {384, 128, 1024, 16384}},
                            {2048, 576, {576, 192, 1536, 49152}}})
    for (int n : outs) {
      const std::string id = "_" + std::to_string(T) + "x" + std::to_string(d) + "x" + std::to_string(n);
      shapes.push_back({"fwdNT" + id, false, true, false, T, n, d});
      shapes.push_back({"dxNN" + id, false, false, false, T, d, n});
      shapes.push_back({"dwTN" + id, true, false, true, n, d, T});
    }
  for (int th : o.threads) {
    omp_set_num_threads(th);
    double tb = 0, tf = 0, fl = 0;
    for (auto& s : shapes) {
      if (!o.wants(s)) continue;
      Operands ops(s);
      const double b = best_time(th, [&] { smol::host::sgemm_bf16(s.ta, s.tb, s.M, s.N, s.K, ops.a.data(), ops.lda, ops.b.data(), ops.ldb, ops.c.data(), ops.ldc, s.acc); });
      const double f = best_time(th, [&] { smol::host::sgemm(s.ta, s.tb, s.M, s.N, s.K, ops.a.data(), ops.lda, ops.b.data(), ops.ldb, ops.c.data(), ops.ldc, s.acc); });
      const double fl1 = 2.0 * s.M * s.N * s.K;
      tb += b, tf += f, fl += fl1;
      std::printf("%-24s t=%d bf16 %6.1f GFLOP/s (%4.1f%% of bf16 peak)  fp32 %6.1f (%4.1f%%)\n", s.name.c_str(), th,
                  fl1 / b * 1e-9, 100 * fl1 / b * 1e-9 / (pbf * th), fl1 / f * 1e-9, 100 * fl1 / f * 1e-9 / (p32 * th));
      std::fflush(stdout);
    }
    std::printf("ALL t=%d bf16 %.1f GFLOP/s (%.1f%%)  fp32 %.1f (%.1f%%)\n", th, fl / tb * 1e-9, 100 * fl / tb * 1e-9 / (pbf * th),
                fl / tf * 1e-9, 100 * fl / tf * 1e-9 / (p32 * th));
  }
}
