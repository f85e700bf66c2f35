// The NEON block-type kernels with sdot (ARMv8.2 dot product), compiled with
// -march=armv8.2-a+dotprod: the neon+dotprod kernel table's rows, chosen only when
// getauxval(AT_HWCAP) reports ASIMDDP.
#define INT4_NEON_DOTPROD 1
#include "blocks_neon.cpp"
