// Runtime choice of kernels: made once, at load, from the CPU's features. INT4_ISA overrides it.
#pragma once
#include <string>

#include "kernels.h"

namespace int4 {

// The kernels in use. Chosen on first call; never changes after.
const KernelTable& active_kernels();

// Sets the kernels by name ("scalar", ...). Returns an error message, or "" on success.
std::string select_kernels(const std::string& name);

// Names of the kernel sets this build has and this CPU can run, best last.
std::string available_kernels();

}  // namespace int4
