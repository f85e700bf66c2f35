// Runtime dispatch. This file is compiled for the baseline ISA (no AVX): it only asks the CPU what
// it has (platform.h), then hands out tables whose code lives in files compiled with their own flags.
#include "dispatch.h"

#include <atomic>
#include <string>

#include "platform/platform.h"

namespace int4 {

namespace {

using platform::CpuFeatures;

const CpuFeatures& cpu() {
  static const CpuFeatures f = platform::detect_cpu();
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
