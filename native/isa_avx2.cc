// The kernels compiled for the avx2 instruction set (flags in binding.gyp).
#define SMOL_ISA avx2
#define SMOL_TABLE kTableAvx2
#include "kernels_impl.inc"
