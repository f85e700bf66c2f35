// llama.cpp's K-quant quantizers (Q2_K..Q6_K, Q8_K): 256-weight super-blocks of 16 or 32-weight
// sub-blocks, each sub-block's scale (and min) itself quantized against an fp16 super-scale.
//
// Every type first fits each sub-block in float, then quantizes the sub-block scales, then
// re-rounds every weight against the scale it will really be decoded with (the fp16 super-scale
// times the integer sub-scale): the codes match the stored scales, not the float fit. A sub-block
// whose decoded scale is 0 keeps the fit's codes, as in ggml.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quantize_internal.h"
#include "quantize_ref.h"

namespace int4 {
namespace ggml {

using namespace detail;

namespace {

// 2-bit codes of a super-block: byte l of each 32-byte half holds weights l, l+32, l+64, l+96
// of that half's 128 (lowest bits first).
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

// Q4_K / Q5_K's 6-bit scale and min of sub-block j, packed as get_scale_min_k4 reads them.
void pack_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t* scales) {
  if (j < 4) {
    scales[j] = ls;
    scales[j + 4] = lm;
  } else {
    scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
    scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
    scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
  }
}

// Q3_K's 6-bit scale l (0..63) of sub-block j: low nibbles in bytes 0..7, high 2 bits in 8..11.
void pack_scale_q3_K(int j, int l, uint8_t* scales) {
  if (j < 8) scales[j] = static_cast<uint8_t>(l & 0xF);
  else scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
  scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
}

int unpack_scale_q3_K(int j, const uint8_t* scales) {
  const int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
  return (lo | (((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

// Q2_K: codes L against the stored scales, then the packing.
void finish_q2_K(const float* x, uint8_t* L, block_q2_K& y) {
  const float dall = half_to_float(y.d), mall = half_to_float(y.dmin);
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = dall * static_cast<float>(y.scales[j] & 0xF);
    if (d == 0) continue;
    const float dm = mall * static_cast<float>(y.scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, nearest_int((x[16 * j + ii] + dm) / d))));
  }
  pack_2bit(L, y.qs);
}

// Q3_K: codes in [0, 8) against the stored scales; the high bit of the code goes to hmask (bit b
// of byte m for weight 32*b + m), the low 2 bits to qs.
void finish_q3_K(const float* x, int8_t* L, block_q3_K& y) {
  const float dall = half_to_float(y.d);
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = dall * static_cast<float>(unpack_scale_q3_K(j, y.scales));
    if (d == 0) continue;
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, nearest_int(x[16 * j + ii] / d))) + 4);
  }
  std::memset(y.hmask, 0, sizeof y.hmask);
  for (int j = 0; j < QK_K; ++j) {
    if (L[j] > 3) {
      y.hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
      L[j] -= 4;
    }
  }
  pack_2bit(reinterpret_cast<uint8_t*>(L), y.qs);
}

// Q4_K / Q5_K: codes in [0, nmax] against the stored scales and mins.
void requantize_k4(const float* x, const uint8_t* scales, uint16_t dh, uint16_t mh, int nmax, uint8_t* L) {
  const float dall = half_to_float(dh), mall = half_to_float(mh);
  for (int j = 0; j < QK_K / 32; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, scales, &sc, &m);
    const float d = dall * static_cast<float>(sc);
    if (d == 0) continue;
    const float dm = mall * static_cast<float>(m);
    for (int ii = 0; ii < 32; ++ii)
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int((x[32 * j + ii] + dm) / d))));
  }
}

// Q4_K's 4-bit codes: byte l of each 32-byte chunk holds weights l (low) and l + 32 (high) of its 64.
void pack_q4_K(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 64, qs += 32)
    for (int l = 0; l < 32; ++l) qs[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
}

// Q5_K: Q4_K's layout for the low 4 bits; the fifth bit of weight n + j (n = 64*c, c = 0..3) in
// qh[j], bit 2c for the first 32 of the 64, bit 2c + 1 for the second.
void pack_q5_K(const uint8_t* L, block_q5_K& y) {
  std::memset(y.qh, 0, sizeof y.qh);
  uint8_t* ql = y.qs;
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j], l2 = L[n + j + 32];
      if (l1 > 15) l1 -= 16, y.qh[j] |= m1;
      if (l2 > 15) l2 -= 16, y.qh[j] |= m2;
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
  }
}

// Q6_K: codes in [0, 64) against d * scales[j]; low nibbles in ql, high 2 bits in qh, both in
// 128-weight halves (ql: weights l and l+64 share byte l, l+32 and l+96 byte l+32).
void finish_q6_K(const float* x, int8_t* L, block_q6_K& y) {
  const float dall = half_to_float(y.d);
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = dall * static_cast<float>(y.scales[j]);
    if (d == 0) continue;
    for (int ii = 0; ii < 16; ++ii)
      L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, nearest_int(x[16 * j + ii] / d))) + 32);
  }
  uint8_t* ql = y.ql;
  uint8_t* qh = y.qh;
  for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const int a = L[j + l], b = L[j + l + 32], c = L[j + l + 64], e = L[j + l + 96];
      ql[l] = static_cast<uint8_t>((a & 0xF) | ((c & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((b & 0xF) | ((e & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
    }
  }
}

// Q6_K's super-block from its 16 float sub-scales (the signed one of largest magnitude maps to
// -128), or all zeros when they all vanish. Returns false for the all-zero block.
bool q6_K_scales(const float* scales, block_q6_K& y) {
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    const float a = std::fabs(scales[ib]);
    if (a > max_abs_scale) max_abs_scale = a, max_scale = scales[ib];
  }
  if (max_abs_scale < GROUP_MAX_EPS) {
    std::memset(&y, 0, sizeof y);
    return false;
  }
  const float iscale = -128.f / max_scale;
  y.d = float_to_half(1 / iscale);
  for (int ib = 0; ib < QK_K / 16; ++ib) y.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
  return true;
}

float super_block_sigma2(const float* x, float factor) {
  float sumx2 = 0;
  for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
  return factor * sumx2 / QK_K;
}

// The importance-weighted quantizers, one row (ggml's quantize_row_<type>_impl).

void quantize_row_q2_K_weighted(const float* x, block_q2_K* y, int64_t n_per_row, const float* qw) {
  uint8_t L[QK_K], Laux[16], Ls[QK_K / 16], Lm[QK_K / 16];
  float mins[QK_K / 16], scales[QK_K / 16], sw[QK_K / 16], weight[16];
  for (int64_t i = 0; i < n_per_row / QK_K; i++, x += QK_K) {
    const float sigma2 = super_block_sigma2(x, 1);  // Q2_K alone uses sigma2 = mean x^2, not twice it
    for (int j = 0; j < QK_K / 16; ++j) {
      const float* w = qw + QK_K * i + 16 * j;
      for (int l = 0; l < 16; ++l) weight[l] = w[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
      sw[j] = 0;
      for (int l = 0; l < 16; ++l) sw[j] += weight[l];
      scales[j] = make_qkx3_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
    }
    const float dm = make_qp_quants(QK_K / 16, 15, scales, Ls, sw);
    const float mm = make_qp_quants(QK_K / 16, 15, mins, Lm, sw);
    y[i].d = float_to_half(dm);
    y[i].dmin = float_to_half(mm);
    for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
    finish_q2_K(x, L, y[i]);
  }
}

void quantize_row_q3_K_weighted(const float* x, block_q3_K* y, int64_t n_per_row, const float* qw) {
  int8_t L[QK_K], Ls[QK_K / 16];
  float scales[QK_K / 16], weight[16], sw[QK_K / 16];
  for (int64_t i = 0; i < n_per_row / QK_K; i++, x += QK_K) {
    const float sigma2 = super_block_sigma2(x, 2);
    for (int j = 0; j < QK_K / 16; ++j) {
      const float* w = qw + QK_K * i + 16 * j;
      for (int l = 0; l < 16; ++l) weight[l] = w[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
      float sumw = 0;
      for (int l = 0; l < 16; ++l) sumw += weight[l];
      sw[j] = sumw;
      scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, weight);
    }
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    // the sub-scales are signed: a symmetric 6-bit fit of them, weighted by their sub-block's weight
    const float d_block = make_qx_quants(QK_K / 16, 32, scales, Ls, sw);
    for (int j = 0; j < QK_K / 16; ++j) pack_scale_q3_K(j, Ls[j], y[i].scales);
    y[i].d = float_to_half(d_block);
    finish_q3_K(x, L, y[i]);
  }
}

// Q4_K and Q5_K (nmax 15 or 31) share the weighted fit of scales and mins.
template <typename Block>
void k4_weighted_scales(const float* x, const float* qw, int nmax, uint8_t* L, Block& y) {
  uint8_t Laux[32], Ls[QK_K / 32], Lm[QK_K / 32];
  float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
  const float sigma2 = super_block_sigma2(x, 2);
  const float av_x = std::sqrt(sigma2);
  for (int j = 0; j < QK_K / 32; ++j) {
    if (qw) {
      for (int l = 0; l < 32; ++l) weights[l] = qw[32 * j + l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
    } else {
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    }
    float sumw = 0;
    for (int l = 0; l < 32; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = make_qkx3_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
  }
  const float d_block = make_qp_quants(QK_K / 32, 63, scales, Ls, sw);
  const float m_block = make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
  // (Q5_K clamps the codes to 63, Q4_K does not: they differ only for a code that wrapped below 0)
  const uint8_t cap = nmax == 31 ? 63 : 255;
  for (int j = 0; j < QK_K / 32; ++j) pack_scale_min_k4(j, std::min(cap, Ls[j]), std::min(cap, Lm[j]), y.scales);
  y.d = float_to_half(d_block);
  y.dmin = float_to_half(m_block);
}

void quantize_row_q4_K_weighted(const float* x, block_q4_K* y, int64_t n_per_row, const float* qw) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < n_per_row / QK_K; i++, x += QK_K) {
    k4_weighted_scales(x, qw + QK_K * i, 15, L, y[i]);
    requantize_k4(x, y[i].scales, y[i].d, y[i].dmin, 15, L);
    pack_q4_K(L, y[i].qs);
  }
}

void quantize_row_q5_K_weighted(const float* x, block_q5_K* y, int64_t n_per_row, const float* qw) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < n_per_row / QK_K; i++, x += QK_K) {
    k4_weighted_scales(x, qw + QK_K * i, 31, L, y[i]);
    requantize_k4(x, y[i].scales, y[i].d, y[i].dmin, 31, L);
    pack_q5_K(L, y[i]);
  }
}

void quantize_row_q6_K_weighted(const float* x, block_q6_K* y, int64_t n_per_row, const float* qw) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  for (int64_t i = 0; i < n_per_row / QK_K; i++, x += QK_K) {
    // the importance weights as given (ggml does not scale them by sqrt(sigma2 + x^2) here)
    for (int ib = 0; ib < QK_K / 16; ++ib) scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw + QK_K * i + 16 * ib);
    if (q6_K_scales(scales, y[i])) finish_q6_K(x, L, y[i]);
  }
}

// The reference over all rows at once without weights, the weighted quantizer row by row with them.
template <typename Block>
size_t quantize_rows(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix,
                     void (*ref)(const float*, Block*, int64_t),
                     void (*weighted)(const float*, Block*, int64_t, const float*)) {
  const size_t row_bytes = static_cast<size_t>(n_per_row / QK_K) * sizeof(Block);
  if (!imatrix) {
    ref(src, static_cast<Block*>(dst), nrows * n_per_row);
  } else {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t r = 0; r < nrows; ++r) weighted(src + r * n_per_row, reinterpret_cast<Block*>(out + r * row_bytes), n_per_row, imatrix);
  }
  return static_cast<size_t>(nrows) * row_bytes;
}

}  // namespace

// 16 sub-blocks of 16: 4-bit scale and 4-bit min each, under fp16 d and dmin (their maxima / 15).
void quantize_row_q2_K_ref(const float* x, block_q2_K* y, int64_t k) {
  uint8_t L[QK_K], Laux[16];
  float weights[16], mins[QK_K / 16], scales[QK_K / 16];
  const float q4scale = 15.f;
  for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
    float max_scale = 0, max_min = 0;  // scales are positive once the min is taken out
    for (int j = 0; j < QK_K / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      y[i].d = float_to_half(max_scale / q4scale);
    } else {
      for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] = 0;
      y[i].d = float_to_half(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] |= static_cast<uint8_t>(static_cast<unsigned>(nearest_int(iscale * mins[j])) << 4);
      y[i].dmin = float_to_half(max_min / q4scale);
    } else {
      y[i].dmin = float_to_half(0.f);
    }
    finish_q2_K(x, L, y[i]);
  }
}

// 16 sub-blocks of 16: signed 6-bit scales under an fp16 d; codes in [-4, 4).
void quantize_row_q3_K_ref(const float* x, block_q3_K* y, int64_t k) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
    float max_scale = 0, amax = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
      const float a = std::fabs(scales[j]);
      if (a > amax) amax = a, max_scale = scales[j];
    }
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) {
        // ggml keeps the rounded value in an int8 before clamping
        const int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
        pack_scale_q3_K(j, std::max(-32, std::min(31, static_cast<int>(l))) + 32, y[i].scales);
      }
      y[i].d = float_to_half(1 / iscale);
    } else {
      y[i].d = float_to_half(0.f);
    }
    finish_q3_K(x, L, y[i]);
  }
}

// 8 sub-blocks of 32: 6-bit scale and 6-bit min each, under fp16 d and dmin (their maxima / 63).
// Each sub-block's fit weighs a weight by its size plus the sub-block's rms.
template <typename Block>
static void k4_ref_scales(const float* x, int nmax, float rmin, int nstep, uint8_t* L, Block& y) {
  uint8_t Laux[32];
  float weights[32], mins[QK_K / 32], scales[QK_K / 32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < QK_K / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < QK_K / 32; ++j) {
    // ggml narrows to uint8 before the clamp
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    pack_scale_min_k4(j, ls, lm, y.scales);
  }
  y.d = float_to_half(max_scale / 63.f);
  y.dmin = float_to_half(max_min / 63.f);
}

void quantize_row_q4_K_ref(const float* x, block_q4_K* y, int64_t k) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
    k4_ref_scales(x, 15, -1.f, 20, L, y[i]);
    requantize_k4(x, y[i].scales, y[i].d, y[i].dmin, 15, L);
    pack_q4_K(L, y[i].qs);
  }
}

void quantize_row_q5_K_ref(const float* x, block_q5_K* y, int64_t k) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
    k4_ref_scales(x, 31, -0.5f, 15, L, y[i]);
    requantize_k4(x, y[i].scales, y[i].d, y[i].dmin, 31, L);
    pack_q5_K(L, y[i]);
  }
}

// 16 sub-blocks of 16: int8 scales under an fp16 d; codes in [-32, 32).
void quantize_row_q6_K_ref(const float* x, block_q6_K* y, int64_t k) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
    for (int ib = 0; ib < QK_K / 16; ++ib) scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, nullptr);
    if (q6_K_scales(scales, y[i])) finish_q6_K(x, L, y[i]);
  }
}

// One float scale per 256 (the largest magnitude maps to -127), codes in [-127, 127] and their sums
// per 16. An all-zero block gets zero bsums too (ggml leaves them as they were).
void quantize_row_q8_K_ref(const float* x, block_q8_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
    float max = 0, amax = 0;
    for (int j = 0; j < QK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) amax = ax, max = x[j];
    }
    if (amax == 0) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, sizeof y[i].qs);
      std::memset(y[i].bsums, 0, sizeof y[i].bsums);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < QK_K; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
    for (int j = 0; j < QK_K / 16; ++j) {
      int sum = 0;
      for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

size_t quantize_rows_q2_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q2_K>(src, dst, nrows, n_per_row, imatrix, quantize_row_q2_K_ref, quantize_row_q2_K_weighted);
}
size_t quantize_rows_q3_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q3_K>(src, dst, nrows, n_per_row, imatrix, quantize_row_q3_K_ref, quantize_row_q3_K_weighted);
}
size_t quantize_rows_q4_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q4_K>(src, dst, nrows, n_per_row, imatrix, quantize_row_q4_K_ref, quantize_row_q4_K_weighted);
}
size_t quantize_rows_q5_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q5_K>(src, dst, nrows, n_per_row, imatrix, quantize_row_q5_K_ref, quantize_row_q5_K_weighted);
}
size_t quantize_rows_q6_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q6_K>(src, dst, nrows, n_per_row, imatrix, quantize_row_q6_K_ref, quantize_row_q6_K_weighted);
}
// Q8_K has no weighted variant (llama.cpp quantizes activations to it, not files).
size_t quantize_rows_q8_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
  quantize_row_q8_K_ref(src, static_cast<block_q8_K*>(dst), nrows * n_per_row);
  return static_cast<size_t>(nrows * (n_per_row / QK_K)) * sizeof(block_q8_K);
}

}  // namespace ggml
}  // namespace int4
