// avx512 kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference. The code of
// blocks_x86.inc compiled with AVX-512 F/BW/VL/DQ/VNNI: 32 vector registers (a 4 x 4 GEMM tile
// instead of 4 x 2) and vpdpbusd for the types without sub-block scales.
#define INT4_BLOCKS_GEMM_R 4
#define INT4_BLOCKS_GEMM_MX 4
#define INT4_BLOCKS_VNNI 1
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its _mm512_undefined_* helpers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "blocks_x86.inc"

namespace int4 {
namespace ggml {

extern const BlockKernels kBlockKernels_avx512[kTypeCount] = {
    INT4_BLOCK_ROW(DecQ4_0), INT4_BLOCK_ROW(DecQ4_1), INT4_BLOCK_ROW(DecQ5_0), INT4_BLOCK_ROW(DecQ5_1),
    INT4_BLOCK_ROW(DecQ8_0), INT4_BLOCK_ROW(DecQ2_K), INT4_BLOCK_ROW(DecQ3_K), INT4_BLOCK_ROW(DecQ4_K),
    INT4_BLOCK_ROW(DecQ5_K), INT4_BLOCK_ROW(DecQ6_K), INT4_BLOCK_ROW(DecQ8_K), INT4_BLOCK_ROW(DecIQ4_NL),
    INT4_BLOCK_ROW(DecIQ4_XS),
};

}  // namespace ggml
}  // namespace int4
