// The AVX512-BF16 kernels (vdpbf16ps) on their own: the bf16 GEMM (gemm_bf16.inc) and the bf16
// attention (attention_bf16.inc), the only code compiled with -mavx512bf16, so the AVX-512 kernel
// table itself needs just AVX-512F/BW/VL/DQ. addon.cc installs them as the table's sgemm_bf16 and
// attention_*_bf16 when the CPU also has AVX512-BF16 (else the table keeps its emulated ones).
// ops.inc and attention.inc are compiled here a second time (in this file's namespace) for the
// softmax, exp and index helpers the attention kernels share with the fp32 ones.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
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
#include "ops.inc"
#include "attention.inc"
#include "attention_bf16.inc"
}  // namespace avx512bf16

void sgemm_bf16_avx512bf16(bool transA, bool transB, int M, int N, int K, const float* A, int lda,
                           const float* B, int ldb, float* C, int ldc, bool accumulate) {
  avx512bf16::sgemm_bf16(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

void attention_forward_bf16_avx512bf16(float* out, float* lse, const float* q, const float* k, const float* v,
                                       int B, int Tq, int Tk, int NH, int NKV, int HS, float scale) {
  if (!avx512bf16::attnbf::fast_path(HS))
    return kTableAvx512.attention_forward_bf16(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
  avx512bf16::attnbf::forward(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
}

void attention_backward_bf16_avx512bf16(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                        const float* k, const float* v, const float* out, const float* lse, int B,
                                        int Tq, int Tk, int NH, int NKV, int HS, float scale) {
  if (!avx512bf16::attnbf::fast_path(HS))
    return kTableAvx512.attention_backward_bf16(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
  avx512bf16::attnbf::backward(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
}
}  // namespace smol
