// The optional MPI addon (smollab_mpi.node), built only where an MPI compiler wrapper exists
// (scripts/build-mpi.js). Plain C N-API over MPI_COMM_WORLD: init, in-place sum all-reduce of a
// Float32Array in buckets (or a Float64Array), all-gather of strings, barrier, finalize and abort.
// The collective seam above it is src/train/collective.ts; this file knows nothing of training.
#include <dlfcn.h>
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool g_init = false;

napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

std::string mpi_err(int rc) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, s, &n);
  return std::string(s, n);
}

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < want) {
    napi_throw_type_error(env, nullptr, "smollab_mpi: missing arguments");
    return false;
  }
  return true;
}

void* typed(napi_env env, napi_value v, napi_typedarray_type want, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return nullptr;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &data, nullptr, nullptr) != napi_ok || type != want) return nullptr;
  return data;
}

// init() -> { rank, size, version }. Open MPI loads its components with dlopen and needs libmpi's
// symbols in the global scope, which Node's addon loading does not give: re-open it RTLD_GLOBAL.
napi_value Init(napi_env env, napi_callback_info) {
  if (!g_init) {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) && info.dli_fname)
      dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return fail(env, "MPI_Init_thread failed: " + mpi_err(rc));
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    g_init = true;
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char ver[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  MPI_Get_library_version(ver, &n);
  std::string v(ver, n);
  const auto nl = v.find_first_of("\n,");
  if (nl != std::string::npos) v.resize(nl);
  napi_value out, r, s, vs;
  napi_create_object(env, &out);
  napi_create_int32(env, rank, &r);
  napi_create_int32(env, size, &s);
  napi_create_string_utf8(env, v.c_str(), v.size(), &vs);
  napi_set_named_property(env, out, "rank", r);
  napi_set_named_property(env, out, "size", s);
  napi_set_named_property(env, out, "version", vs);
  return out;
}

// allreduceF32(buf: Float32Array, bucketElems: number): in-place sum over ranks, bucket by bucket.
napi_value AllreduceF32(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  size_t len = 0;
  float* p = static_cast<float*>(typed(env, argv[0], napi_float32_array, &len));
  if (!p && len) return fail(env, "allreduceF32: argument 0 must be a Float32Array");
  int64_t bucket = 0;
  napi_get_value_int64(env, argv[1], &bucket);
  if (bucket <= 0 || bucket > (1 << 30)) bucket = 1 << 30;
  for (size_t off = 0; off < len; off += static_cast<size_t>(bucket)) {
    const size_t n = std::min(len - off, static_cast<size_t>(bucket));
    int rc = MPI_Allreduce(MPI_IN_PLACE, p + off, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return fail(env, "MPI_Allreduce failed: " + mpi_err(rc));
  }
  return undef(env);
}

// allreduceF64(buf: Float64Array): in-place sum over ranks (small vectors: losses, flags, counts).
napi_value AllreduceF64(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  size_t len = 0;
  double* p = static_cast<double*>(typed(env, argv[0], napi_float64_array, &len));
  if (!p && len) return fail(env, "allreduceF64: argument 0 must be a Float64Array");
  int rc = MPI_Allreduce(MPI_IN_PLACE, p, static_cast<int>(len), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Allreduce failed: " + mpi_err(rc));
  return undef(env);
}

// allgather(s: string): string[] — every rank's string, in rank order.
napi_value Allgather(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[0], nullptr, 0, &n) != napi_ok) return fail(env, "allgather: argument 0 must be a string");
  std::string mine(n, '\0');
  napi_get_value_string_utf8(env, argv[0], mine.data(), n + 1, &n);
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int len = static_cast<int>(n);
  std::vector<int> lens(size), displs(size);
  int rc = MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Allgather failed: " + mpi_err(rc));
  int total = 0;
  for (int i = 0; i < size; i++) {
    displs[i] = total;
    total += lens[i];
  }
  std::vector<char> all(std::max(total, 1));
  rc = MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Allgatherv failed: " + mpi_err(rc));
  napi_value arr;
  napi_create_array_with_length(env, size, &arr);
  for (int i = 0; i < size; i++) {
    napi_value s;
    napi_create_string_utf8(env, all.data() + displs[i], lens[i], &s);
    napi_set_element(env, arr, i, s);
  }
  return arr;
}

// broadcastF32(buf: Float32Array, root: number): in place.
napi_value BroadcastF32(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  size_t len = 0;
  float* p = static_cast<float*>(typed(env, argv[0], napi_float32_array, &len));
  if (!p && len) return fail(env, "broadcastF32: argument 0 must be a Float32Array");
  int32_t root = 0;
  napi_get_value_int32(env, argv[1], &root);
  const size_t chunk = 1 << 28;
  for (size_t off = 0; off < len; off += chunk) {
    int rc = MPI_Bcast(p + off, static_cast<int>(std::min(chunk, len - off)), MPI_FLOAT, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return fail(env, "MPI_Bcast failed: " + mpi_err(rc));
  }
  return undef(env);
}

napi_value Barrier(napi_env env, napi_callback_info) {
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Barrier failed: " + mpi_err(rc));
  return undef(env);
}

napi_value Finalize(napi_env env, napi_callback_info) {
  int done = 0;
  MPI_Finalized(&done);
  if (g_init && !done) MPI_Finalize();
  return undef(env);
}

// abort(code): end every rank of the job (a rank that fails alone must not leave the others waiting).
napi_value Abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  int32_t code = 1;
  napi_get_value_int32(env, argv[0], &code);
  if (g_init) MPI_Abort(MPI_COMM_WORLD, code);
  return undef(env);
}

napi_value Wtime(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_double(env, MPI_Wtime(), &v);
  return v;
}

}  // namespace

NAPI_MODULE_INIT() {
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"init", Init},           {"allreduceF32", AllreduceF32}, {"allreduceF64", AllreduceF64},
             {"allgather", Allgather}, {"broadcastF32", BroadcastF32}, {"barrier", Barrier},
             {"finalize", Finalize},   {"abort", Abort},               {"wtime", Wtime}};
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}
