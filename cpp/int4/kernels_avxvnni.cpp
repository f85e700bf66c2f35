// AVX2 kernels with AVX-VNNI dot products (vpdpbusd on ymm, VEX-encoded: Alder Lake and later
// without AVX-512). Compiled with -mavx2 -mfma -mf16c -mavxvnni only. Chosen for INT4_ISA=avx2
// when the CPU has AVX-VNNI.
#define INT4_DPBUSD_AVXVNNI 1
#include "kernels_x86.inc"

namespace int4 {

const KernelTable kAvxVnniKernels = {
    "avx2+vnni", quantize_q4_generic, quantize_row_q8_x86, dequantize_row_q4_x86, gemv_q4_f32_x86, gemv_q4_q8_x86, gemm_q4_q8_x86, nullptr, nullptr, ggml::kBlockKernels_avx2,
};

}  // namespace int4
