// Runtime choice of kernels: made once, at load, from the CPU's features (platform::detect_cpu:
// cpuid/xgetbv on x86, the OS's feature bits on arm64). INT4_ISA overrides it.
#pragma once
#include <string>

#include "kernels.h"

namespace int4 {

// The kernels in use. Chosen on first call (the best the CPU runs) unless select_kernels ran.
const KernelTable& active_kernels();

// Sets the kernels by ISA name ("scalar", "avx2", "avx512", "neon"). Returns an error message
// (the name is unknown, not in this build, or the CPU cannot run it), or "" on success.
std::string select_kernels(const std::string& name);

// ISA names this build has and this CPU can run, comma-separated, best last.
std::string available_kernels();

// Every kernel table this CPU can run, including the variants an ISA name picks between
// (e.g. "avx2" and "avx2+vnni"): for tests. Returns how many; fills at most `cap`.
int runnable_kernel_tables(const KernelTable** out, int cap);

// The ISA family a table belongs to ("avx2+vnni" -> "avx2").
std::string isa_family(const KernelTable& kt);

}  // namespace int4
