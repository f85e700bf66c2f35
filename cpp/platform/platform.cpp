// The OS-specific answers behind platform.h. Compiled for the baseline ISA.
#include "platform.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <malloc.h>
#elif defined(__APPLE__)
#include <dlfcn.h>
#include <sys/sysctl.h>
#include <sys/types.h>
#elif defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace int4 {
namespace platform {

namespace {

#if defined(__APPLE__)
// A sysctl integer (hw.optional.*), 0 when the name is unknown.
long sysctl_int(const char* name) {
  long v = 0;
  size_t len = sizeof v;
  if (sysctlbyname(name, &v, &len, nullptr, 0) != 0) return 0;
  return len == sizeof(int) ? static_cast<long>(*reinterpret_cast<int*>(&v)) : v;
}
#endif

#if defined(__x86_64__) || defined(__i386__)
bool env_says_no(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "0") == 0;
}

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// Whether the OS saves zmm state for this process (it always does when it says so in XCR0; macOS
// enables it on first use, so XCR0 tells only after that: ask sysctl there).
bool os_saves_zmm(uint64_t xcr0) {
#if defined(__APPLE__)
  (void)xcr0;
  return sysctl_int("hw.optional.avx512f") == 1;
#else
  return (xcr0 & 0xE6) == 0xE6;  // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
#endif
}

// Whether this process may use the AMX tile state the CPU and XCR0 offer.
bool os_grants_amx() {
#if defined(__linux__)
  // Linux hands out the 8 KiB tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM for
  // XFEATURE_XTILEDATA); refused (old kernel, seccomp, ...): the AVX-512 GEMM serves instead.
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#elif defined(_WIN32)
  // Windows 11 / Server 2022 enable the tile state per process; older Windows (and wine) do not
  // list it among the enabled XSAVE features.
  using Fn = DWORD64(WINAPI*)();
  HMODULE k32 = GetModuleHandleA("kernel32.dll");
  auto get = k32 ? reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(k32, "GetEnabledXStateFeatures"))) : nullptr;
  if (!get) return false;
  const DWORD64 tile = (DWORD64(1) << 17) | (DWORD64(1) << 18);  // XSTATE_AMX_TILE_CONFIG, _DATA
  return (get() & tile) == tile;
#else
  return false;  // no AMX on macOS; unknown OS: do not guess
#endif
}
#endif

}  // namespace

CpuFeatures detect_cpu() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;  // SSE + AVX state
  if (!ymm_os || __get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31), avx512vnni = c & (1u << 11);
  unsigned a1, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  const bool avxvnni = a1 & (1u << 4);
  f.avx2 = avx2 && fma && f16c;
  f.fma = fma;
  f.f16c = f16c;
  f.avxvnni = f.avx2 && avxvnni;
  f.avx512 = f.avx2 && avx512f && avx512dq && avx512bw && avx512vl && avx512vnni && os_saves_zmm(xcr0);
  const bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  const bool tile_os = (xcr0 & (3u << 17)) == (3u << 17);  // XTILECFG + XTILEDATA
  if (f.avx512 && amx_tile && amx_int8 && tile_os && !env_says_no("INT4_AMX")) f.amx = os_grants_amx();
#elif defined(__aarch64__) || defined(_M_ARM64)
  f.neon = true;  // Advanced SIMD is part of every AArch64 CPU
#if defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  f.neon = (hw & (1ul << 1)) != 0;      // HWCAP_ASIMD
  f.dotprod = (hw & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
#elif defined(__APPLE__)
  f.dotprod = sysctl_int("hw.optional.arm.FEAT_DotProd") == 1;
#elif defined(_WIN32)
  f.dotprod = IsProcessorFeaturePresent(43) != 0;  // PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE
#endif
#endif
  return f;
}

int available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int c = CPU_COUNT(&set);
    if (c > 0) return c;
  }
#elif defined(_WIN32)
  DWORD_PTR process = 0, system = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &process, &system) && process) {
    int c = 0;
    for (DWORD_PTR m = process; m; m &= m - 1) c++;
    // a mask covers one processor group; a process spread over several reports all of them
    const DWORD all = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    if (process == system && all > static_cast<DWORD>(c)) c = static_cast<int>(all);
    if (c > 0) return c;
  }
#elif defined(__APPLE__)
  const long c = sysctl_int("hw.activecpu");
  if (c > 0) return static_cast<int>(c);
#endif
  const unsigned h = std::thread::hardware_concurrency();
  return h > 0 ? static_cast<int>(h) : 1;
}

void* aligned_malloc(size_t align, size_t size) {
  if (size == 0) size = align;
#if defined(_WIN32)
  return _aligned_malloc(size, align);
#else
  void* p = nullptr;
  return posix_memalign(&p, align, size) == 0 ? p : nullptr;
#endif
}

void aligned_free(void* p) {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

void pin_this_library() {
#if defined(_WIN32)
  HMODULE self = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                     reinterpret_cast<LPCWSTR>(&pin_this_library), &self);
#elif defined(__APPLE__)
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&pin_this_library), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

}  // namespace platform
}  // namespace int4
