// The kernels compiled for the avx512 instruction set (flags in binding.gyp).
#define SMOL_ISA avx512
#define SMOL_TABLE kTableAvx512
#include "kernels_impl.inc"
