// llama.cpp's tensor block layouts, as GGUF files store them (the public ggml block format).
// Plain structs, each with its size asserted: a GGUF tensor of one of these types is an array of
// its blocks, rows of K weights being K / block_size blocks. Every field is little-endian; fp16
// fields are IEEE binary16 bits. What the bits mean is in dequantize_ref.cpp (the reference).
#pragma once
#include <cstdint>
#include <cstring>

namespace int4 {
namespace ggml {

constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK4_NL = 32;
constexpr int QK_K = 256;       // weights per super-block of the K-quants and IQ4_XS
constexpr int K_SCALE_SIZE = 12;  // bytes of Q4_K/Q5_K's packed 6-bit scales and mins

// 4.5 bits: w = (q - 8) * d
struct block_q4_0 {
  uint16_t d;
  uint8_t qs[QK4_0 / 2];  // byte j: weight j (low nibble), weight j + 16 (high nibble)
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 is 18 bytes");

// 5 bits: w = q * d + m
struct block_q4_1 {
  uint16_t d, m;
  uint8_t qs[QK4_1 / 2];
};
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 is 20 bytes");

// 5.5 bits: w = (q - 16) * d, the fifth bit of weight j in bit j of qh
struct block_q5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[QK5_0 / 2];
};
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 is 22 bytes");

// 6 bits: w = q * d + m
struct block_q5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[QK5_1 / 2];
};
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 is 24 bytes");

// 8.5 bits: w = q * d
struct block_q8_0 {
  uint16_t d;
  int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 is 34 bytes");

// 2.625 bits: 16 sub-blocks of 16, each a 4-bit scale and a 4-bit min (scales[i]: low/high nibble)
// under the fp16 super-scales d and dmin: w = d * sc * q - dmin * m
struct block_q2_K {
  uint8_t scales[QK_K / 16];
  uint8_t qs[QK_K / 4];
  uint16_t d, dmin;
};
static_assert(sizeof(block_q2_K) == 84, "block_q2_K is 84 bytes");

// 3.4375 bits: 2 low bits in qs, the high bit in hmask, 16 6-bit scales packed in 12 bytes:
// w = d * (sc - 32) * (q - 4 * !hbit)
struct block_q3_K {
  uint8_t hmask[QK_K / 8];
  uint8_t qs[QK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(block_q3_K) == 110, "block_q3_K is 110 bytes");

// 4.5 bits: 8 sub-blocks of 32, each a 6-bit scale and a 6-bit min (packed in scales[12]):
// w = d * sc * q - dmin * m
struct block_q4_K {
  uint16_t d, dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q4_K) == 144, "block_q4_K is 144 bytes");

// 5.5 bits: as Q4_K with a fifth bit per weight in qh
struct block_q5_K {
  uint16_t d, dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q5_K) == 176, "block_q5_K is 176 bytes");

// 6.5625 bits: 4 low bits in ql, 2 high bits in qh, 16 sub-blocks of 16 with int8 scales:
// w = d * sc * (q - 32)
struct block_q6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  uint16_t d;
};
static_assert(sizeof(block_q6_K) == 210, "block_q6_K is 210 bytes");

// 9.125 bits (llama.cpp's activation type for the K-quants; also a tensor type): w = q * d
struct block_q8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];  // sums of groups of 16 qs
};
static_assert(sizeof(block_q8_K) == 292, "block_q8_K is 292 bytes");

// 4.5 bits, non-linear: w = d * kvalues_iq4nl[q]
struct block_iq4_nl {
  uint16_t d;
  uint8_t qs[QK4_NL / 2];
};
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl is 18 bytes");

// 4.25 bits: IQ4_NL's codebook under 8 6-bit sub-block scales (low 4 bits in scales_l, high 2
// in scales_h): w = d * (ls - 32) * kvalues_iq4nl[q]
struct block_iq4_xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[QK_K / 64];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs is 136 bytes");

// Block i of an array of B: copied out, so the caller's bytes need not be aligned for the struct.
template <typename B>
B load_block(const void* blocks, int64_t i) {
  B b;
  std::memcpy(&b, static_cast<const uint8_t*>(blocks) + i * static_cast<int64_t>(sizeof(B)), sizeof(B));
  return b;
}

// The IQ4_NL / IQ4_XS codebook.
inline constexpr int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Sub-block j (0..7) of Q4_K / Q5_K's packed scales: its 6-bit scale and min.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q3_K's 16 6-bit scales (unpacked from 12 bytes), as signed values before the -32.
inline void q3_k_scales(const uint8_t packed[12], int8_t out[16]) {
  uint32_t aux[4];
  const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  for (int i = 0; i < 3; i++)
    aux[i] = uint32_t(packed[4 * i]) | uint32_t(packed[4 * i + 1]) << 8 | uint32_t(packed[4 * i + 2]) << 16 |
             uint32_t(packed[4 * i + 3]) << 24;
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  for (int i = 0; i < 16; i++) out[i] = static_cast<int8_t>((aux[i / 4] >> (8 * (i % 4))) & 0xFF);
}

}  // namespace ggml
}  // namespace int4
