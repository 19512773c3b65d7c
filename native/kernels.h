// Kernel table: every compute kernel of the addon, one signature each, implemented once in
// kernels_impl.inc and compiled per instruction set (isa_*.cc). addon.cc picks a table at load
// time from the CPU's features and is the only file that talks to Node.
// Convention (llm.c style): outputs first, then inputs, then shapes. Shape letters:
//   B batch, T time (Tq queries, Tk keys), C channels, V vocab, NH query heads, NKV kv heads,
//   HS head size, N rows, M/N/K matrix dims. Gradient buffers start with d and ACCUMULATE (+=)
//   unless stated. Callers have validated shapes; kernels trust their arguments.
#pragma once
#include <cstdint>

namespace smol {

struct KernelTable {
  const char* isa;  // "avx512", "avx2" or "generic"

  // C[M,N] (+)= op(A) op(B), row-major with leading dims; op(A)=A[M,K] or A^T with A stored [K,M].
  void (*sgemm)(bool transA, bool transB, int M, int N, int K, const float* A, int lda,
                const float* B, int ldb, float* C, int ldc, bool accumulate);

  void (*add)(float* out, const float* a, const float* b, int64_t n);
  void (*mul)(float* out, const float* a, const float* b, int64_t n);
  void (*axpy)(float* y, const float* x, float alpha, int64_t n);
  void (*scale)(float* out, const float* x, float s, int64_t n);
  void (*fill)(float* out, float value, int64_t n);
  void (*mul_row)(float* out, const float* x, const float* w, int64_t N, int64_t C);
  void (*add_row)(float* out, const float* x, const float* b, int64_t N, int64_t C);
  void (*sum_rows)(float* out, const float* x, int64_t N, int64_t C, bool accumulate);
  void (*sum_cols)(float* out, const float* x, int64_t N, int64_t C);
  double (*sum)(const float* x, int64_t n);
  double (*sum_squares)(const float* x, int64_t n);

  void (*rmsnorm_forward)(float* out, float* rstd, const float* x, const float* w, int64_t N, int64_t C,
                          float eps);
  void (*rmsnorm_backward)(float* dx, float* dw, const float* dout, const float* x, const float* w,
                           const float* rstd, int64_t N, int64_t C);
  void (*rope_forward)(float* out, const float* x, const float* cos, const float* sin, int B, int T, int NH,
                       int HS, int pos0);
  void (*rope_backward)(float* dx, const float* dout, const float* cos, const float* sin, int B, int T,
                        int NH, int HS, int pos0);
  void (*swiglu_forward)(float* out, const float* gate, const float* up, int64_t n);
  void (*swiglu_backward)(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                          int64_t n);
  void (*attention_forward)(float* out, float* lse, const float* q, const float* k, const float* v, int B,
                            int Tq, int Tk, int NH, int NKV, int HS, float scale);
  void (*attention_backward)(float* dq, float* dk, float* dv, const float* dout, const float* q,
                             const float* k, const float* v, const float* out, const float* lse, int B,
                             int Tq, int Tk, int NH, int NKV, int HS, float scale);
  void (*embedding_forward)(float* out, const int32_t* ids, const float* table, int64_t N, int64_t C,
                            int64_t V);
  void (*embedding_backward)(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C,
                             int64_t V);
  void (*cross_entropy_forward)(float* losses, float* lse, const float* logits, const int32_t* targets,
                                int64_t N, int64_t V);
  // Writes (does not accumulate) dlogits; dlogits may alias logits.
  void (*cross_entropy_backward)(float* dlogits, const float* logits, const float* lse,
                                 const int32_t* targets, const float* dlosses, int64_t N, int64_t V);
  void (*adamw)(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1,
                float beta2, float eps, float weight_decay, int step);

  // sgemm with every input element rounded to bfloat16 (nearest even) and fp32 accumulation
  // (native/gemm_bf16.inc); C keeps fp32. bf16 values below 2^-126 may be flushed to zero.
  void (*sgemm_bf16)(bool transA, bool transB, int M, int N, int K, const float* A, int lda,
                     const float* B, int ldb, float* C, int ldc, bool accumulate);

  // How many of x[0..n) are NaN or +-Inf.
  int64_t (*count_nonfinite)(const float* x, int64_t n);
  // MinHash-LSH band keys of documents given as 32-bit shingle hashes (native/minhash.inc; the
  // reference is src/curate/minhash.ts). keys [nDocs, bands, 2], ok [nDocs]; bands*rows <= 4096.
  void (*minhash_bands)(uint32_t* keys, uint8_t* ok, const int32_t* shingles, const int32_t* offsets,
                        const int32_t* xor_, const int32_t* mul, int64_t nDocs, int bands, int rows);

  // Products with packed no-grad weights for decoding and scoring (native/gemv_packed.inc):
  // C[M,N] = A[M,K] · W[N,K]ᵀ, written. gemv_bf16: W as bf16 bits. gemv_q8_0: W[n,k] =
  // scales[n, k/32] · codes[n,k] (Q8_0 blocks of 32 along K; K % 32 == 0).
  void (*gemv_bf16)(float* C, const float* A, const uint16_t* W, int M, int N, int K);
  void (*gemv_q8_0)(float* C, const float* A, const int8_t* codes, const float* scales, int M, int N, int K);
  // AdamW with reduced-precision moments (native/adamw_lowp.inc; formats described there and in
  // docs/training.md): bf16 bit patterns, or blockwise 8-bit codes with one fp32 scale per block
  // of 256 elements per moment (m_scale/v_scale hold ceil(n/256) entries, read and rewritten).
  void (*adamw_bf16)(float* param, const float* grad, uint16_t* m, uint16_t* v, int64_t n, float lr, float beta1,
                     float beta2, float eps, float weight_decay, int step);
  void (*adamw_int8)(float* param, const float* grad, int8_t* m, uint8_t* v, float* m_scale, float* v_scale,
                     int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, int step);

  // attention_forward / attention_backward in bf16 mixed precision (bf16 training): the products
  // Q·Kᵀ, P·V, dO·Vᵀ, Pᵀ·dO, dSᵀ·Q, dS·K take bf16-rounded inputs (P and dS rounded after the fp32
  // softmax) and sum in fp32; softmax statistics stay fp32. Emulated in every table
  // (attention_bf16_emu.inc); AVX512-BF16 kernels (attention_bf16.inc) installed like sgemm_bf16.
  void (*attention_forward_bf16)(float* out, float* lse, const float* q, const float* k, const float* v, int B,
                                 int Tq, int Tk, int NH, int NKV, int HS, float scale);
  void (*attention_backward_bf16)(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                  const float* k, const float* v, const float* out, const float* lse, int B,
                                  int Tq, int Tk, int NH, int NKV, int HS, float scale);

  // Decoding attention for B sequences at once, each with one query (out/q: [B, NH, HS]) and its own
  // keys and values k[b], v[b] ([len[b], NKV, HS], len[b] ≥ 1): bit-identical to one
  // attention_forward(Tq = 1) call per sequence, with the work of all sequences shared over the
  // threads (native/attention_decode.inc).
  void (*attention_decode_rows)(float* out, const float* q, const float* const* k, const float* const* v,
                                const int* len, int B, int NH, int NKV, int HS, float scale);
};

extern const KernelTable kTableAvx512;
extern const KernelTable kTableAvx2;
extern const KernelTable kTableGeneric;

// The AVX512-BF16 sgemm_bf16 (isa_avx512bf16.cc), a separate capability: addon.cc puts it into the
// avx512 table on CPUs that have AVX512-BF16. Every table's own sgemm_bf16 is the emulated one
// (inputs rounded to bf16 in fp32 buffers, then sgemm), so AVX-512 never requires AVX512-BF16.
void sgemm_bf16_avx512bf16(bool transA, bool transB, int M, int N, int K, const float* A, int lda,
                           const float* B, int ldb, float* C, int ldc, bool accumulate);
// The AVX512-BF16 attention kernels (same file), installed with it; head sizes that are not a
// multiple of 64 go to kTableAvx512's emulated ones.
void attention_forward_bf16_avx512bf16(float* out, float* lse, const float* q, const float* k, const float* v,
                                       int B, int Tq, int Tk, int NH, int NKV, int HS, float scale);
void attention_backward_bf16_avx512bf16(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                        const float* k, const float* v, const float* out, const float* lse, int B,
                                        int Tq, int Tk, int NH, int NKV, int HS, float scale);

}  // namespace smol
