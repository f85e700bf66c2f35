// Scalar dot products of one row of a llama.cpp block type with int8 activations (block_q8, 32
// values a chunk): the reference the SIMD kernels are tested against. Per 32-value chunk the
// weight codes times the activation codes are summed in integers (exact), each sub-block's
// integer scale applied inside that sum; then the chunk adds
//   d_w * d_x * isum            (d_w: the block's float scale; d_x: the chunk's activation scale)
//   - dmin_w * d_x * imin       (types with mins: imin = sum over sub-blocks of min * sum(x codes))
// in chunk order. The products of d_w and d_x are rounded in f32 like every kernel's.
#include <cstring>

#include "types.h"

namespace int4 {
namespace ggml {

namespace {


// sum(x codes) over [a, a + n) of a chunk
inline int32_t xsum(const block_q8& x, int a, int n) {
  int32_t s = 0;
  for (int i = a; i < a + n; i++) s += x.qs[i];
  return s;
}

// The 32-weight types: code(j) for j < 32 from one block; bias subtracted from every code.
template <typename Code>
int32_t dot32(const block_q8& x, Code code) {
  int32_t acc = 0;
  for (int j = 0; j < 32; j++) acc += code(j) * x.qs[j];
  return acc;
}

inline int nib(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4); }
inline int bit5(uint32_t qh, int j) { return ((qh >> j) & 1) << 4; }

}  // namespace

float vec_dot_q4_0_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK4_0; i++) {
    const auto b = load_block<block_q4_0>(row, i);
    const int32_t acc = dot32(xq[i], [&](int j) { return nib(b.qs, j) - 8; });
    sum += f16(b.d) * xq[i].d * static_cast<float>(acc);
  }
  return sum;
}

float vec_dot_q4_1_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK4_1; i++) {
    const auto b = load_block<block_q4_1>(row, i);
    const int32_t acc = dot32(xq[i], [&](int j) { return nib(b.qs, j); });
    sum += f16(b.d) * xq[i].d * static_cast<float>(acc);
    sum += f16(b.m) * xq[i].s;
  }
  return sum;
}

float vec_dot_q5_0_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK5_0; i++) {
    const auto b = load_block<block_q5_0>(row, i);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const int32_t acc = dot32(xq[i], [&](int j) { return (nib(b.qs, j) | bit5(qh, j)) - 16; });
    sum += f16(b.d) * xq[i].d * static_cast<float>(acc);
  }
  return sum;
}

float vec_dot_q5_1_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK5_1; i++) {
    const auto b = load_block<block_q5_1>(row, i);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const int32_t acc = dot32(xq[i], [&](int j) { return nib(b.qs, j) | bit5(qh, j); });
    sum += f16(b.d) * xq[i].d * static_cast<float>(acc);
    sum += f16(b.m) * xq[i].s;
  }
  return sum;
}

float vec_dot_q8_0_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK8_0; i++) {
    const auto b = load_block<block_q8_0>(row, i);
    const int32_t acc = dot32(xq[i], [&](int j) { return static_cast<int>(b.qs[j]); });
    sum += f16(b.d) * xq[i].d * static_cast<float>(acc);
  }
  return sum;
}

float vec_dot_iq4_nl_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK4_NL; i++) {
    const auto b = load_block<block_iq4_nl>(row, i);
    const int32_t acc = dot32(xq[i], [&](int j) { return static_cast<int>(kvalues_iq4nl[nib(b.qs, j)]); });
    sum += f16(b.d) * xq[i].d * static_cast<float>(acc);
  }
  return sum;
}

// ---- super-blocks of 256: chunk c (0..7) of each block is activation chunk 8 i + c ----

float vec_dot_q2_K_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto b = load_block<block_q2_K>(row, i);
    const float d = f16(b.d), dmin = f16(b.dmin);
    for (int c = 0; c < 8; c++) {
      const block_q8& x = xq[i * 8 + c];
      const uint8_t* q = b.qs + 32 * (c / 4);
      const int shift = 2 * (c % 4);
      int32_t isum = 0, imin = 0;
      for (int half = 0; half < 2; half++) {
        const uint8_t sc = b.scales[2 * c + half];
        int32_t acc = 0;
        for (int l = 16 * half; l < 16 * half + 16; l++) acc += ((q[l] >> shift) & 3) * x.qs[l];
        isum += (sc & 0xF) * acc;
        imin += (sc >> 4) * xsum(x, 16 * half, 16);
      }
      sum += d * x.d * static_cast<float>(isum) - dmin * x.d * static_cast<float>(imin);
    }
  }
  return sum;
}

float vec_dot_q3_K_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto b = load_block<block_q3_K>(row, i);
    const float d = f16(b.d);
    int8_t scales[16];
    q3_k_scales(b.scales, scales);
    for (int c = 0; c < 8; c++) {
      const block_q8& x = xq[i * 8 + c];
      const uint8_t* q = b.qs + 32 * (c / 4);
      const int shift = 2 * (c % 4);
      const uint8_t m = static_cast<uint8_t>(1u << c);
      int32_t isum = 0;
      for (int half = 0; half < 2; half++) {
        int32_t acc = 0;
        for (int l = 16 * half; l < 16 * half + 16; l++)
          acc += (((q[l] >> shift) & 3) - ((b.hmask[l] & m) ? 0 : 4)) * x.qs[l];
        isum += (scales[2 * c + half] - 32) * acc;
      }
      sum += d * x.d * static_cast<float>(isum);
    }
  }
  return sum;
}

namespace {

// Q4_K and Q5_K: chunk c's 6-bit scale and min (get_scale_min_k4), its 32 codes code(b, c, l)
template <typename B, typename Code>
float vec_dot_k4(const void* row, const block_q8* xq, int64_t k, Code code) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto b = load_block<B>(row, i);
    const float d = f16(b.d), dmin = f16(b.dmin);
    for (int c = 0; c < 8; c++) {
      const block_q8& x = xq[i * 8 + c];
      uint8_t sc, m;
      get_scale_min_k4(c, b.scales, &sc, &m);
      int32_t acc = 0;
      for (int l = 0; l < 32; l++) acc += code(b, c, l) * x.qs[l];
      sum += d * x.d * static_cast<float>(sc * acc) - dmin * x.d * static_cast<float>(m * xsum(x, 0, 32));
    }
  }
  return sum;
}

// weight l of chunk c: nibble c % 2 of the 32 bytes of the chunk pair
template <typename B>
int k4_nibble(const B& b, int c, int l) {
  return (b.qs[32 * (c / 2) + l] >> (4 * (c % 2))) & 0xF;
}

}  // namespace

float vec_dot_q4_K_q8(const void* row, const block_q8* xq, int64_t k) {
  return vec_dot_k4<block_q4_K>(row, xq, k, [](const block_q4_K& b, int c, int l) { return k4_nibble(b, c, l); });
}

// the fifth bit of weight l of chunk c: bit c of qh[l]
float vec_dot_q5_K_q8(const void* row, const block_q8* xq, int64_t k) {
  return vec_dot_k4<block_q5_K>(row, xq, k,
                                [](const block_q5_K& b, int c, int l) { return k4_nibble(b, c, l) | (((b.qh[l] >> c) & 1) << 4); });
}

float vec_dot_q6_K_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto b = load_block<block_q6_K>(row, i);
    const float d = f16(b.d);
    for (int c = 0; c < 8; c++) {
      const block_q8& x = xq[i * 8 + c];
      const int half = c / 4, t = c % 4;
      const uint8_t* ql = b.ql + 64 * half + 32 * (t & 1);
      const uint8_t* qh = b.qh + 32 * half;
      const int8_t* sc = b.scales + 8 * half + 2 * t;
      int32_t isum = 0;
      for (int s = 0; s < 2; s++) {
        int32_t acc = 0;
        for (int l = 16 * s; l < 16 * s + 16; l++) {
          const int q = (((ql[l] >> (4 * (t >> 1))) & 0xF) | (((qh[l] >> (2 * t)) & 3) << 4)) - 32;
          acc += q * x.qs[l];
        }
        isum += sc[s] * acc;
      }
      sum += d * x.d * static_cast<float>(isum);
    }
  }
  return sum;
}

float vec_dot_q8_K_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto b = load_block<block_q8_K>(row, i);
    for (int c = 0; c < 8; c++) {
      const block_q8& x = xq[i * 8 + c];
      int32_t acc = 0;
      for (int l = 0; l < 32; l++) acc += b.qs[32 * c + l] * x.qs[l];
      sum += b.d * x.d * static_cast<float>(acc);
    }
  }
  return sum;
}

float vec_dot_iq4_xs_q8(const void* row, const block_q8* xq, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k / QK_K; i++) {
    const auto b = load_block<block_iq4_xs>(row, i);
    const float d = f16(b.d);
    for (int c = 0; c < 8; c++) {
      const block_q8& x = xq[i * 8 + c];
      const int ls = ((b.scales_l[c / 2] >> 4 * (c % 2)) & 0xf) | (((b.scales_h >> 2 * c) & 3) << 4);
      const uint8_t* qs = b.qs + 16 * c;
      const int32_t acc = dot32(x, [&](int j) { return static_cast<int>(kvalues_iq4nl[nib(qs, j)]); });
      sum += d * x.d * static_cast<float>((ls - 32) * acc);
    }
  }
  return sum;
}

void gemv_generic(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t r0,
                  int64_t r1, float* y) {
  for (int64_t r = r0; r < r1; r++) y[r] = t.vec_dot_q8(W + r * row_bytes, xq, K);
}

void gemm_generic(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t M,
                  int64_t r0, int64_t r1, float* y, int64_t ldy) {
  const int64_t nb = K / 32;
  for (int64_t r = r0; r < r1; r++)
    for (int64_t m = 0; m < M; m++) y[m * ldy + r] = t.vec_dot_q8(W + r * row_bytes, xq + m * nb, K);
}

}  // namespace ggml
}  // namespace int4
