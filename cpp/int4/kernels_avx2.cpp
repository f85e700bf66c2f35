// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c only). The code is in
// kernels_x86.inc; int8 dot products use vpmaddubsw + vpmaddwd.
#include "kernels_x86.inc"

namespace int4 {

const KernelTable kAvx2Kernels = {
    "avx2", quantize_q4_generic, quantize_row_q8_x86, dequantize_row_q4_x86, gemv_q4_f32_x86, gemv_q4_q8_x86, gemm_q4_q8_x86, nullptr, nullptr, ggml::kBlockKernels_avx2,
};

}  // namespace int4
