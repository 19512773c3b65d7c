# Builds the native addon with only the system C++ compiler: one static library per instruction
# set (the same kernel source compiled three times), linked into one addon that picks the best
# table for the CPU at load time (native/addon.cc).
{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-O2", "-O3"],
    "cflags!": ["-O2"],
    "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math",
                  "-ffp-contract=fast", "-funroll-loops", "-fPIC"],
    "ldflags": ["-fopenmp"]
  },
  "targets": [
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["native/isa_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma",
                    "-mavx2", "-mf16c", "-mprefer-vector-width=512"]
    },
    {
      "target_name": "kernels_avx512bf16",
      "type": "static_library",
      "sources": ["native/isa_avx512bf16.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mfma",
                    "-mavx2", "-mf16c", "-mprefer-vector-width=512"]
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["native/isa_avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "kernels_generic",
      "type": "static_library",
      "sources": ["native/isa_generic.cc"]
    },
    {
      "target_name": "smollab",
      "sources": ["native/addon.cc"],
      "dependencies": ["kernels_avx512", "kernels_avx512bf16", "kernels_avx2", "kernels_generic"],
      "libraries": ["-fopenmp"]
    }
  ]
}
