// neon kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference.
#include "types.h"

namespace int4 {
namespace ggml {

extern const BlockKernels kBlockKernels_neon[kTypeCount] = {};

}  // namespace ggml
}  // namespace int4
