// Runtime dispatch. This file is compiled for the baseline ISA (no AVX): it only asks the CPU what
// it has (platform.h), then hands out tables whose code lives in files compiled with their own flags.
#include "dispatch.h"

#include <atomic>
#include <string>

#include "ops/ops_table.h"
#include "platform/platform.h"

namespace int4 {

namespace {

using platform::CpuFeatures;

const CpuFeatures& cpu() {
  static const CpuFeatures f = platform::detect_cpu();
  return f;
}

// Every kernel table of this build, with its ISA family, what it needs of the CPU and the table
// of cpp/ops's operators that goes with it, from the least to the most capable: the one list the
// functions below read.
struct Entry {
  const char* family;
  const KernelTable* table;
  bool (*runs)(const CpuFeatures&);
  const OpsTable* ops;
};

const Entry kTables[] = {
    {"scalar", &kGenericKernels, [](const CpuFeatures&) { return true; }, &kGenericOps},
#if defined(INT4_HAVE_X86_KERNELS)
    {"avx2", &kAvx2Kernels, [](const CpuFeatures& f) { return f.avx2; }, &kAvx2Ops},
    {"avx2", &kAvxVnniKernels, [](const CpuFeatures& f) { return f.avx2 && f.avxvnni; }, &kAvx2Ops},
    {"avx512", &kAvx512Kernels, [](const CpuFeatures& f) { return f.avx512; }, &kAvx512Ops},
    {"avx512", &kAvx512AmxKernels, [](const CpuFeatures& f) { return f.avx512 && f.amx; }, &kAvx512Ops},
#endif
#if defined(INT4_HAVE_NEON_KERNELS)
    {"neon", &kNeonKernels, [](const CpuFeatures& f) { return f.neon; }, &kGenericOps},
    {"neon", &kNeonDotKernels, [](const CpuFeatures& f) { return f.neon && f.dotprod; }, &kGenericOps},
#endif
};

// The families INT4_ISA may name, on any build (a family this build lacks is "not supported").
const char* const kFamilies[] = {"scalar", "avx2", "avx512", "neon"};

// The best table of one ISA family this CPU can run (the last that runs), or nullptr.
const KernelTable* best_of(const std::string& family) {
  const KernelTable* best = nullptr;
  for (const Entry& e : kTables)
    if (family == e.family && e.runs(cpu())) best = e.table;
  return best;
}

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
  std::string all;
  for (const char* n : kFamilies) {
    known = known || name == n;
    all += all.empty() ? n : std::string(", ") + n;
  }
  if (!known) return "INT4_ISA: expected one of " + all + ", got \"" + name + "\"";
  const KernelTable* k = best_of(name);
  if (!k)
    return "INT4_ISA: \"" + name + "\" is not supported by this CPU or build (available: " + available_kernels() + ")";
  g_active.store(k);
  return "";
}

const KernelTable& active_kernels() {
  const KernelTable* k = g_active.load();
  if (k) return *k;
  const KernelTable* best = &kGenericKernels;  // the most capable table that runs: the last one
  for (const Entry& e : kTables)
    if (e.runs(cpu())) best = e.table;
  const KernelTable* expected = nullptr;
  g_active.compare_exchange_strong(expected, best);
  return *g_active.load();
}

int runnable_kernel_tables(const KernelTable** out, int cap) {
  int n = 0;
  for (const Entry& e : kTables) {
    if (!e.runs(cpu())) continue;
    if (n < cap) out[n] = e.table;
    n++;
  }
  return n;
}

const OpsTable& active_ops() {
  const KernelTable* k = &active_kernels();
  for (const Entry& e : kTables)
    if (e.table == k) return *e.ops;
  return kGenericOps;
}

std::string isa_family(const KernelTable& kt) {
  const std::string n = kt.name;
  const size_t plus = n.find('+');
  return plus == std::string::npos ? n : n.substr(0, plus);
}

}  // namespace int4
