// Runtime dispatch. This file is compiled for the baseline ISA (no AVX): it only asks the CPU what
// it has, then hands out tables whose code lives in files compiled with their own flags.
#include "dispatch.h"

#include <cstdlib>
#include <atomic>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace int4 {

namespace {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, avxvnni = false;
  bool avx512 = false;  // F + BW + VL + DQ + VNNI, with the OS saving zmm state
  bool amx = false;     // AMX-TILE + AMX-INT8, the OS saving tile state, and permission granted
  bool neon = false, dotprod = false;
};

#if defined(__x86_64__) || defined(__i386__)
// INT4_AMX=0 turns the AMX GEMM off (to compare, or where tile state is unwelcome).
bool env_says_no(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "0") == 0;
}

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;           // SSE + AVX state
  const bool zmm_os = (xcr0 & 0xE6) == 0xE6;         // + opmask, ZMM_Hi256, Hi16_ZMM
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
  f.avx512 = f.avx2 && zmm_os && avx512f && avx512dq && avx512bw && avx512vl && avx512vnni;
  const bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  const bool tile_os = (xcr0 & (3u << 17)) == (3u << 17);  // XTILECFG + XTILEDATA
  if (f.avx512 && amx_tile && amx_int8 && tile_os && !env_says_no("INT4_AMX")) {
    // Linux hands out the 8 KiB tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM for
    // XFEATURE_XTILEDATA); refused (old kernel, seccomp, ...): the AVX-512 GEMM serves instead.
    constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    f.amx = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }
#elif defined(__aarch64__)
  const unsigned long hw = getauxval(AT_HWCAP);
  f.neon = (hw & (1ul << 1)) != 0;      // HWCAP_ASIMD
  f.dotprod = (hw & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
#endif
  return f;
}

const CpuFeatures& cpu() {
  static const CpuFeatures f = detect();
  return f;
}

// The best table of one ISA family this CPU can run, or nullptr.
const KernelTable* best_of(const std::string& name) {
  const CpuFeatures& f = cpu();
  (void)f;
  if (name == "scalar") return &kGenericKernels;
#if defined(INT4_HAVE_X86_KERNELS)
  if (name == "avx2" && f.avx2) return f.avxvnni ? &kAvxVnniKernels : &kAvx2Kernels;
  if (name == "avx512" && f.avx512) return f.amx ? &kAvx512AmxKernels : &kAvx512Kernels;
#endif
#if defined(INT4_HAVE_NEON_KERNELS)
  if (name == "neon" && f.neon) return f.dotprod ? &kNeonDotKernels : &kNeonKernels;
#endif
  return nullptr;
}

const char* const kFamilies[] = {"scalar", "avx2", "avx512", "neon"};

std::atomic<const KernelTable*> g_active{nullptr};

}  // namespace

std::string available_kernels() {
  std::string s;
  for (const char* name : kFamilies) {
    if (!best_of(name)) continue;
    if (!s.empty()) s += ",";
    s += name;
  }
  return s;
}

std::string select_kernels(const std::string& name) {
  bool known = false;
  for (const char* n : kFamilies) known = known || name == n;
  if (!known) return "INT4_ISA: expected one of scalar, avx2, avx512, neon, got \"" + name + "\"";
  const KernelTable* k = best_of(name);
  if (!k)
    return "INT4_ISA: \"" + name + "\" is not supported by this CPU or build (available: " + available_kernels() + ")";
  g_active.store(k);
  return "";
}

const KernelTable& active_kernels() {
  const KernelTable* k = g_active.load();
  if (k) return *k;
  const KernelTable* best = &kGenericKernels;
  for (const char* name : kFamilies)
    if (const KernelTable* t = best_of(name)) best = t;
  const KernelTable* expected = nullptr;
  g_active.compare_exchange_strong(expected, best);
  return *g_active.load();
}

int runnable_kernel_tables(const KernelTable** out, int cap) {
  const KernelTable* all[8];
  int n = 0;
  all[n++] = &kGenericKernels;
#if defined(INT4_HAVE_X86_KERNELS)
  if (cpu().avx2) all[n++] = &kAvx2Kernels;
  if (cpu().avxvnni) all[n++] = &kAvxVnniKernels;
  if (cpu().avx512) all[n++] = &kAvx512Kernels;
  if (cpu().amx) all[n++] = &kAvx512AmxKernels;
#endif
#if defined(INT4_HAVE_NEON_KERNELS)
  if (cpu().neon) all[n++] = &kNeonKernels;
  if (cpu().neon && cpu().dotprod) all[n++] = &kNeonDotKernels;
#endif
  for (int i = 0; i < n && i < cap; i++) out[i] = all[i];
  return n;
}

std::string isa_family(const KernelTable& kt) {
  const std::string n = kt.name;
  const size_t plus = n.find('+');
  return plus == std::string::npos ? n : n.substr(0, plus);
}

}  // namespace int4
