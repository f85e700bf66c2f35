// The INT4 storage format, shared by every kernel.
//
// A quantized matrix W has shape [rows, cols] = [N, K]. Each row is split along K into groups of
// `group_size` consecutive weights (32, 64, 128 or 256); the last group of a row may be partial.
//
// Codes are 4-bit, two per byte, stored row by row. Each row's codes are laid out in chunks of
// 32 weights (QK), 16 bytes a chunk, in llama.cpp's Q4_0 nibble order: byte j of a chunk holds
// weight j in its low nibble and weight j + 16 in its high nibble. A row whose length is not a
// multiple of 32 is padded to the next chunk with the code for zero (8, symmetric) or 0
// (asymmetric); the padding is never part of a result. With group_size 32 a chunk is exactly
// one llama.cpp block, which is why Q4_0/Q4_1 convert bit-exactly.
//
//   symmetric:   w = (q - 8) * d          q in 0..15, so q - 8 in -8..7      (llama.cpp Q4_0)
//   asymmetric:  w =  q      * d + m      q in 0..15, m = the group minimum  (llama.cpp Q4_1)
//
// d (scale) and m (offset) are IEEE fp16, one per group, stored [rows, groups_per_row].
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace int4 {

namespace ggml {
struct TypeTraits;
}

constexpr int QK = 32;  // weights per code chunk (one llama.cpp block)

enum class Scheme : int { Symmetric = 0, Asymmetric = 1 };

// llama.cpp's block layouts, for bit-exact conversion.
struct block_q4_0 {
  uint16_t d;          // fp16 scale
  uint8_t qs[QK / 2];  // nibbles
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must match ggml (18 bytes)");

struct block_q4_1 {
  uint16_t d;          // fp16 scale
  uint16_t m;          // fp16 minimum
  uint8_t qs[QK / 2];  // nibbles
};
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 must match ggml (20 bytes)");

// llama.cpp's Q8_0 block (GGUF tensors of that type).
struct block_q8_0 {
  uint16_t d;
  int8_t qs[QK];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must match ggml (34 bytes)");

// Activations quantized to int8, 32 per block. Unlike Q8_0 the scale stays f32 (activations are
// quantized on the fly, never stored, so there is no reason to lose precision), and `s` = d * sum(qs)
// lets asymmetric weights apply their offset with one multiply per group.
struct block_q8 {
  float d;
  float s;
  int8_t qs[QK];
};
static_assert(sizeof(block_q8) == 40, "block_q8 is 40 bytes");

// ---- the rows-16 layout: how a kernel set may keep its own copy (QMatrix in the addon) ----
//
// Same codes and scales, regrouped so that one 512-bit vector holds 4 code bytes of each of 16
// rows: a dot-product lane per row, and one contiguous run of bytes per block. Rows are taken
// in blocks of 16 (the last block padded with zero-weight rows: code 8 sym / 0 asym, scale 0).
// A block is, for each group g of the row:
//   16 scales (fp16, row r at index r), then 16 offsets when asymmetric     (32 or 64 bytes)
//   for each chunk c of the group (the last group may have fewer): 256 bytes, where bytes
//   [64k + 4r, 64k + 4r + 4) are code bytes 4k..4k+3 of row r's chunk c (k = 0..3): their low
//   nibbles are weights 4k..4k+3, their high nibbles weights 16+4k..16+4k+3.
// The public layout stays the format of the API; this one never leaves the native side.
constexpr int kPackRows = 16;
constexpr int kPackChunkBytes = kPackRows * QK / 2;  // 256

// A read-only view of a quantized matrix in the public layout above.
struct QMatrixView {
  int64_t rows = 0;
  int64_t cols = 0;
  int group_size = QK;
  Scheme scheme = Scheme::Symmetric;
  const uint8_t* codes = nullptr;     // rows * row_code_bytes()
  const uint16_t* scales = nullptr;   // rows * groups_per_row(), fp16
  const uint16_t* offsets = nullptr;  // asymmetric only: rows * groups_per_row(), fp16
  // The rows-16 copy (packed_bytes()), when the matrix is held that way: then codes, scales and
  // offsets are null, and only a kernel set with a rows-16 GEMV (and matmul_q4) can use it.
  const uint8_t* packed = nullptr;
  // Or a llama.cpp block type multiplied as stored (ggml/types.h): its blocks, block_row_bytes a
  // row; then codes, scales, offsets and packed are null and group_size/scheme mean nothing.
  const ggml::TypeTraits* block_type = nullptr;
  const uint8_t* blocks = nullptr;
  int64_t block_row_bytes = 0;

  int64_t chunks_per_row() const { return (cols + QK - 1) / QK; }
  int64_t row_code_bytes() const { return chunks_per_row() * (QK / 2); }
  int64_t groups_per_row() const { return (cols + group_size - 1) / group_size; }
  const uint8_t* row_codes(int64_t r) const { return codes + r * row_code_bytes(); }
  const uint16_t* row_scales(int64_t r) const { return scales + r * groups_per_row(); }
  const uint16_t* row_offsets(int64_t r) const { return offsets ? offsets + r * groups_per_row() : nullptr; }
  // rows-16 layout sizes
  int64_t pack_blocks() const { return (rows + kPackRows - 1) / kPackRows; }
  int64_t pack_header_bytes() const { return scheme == Scheme::Symmetric ? 2 * kPackRows : 4 * kPackRows; }
  int64_t pack_block_bytes() const { return groups_per_row() * pack_header_bytes() + chunks_per_row() * kPackChunkBytes; }
  int64_t packed_bytes() const { return pack_blocks() * pack_block_bytes(); }
};

// Nibble i (0..31) of a 16-byte chunk in Q4_0 order.
inline int chunk_code(const uint8_t* chunk, int i) {
  return i < QK / 2 ? (chunk[i] & 0x0F) : (chunk[i - QK / 2] >> 4);
}

// ---- IEEE binary16 <-> binary32, round to nearest even (what F16C and ggml do) ----

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    // zero or subnormal: man * 2^-24 is exact in f32
    float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (man << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN -> quiet NaN
  if (ax >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7C00u); // >= 65536 (or inf) -> inf
  if (ax <= 0x33000000u) return static_cast<uint16_t>(sign);           // <= 2^-25 rounds to zero
  const uint32_t e = ax >> 23;
  if (e < 113) {
    // result is a binary16 subnormal: count units of 2^-24, rounding half to even
    const uint32_t man = (ax & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t q = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return static_cast<uint16_t>(sign | q);  // q == 0x400 is the smallest normal: still right
  }
  uint32_t h = ((e - 112) << 10) | ((ax >> 13) & 0x3FFu);
  const uint32_t rem = ax & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;  // a carry into the exponent is right, up to inf
  return static_cast<uint16_t>(sign | h);
}

}  // namespace int4
