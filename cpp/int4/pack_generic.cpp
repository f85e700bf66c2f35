// The rows-16 layout (format.h): packing from the public layout and unpacking one block back.
// Plain byte moves: both directions are exact.
#include <cstring>

#include "kernels.h"

namespace int4 {

void pack_q4_rows16(const QMatrixView& W, uint8_t* out) {
  const int64_t nc = W.chunks_per_row(), G = W.groups_per_row(), rb = W.row_code_bytes();
  const int cpg = W.group_size / QK;
  const bool sym = W.scheme == Scheme::Symmetric;
  const uint8_t pad = sym ? 0x88 : 0x00;  // zero weights (and their scale is 0 too)
  for (int64_t b = 0; b < W.pack_blocks(); b++) {
    uint8_t* o = out + b * W.pack_block_bytes();
    for (int64_t g = 0; g < G; g++) {
      uint16_t hdr[2 * kPackRows] = {};
      for (int r = 0; r < kPackRows; r++) {
        const int64_t row = b * kPackRows + r;
        if (row >= W.rows) continue;
        hdr[r] = W.scales[row * G + g];
        if (!sym) hdr[kPackRows + r] = W.offsets[row * G + g];
      }
      std::memcpy(o, hdr, static_cast<size_t>(W.pack_header_bytes()));
      o += W.pack_header_bytes();
      const int64_t c1 = (g + 1) * cpg < nc ? (g + 1) * cpg : nc;
      for (int64_t c = g * cpg; c < c1; c++, o += kPackChunkBytes)
        for (int k = 0; k < 4; k++)
          for (int r = 0; r < kPackRows; r++) {
            const int64_t row = b * kPackRows + r;
            uint8_t* dst = o + 64 * k + 4 * r;
            if (row < W.rows)
              std::memcpy(dst, W.codes + row * rb + c * (QK / 2) + 4 * k, 4);
            else
              std::memset(dst, pad, 4);
          }
    }
  }
}

void unpack_q4_block16(const QMatrixView& P, int64_t b, uint8_t* codes, uint16_t* scales, uint16_t* offsets) {
  const int64_t nc = P.chunks_per_row(), G = P.groups_per_row(), rb = P.row_code_bytes();
  const int cpg = P.group_size / QK;
  const bool sym = P.scheme == Scheme::Symmetric;
  const int n = static_cast<int>(P.rows - b * kPackRows < kPackRows ? P.rows - b * kPackRows : kPackRows);
  const uint8_t* p = P.packed + b * P.pack_block_bytes();
  for (int64_t g = 0; g < G; g++) {
    uint16_t hdr[2 * kPackRows];
    std::memcpy(hdr, p, static_cast<size_t>(P.pack_header_bytes()));
    p += P.pack_header_bytes();
    for (int r = 0; r < n; r++) {
      scales[r * G + g] = hdr[r];
      if (!sym) offsets[r * G + g] = hdr[kPackRows + r];
    }
    const int64_t c1 = (g + 1) * cpg < nc ? (g + 1) * cpg : nc;
    for (int64_t c = g * cpg; c < c1; c++, p += kPackChunkBytes)
      for (int k = 0; k < 4; k++)
        for (int r = 0; r < n; r++) std::memcpy(codes + r * rb + c * (QK / 2) + 4 * k, p + 64 * k + 4 * r, 4);
  }
}

}  // namespace int4
