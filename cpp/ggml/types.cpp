// The type table: one row per llama.cpp type int4 multiplies as stored.
#include "types.h"

#include "quantize_ref.h"

#include <cmath>
#include <cstddef>
#include <cstring>

namespace int4 {
namespace ggml {

#define INT4_TYPE_ROW(id, NAME, lower, bs, block, index, h0, h1, f) \
  { id, #NAME, bs, static_cast<int>(sizeof(block)), dequantize_row_##lower, vec_dot_##lower##_q8, quantize_rows_##lower, index, {h0, h1}, f }

const TypeTraits kTypes[kTypeCount] = {
    INT4_TYPE_ROW(2, Q4_0, q4_0, QK4_0, block_q4_0, 0, 0, -1, -1),
    INT4_TYPE_ROW(3, Q4_1, q4_1, QK4_1, block_q4_1, 1, 0, 2, -1),
    INT4_TYPE_ROW(6, Q5_0, q5_0, QK5_0, block_q5_0, 2, 0, -1, -1),
    INT4_TYPE_ROW(7, Q5_1, q5_1, QK5_1, block_q5_1, 3, 0, 2, -1),
    INT4_TYPE_ROW(8, Q8_0, q8_0, QK8_0, block_q8_0, 4, 0, -1, -1),
    INT4_TYPE_ROW(10, Q2_K, q2_K, QK_K, block_q2_K, 5, offsetof(block_q2_K, d), offsetof(block_q2_K, dmin), -1),
    INT4_TYPE_ROW(11, Q3_K, q3_K, QK_K, block_q3_K, 6, offsetof(block_q3_K, d), -1, -1),
    INT4_TYPE_ROW(12, Q4_K, q4_K, QK_K, block_q4_K, 7, 0, 2, -1),
    INT4_TYPE_ROW(13, Q5_K, q5_K, QK_K, block_q5_K, 8, 0, 2, -1),
    INT4_TYPE_ROW(14, Q6_K, q6_K, QK_K, block_q6_K, 9, offsetof(block_q6_K, d), -1, -1),
    INT4_TYPE_ROW(15, Q8_K, q8_K, QK_K, block_q8_K, 10, -1, -1, 0),
    INT4_TYPE_ROW(20, IQ4_NL, iq4_nl, QK4_NL, block_iq4_nl, 11, 0, -1, -1),
    INT4_TYPE_ROW(23, IQ4_XS, iq4_xs, QK_K, block_iq4_xs, 12, 0, -1, -1),
};

#undef INT4_TYPE_ROW

const TypeTraits* find_type_by_name(const char* name) {
  for (const TypeTraits& t : kTypes)
    if (std::strcmp(t.name, name) == 0) return &t;
  return nullptr;
}

int64_t first_nonfinite_block(const TypeTraits& t, const uint8_t* blocks, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; b++) {
    const uint8_t* p = blocks + b * t.block_bytes;
    for (int at : t.half_at) {
      if (at < 0) continue;
      uint16_t h;
      std::memcpy(&h, p + at, 2);
      if ((h & 0x7C00u) == 0x7C00u) return b;  // exponent all ones: inf or NaN
    }
    if (t.float_at >= 0) {
      float f;
      std::memcpy(&f, p + t.float_at, 4);
      if (!std::isfinite(f)) return b;
    }
  }
  return -1;
}

const TypeTraits* find_type(int id) {
  for (const TypeTraits& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

void tile_x(const block_q8* xq, int64_t M, int64_t m0, int64_t m1, const XTiles& t) {
  const int64_t nb = t.nb, end = m1 == M ? t.mt * 16 : m1;
  for (int64_t m = m0; m < end; m++) {
    const int64_t i = m % 16;
    for (int64_t c = 0; c < nb; c++) {
      const int64_t o = (m / 16) * nb + c;
      if (m < M) {
        const block_q8& b = xq[m * nb + c];
        std::memcpy(t.q + o * 512 + i * 32, b.qs, 32);
        t.d[o * 16 + i] = b.d, t.s[o * 16 + i] = b.s;
      } else {
        std::memset(t.q + o * 512 + i * 32, 0, 32);
        t.d[o * 16 + i] = 0.0f, t.s[o * 16 + i] = 0.0f;
      }
    }
  }
}

}  // namespace ggml
}  // namespace int4
