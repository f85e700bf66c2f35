// The NEON kernels with sdot (ARMv8.2 dot product), compiled with -march=armv8.2-a+dotprod and
// used only when getauxval(AT_HWCAP) reports ASIMDDP.
#define INT4_NEON_DOTPROD 1
#include "kernels_neon.cpp"
