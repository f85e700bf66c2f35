// AVX-512 kernels plus an AMX (Advanced Matrix Extensions, int8 tiles) GEMM for many rows of x.
// Compiled with the AVX-512 flags and -mamx-tile -mamx-int8; this file includes
// kernels_avx512.cpp (everything but the GEMM is the same) and is used only when the CPU has
// AMX-INT8 and the kernel granted this process the tile state (arch_prctl, see dispatch.cpp).
//
// One tdpbssd multiplies a 16 x 32 tile of int8 x (16 rows of x, one 32-chunk) by a 32 x 16
// tile of int8 weights (16 rows of W, the same chunk, signed: q - 8 symmetric, q asymmetric):
// exact i32 sums per (x row, W row, chunk), as in the scalar reference. Each chunk's 16 x 16 sums
// are then scaled in float: acc[m] += sum * dx[m] * dw[n] (+ m[n] * s[m] when asymmetric).
//
// Weights are repacked per 16-row block into the tile layout tdpbssd reads (the "VNNI" layout:
// 8 rows of 64 bytes, row r holding the 4 weights 4r..4r+3 of each of the 16 W rows), once per
// block for all rows of x. Matrices in the rows-16 layout (format.h) already hold those dwords
// in that order: packing a block is then only the nibble split.
#define INT4_WITH_AMX 1
#include "kernels_avx512.cpp"

#include "amx_tiles.h"

#include "platform/platform.h"

namespace int4 {
namespace {

// W rows [n0, n0 + n) (n <= 16) -> per chunk: B tile (512 bytes) and the 16 scales (and
// offsets) as floats; rows past n are zero codes and zero scales.
void pack_w_block(const QMatrixView& W, int64_t n0, int n, int8_t* B, float* dw, float* ow) {
  const int64_t nc = W.chunks_per_row(), rb = W.row_code_bytes(), G = W.groups_per_row();
  const bool sym = W.scheme == Scheme::Symmetric;
  const __mmask16 rows = static_cast<__mmask16>((1u << n) - 1);
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i low = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(sym ? 8 : 0);
  for (int64_t c = 0; c < nc; c++) {
    const uint8_t* base = W.codes + n0 * rb + c * (QK / 2);
    for (int r = 0; r < 4; r++) {
      // dword r (code bytes 4r..4r+3: weights 4r..4r+3 low, 16+4r.. high) of each W row
      const __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rows, index, base + 4 * r, 1);
      const __m512i lo = _mm512_sub_epi8(_mm512_and_si512(d, low), eight);
      const __m512i hi = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(d, 4), low), eight);
      _mm512_store_si512(B + c * 512 + r * 64, lo);
      _mm512_store_si512(B + c * 512 + (r + 4) * 64, hi);
    }
    const int64_t g = c * QK / W.group_size;
    for (int i = 0; i < 16; i++) {
      dw[c * 16 + i] = i < n ? half_to_float(W.scales[(n0 + i) * G + g]) : 0.0f;
      if (!sym) ow[c * 16 + i] = i < n ? half_to_float(W.offsets[(n0 + i) * G + g]) : 0.0f;
    }
  }
}

// The same from a rows-16 block (p: its bytes): the four code vectors of a chunk are already
// the four dwords the gathers above collect; the scales sit in the group headers.
void pack_w_block_rows16(const QMatrixView& W, const uint8_t* p, int8_t* B, float* dw, float* ow) {
  const int64_t nc = W.chunks_per_row(), G = W.groups_per_row(), hdr = W.pack_header_bytes();
  const int cpg = W.group_size / QK;
  const bool sym = W.scheme == Scheme::Symmetric;
  const __m512i low = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(sym ? 8 : 0);
  for (int64_t g = 0; g < G; g++) {
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __m512 o = sym ? _mm512_setzero_ps() : _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
    p += hdr;
    const int64_t c1 = (g + 1) * cpg < nc ? (g + 1) * cpg : nc;
    for (int64_t c = g * cpg; c < c1; c++, p += kPackChunkBytes) {
      for (int r = 0; r < 4; r++) {
        const __m512i v = _mm512_loadu_si512(p + 64 * r);
        _mm512_store_si512(B + c * 512 + r * 64, _mm512_sub_epi8(_mm512_and_si512(v, low), eight));
        _mm512_store_si512(B + c * 512 + (r + 4) * 64, _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), eight));
      }
      _mm512_store_ps(dw + c * 16, d);
      if (!sym) _mm512_store_ps(ow + c * 16, o);
    }
  }
}

// 16 rows of x (block_q8, nb per row, starting at xq) x one packed W block -> y (16 x n).
void amx_tile_16x16(const block_q8* xq, int64_t nb, int mrows, const int8_t* B, const float* dw, const float* ow,
                    bool sym, float* y, int64_t ldy, int n) {
  alignas(64) int32_t C[2][16][16];
  __m512 acc[16];
  for (int m = 0; m < 16; m++) acc[m] = _mm512_setzero_ps();
  const int64_t stride = nb * static_cast<int64_t>(sizeof(block_q8));
  auto epilogue = [&](int64_t c, int slot) {
    const __m512 w = _mm512_load_ps(dw + c * 16);
    for (int m = 0; m < 16; m++) {
      const block_q8& b = xq[m * nb + c];
      const __m512 sum = _mm512_cvtepi32_ps(_mm512_load_si512(C[slot][m]));
      acc[m] = _mm512_fmadd_ps(sum, _mm512_mul_ps(w, _mm512_set1_ps(b.d)), acc[m]);
      if (!sym) acc[m] = _mm512_fmadd_ps(_mm512_load_ps(ow + c * 16), _mm512_set1_ps(b.s), acc[m]);
    }
  };
  // Two chunks per round; rounds alternate between tmm0/1 and tmm2/3, and the next round's tile
  // products are issued before this round's sums are stored and scaled, so they overlap.
  // (Tile register numbers are immediates: hence the macros.)
#define INT4_AMX_ISSUE(C0, C1, c)                 \
  do {                                            \
    _tile_zero(C0);                               \
    _tile_zero(C1);                               \
    _tile_loadd(4, xq[c].qs, stride);             \
    _tile_loadd(6, B + (c) * 512, 64);            \
    _tile_dpbssd(C0, 4, 6);                       \
    _tile_loadd(5, xq[(c) + 1].qs, stride);       \
    _tile_loadd(7, B + ((c) + 1) * 512, 64);      \
    _tile_dpbssd(C1, 5, 7);                       \
  } while (0)
  const int64_t pairs = nb / 2;
  if (pairs > 0) INT4_AMX_ISSUE(0, 1, 0);
  for (int64_t p = 0; p < pairs; p++) {
    const int64_t c = 2 * p;
    if (p % 2 == 0) {
      if (p + 1 < pairs) INT4_AMX_ISSUE(2, 3, c + 2);
      _tile_stored(0, C[0], 64);
      _tile_stored(1, C[1], 64);
    } else {
      if (p + 1 < pairs) INT4_AMX_ISSUE(0, 1, c + 2);
      _tile_stored(2, C[0], 64);
      _tile_stored(3, C[1], 64);
    }
    epilogue(c, 0);
    epilogue(c + 1, 1);
  }
#undef INT4_AMX_ISSUE
  if (nb % 2) {
    const int64_t c = nb - 1;
    _tile_zero(0);
    _tile_loadd(4, xq[c].qs, stride);
    _tile_loadd(6, B + c * 512, 64);
    _tile_dpbssd(0, 4, 6);
    _tile_stored(0, C[0], 64);
    epilogue(c, 0);
  }
  const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
  for (int m = 0; m < mrows; m++) _mm512_mask_storeu_ps(y + m * ldy, cols, acc[m]);
}

constexpr int64_t kAmxMinRows = 16;

// Both layouts: W.packed (rows-16) or the public one. r0 is a multiple of 16 for rows-16.
void gemm_q4_q8_amx_any(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                        int64_t ldy) {
  const int64_t nb = W.chunks_per_row();
  int8_t* B = static_cast<int8_t*>(platform::aligned_malloc(64, static_cast<size_t>(nb) * 512));
  float* dw = static_cast<float*>(platform::aligned_malloc(64, static_cast<size_t>(nb) * 64));
  float* ow = static_cast<float*>(platform::aligned_malloc(64, static_cast<size_t>(nb) * 64));
  // the last rows of x when M is not a multiple of 16: a zero-padded copy (tiles read 16 rows)
  const int64_t mtail = M % 16;
  block_q8* xt = mtail ? static_cast<block_q8*>(std::malloc(static_cast<size_t>(16 * nb) * sizeof(block_q8))) : nullptr;
  if (!B || !dw || !ow || (mtail && !xt)) {
    platform::aligned_free(B), platform::aligned_free(dw), platform::aligned_free(ow), std::free(xt);
    throw std::bad_alloc();
  }
  if (mtail) {
    std::memset(xt, 0, static_cast<size_t>(16 * nb) * sizeof(block_q8));
    std::memcpy(xt, xq + (M - mtail) * nb, static_cast<size_t>(mtail * nb) * sizeof(block_q8));
  }
  amx::load_tile_config(32);  // tmm4, tmm5: 16 x 32 i8 chunks of x; tmm6, tmm7: 8 x 64 of W
  for (int64_t n0 = r0; n0 < r1; n0 += 16) {
    const int n = static_cast<int>(r1 - n0 < 16 ? r1 - n0 : 16);
    if (W.packed)
      pack_w_block_rows16(W, W.packed + (n0 / kPackRows) * W.pack_block_bytes(), B, dw, ow);
    else
      pack_w_block(W, n0, n, B, dw, ow);
    const bool sym = W.scheme == Scheme::Symmetric;
    for (int64_t m0 = 0; m0 + 16 <= M; m0 += 16)
      amx_tile_16x16(xq + m0 * nb, nb, 16, B, dw, ow, sym, y + m0 * ldy + n0, ldy, n);
    if (mtail) amx_tile_16x16(xt, nb, static_cast<int>(mtail), B, dw, ow, sym, y + (M - mtail) * ldy + n0, ldy, n);
  }
  _tile_release();
  platform::aligned_free(B), platform::aligned_free(dw), platform::aligned_free(ow), std::free(xt);
}

void gemm_q4_q8_amx(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                    int64_t ldy) {
  // Small M, or rows too long for 32-bit gather offsets: the AVX-512 GEMM.
  if (M < kAmxMinRows || W.row_code_bytes() * 16 > (int64_t(1) << 30)) return gemm_q4_q8_avx512(W, xq, M, r0, r1, y, ldy);
  gemm_q4_q8_amx_any(W, xq, M, r0, r1, y, ldy);
}

void gemm_q4_q8_rows16_amx(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                           int64_t ldy) {
  if (M < kAmxMinRows) return gemm_q4_q8_rows16_avx512(W, xq, M, r0, r1, y, ldy);
  gemm_q4_q8_amx_any(W, xq, M, r0, r1, y, ldy);
}

}  // namespace

const KernelTable kAvx512AmxKernels = {
    "avx512+amx", quantize_q4_avx512, quantize_row_q8_x86, dequantize_row_q4_x86, gemv_q4_f32_x86, gemv_q4_q8_avx512, gemm_q4_q8_amx, gemv_q4_q8_rows16_avx512,
    gemm_q4_q8_rows16_amx, ggml::kBlockKernels_avx512_amx,
};

}  // namespace int4
