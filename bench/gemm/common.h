// Shapes and timing shared by harness.cc (smollab sgemm) and openblas.cc (cblas_sgemm), so both
// time exactly the same products the same way: best-of-N wall time, GFLOP/s = 2MNK / time.
// Training shapes: tokens T x model width d x output width n of one linear layer W[n,d]:
//   fwd  Y = X W^T (NT), dX = dY W (NN), dW += dY^T X (TN, K = tokens).
#pragma once
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

struct Shape {
  std::string name;
  bool ta, tb, acc;
  int M, N, K;
};

inline std::vector<Shape> bench_shapes() {
  std::vector<Shape> s;
  for (int n : {256, 512, 1024, 2048}) s.push_back({"sq" + std::to_string(n), false, false, false, n, n, n});
  const int T = 4096;
  for (auto [d, outs] : {std::pair<int, std::vector<int>>{576, {576, 1536, 49152}}, {256, {256, 768, 8192}}})
    for (int n : outs) {
      const std::string id = "_" + std::to_string(d) + "x" + std::to_string(n);
      s.push_back({"fwdNT" + id, false, true, false, T, n, d});
      s.push_back({"dxNN" + id, false, false, false, T, d, n});
      s.push_back({"dwTN" + id, true, false, true, n, d, T});
    }
  return s;
}

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// With --cpu-time, single-thread runs are timed by process CPU time, which ignores time the
// scheduler gave to other processes (a noisy shared machine); wall time otherwise.
inline bool g_cpu_time = false;
inline double clock_s(int threads) {
  if (!g_cpu_time || threads != 1) return now_s();
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Best time of f() over at least 3 runs and ~1 s (after one warm-up run).
inline double best_time(int threads, const std::function<void()>& f) {
  f();
  double best = 1e30, t0 = now_s();
  for (int r = 0; r < 50 && (r < 3 || now_s() - t0 < 1.0); r++) {
    double t = clock_s(threads);
    f();
    best = std::min(best, clock_s(threads) - t);
  }
  return best;
}

// Operand buffers for a shape, filled with small values; returns leading dims (no padding).
struct Operands {
  std::vector<float> a, b, c;
  int lda, ldb, ldc;
  explicit Operands(const Shape& s)
      : a((size_t)s.M * s.K), b((size_t)s.K * s.N), c((size_t)s.M * s.N),
        lda(s.ta ? s.M : s.K), ldb(s.tb ? s.K : s.N), ldc(s.N) {
    for (size_t i = 0; i < a.size(); i++) a[i] = (float)((i * 7 + 3) % 17) / 17.0f - 0.5f;
    for (size_t i = 0; i < b.size(); i++) b[i] = (float)((i * 5 + 1) % 13) / 13.0f - 0.5f;
  }
};

// Command line: [--cpu-time] [--threads 1,2] [name-substring or whole-name$ ...]
struct Opts {
  std::vector<int> threads{1, 2};
  std::vector<std::string> filters;
  Opts(int argc, char** argv, int first) {
    for (int i = first; i < argc; i++) {
      if (!strcmp(argv[i], "--cpu-time")) g_cpu_time = true;
      else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
        threads.clear();
        for (char* p = argv[++i]; *p;) threads.push_back((int)strtol(p, &p, 10)), p += (*p == ',');
      } else filters.push_back(argv[i]);
    }
  }
  bool wants(const Shape& s) const {  // a filter ending in '$' must match the whole name
    if (filters.empty()) return true;
    for (auto& f : filters)
      if (f.back() == '$' ? s.name + "$" == f : s.name.find(f) != std::string::npos) return true;
    return false;
  }
};

// One result line: "<lib> <shape> <threads> <gflops>" (run.sh joins the two libraries' lines).
inline void report(const char* lib, const Shape& s, int threads, double sec) {
  std::printf("%s %s %d %.1f\n", lib, s.name.c_str(), threads, 2.0 * s.M * s.N * s.K / sec * 1e-9);
  std::fflush(stdout);
}
