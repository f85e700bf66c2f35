// NEON kernels for arm64 (ARMv8 baseline: NEON is always there). kernels_neon_dotprod.cpp
// includes this file with INT4_NEON_DOTPROD, compiled with -march=armv8.2-a+dotprod, for CPUs
// whose HWCAP has ASIMDDP: then the int8 dot products use sdot (4 products per i32 lane).
//
// Codes become signed bytes (symmetric: q - 8 in -8..7; asymmetric: q in 0..15), so the int8
// products are exact integers per 32-chunk, as in the scalar reference; the chunk's scale
// dw * dx is applied in float, and asymmetric rows add m * s per chunk.
#include <arm_neon.h>

#include <cstring>

#include "kernels.h"

namespace int4 {
namespace {

// fcvtl (ARMv8 baseline), exact like fp16_to_fp32; a local copy keeps format.h's inline
// functions out of this file's code (the linker may keep any one copy of an inline function for
// every caller; a copy compiled with dotprod flags must not be it).
inline float half_to_float(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

// acc + the 16 products of a (s8) and b (s8), summed into 4 i32 lanes
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(INT4_NEON_DOTPROD)
  return vdotq_s32(acc, a, b);
#else
  // |q x| <= 15 * 127: two products fit an i16
  int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
  p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(b));
  return vpadalq_s16(acc, p);
#endif
}

// ---- quantize x to int8 blocks: bit-identical to quantize_row_q8_generic ----

void quantize_row_q8_neon(const float* x, int64_t K, block_q8* xq) {
  const int64_t nb = (K + QK - 1) / QK;
  float tail[QK];
  for (int64_t b = 0; b < nb; b++) {
    const float* p = x + b * QK;
    if (K - b * QK < QK) {  // partial last block: never read past x, pad with zeros
      std::memset(tail, 0, sizeof tail);
      std::memcpy(tail, p, static_cast<size_t>(K - b * QK) * sizeof(float));
      p = tail;
    }
    float32x4_t v[8];
    for (int i = 0; i < 8; i++) v[i] = vld1q_f32(p + 4 * i);
    // maxnm ignores a NaN operand, as fmax does
    float32x4_t m = vabsq_f32(v[0]);
    for (int i = 1; i < 8; i++) m = vmaxnmq_f32(m, vabsq_f32(v[i]));
    const float amax = vmaxnmvq_f32(m);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int32x4_t sum = vdupq_n_s32(0);
    for (int i = 0; i < 8; i += 2) {
      // vcvtn: round to nearest, ties to even, as nearbyint in the default mode
      const int32x4_t q0 = vcvtnq_s32_f32(vmulq_n_f32(v[i], id));
      const int32x4_t q1 = vcvtnq_s32_f32(vmulq_n_f32(v[i + 1], id));
      sum = vaddq_s32(sum, vaddq_s32(q0, q1));
      const int16x8_t q16 = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
      vst1_s8(xq[b].qs + 4 * i, vqmovn_s16(q16));
    }
    xq[b].d = d;
    xq[b].s = d * static_cast<float>(vaddvq_s32(sum));
  }
}

// ---- dequantize a row: bit-identical to dequantize_row_q4_generic (mul then add, no FMA) ----

// 16 u8 codes -> 4 x 4 floats
inline void codes_to_f32(uint8x16_t q, float32x4_t f[4]) {
  const uint16x8_t a = vmovl_u8(vget_low_u8(q)), b = vmovl_u8(vget_high_u8(q));
  f[0] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(a)));
  f[1] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(a)));
  f[2] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(b)));
  f[3] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(b)));
}

void dequantize_row_q4_neon(const QMatrixView& W, int64_t r, float* out) {
  const uint8_t* rc = W.row_codes(r);
  const uint16_t* sc = W.row_scales(r);
  const uint16_t* of = W.row_offsets(r);
  const int64_t nc = W.chunks_per_row();
  const bool sym = W.scheme == Scheme::Symmetric;
  float tail[QK];
  for (int64_t c = 0; c < nc; c++) {
    const int64_t g = c * QK / W.group_size;
    const float d = half_to_float(sc[g]);
    const float m = sym ? 0.0f : half_to_float(of[g]);
    const uint8x16_t b = vld1q_u8(rc + c * (QK / 2));
    float32x4_t f[8];
    codes_to_f32(vandq_u8(b, vdupq_n_u8(0x0F)), f);
    codes_to_f32(vshrq_n_u8(b, 4), f + 4);
    float* dst = W.cols - c * QK < QK ? tail : out + c * QK;
    for (int i = 0; i < 8; i++) {
      const float32x4_t w = sym ? vmulq_n_f32(vsubq_f32(f[i], vdupq_n_f32(8.0f)), d)
                                : vaddq_f32(vmulq_n_f32(f[i], d), vdupq_n_f32(m));
      vst1q_f32(dst + 4 * i, w);
    }
    if (dst == tail) std::memcpy(out + c * QK, tail, static_cast<size_t>(W.cols - c * QK) * sizeof(float));
  }
}

// ---- f32 activations: each weight dequantized as dequantize_row_q4_neon does, times x ----
// (scaling per-group sums, d (qx - 8 xs), cancels: see dot_q4_f32_generic)

void gemv_q4_f32_neon(const QMatrixView& W, const float* x, int64_t r0, int64_t r1, float* y) {
  const int64_t nc = W.chunks_per_row();
  const bool sym = W.scheme == Scheme::Symmetric;
  float tail[QK] = {};  // the partial last chunk of x, zero-padded: no read past x
  const int64_t full = W.cols / QK;
  if (full < nc) std::memcpy(tail, x + full * QK, static_cast<size_t>(W.cols - full * QK) * sizeof(float));
  for (int64_t r = r0; r < r1; r++) {
    const uint8_t* rc = W.row_codes(r);
    const uint16_t* sc = W.row_scales(r);
    const uint16_t* of = W.row_offsets(r);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    for (int64_t c = 0; c < nc; c++) {
      const int64_t g = c * QK / W.group_size;
      const float d = half_to_float(sc[g]);
      const float m = sym ? 0.0f : half_to_float(of[g]);
      const float* xp = c < full ? x + c * QK : tail;
      const uint8x16_t b = vld1q_u8(rc + c * (QK / 2));
      float32x4_t f[8];
      codes_to_f32(vandq_u8(b, vdupq_n_u8(0x0F)), f);
      codes_to_f32(vshrq_n_u8(b, 4), f + 4);
      for (int i = 0; i < 8; i += 2) {
        const float32x4_t wa = sym ? vmulq_n_f32(vsubq_f32(f[i], vdupq_n_f32(8.0f)), d) : vaddq_f32(vmulq_n_f32(f[i], d), vdupq_n_f32(m));
        const float32x4_t wb = sym ? vmulq_n_f32(vsubq_f32(f[i + 1], vdupq_n_f32(8.0f)), d) : vaddq_f32(vmulq_n_f32(f[i + 1], d), vdupq_n_f32(m));
        acc0 = vfmaq_f32(acc0, wa, vld1q_f32(xp + 4 * i));
        acc1 = vfmaq_f32(acc1, wb, vld1q_f32(xp + 4 * i + 4));
      }
    }
    y[r] = vaddvq_f32(vaddq_f32(acc0, acc1));
  }
}

// ---- int8 activations, R weight rows at a time (x loaded once for all R) ----
// Rows r, r + step, ..., r + (R-1) step: with step > 1, R streams from R places in memory (see
// gemv_q4_q8_neon).

template <int R>
void gemv_q8_rows(const QMatrixView& W, const block_q8* xq, int64_t r, int64_t step, float* y) {
  const int64_t nc = W.chunks_per_row();
  const int64_t cpg = W.group_size / QK;
  const int64_t rb = W.row_code_bytes() * step;
  const int64_t G = W.groups_per_row(), Gs = G * step;
  const uint8_t* rc = W.row_codes(r);
  const uint16_t* sc = W.scales + r * G;
  const uint16_t* of = W.offsets ? W.offsets + r * G : nullptr;
  const bool sym = W.scheme == Scheme::Symmetric;
  const int8x16_t bias = vdupq_n_s8(sym ? 8 : 0);
  float32x4_t acc[R];
  float off[R];
  for (int i = 0; i < R; i++) acc[i] = vdupq_n_f32(0.0f), off[i] = 0.0f;
  for (int64_t c0 = 0, g = 0; c0 < nc; c0 += cpg, g++) {
    const int64_t c1 = c0 + cpg < nc ? c0 + cpg : nc;
    float dw[R];
    for (int i = 0; i < R; i++) dw[i] = half_to_float(sc[i * Gs + g]);
    float S = 0.0f;  // sum of s over the group's chunks (asymmetric offset term)
    for (int64_t c = c0; c < c1; c++) {
      const int8x16_t xa = vld1q_s8(xq[c].qs), xb = vld1q_s8(xq[c].qs + 16);
      const float dx = xq[c].d;
      S += xq[c].s;
      for (int i = 0; i < R; i++) {
        const uint8x16_t b = vld1q_u8(rc + i * rb + c * (QK / 2));
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(0x0F))), bias);
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), bias);
        const int32x4_t p = dot16(dot16(vdupq_n_s32(0), lo, xa), hi, xb);
        acc[i] = vfmaq_n_f32(acc[i], vcvtq_f32_s32(p), dw[i] * dx);
      }
    }
    if (!sym)
      for (int i = 0; i < R; i++) off[i] += half_to_float(of[i * Gs + g]) * S;
  }
  for (int i = 0; i < R; i++) y[r + i * step] = vaddvq_f32(acc[i]) + off[i];
}

// The range as 4 runs of q rows, row j of each run together: 4 streams, as the x86 GEMVs read
// (faster there, see bench/README.md; not measured on an ARM core), then
// the rest.
void gemv_q4_q8_neon(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y) {
  const int64_t q = (r1 - r0) / 4;
  for (int64_t j = 0; j < q; j++) gemv_q8_rows<4>(W, xq, r0 + j, q, y);
  for (int64_t r = r0 + 4 * q; r < r1; r++) gemv_q8_rows<1>(W, xq, r, 1, y);
}

// Blocked GEMM: a block of weight rows (about 16 KiB of codes) stays in L1 while every row of x
// passes over it.
void gemm_q4_q8_neon(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                     int64_t ldy) {
  const int64_t nb = W.chunks_per_row();
  int64_t rows = (16 * 1024) / W.row_code_bytes();
  rows = rows < 4 ? 4 : (rows / 4) * 4;
  for (int64_t b0 = r0; b0 < r1; b0 += rows) {
    const int64_t b1 = b0 + rows < r1 ? b0 + rows : r1;
    for (int64_t m = 0; m < M; m++) gemv_q4_q8_neon(W, xq + m * nb, b0, b1, y + m * ldy);
  }
}

}  // namespace

#if defined(INT4_NEON_DOTPROD)
const KernelTable kNeonDotKernels = {
    "neon+dotprod", quantize_q4_generic, quantize_row_q8_neon, dequantize_row_q4_neon, gemv_q4_f32_neon, gemv_q4_q8_neon, gemm_q4_q8_neon, nullptr, nullptr, ggml::kBlockKernels_neon_dotprod,
};
#else
const KernelTable kNeonKernels = {
    "neon", quantize_q4_generic, quantize_row_q8_neon, dequantize_row_q4_neon, gemv_q4_f32_neon, gemv_q4_q8_neon, gemm_q4_q8_neon, nullptr, nullptr, ggml::kBlockKernels_neon,
};
#endif

}  // namespace int4
