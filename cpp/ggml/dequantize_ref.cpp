// Scalar dequantization of llama.cpp's block types: the specification of what their bits mean,
// equal to ggml's dequantize_row_* value for value (same float operations in the same order; the
// project builds with -ffp-contract=off, so no multiply-add is fused). Blocks are copied out with
// memcpy: a caller's bytes need not be aligned for the struct.
#include <cstring>

#include "types.h"

namespace int4 {
namespace ggml {

void dequantize_row_q4_0(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_0; i++) {
    const auto x = load_block<block_q4_0>(blocks, i);
    const float d = f16(x.d);
    for (int j = 0; j < QK4_0 / 2; j++) {
      y[i * QK4_0 + j] = static_cast<float>((x.qs[j] & 0x0F) - 8) * d;
      y[i * QK4_0 + j + QK4_0 / 2] = static_cast<float>((x.qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_1; i++) {
    const auto x = load_block<block_q4_1>(blocks, i);
    const float d = f16(x.d), m = f16(x.m);
    for (int j = 0; j < QK4_1 / 2; j++) {
      y[i * QK4_1 + j] = static_cast<float>(x.qs[j] & 0x0F) * d + m;
      y[i * QK4_1 + j + QK4_1 / 2] = static_cast<float>(x.qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_row_q5_0(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_0; i++) {
    const auto x = load_block<block_q5_0>(blocks, i);
    const float d = f16(x.d);
    uint32_t qh;
    std::memcpy(&qh, x.qh, 4);
    for (int j = 0; j < QK5_0 / 2; j++) {
      const uint8_t xh0 = ((qh >> (j + 0)) << 4) & 0x10;
      const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
      const int32_t x0 = ((x.qs[j] & 0x0F) | xh0) - 16;
      const int32_t x1 = ((x.qs[j] >> 4) | xh1) - 16;
      y[i * QK5_0 + j] = static_cast<float>(x0) * d;
      y[i * QK5_0 + j + QK5_0 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_row_q5_1(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_1; i++) {
    const auto x = load_block<block_q5_1>(blocks, i);
    const float d = f16(x.d), m = f16(x.m);
    uint32_t qh;
    std::memcpy(&qh, x.qh, 4);
    for (int j = 0; j < QK5_1 / 2; j++) {
      const uint8_t xh0 = ((qh >> (j + 0)) << 4) & 0x10;
      const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
      const int x0 = (x.qs[j] & 0x0F) | xh0;
      const int x1 = (x.qs[j] >> 4) | xh1;
      y[i * QK5_1 + j] = static_cast<float>(x0) * d + m;
      y[i * QK5_1 + j + QK5_1 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_row_q8_0(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK8_0; i++) {
    const auto x = load_block<block_q8_0>(blocks, i);
    const float d = f16(x.d);
    for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = static_cast<float>(x.qs[j]) * d;
  }
}

void dequantize_row_q2_K(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_q2_K>(blocks, i);
    const float d = f16(x.d), min = f16(x.dmin);
    const uint8_t* q = x.qs;
    int is = 0;
    for (int n = 0; n < QK_K; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        uint8_t sc = x.scales[is++];
        float dl = d * static_cast<float>(sc & 0xF), ml = min * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>(static_cast<int8_t>((q[l] >> shift) & 3)) - ml;
        sc = x.scales[is++];
        dl = d * static_cast<float>(sc & 0xF), ml = min * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>(static_cast<int8_t>((q[l + 16] >> shift) & 3)) - ml;
        shift += 2;
      }
      q += 32;
    }
  }
}

void dequantize_row_q3_K(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_q3_K>(blocks, i);
    const float d_all = f16(x.d);
    int8_t scales[16];
    q3_k_scales(x.scales, scales);
    const uint8_t* q = x.qs;
    const uint8_t* hm = x.hmask;
    uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < QK_K; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        float dl = d_all * static_cast<float>(scales[is++] - 32);
        for (int l = 0; l < 16; ++l)
          *y++ = dl * static_cast<float>(static_cast<int8_t>((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
        dl = d_all * static_cast<float>(scales[is++] - 32);
        for (int l = 0; l < 16; ++l)
          *y++ = dl * static_cast<float>(static_cast<int8_t>((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
        shift += 2;
        m <<= 1;
      }
      q += 32;
    }
  }
}

void dequantize_row_q4_K(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_q4_K>(blocks, i);
    const float d = f16(x.d), min = f16(x.dmin);
    const uint8_t* q = x.qs;
    int is = 0;
    uint8_t sc, m;
    for (int j = 0; j < QK_K; j += 64) {
      get_scale_min_k4(is + 0, x.scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, x.scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void dequantize_row_q5_K(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_q5_K>(blocks, i);
    const float d = f16(x.d), min = f16(x.dmin);
    const uint8_t* ql = x.qs;
    const uint8_t* qh = x.qh;
    int is = 0;
    uint8_t sc, m, u1 = 1, u2 = 2;
    for (int j = 0; j < QK_K; j += 64) {
      get_scale_min_k4(is + 0, x.scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, x.scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

void dequantize_row_q6_K(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_q6_K>(blocks, i);
    const float d = f16(x.d);
    const uint8_t* ql = x.ql;
    const uint8_t* qh = x.qh;
    const int8_t* sc = x.scales;
    for (int n = 0; n < QK_K; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int8_t q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int8_t q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int8_t q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int8_t q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void dequantize_row_q8_K(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_q8_K>(blocks, i);
    for (int j = 0; j < QK_K; ++j) *y++ = x.d * x.qs[j];
  }
}

void dequantize_row_iq4_nl(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_NL; i++) {
    const auto x = load_block<block_iq4_nl>(blocks, i);
    const float d = f16(x.d);
    for (int j = 0; j < QK4_NL / 2; ++j) {
      y[j] = d * kvalues_iq4nl[x.qs[j] & 0xf];
      y[j + QK4_NL / 2] = d * kvalues_iq4nl[x.qs[j] >> 4];
    }
    y += QK4_NL;
  }
}

void dequantize_row_iq4_xs(const void* blocks, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto x = load_block<block_iq4_xs>(blocks, i);
    const float d = f16(x.d);
    const uint8_t* qs = x.qs;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
      const int ls = ((x.scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((x.scales_h >> 2 * ib) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      for (int j = 0; j < 16; ++j) {
        y[j + 0] = dl * kvalues_iq4nl[qs[j] & 0xf];
        y[j + 16] = dl * kvalues_iq4nl[qs[j] >> 4];
      }
      y += 32;
      qs += 16;
    }
  }
}

}  // namespace ggml
}  // namespace int4
