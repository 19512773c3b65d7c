// The AVX512-BF16 GEMM (vdpbf16ps) on its own: the only code compiled with -mavx512bf16, so the
// AVX-512 kernel table itself needs just AVX-512F/BW/VL/DQ. addon.cc installs this GEMM as the
// table's sgemm_bf16 when the CPU also has AVX512-BF16 (else the table keeps its emulated one).
#include <immintrin.h>
#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

#if !defined(__AVX512BF16__)
#error "isa_avx512bf16.cc must be compiled with -mavx512bf16 (see binding.gyp)"
#endif

namespace smol {
namespace avx512bf16 {
#include "gemm_bf16.inc"
}  // namespace avx512bf16

void sgemm_bf16_avx512bf16(bool transA, bool transB, int M, int N, int K, const float* A, int lda,
                           const float* B, int ldb, float* C, int ldc, bool accumulate) {
  avx512bf16::sgemm_bf16(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}
}  // namespace smol
