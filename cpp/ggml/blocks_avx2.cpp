// avx2 kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference. The kernels are the
// 256-bit ones of blocks_x86.inc (vpmaddubsw + vpmaddwd; also what the avx2+vnni table runs).
#define INT4_BLOCKS_GEMM_R 4
#define INT4_BLOCKS_GEMM_MX 2
#include "blocks_x86.inc"

namespace int4 {
namespace ggml {

extern const BlockKernels kBlockKernels_avx2[kTypeCount] = {
    INT4_BLOCK_ROW(DecQ4_0), INT4_BLOCK_ROW(DecQ4_1), INT4_BLOCK_ROW(DecQ5_0), INT4_BLOCK_ROW(DecQ5_1),
    INT4_BLOCK_ROW(DecQ8_0), INT4_BLOCK_ROW(DecQ2_K), INT4_BLOCK_ROW(DecQ3_K), INT4_BLOCK_ROW(DecQ4_K),
    INT4_BLOCK_ROW(DecQ5_K), INT4_BLOCK_ROW(DecQ6_K), INT4_BLOCK_ROW(DecQ8_K), INT4_BLOCK_ROW(DecIQ4_NL),
    INT4_BLOCK_ROW(DecIQ4_XS),
};

}  // namespace ggml
}  // namespace int4
