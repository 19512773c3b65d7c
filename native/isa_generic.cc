// The kernels compiled for the generic instruction set (flags in binding.gyp).
#define SMOL_ISA generic
#define SMOL_TABLE kTableGeneric
#include "kernels_impl.inc"
