// llama.cpp's quantizers of the 32-weight block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), and the
// table of every quantizer by type name. The K-quants are in quantize_k_ref.cpp, IQ4_NL and IQ4_XS
// in quantize_iq4_ref.cpp, the scale searches they share in quantize_search.cpp.
#include "quantize_ref.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "quantize_internal.h"

namespace int4 {
namespace ggml {

using namespace detail;

namespace {

// The weight of largest magnitude, with its sign (the first such on ties): the symmetric types map
// it to their most negative code, which has no positive twin.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; j++) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// ggml converts with a C cast of the float (truncation toward zero), through int32 on x86. A value
// out of int32's range (or a nan, which only overflowing inputs make) gives what x86 gives,
// INT32_MIN, instead of undefined behaviour.
inline int trunc_int(float v) { return v > -2147483648.f && v < 2147483648.f ? static_cast<int>(v) : INT32_MIN; }

// 5-bit codes L[0..32): low nibbles in qs (weights j and j + 16 share byte j), fifth bits in qh.
void pack_5bit(const uint8_t* L, uint8_t qs[16], uint8_t qh_bytes[4]) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
    qh |= ((L[j] & 0x10u) >> 4) << j;
    qh |= ((L[j + 16] & 0x10u) >> 4) << (j + 16);
  }
  std::memcpy(qh_bytes, &qh, 4);  // little-endian, as ggml's memcpy of a uint32 on its targets
}

// The importance-weighted quantizers' per-weight weights: the imatrix scaled by the weight's size
// against the row's spread, sqrt(sigma2 + x^2).
float row_sigma2(const float* x, int64_t n) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / static_cast<float>(n);
}

void importance(const float* xb, const float* qw, float sigma2, float* weight) {
  for (int j = 0; j < 32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
}

// ggml's quantize_<type> for these types: the reference over all rows at once without weights,
// the weighted row quantizer row by row with them.
template <typename Block>
size_t quantize_rows(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix,
                     void (*ref)(const float*, Block*, int64_t),
                     void (*weighted)(const float*, Block*, int64_t, const float*)) {
  const size_t row_bytes = static_cast<size_t>(n_per_row / 32) * sizeof(Block);
  if (!imatrix) {
    ref(src, static_cast<Block*>(dst), nrows * n_per_row);
  } else {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t r = 0; r < nrows; ++r) weighted(src + r * n_per_row, reinterpret_cast<Block*>(out + r * row_bytes), n_per_row, imatrix);
  }
  return static_cast<size_t>(nrows) * row_bytes;
}

void quantize_row_q4_0_weighted(const float* x, block_q4_0* y, int64_t n_per_row, const float* qw) {
  float weight[32];
  int8_t L[32];
  const float sigma2 = row_sigma2(x, n_per_row);
  for (int64_t ib = 0; ib < n_per_row / 32; ++ib) {
    const float* xb = x + 32 * ib;
    importance(xb, qw + 32 * ib, sigma2, weight);
    const float d = make_qx_quants(32, 8, xb, L, weight);
    y[ib].d = float_to_half(d);
    for (int j = 0; j < 16; ++j) y[ib].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void quantize_row_q4_1_weighted(const float* x, block_q4_1* y, int64_t n_per_row, const float* qw) {
  float weight[32];
  uint8_t L[32], Laux[32];
  const float sigma2 = row_sigma2(x, n_per_row);
  for (int64_t ib = 0; ib < n_per_row / 32; ++ib) {
    const float* xb = x + 32 * ib;
    importance(xb, qw + 32 * ib, sigma2, weight);
    float min;
    const float d = make_qkx3_quants(32, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y[ib].d = float_to_half(d);
    y[ib].m = float_to_half(-min);
    for (int j = 0; j < 16; ++j) y[ib].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void quantize_row_q5_0_weighted(const float* x, block_q5_0* y, int64_t n_per_row, const float* qw) {
  float weight[32];
  int8_t L[32];
  const float sigma2 = row_sigma2(x, n_per_row);
  for (int64_t ib = 0; ib < n_per_row / 32; ++ib) {
    const float* xb = x + 32 * ib;
    importance(xb, qw + 32 * ib, sigma2, weight);
    const float d = make_qx_quants(32, 16, xb, L, weight);
    y[ib].d = float_to_half(d);
    pack_5bit(reinterpret_cast<const uint8_t*>(L), y[ib].qs, y[ib].qh);
  }
}

void quantize_row_q5_1_weighted(const float* x, block_q5_1* y, int64_t n_per_row, const float* qw) {
  float weight[32];
  uint8_t L[32], Laux[32];
  const float sigma2 = row_sigma2(x, n_per_row);
  for (int64_t ib = 0; ib < n_per_row / 32; ++ib) {
    const float* xb = x + 32 * ib;
    importance(xb, qw + 32 * ib, sigma2, weight);
    float min;
    const float d = make_qkx3_quants(32, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y[ib].d = float_to_half(d);
    y[ib].m = float_to_half(-min);
    pack_5bit(L, y[ib].qs, y[ib].qh);
  }
}

}  // namespace

// q = round(x / d) + 8 with d = max / -8: the largest magnitude lands on code 0 exactly.
void quantize_row_q4_0_ref(const float* x, block_q4_0* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_0; i++, x += QK4_0) {
    const float d = signed_absmax(x, QK4_0) / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    for (int j = 0; j < 16; ++j) {
      // +8.5 then truncation: round half up, on the float (not the fp16) scale
      const int xi0 = std::min(15, static_cast<int>(static_cast<int8_t>(trunc_int(x[j] * id + 8.5f))));
      const int xi1 = std::min(15, static_cast<int>(static_cast<int8_t>(trunc_int(x[j + 16] * id + 8.5f))));
      y[i].qs[j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
    }
  }
}

// q = round((x - min) / d), d = (max - min) / 15
void quantize_row_q4_1_ref(const float* x, block_q4_1* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_1; i++, x += QK4_1) {
    float min = 3.402823466e+38f, max = -3.402823466e+38f;
    for (int j = 0; j < QK4_1; j++) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    y[i].m = float_to_half(min);
    for (int j = 0; j < 16; ++j) {
      const int xi0 = std::min(15, static_cast<int>(static_cast<int8_t>(trunc_int((x[j] - min) * id + 0.5f))));
      const int xi1 = std::min(15, static_cast<int>(static_cast<int8_t>(trunc_int((x[j + 16] - min) * id + 0.5f))));
      y[i].qs[j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
    }
  }
}

void quantize_row_q5_0_ref(const float* x, block_q5_0* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_0; i++, x += QK5_0) {
    const float d = signed_absmax(x, QK5_0) / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    uint8_t L[32];
    for (int j = 0; j < 32; ++j)
      L[j] = static_cast<uint8_t>(std::min(31, static_cast<int>(static_cast<int8_t>(trunc_int(x[j] * id + 16.5f)))));
    pack_5bit(L, y[i].qs, y[i].qh);
  }
}

void quantize_row_q5_1_ref(const float* x, block_q5_1* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_1; i++, x += QK5_1) {
    float min = 3.402823466e+38f, max = -3.402823466e+38f;
    for (int j = 0; j < QK5_1; j++) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 31;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    y[i].m = float_to_half(min);
    uint8_t L[32];
    // no clamp to 31 here (ggml has none): (max - min) * id rounds to at most 31.5
    for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(trunc_int((x[j] - min) * id + 0.5f));
    pack_5bit(L, y[i].qs, y[i].qh);
  }
}

// q = roundf(x / d), d = amax / 127: roundf's ties away from zero, not nearest_int's ties to even
void quantize_row_q8_0_ref(const float* x, block_q8_0* y, int64_t k) {
  for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(trunc_int(std::round(x[j] * id)));
  }
}

size_t quantize_rows_q4_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q4_0>(src, dst, nrows, n_per_row, imatrix, quantize_row_q4_0_ref, quantize_row_q4_0_weighted);
}
size_t quantize_rows_q4_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q4_1>(src, dst, nrows, n_per_row, imatrix, quantize_row_q4_1_ref, quantize_row_q4_1_weighted);
}
size_t quantize_rows_q5_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q5_0>(src, dst, nrows, n_per_row, imatrix, quantize_row_q5_0_ref, quantize_row_q5_0_weighted);
}
size_t quantize_rows_q5_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  return quantize_rows<block_q5_1>(src, dst, nrows, n_per_row, imatrix, quantize_row_q5_1_ref, quantize_row_q5_1_weighted);
}
size_t quantize_rows_q8_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
  quantize_row_q8_0_ref(src, static_cast<block_q8_0*>(dst), nrows * n_per_row);
  return static_cast<size_t>(nrows * (n_per_row / QK8_0)) * sizeof(block_q8_0);
}


}  // namespace ggml
}  // namespace int4
