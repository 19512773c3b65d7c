// The only file that talks to Node (plain C N-API). At load it picks the kernel table for this
// CPU (SMOL_ISA=avx512|avx2|generic forces one) and, separately, the bf16 GEMM: the AVX512-BF16
// one where the CPU has it and the table is avx512, else the table's emulated one (SMOL_BF16=
// emulated forces that). useIsa() switches both later (the conformance suite runs every table).
// It owns the native allocations handed to JS as Float32Arrays, and binds one JS function per
// kernel. Arguments are type-checked here (typed array kinds, numbers, booleans); shapes and
// lengths are checked once, in src/backend/checked.ts, before any call reaches C++.
#include <node_api.h>
#include <omp.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels.h"

namespace {

// The active table: a copy of one ISA table, whose sgemm_bf16 may be the AVX512-BF16 kernel.
smol::KernelTable g_active;
const smol::KernelTable* K = nullptr;
bool g_bf16_native = false;

// ---------------------------------------------------------------- instruction set selection

bool cpu_supports(const std::string& isa) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c");
  if (isa == "avx2") return avx2;
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (isa == "avx512") return avx512;
  // Not a table: the capability the AVX512-BF16 GEMM needs on top of the avx512 table.
  if (isa == "avx512bf16") return avx512 && __builtin_cpu_supports("avx512bf16");
  return isa == "generic";
}

const smol::KernelTable* table_named(const std::string& isa) {
  if (isa == "avx512") return &smol::kTableAvx512;
  if (isa == "avx2") return &smol::kTableAvx2;
  if (isa == "generic") return &smol::kTableGeneric;
  return nullptr;
}

// Make `table` active, with the AVX512-BF16 GEMM when wanted ("native"), possible, and avx512;
// "emulated" keeps the table's own; "auto" takes the native one where it can. false + `error` if
// the request cannot be met.
bool activate(const smol::KernelTable* table, const std::string& bf16, std::string& error) {
  if (bf16 != "auto" && bf16 != "native" && bf16 != "emulated") {
    error = "SMOL_BF16 must be native or emulated, got '" + bf16 + "'";
    return false;
  }
  const bool can = std::string(table->isa) == "avx512" && cpu_supports("avx512bf16");
  if (bf16 == "native" && !can) {
    error = std::string("the AVX512-BF16 GEMM needs the avx512 table and a CPU with AVX512-BF16 (table ") +
            table->isa + ")";
    return false;
  }
  g_active = *table;
  g_bf16_native = can && bf16 != "emulated";
  if (g_bf16_native) {
    g_active.sgemm_bf16 = &smol::sgemm_bf16_avx512bf16;
    g_active.attention_forward_bf16 = &smol::attention_forward_bf16_avx512bf16;
    g_active.attention_backward_bf16 = &smol::attention_backward_bf16_avx512bf16;
  }
  K = &g_active;
  return true;
}

// The best table for this CPU, or the one SMOL_ISA names; nullptr with `error` set if impossible.
const smol::KernelTable* select_table(std::string& error) {
  const char* forced = std::getenv("SMOL_ISA");
  if (forced && *forced) {
    const std::string want = forced;
    if (!table_named(want)) {
      error = "SMOL_ISA must be avx512, avx2 or generic, got '" + want + "'";
      return nullptr;
    }
    if (!cpu_supports(want)) {
      error = "SMOL_ISA=" + want + " but this CPU lacks the instructions it needs";
      return nullptr;
    }
    return table_named(want);
  }
  for (const char* isa : {"avx512", "avx2"})
    if (cpu_supports(isa)) return table_named(isa);
  return &smol::kTableGeneric;
}

// ---------------------------------------------------------------- native allocations
// Each allocation has a Block that lives until V8 finalizes the ArrayBuffer. An explicit free()
// releases the memory at once, marks the Block freed (so the finalizer only deletes the Block,
// even if the address has since been reused) and detaches the ArrayBuffer.

struct Block {
  void* data;
  size_t bytes;
  bool freed;
  size_t mapped;  // > 0: an mmap of this many bytes (released with munmap), else aligned_alloc's
};

// Buffers of 1 MiB or more (parameters, KV caches, arena chunks) are anonymous mappings, which the
// kernel hands out zeroed page by page on first touch, so they are not cleared here: a page that
// is never written (a KV cache's unused positions, the part of an arena a decode step does not
// reach) costs no page fault and no memory, and a written one is faulted once instead of being
// cleared first (a 16-row prefill's 74 allocations took 0.22–0.37 s here, mostly clearing fresh
// pages, and now take 3.5 ms: bench/profile-batch.mjs; the faults move to the first writes). From 8 MiB on they
// start on a 2 MiB boundary and ask for transparent huge pages, so streaming weights (decoding
// reads every weight once per token) misses the TLB once per 2 MiB instead of once per 4 KiB;
// where THP is "madvise", only this makes them huge. Smaller buffers come from the C heap.
constexpr size_t kMapBytes = size_t(1) << 20;
constexpr size_t kHugeBytes = size_t(8) << 20;
constexpr size_t kHugeAlign = size_t(2) << 20;

void* map_zeroed(size_t bytes, size_t* mapped) {
  const bool huge = bytes >= kHugeBytes;
  const size_t align = huge ? kHugeAlign : 4096;
  const size_t len = (bytes + 64 + align - 1) / align * align;  // at least 64 bytes of slack, as the heap path keeps
#if defined(__linux__)
  const size_t extra = huge ? kHugeAlign : 0;
  void* raw = mmap(nullptr, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  // Trim to an aligned window of len bytes.
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + align - 1) / align * align;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + len + extra;
  if (end > aligned + len) munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
  void* data = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE)
  if (huge) madvise(data, len, MADV_HUGEPAGE);
#endif
  *mapped = len;
  return data;
#else
  *mapped = 0;
  void* data = std::aligned_alloc(align, len);
  if (data) std::memset(data, 0, len);
  return data;
#endif
}

void release_memory(void* data, size_t mapped) {
#if defined(__linux__)
  if (mapped > 0) {
    munmap(data, mapped);
    return;
  }
#endif
  std::free(data);
}

std::mutex g_mu;
std::unordered_map<void*, Block*> g_live;  // by data pointer
size_t g_live_bytes = 0;

void release_locked(Block* b) {
  b->freed = true;
  g_live.erase(b->data);
  g_live_bytes -= b->bytes;
  release_memory(b->data, b->mapped);
}

void finalize_block(napi_env, void*, void* hint) {
  Block* b = static_cast<Block*>(hint);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!b->freed) release_locked(b);
  }
  delete b;
}

// ---------------------------------------------------------------- argument access
// Args reads positional arguments; the first bad one throws a TypeError and makes ok() false,
// after which the binding returns without calling the kernel.

class Args {
 public:
  Args(napi_env env, napi_callback_info info, const char* fn) : env_(env), fn_(fn) {
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok) fail(0, "valid argument");
  }
  float* f32(size_t i) { return static_cast<float*>(typed(i, napi_float32_array, "Float32Array")); }
  int32_t* i32(size_t i) { return static_cast<int32_t*>(typed(i, napi_int32_array, "Int32Array")); }
  void* raw(size_t i, napi_typedarray_type want, const char* what) { return typed(i, want, what); }
  // A JS array of Float32Arrays: their data pointers.
  std::vector<const float*> f32list(size_t i) {
    std::vector<const float*> out;
    bool is = false;
    uint32_t n = 0;
    if (!has(i, "array of Float32Array") || napi_is_array(env_, argv_[i], &is) != napi_ok || !is ||
        napi_get_array_length(env_, argv_[i], &n) != napi_ok) {
      fail(i, "array of Float32Array");
      return out;
    }
    out.reserve(n);
    for (uint32_t j = 0; j < n; j++) {
      napi_value e;
      bool ta = false;
      napi_typedarray_type type;
      size_t length;
      void* data = nullptr;
      if (napi_get_element(env_, argv_[i], j, &e) != napi_ok || napi_is_typedarray(env_, e, &ta) != napi_ok || !ta ||
          napi_get_typedarray_info(env_, e, &type, &length, &data, nullptr, nullptr) != napi_ok ||
          type != napi_float32_array) {
        fail(i, "array of Float32Array");
        return out;
      }
      out.push_back(static_cast<const float*>(data));
    }
    return out;
  }
  double num(size_t i) {
    double v = 0;
    if (!has(i, "number") || napi_get_value_double(env_, argv_[i], &v) != napi_ok) fail(i, "number");
    return v;
  }
  int64_t i64(size_t i) { return static_cast<int64_t>(num(i)); }
  int i32n(size_t i) { return static_cast<int>(num(i)); }
  bool flag(size_t i) {
    bool v = false;
    if (!has(i, "boolean") || napi_get_value_bool(env_, argv_[i], &v) != napi_ok) fail(i, "boolean");
    return v;
  }
  napi_value arg(size_t i) const { return i < argc_ ? argv_[i] : nullptr; }
  bool ok() const { return !failed_; }
  napi_value undefined() const {
    napi_value u;
    napi_get_undefined(env_, &u);
    return u;
  }
  napi_value number(double v) const {
    napi_value r;
    napi_create_double(env_, v, &r);
    return r;
  }
  void fail(size_t i, const char* what) {
    if (failed_) return;
    failed_ = true;
    char msg[160];
    std::snprintf(msg, sizeof msg, "%s: argument %zu must be a %s", fn_, i, what);
    napi_throw_type_error(env_, nullptr, msg);
  }

 private:
  static constexpr size_t kMax = 20;
  bool has(size_t i, const char* what) {
    if (i < argc_) return true;
    fail(i, what);
    return false;
  }
  void* typed(size_t i, napi_typedarray_type want, const char* what) {
    bool is = false;
    if (!has(i, what) || napi_is_typedarray(env_, argv_[i], &is) != napi_ok || !is) {
      fail(i, what);
      return nullptr;
    }
    napi_typedarray_type type;
    size_t length;
    void* data = nullptr;  // already advanced by the view's byte offset
    if (napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != want)
      fail(i, what);
    return data;
  }
  napi_env env_;
  const char* fn_;
  size_t argc_ = kMax;
  napi_value argv_[kMax];
  bool failed_ = false;
};

#define SMOL_FN(name) napi_value name(napi_env env, napi_callback_info info)

void throw_error(napi_env env, const char* fn, const char* what) {
  std::string msg = std::string(fn) + ": " + what;
  napi_throw_error(env, nullptr, msg.c_str());
}

// ---------------------------------------------------------------- runtime functions

SMOL_FN(js_isa) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, K->isa, NAPI_AUTO_LENGTH, &r);
  return r;
}

SMOL_FN(js_bf16) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, g_bf16_native ? "avx512bf16" : "emulated", NAPI_AUTO_LENGTH, &r);
  return r;
}

// useIsa(isa, bf16): switch the active table ("avx512" | "avx2" | "generic") and bf16 GEMM
// ("auto" | "native" | "emulated"). Throws, leaving the active table as it was, when impossible.
SMOL_FN(js_use_isa) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char isa[32] = {0}, bf16[32] = {0};
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], isa, sizeof isa, &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], bf16, sizeof bf16, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "useIsa: arguments must be two strings (isa, bf16)");
    return nullptr;
  }
  const smol::KernelTable* table = table_named(isa);
  if (!table || !cpu_supports(isa)) {
    throw_error(env, "useIsa", (std::string("this CPU cannot run the '") + isa + "' kernel table").c_str());
    return nullptr;
  }
  const smol::KernelTable* prev = K;
  const bool prev_bf16 = g_bf16_native;
  smol::KernelTable saved = g_active;
  std::string error;
  if (!activate(table, bf16, error)) {
    g_active = saved;
    g_bf16_native = prev_bf16;
    K = prev;
    throw_error(env, "useIsa", error.c_str());
    return nullptr;
  }
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

SMOL_FN(js_available_isas) {
  (void)info;
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (const char* isa : {"avx512", "avx2", "generic"}) {
    if (!cpu_supports(isa)) continue;
    napi_value s;
    napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, n++, s);
  }
  return arr;
}

SMOL_FN(js_set_threads) {
  Args a(env, info, "setThreads");
  const int64_t n = a.i64(0);
  if (!a.ok()) return nullptr;
  if (n < 1 || n > 4096) {
    napi_throw_range_error(env, nullptr, "setThreads: thread count must be between 1 and 4096");
    return nullptr;
  }
  omp_set_num_threads(static_cast<int>(n));
  return a.undefined();
}

SMOL_FN(js_get_threads) {
  Args a(env, info, "getThreads");
  return a.number(omp_get_max_threads());
}

SMOL_FN(js_alloc) {
  Args a(env, info, "alloc");
  const double n = a.num(0);
  if (!a.ok()) return nullptr;
  if (!(n >= 0) || n != static_cast<double>(static_cast<int64_t>(n)) || n > 4e12) {
    napi_throw_range_error(env, nullptr, "alloc: element count must be a non-negative integer");
    return nullptr;
  }
  napi_value ab, arr;
  if (n == 0) {  // nothing to own: a plain empty array (free() ignores it)
    if (napi_create_arraybuffer(env, 0, nullptr, &ab) != napi_ok ||
        napi_create_typedarray(env, napi_float32_array, 0, ab, 0, &arr) != napi_ok)
      return nullptr;
    return arr;
  }
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  size_t mapped = 0;
  void* data;
  if (bytes >= kMapBytes) {
    data = map_zeroed(bytes, &mapped);
  } else {
    const size_t cap = (bytes + 63) / 64 * 64 + 64;  // never zero-sized
    data = std::aligned_alloc(64, cap);
    if (data) std::memset(data, 0, cap);
  }
  if (!data) {
    throw_error(env, "alloc", ("out of memory allocating " + std::to_string(bytes) + " bytes").c_str());
    return nullptr;
  }
  Block* b = new Block{data, bytes, false, mapped};
  if (napi_create_external_arraybuffer(env, data, bytes, finalize_block, b, &ab) != napi_ok) {
    release_memory(data, mapped);
    delete b;
    throw_error(env, "alloc", "cannot create an external ArrayBuffer");
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_live[data] = b;
    g_live_bytes += bytes;
  }
  if (napi_create_typedarray(env, napi_float32_array, static_cast<size_t>(n), ab, 0, &arr) != napi_ok)
    return nullptr;
  return arr;
}

// free(f32): releases an alloc() array now and detaches it; freeing it again (or an empty array)
// is a no-op.
SMOL_FN(js_free) {
  Args a(env, info, "free");
  a.f32(0);
  if (!a.ok()) return nullptr;
  napi_value ab;
  size_t length = 0, offset = 0;
  void* base = nullptr;
  size_t ab_bytes = 0;
  napi_get_typedarray_info(env, a.arg(0), nullptr, &length, nullptr, &ab, &offset);
  napi_get_arraybuffer_info(env, ab, &base, &ab_bytes);
  bool detached = false;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (detached || ab_bytes == 0) return a.undefined();  // already freed, or empty
  Block* b = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_live.find(base);
    if (it != g_live.end()) b = it->second;
  }
  if (!b) {
    throw_error(env, "free", "this Float32Array was not allocated by alloc()");
    return nullptr;
  }
  if (offset != 0 || length * sizeof(float) != b->bytes) {
    throw_error(env, "free", "pass the whole array returned by alloc(), not a subarray");
    return nullptr;
  }
  if (napi_detach_arraybuffer(env, ab) != napi_ok) {
    throw_error(env, "free", "cannot detach the ArrayBuffer");
    return nullptr;
  }
  // Should the finalizer have run during the detach, it released the block and the entry is gone.
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_live.find(base);
  if (it != g_live.end() && it->second == b) release_locked(b);
  return a.undefined();
}

SMOL_FN(js_native_bytes) {
  Args a(env, info, "nativeBytes");
  std::lock_guard<std::mutex> lock(g_mu);
  return a.number(static_cast<double>(g_live_bytes));
}

// ---------------------------------------------------------------- kernels
// Argument order matches src/backend/backend.ts: outputs, inputs, then shapes.

// matmul and matmulBf16 share arguments; `bf16` picks the kernel.
napi_value matmul_call(napi_env env, napi_callback_info info, bool bf16) {
  Args a(env, info, bf16 ? "matmulBf16" : "matmul");
  float* c = a.f32(0);
  const float* A = a.f32(1);
  const float* B = a.f32(2);
  const int M = a.i32n(3), N = a.i32n(4), Kd = a.i32n(5);
  const bool tA = a.flag(6), tB = a.flag(7), acc = a.flag(8);
  const int64_t batch = a.i64(9), sA = a.i64(10), sB = a.i64(11), sC = a.i64(12);
  if (!a.ok()) return nullptr;
  const int lda = tA ? M : Kd, ldb = tB ? Kd : N;
  const auto gemm = bf16 ? K->sgemm_bf16 : K->sgemm;
  for (int64_t i = 0; i < batch; ++i) gemm(tA, tB, M, N, Kd, A + i * sA, lda, B + i * sB, ldb, c + i * sC, N, acc);
  return a.undefined();
}

SMOL_FN(js_matmul) { return matmul_call(env, info, false); }
SMOL_FN(js_matmul_bf16) { return matmul_call(env, info, true); }

// Elementwise: (out, a, b, n).
#define SMOL_BINARY(jsfn, kernel)                              \
  SMOL_FN(jsfn) {                                              \
    Args a(env, info, #kernel);                                \
    float* out = a.f32(0);                                     \
    const float* x = a.f32(1);                                 \
    const float* y = a.f32(2);                                 \
    const int64_t n = a.i64(3);                                \
    if (!a.ok()) return nullptr;                               \
    K->kernel(out, x, y, n);                                   \
    return a.undefined();                                      \
  }
SMOL_BINARY(js_add, add)
SMOL_BINARY(js_mul, mul)

SMOL_FN(js_axpy) {
  Args a(env, info, "axpy");
  float* y = a.f32(0);
  const float* x = a.f32(1);
  const float alpha = static_cast<float>(a.num(2));
  const int64_t n = a.i64(3);
  if (!a.ok()) return nullptr;
  K->axpy(y, x, alpha, n);
  return a.undefined();
}

SMOL_FN(js_scale) {
  Args a(env, info, "scale");
  float* out = a.f32(0);
  const float* x = a.f32(1);
  const float s = static_cast<float>(a.num(2));
  const int64_t n = a.i64(3);
  if (!a.ok()) return nullptr;
  K->scale(out, x, s, n);
  return a.undefined();
}

SMOL_FN(js_fill) {
  Args a(env, info, "fill");
  float* out = a.f32(0);
  const float value = static_cast<float>(a.num(1));
  const int64_t n = a.i64(2);
  if (!a.ok()) return nullptr;
  K->fill(out, value, n);
  return a.undefined();
}

// Row broadcast: (out, x, w, N, C).
#define SMOL_ROWWISE(jsfn, kernel)                             \
  SMOL_FN(jsfn) {                                              \
    Args a(env, info, #kernel);                                \
    float* out = a.f32(0);                                     \
    const float* x = a.f32(1);                                 \
    const float* w = a.f32(2);                                 \
    const int64_t N = a.i64(3), C = a.i64(4);                  \
    if (!a.ok()) return nullptr;                               \
    K->kernel(out, x, w, N, C);                                \
    return a.undefined();                                      \
  }
SMOL_ROWWISE(js_mul_row, mul_row)
SMOL_ROWWISE(js_add_row, add_row)

SMOL_FN(js_sum_rows) {
  Args a(env, info, "sumRows");
  float* out = a.f32(0);
  const float* x = a.f32(1);
  const int64_t N = a.i64(2), C = a.i64(3);
  const bool acc = a.flag(4);
  if (!a.ok()) return nullptr;
  K->sum_rows(out, x, N, C, acc);
  return a.undefined();
}

SMOL_FN(js_sum_cols) {
  Args a(env, info, "sumCols");
  float* out = a.f32(0);
  const float* x = a.f32(1);
  const int64_t N = a.i64(2), C = a.i64(3);
  if (!a.ok()) return nullptr;
  K->sum_cols(out, x, N, C);
  return a.undefined();
}

SMOL_FN(js_sum) {
  Args a(env, info, "sum");
  const float* x = a.f32(0);
  const int64_t n = a.i64(1);
  if (!a.ok()) return nullptr;
  return a.number(K->sum(x, n));
}

SMOL_FN(js_count_nonfinite) {
  Args a(env, info, "countNonFinite");
  const float* x = a.f32(0);
  const int64_t n = a.i64(1);
  if (!a.ok()) return nullptr;
  return a.number(static_cast<double>(K->count_nonfinite(x, n)));
}

SMOL_FN(js_sum_squares) {
  Args a(env, info, "sumSquares");
  const float* x = a.f32(0);
  const int64_t n = a.i64(1);
  if (!a.ok()) return nullptr;
  return a.number(K->sum_squares(x, n));
}

SMOL_FN(js_rmsnorm_forward) {
  Args a(env, info, "rmsnormForward");
  float* out = a.f32(0);
  float* rstd = a.f32(1);
  const float* x = a.f32(2);
  const float* w = a.f32(3);
  const int64_t N = a.i64(4), C = a.i64(5);
  const float eps = static_cast<float>(a.num(6));
  if (!a.ok()) return nullptr;
  K->rmsnorm_forward(out, rstd, x, w, N, C, eps);
  return a.undefined();
}

SMOL_FN(js_rmsnorm_backward) {
  Args a(env, info, "rmsnormBackward");
  float* dx = a.f32(0);
  float* dw = a.f32(1);
  const float* dout = a.f32(2);
  const float* x = a.f32(3);
  const float* w = a.f32(4);
  const float* rstd = a.f32(5);
  const int64_t N = a.i64(6), C = a.i64(7);
  if (!a.ok()) return nullptr;
  K->rmsnorm_backward(dx, dw, dout, x, w, rstd, N, C);
  return a.undefined();
}

// RoPE: (out, x, cos, sin, B, T, NH, HS, pos0).
#define SMOL_ROPE(jsfn, kernel)                                                                   \
  SMOL_FN(jsfn) {                                                                                 \
    Args a(env, info, #kernel);                                                                   \
    float* out = a.f32(0);                                                                        \
    const float* x = a.f32(1);                                                                    \
    const float* cs = a.f32(2);                                                                   \
    const float* sn = a.f32(3);                                                                   \
    const int B = a.i32n(4), T = a.i32n(5), NH = a.i32n(6), HS = a.i32n(7), pos0 = a.i32n(8);     \
    if (!a.ok()) return nullptr;                                                                  \
    K->kernel(out, x, cs, sn, B, T, NH, HS, pos0);                                                \
    return a.undefined();                                                                         \
  }
SMOL_ROPE(js_rope_forward, rope_forward)
SMOL_ROPE(js_rope_backward, rope_backward)

SMOL_FN(js_swiglu_forward) {
  Args a(env, info, "swigluForward");
  float* out = a.f32(0);
  const float* gate = a.f32(1);
  const float* up = a.f32(2);
  const int64_t n = a.i64(3);
  if (!a.ok()) return nullptr;
  K->swiglu_forward(out, gate, up, n);
  return a.undefined();
}

SMOL_FN(js_swiglu_backward) {
  Args a(env, info, "swigluBackward");
  float* dgate = a.f32(0);
  float* dup = a.f32(1);
  const float* dout = a.f32(2);
  const float* gate = a.f32(3);
  const float* up = a.f32(4);
  const int64_t n = a.i64(5);
  if (!a.ok()) return nullptr;
  K->swiglu_backward(dgate, dup, dout, gate, up, n);
  return a.undefined();
}

// attention* and attention*Bf16 share arguments; `bf16` picks the kernel.
napi_value attention_forward_call(napi_env env, napi_callback_info info, bool bf16) {
  Args a(env, info, bf16 ? "attentionForwardBf16" : "attentionForward");
  float* out = a.f32(0);
  float* lse = a.f32(1);
  const float* q = a.f32(2);
  const float* k = a.f32(3);
  const float* v = a.f32(4);
  const int B = a.i32n(5), Tq = a.i32n(6), Tk = a.i32n(7), NH = a.i32n(8), NKV = a.i32n(9), HS = a.i32n(10);
  const float scale = static_cast<float>(a.num(11));
  if (!a.ok()) return nullptr;
  (bf16 ? K->attention_forward_bf16 : K->attention_forward)(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS, scale);
  return a.undefined();
}

napi_value attention_backward_call(napi_env env, napi_callback_info info, bool bf16) {
  Args a(env, info, bf16 ? "attentionBackwardBf16" : "attentionBackward");
  float* dq = a.f32(0);
  float* dk = a.f32(1);
  float* dv = a.f32(2);
  const float* dout = a.f32(3);
  const float* q = a.f32(4);
  const float* k = a.f32(5);
  const float* v = a.f32(6);
  const float* out = a.f32(7);
  const float* lse = a.f32(8);
  const int B = a.i32n(9), Tq = a.i32n(10), Tk = a.i32n(11), NH = a.i32n(12), NKV = a.i32n(13), HS = a.i32n(14);
  const float scale = static_cast<float>(a.num(15));
  if (!a.ok()) return nullptr;
  (bf16 ? K->attention_backward_bf16 : K->attention_backward)(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS, scale);
  return a.undefined();
}

SMOL_FN(js_attention_forward) { return attention_forward_call(env, info, false); }

// attentionDecodeRows(out, q, ks, vs, lens, NH, NKV, HS, scale): B = lens.length sequences.
SMOL_FN(js_attention_decode_rows) {
  Args a(env, info, "attentionDecodeRows");
  float* out = a.f32(0);
  const float* q = a.f32(1);
  const std::vector<const float*> ks = a.f32list(2);
  const std::vector<const float*> vs = a.f32list(3);
  const int32_t* lens = a.i32(4);
  const int NH = a.i32n(5), NKV = a.i32n(6), HS = a.i32n(7);
  const float scale = static_cast<float>(a.num(8));
  if (!a.ok()) return nullptr;
  if (ks.size() != vs.size()) {
    throw_error(env, "attentionDecodeRows", "ks and vs must have one array per sequence");
    return nullptr;
  }
  K->attention_decode_rows(out, q, ks.data(), vs.data(), lens, static_cast<int>(ks.size()), NH, NKV, HS, scale);
  return a.undefined();
}
SMOL_FN(js_attention_forward_bf16) { return attention_forward_call(env, info, true); }
SMOL_FN(js_attention_backward) { return attention_backward_call(env, info, false); }
SMOL_FN(js_attention_backward_bf16) { return attention_backward_call(env, info, true); }

SMOL_FN(js_embedding_forward) {
  Args a(env, info, "embeddingForward");
  float* out = a.f32(0);
  const int32_t* ids = a.i32(1);
  const float* table = a.f32(2);
  const int64_t N = a.i64(3), C = a.i64(4), V = a.i64(5);
  if (!a.ok()) return nullptr;
  K->embedding_forward(out, ids, table, N, C, V);
  return a.undefined();
}

SMOL_FN(js_embedding_backward) {
  Args a(env, info, "embeddingBackward");
  float* dtable = a.f32(0);
  const float* dout = a.f32(1);
  const int32_t* ids = a.i32(2);
  const int64_t N = a.i64(3), C = a.i64(4), V = a.i64(5);
  if (!a.ok()) return nullptr;
  K->embedding_backward(dtable, dout, ids, N, C, V);
  return a.undefined();
}

SMOL_FN(js_cross_entropy_forward) {
  Args a(env, info, "crossEntropyForward");
  float* losses = a.f32(0);
  float* lse = a.f32(1);
  const float* logits = a.f32(2);
  const int32_t* targets = a.i32(3);
  const int64_t N = a.i64(4), V = a.i64(5);
  if (!a.ok()) return nullptr;
  K->cross_entropy_forward(losses, lse, logits, targets, N, V);
  return a.undefined();
}

SMOL_FN(js_cross_entropy_backward) {
  Args a(env, info, "crossEntropyBackward");
  float* dlogits = a.f32(0);
  const float* logits = a.f32(1);
  const float* lse = a.f32(2);
  const int32_t* targets = a.i32(3);
  const float* dlosses = a.f32(4);
  const int64_t N = a.i64(5), V = a.i64(6);
  if (!a.ok()) return nullptr;
  K->cross_entropy_backward(dlogits, logits, lse, targets, dlosses, N, V);
  return a.undefined();
}

// AdamW's hyperparameters lr, beta1, beta2, eps, weight decay and step from arguments i..i+5.
struct AdamHyper {
  float lr, beta1, beta2, eps, wd;
  int step;
};
static AdamHyper adam_hyper(Args& a, int i) {
  return {static_cast<float>(a.num(i)),     static_cast<float>(a.num(i + 1)), static_cast<float>(a.num(i + 2)),
          static_cast<float>(a.num(i + 3)), static_cast<float>(a.num(i + 4)), a.i32n(i + 5)};
}

SMOL_FN(js_adamw) {
  Args a(env, info, "adamw");
  float* param = a.f32(0);
  const float* grad = a.f32(1);
  float* m = a.f32(2);
  float* v = a.f32(3);
  const int64_t n = a.i64(4);
  const AdamHyper h = adam_hyper(a, 5);
  if (!a.ok()) return nullptr;
  K->adamw(param, grad, m, v, n, h.lr, h.beta1, h.beta2, h.eps, h.wd, h.step);
  return a.undefined();
}

// adamwBf16(param, grad, m: Uint16Array, v: Uint16Array, n, lr, beta1, beta2, eps, wd, step)
SMOL_FN(js_adamw_bf16) {
  Args a(env, info, "adamwBf16");
  float* param = a.f32(0);
  const float* grad = a.f32(1);
  uint16_t* m = static_cast<uint16_t*>(a.raw(2, napi_uint16_array, "Uint16Array"));
  uint16_t* v = static_cast<uint16_t*>(a.raw(3, napi_uint16_array, "Uint16Array"));
  const int64_t n = a.i64(4);
  const AdamHyper h = adam_hyper(a, 5);
  if (!a.ok()) return nullptr;
  K->adamw_bf16(param, grad, m, v, n, h.lr, h.beta1, h.beta2, h.eps, h.wd, h.step);
  return a.undefined();
}

// adamwInt8(param, grad, m: Int8Array, v: Uint8Array, mScale, vScale, n, lr, beta1, beta2, eps, wd, step)
SMOL_FN(js_adamw_int8) {
  Args a(env, info, "adamwInt8");
  float* param = a.f32(0);
  const float* grad = a.f32(1);
  int8_t* m = static_cast<int8_t*>(a.raw(2, napi_int8_array, "Int8Array"));
  uint8_t* v = static_cast<uint8_t*>(a.raw(3, napi_uint8_array, "Uint8Array"));
  float* ms = a.f32(4);
  float* vs = a.f32(5);
  const int64_t n = a.i64(6);
  const AdamHyper h = adam_hyper(a, 7);
  if (!a.ok()) return nullptr;
  K->adamw_int8(param, grad, m, v, ms, vs, n, h.lr, h.beta1, h.beta2, h.eps, h.wd, h.step);
  return a.undefined();
}

// minhashBands(keys: Uint32Array, ok: Uint8Array, shingles: Int32Array, offsets: Int32Array,
//              xor: Int32Array, mul: Int32Array, nDocs, bands, rows)
SMOL_FN(js_minhash_bands) {
  Args a(env, info, "minhashBands");
  uint32_t* keys = static_cast<uint32_t*>(a.raw(0, napi_uint32_array, "Uint32Array"));
  uint8_t* ok = static_cast<uint8_t*>(a.raw(1, napi_uint8_array, "Uint8Array"));
  const int32_t* shingles = a.i32(2);
  const int32_t* offsets = a.i32(3);
  const int32_t* xr = a.i32(4);
  const int32_t* ml = a.i32(5);
  const int64_t nDocs = a.i64(6);
  const int bands = a.i32n(7), rows = a.i32n(8);
  if (!a.ok()) return nullptr;
  K->minhash_bands(keys, ok, shingles, offsets, xr, ml, nDocs, bands, rows);
  return a.undefined();
}

// linearBf16(y, x, w: Uint16Array, M, N, K) and linearQ8(y, x, codes: Int8Array, scales, M, N, K).
SMOL_FN(js_linear_bf16) {
  Args a(env, info, "linearBf16");
  float* y = a.f32(0);
  const float* x = a.f32(1);
  const uint16_t* w = static_cast<const uint16_t*>(a.raw(2, napi_uint16_array, "Uint16Array"));
  const int M = a.i32n(3), N = a.i32n(4), Kd = a.i32n(5);
  if (!a.ok()) return nullptr;
  K->gemv_bf16(y, x, w, M, N, Kd);
  return a.undefined();
}

SMOL_FN(js_linear_q8) {
  Args a(env, info, "linearQ8");
  float* y = a.f32(0);
  const float* x = a.f32(1);
  const int8_t* codes = static_cast<const int8_t*>(a.raw(2, napi_int8_array, "Int8Array"));
  const float* scales = a.f32(3);
  const int M = a.i32n(4), N = a.i32n(5), Kd = a.i32n(6);
  if (!a.ok()) return nullptr;
  K->gemv_q8_0(y, x, codes, scales, M, N, Kd);
  return a.undefined();
}

}  // namespace

NAPI_MODULE_INIT() {
  std::string error;
  const smol::KernelTable* table = select_table(error);
  const char* bf16 = std::getenv("SMOL_BF16");
  if (!table || !activate(table, bf16 && *bf16 ? bf16 : "auto", error)) {
    napi_throw_error(env, nullptr, ("smollab native addon: " + error).c_str());
    return nullptr;
  }
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {
      {"isa", js_isa},
      {"bf16", js_bf16},
      {"useIsa", js_use_isa},
      {"availableIsas", js_available_isas},
      {"setThreads", js_set_threads},
      {"getThreads", js_get_threads},
      {"alloc", js_alloc},
      {"free", js_free},
      {"nativeBytes", js_native_bytes},
      {"matmul", js_matmul},
      {"matmulBf16", js_matmul_bf16},
      {"add", js_add},
      {"mul", js_mul},
      {"axpy", js_axpy},
      {"scale", js_scale},
      {"fill", js_fill},
      {"mulRow", js_mul_row},
      {"addRow", js_add_row},
      {"sumRows", js_sum_rows},
      {"sumCols", js_sum_cols},
      {"sum", js_sum},
      {"sumSquares", js_sum_squares},
      {"countNonFinite", js_count_nonfinite},
      {"rmsnormForward", js_rmsnorm_forward},
      {"rmsnormBackward", js_rmsnorm_backward},
      {"ropeForward", js_rope_forward},
      {"ropeBackward", js_rope_backward},
      {"swigluForward", js_swiglu_forward},
      {"swigluBackward", js_swiglu_backward},
      {"attentionForward", js_attention_forward},
      {"attentionDecodeRows", js_attention_decode_rows},
      {"attentionBackward", js_attention_backward},
      {"attentionForwardBf16", js_attention_forward_bf16},
      {"attentionBackwardBf16", js_attention_backward_bf16},
      {"embeddingForward", js_embedding_forward},
      {"embeddingBackward", js_embedding_backward},
      {"crossEntropyForward", js_cross_entropy_forward},
      {"crossEntropyBackward", js_cross_entropy_backward},
      {"adamw", js_adamw},
      {"minhashBands", js_minhash_bands},
      {"linearBf16", js_linear_bf16},
      {"linearQ8", js_linear_q8},
      {"adamwBf16", js_adamw_bf16},
      {"adamwInt8", js_adamw_int8},
  };
  for (const auto& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn) != napi_ok ||
        napi_set_named_property(env, exports, f.name, fn) != napi_ok)
      return nullptr;
  }
  return exports;
}
