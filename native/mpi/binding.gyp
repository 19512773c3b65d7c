# The optional MPI addon: built by scripts/build-mpi.js only when an MPI C++ wrapper (mpicxx) is
# found; its compile and link flags come from the wrapper itself (Open MPI's --showme).
{
  "targets": [
    {
      "target_name": "smollab_mpi",
      "sources": ["mpi.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "<!@(mpicxx --showme:compile)"],
      "libraries": ["<!@(mpicxx --showme:link)", "-ldl"]
    }
  ]
}
