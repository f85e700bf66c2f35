// Everything the native code asks of the operating system, in one place: which CPU features may
// be used, how many cores this process may run on, and aligned allocation. platform.cpp holds the
// Linux, Windows and macOS answers (and a portable fallback for anything else); no other file
// calls an OS-specific function.
#pragma once
#include <cstddef>

namespace int4 {
namespace platform {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, avxvnni = false;
  bool avx512 = false;  // F + BW + VL + DQ + VNNI, with the OS saving zmm state
  bool amx = false;     // AMX-TILE + AMX-INT8, the OS saving tile state for this process
  bool neon = false, dotprod = false;
};

// The CPU's features this process may use (cpuid/xgetbv on x86 plus the OS's say on AVX-512 and
// AMX state; getauxval, sysctl or IsProcessorFeaturePresent on arm64). INT4_AMX=0 turns AMX off.
CpuFeatures detect_cpu();

// Cores this process may run on (its affinity mask where the OS has one), at least 1.
int available_cores();

// `size` bytes aligned to `align` (a power of two, at least sizeof(void*)); nullptr when out of
// memory. Free only with aligned_free.
void* aligned_malloc(size_t align, size_t size);
void aligned_free(void* p);

// Keeps the library this code is in loaded until the process exits. Node unloads an addon when
// the last environment that loaded it ends (a Worker's), but the kernels' thread pool, shared by
// all of the process's environments, runs code of it. On Linux the link flag -z nodelete does it
// (CMakeLists.txt); Windows pins the module, macOS reopens itself with RTLD_NODELETE.
void pin_this_library();

}  // namespace platform
}  // namespace int4
