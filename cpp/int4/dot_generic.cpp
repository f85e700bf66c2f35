// Scalar reference: INT4 dot products and matrix-vector products.
#include "kernels.h"

namespace int4 {

// W row r (K,) . x (K,) -> scalar, f32 activations: each weight dequantized exactly as
// dequantize_row_q4 does ((q - 8) d, or q d + m), times x. Summing q x and x per group and
// scaling after, d (qx - 8 xs), would save the multiply but loses digits to cancellation.
float dot_q4_f32_generic(const QMatrixView& W, int64_t r, const float* x) {
  const uint8_t* rc = W.row_codes(r);
  const uint16_t* sc = W.row_scales(r);
  const uint16_t* of = W.row_offsets(r);
  const bool sym = W.scheme == Scheme::Symmetric;
  float sum = 0.0f;
  for (int64_t g = 0, k0 = 0; k0 < W.cols; g++, k0 += W.group_size) {
    const int64_t k1 = k0 + W.group_size < W.cols ? k0 + W.group_size : W.cols;
    const float d = fp16_to_fp32(sc[g]), m = sym ? 0.0f : fp16_to_fp32(of[g]);
    for (int64_t k = k0; k < k1; k++) {
      const int q = chunk_code(rc + (k / QK) * (QK / 2), static_cast<int>(k % QK));
      const float w = sym ? static_cast<float>(q - 8) * d : static_cast<float>(q) * d + m;
      sum += w * x[k];
    }
  }
  return sum;
}

// W row r (K,) . xq (K,) -> scalar, int8 activations. Integer sums per 32-chunk (exact), then
// the chunk's scales: d_w * d_x * sum(q_w * q_x), plus m_w * s_x when asymmetric.
float dot_q4_q8_generic(const QMatrixView& W, int64_t r, const block_q8* xq) {
  const uint8_t* rc = W.row_codes(r);
  const uint16_t* sc = W.row_scales(r);
  const uint16_t* of = W.row_offsets(r);
  const int64_t nc = W.chunks_per_row();
  const int chunks_per_group = W.group_size / QK;
  const int bias = W.scheme == Scheme::Symmetric ? 8 : 0;
  float sum = 0.0f;
  for (int64_t c = 0; c < nc; c++) {
    const uint8_t* chunk = rc + c * (QK / 2);
    int32_t acc = 0;
    for (int i = 0; i < QK / 2; i++) {
      acc += ((chunk[i] & 0x0F) - bias) * xq[c].qs[i];
      acc += ((chunk[i] >> 4) - bias) * xq[c].qs[i + QK / 2];
    }
    const int64_t g = c / chunks_per_group;
    sum += fp16_to_fp32(sc[g]) * xq[c].d * static_cast<float>(acc);
    if (of) sum += fp16_to_fp32(of[g]) * xq[c].s;
  }
  return sum;
}

void gemv_q4_f32_generic(const QMatrixView& W, const float* x, int64_t r0, int64_t r1, float* y) {
  for (int64_t r = r0; r < r1; r++) y[r] = dot_q4_f32_generic(W, r, x);
}

void gemv_q4_q8_generic(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y) {
  for (int64_t r = r0; r < r1; r++) y[r] = dot_q4_q8_generic(W, r, xq);
}

void gemm_q4_q8_generic(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                        int64_t ldy) {
  const int64_t nb = W.chunks_per_row();
  for (int64_t m = 0; m < M; m++) gemv_q4_q8_generic(W, xq + m * nb, r0, r1, y + m * ldy);
}

const KernelTable kGenericKernels = {
    "scalar", quantize_q4_generic,
    quantize_row_q8_generic,
    dequantize_row_q4_generic,
    gemv_q4_f32_generic,
    gemv_q4_q8_generic,
    gemm_q4_q8_generic,
    nullptr,
    nullptr,
    nullptr,
};

ggml::GemvFn block_gemv(const KernelTable& kt, const ggml::TypeTraits& t) {
  return kt.blocks && kt.blocks[t.index].gemv ? kt.blocks[t.index].gemv : ggml::gemv_generic;
}

ggml::GemmFn block_gemm(const KernelTable& kt, const ggml::TypeTraits& t) {
  return kt.blocks && kt.blocks[t.index].gemm ? kt.blocks[t.index].gemm : ggml::gemm_generic;
}

int64_t block_gemm_min_rows(const KernelTable& kt, const ggml::TypeTraits& t) {
  return kt.blocks ? kt.blocks[t.index].gemm_min_rows : kGemmMinRows;
}

}  // namespace int4
