// Force-included into every file of the Linux prebuilds (CMake option INT4_GLIBC_COMPAT): binds
// the libm functions that glibc 2.29 gave new symbol versions (the same functions without the
// SVID error handling) to their original versions, so the prebuilds need no glibc above 2.28.
// test/glibc.test.ts checks the highest version each prebuild needs.
#pragma once
#if defined(__x86_64__)
#define INT4_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define INT4_GLIBC_BASE "GLIBC_2.17"
#endif
#if defined(INT4_GLIBC_BASE)
__asm__(".symver exp,exp@" INT4_GLIBC_BASE);
__asm__(".symver exp2,exp2@" INT4_GLIBC_BASE);
__asm__(".symver log,log@" INT4_GLIBC_BASE);
__asm__(".symver log2,log2@" INT4_GLIBC_BASE);
__asm__(".symver pow,pow@" INT4_GLIBC_BASE);
#endif
