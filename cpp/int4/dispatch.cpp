#include "dispatch.h"

#include <cstdlib>

namespace int4 {

namespace {
const KernelTable* g_active = nullptr;

const KernelTable* by_name(const std::string& name) {
  if (name == "scalar") return &kGenericKernels;
  return nullptr;
}
}  // namespace

std::string available_kernels() { return "scalar"; }

std::string select_kernels(const std::string& name) {
  const KernelTable* k = by_name(name);
  if (!k) return "INT4_ISA: expected one of " + available_kernels() + ", got \"" + name + "\"";
  g_active = k;
  return "";
}

const KernelTable& active_kernels() {
  if (!g_active) g_active = &kGenericKernels;
  return *g_active;
}

}  // namespace int4
