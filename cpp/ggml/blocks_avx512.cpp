// avx512 kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference. The code of
// blocks_x86.inc compiled with AVX-512 F/BW/VL/DQ/VNNI (vpdpbusd for the types without sub-block
// scales; the GEMM tile stays 4 x 2: 4 x 4 and 8 x 2 measured slower): the GEMVs, and the GEMMs
// of Q2_K, Q3_K, Q8_K and IQ4_XS. Plus a 512-bit Q4_K GEMV, and for Q4_K, Q5_K,
// Q6_K and the 32-weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) a GEMM on 16 weight rows
// decoded once per call (pack16: a lane per W row, 4 code bytes per lane, f32 per-(row, chunk)
// scales and mins), multiplied with vpdpbusd by broadcast x dwords; blocks_amx.cpp runs the same
// decoded rows on AMX tiles.
#define INT4_BLOCKS_GEMM_R 4
#define INT4_BLOCKS_GEMM_MX 2
#define INT4_BLOCKS_VNNI 1
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its _mm512_undefined_* helpers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "blocks_x86.inc"

#include <type_traits>

namespace int4 {
namespace ggml {
namespace {

// Q4_K's GEMV on 512 bits: a chunk pair a step. The 32 code bytes of chunks 2j, 2j+1 are loaded
// into both halves of a zmm and masked with 0x0F / 0xF0: the high half holds 16 times chunk
// 2j+1's codes (still u8), which a factor 1/16 (exact) in its scale undoes. x is packed per call
// as 32 code bytes per chunk, pairs contiguous. Per pair: one vpdpbusd (exact integer sums of 4
// products per lane), one convert, one fma with the pair's sc * dx pattern; the SB's d multiplies
// once, and the mins go through extra16 as in the 256-bit kernels.
constexpr int kPrefetchZmm = 4096;  // measured: 4 KiB ahead of each stream beats 1-2 KiB here

template <int R>
void gemv_q4_K_rows_zmm(const uint8_t* W, int64_t rb, int64_t nu, const int8_t* xs, const XU* xu, int64_t r, int64_t step,
                        float* y) {
  const uint8_t* p[R];
  for (int i = 0; i < R; i++) p[i] = W + (r + i * step) * rb;
  const __m512i nib = _mm512_inserti64x4(_mm512_set1_epi8(0x0F), _mm256_set1_epi8(static_cast<char>(0xF0)), 1);
  __m512i idx[4];
  for (int j = 0; j < 4; j++)
    idx[j] = _mm512_inserti64x4(_mm512_set1_epi32(2 * j), _mm256_set1_epi32(8 + 2 * j + 1), 1);
  __m512 acc[R];
  __m256 ex[R];
  for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps(), ex[i] = _mm256_setzero_ps();
  for (int64_t u = 0; u < nu; u++) {
    const int8_t* x = xs + u * 256;
    const __m256 dx = _mm256_load_ps(xu[u].dx);
    for (int i = 0; i < R; i++) {
      const uint8_t* b = p[i] + u * 144;
      _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchZmm), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchZmm + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchZmm + 128), _MM_HINT_T0);
      Head h;
      h.d = f16_at(b), h.f = -f16_at(b + 2);
      const __m256i sm16 = _mm256_cvtepu8_epi16(k4_scales_mins(b + 4));
      const __m128i mins = _mm256_extracti128_si256(sm16, 1);
      h.mn16 = _mm256_set_m128i(_mm_unpackhi_epi16(mins, mins), _mm_unpacklo_epi16(mins, mins));
      const __m256 scdx = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(sm16))), dx);
      // sc * dx of the 8 chunks in lanes 0-7, and / 16 in lanes 8-15 (for the 0xF0-masked halves)
      const __m512 scx = _mm512_insertf32x8(_mm512_castps256_ps512(scdx), _mm256_mul_ps(scdx, _mm256_set1_ps(1.0f / 16)), 1);
      __m512 sb = _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        const __m512i v = _mm512_and_si512(
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * j))), nib);
        const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v, _mm512_load_si512(x + 64 * j));
        const __m512 s = _mm512_permutexvar_ps(idx[j], scx);
        sb = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), s, sb);
      }
      acc[i] = _mm512_fmadd_ps(sb, _mm512_set1_ps(h.d), acc[i]);
      ex[i] = extra16(h, xu[u], ex[i]);
    }
  }
  for (int i = 0; i < R; i++) y[r + i * step] = _mm512_reduce_add_ps(acc[i]) + hsum8(ex[i]);
}

void gemv_q4_K_zmm(const TypeTraits&, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t r0, int64_t r1,
                   float* y) {
  const int64_t nu = K / 256, nb = K / 32;
  Buf<XU, 64> xu(nu);
  pack_xu(xq, nu, xu.p);
  Buf<__m512i, 128> xs(nb / 2);
  int8_t* x = reinterpret_cast<int8_t*>(xs.p);
  for (int64_t c = 0; c < nb; c++) std::memcpy(x + 32 * c, xq[c].qs, 32);
  const int64_t q = (r1 - r0) / 4;
  for (int64_t j = 0; j < q; j++) gemv_q4_K_rows_zmm<4>(W, row_bytes, nu, x, xu.p, r0 + j, q, y);
  for (int64_t r = r0 + 4 * q; r < r1; r++) gemv_q4_K_rows_zmm<1>(W, row_bytes, nu, x, xu.p, r, 1, y);
}

// ---- 16 weight rows decoded for a row-parallel GEMM (also the AMX GEMMs' B tiles) ----
//
// Per 32-value chunk c: 512 bytes, 8 rows of 64: bytes [64 r + 4 i, 64 r + 4 i + 4) are weights
// 4r..4r+3 of W row i (the dword vpdpbusd multiplies with 4 bytes of x, and tdpb*d's B layout);
// rows past n are zero codes with zero scales.

// 32 bytes at p[i] + off for each of 16 rows -> out[r] (r = 0..7): dword r of row i in lane i
// (a 16 x 8 dword transpose: unpacks per 128-bit lane, then one two-source permute)
INT4_AI void transpose16x8(const uint8_t* const* p, int64_t off, __m512i out[8]) {
  __m512i z[8], t[8], u[8];
  for (int k = 0; k < 8; k++)
    z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(ld256(p[k] + off)), ld256(p[k + 8] + off), 1);
  for (int k = 0; k < 8; k += 2) t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]), t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]);
  for (int k = 0; k < 8; k += 4) {
    u[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]), u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);
    u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]), u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);
  }
  const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (int k = 0; k < 4; k++) {
    out[k] = _mm512_permutex2var_epi64(u[k], lo, u[k + 4]);
    out[k + 4] = _mm512_permutex2var_epi64(u[k], hi, u[k + 4]);
  }
}

// 16 rows of 16 floats (f[i]: row i) -> out[j]: column j (f[0][j], ..., f[15][j])
INT4_AI void transpose16x16_ps(const __m512 f[16], __m512 out[16]) {
  __m512 t[16], u[16], v[16];
  for (int k = 0; k < 16; k += 2) t[k] = _mm512_unpacklo_ps(f[k], f[k + 1]), t[k + 1] = _mm512_unpackhi_ps(f[k], f[k + 1]);
  // u[4k + e], 128-bit lane L: rows 4k..4k+3 of column 4L + e
  for (int k = 0; k < 16; k += 4) {
    const __m512d a = _mm512_castps_pd(t[k]), b = _mm512_castps_pd(t[k + 1]), c = _mm512_castps_pd(t[k + 2]),
                  d = _mm512_castps_pd(t[k + 3]);
    u[k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c)), u[k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d)), u[k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // v[8 h + 2 e + lo/hi]: lanes 0-1 (0x44) or 2-3 (0xEE) of rows 0-3 | rows 4-7 (h = 0), 8-11 | 12-15 (h = 1)
  for (int h = 0; h < 2; h++)
    for (int e = 0; e < 4; e++) {
      v[8 * h + 2 * e] = _mm512_shuffle_f32x4(u[8 * h + e], u[8 * h + 4 + e], 0x44);
      v[8 * h + 2 * e + 1] = _mm512_shuffle_f32x4(u[8 * h + e], u[8 * h + 4 + e], 0xEE);
    }
  for (int e = 0; e < 4; e++) {
    out[e] = _mm512_shuffle_f32x4(v[2 * e], v[8 + 2 * e], 0x88);
    out[4 + e] = _mm512_shuffle_f32x4(v[2 * e], v[8 + 2 * e], 0xDD);
    out[8 + e] = _mm512_shuffle_f32x4(v[2 * e + 1], v[8 + 2 * e + 1], 0x88);
    out[12 + e] = _mm512_shuffle_f32x4(v[2 * e + 1], v[8 + 2 * e + 1], 0xDD);
  }
}

// Unit u of 16 rows (rows past n: a block of zeros, whose scales are zero), and a prefetch into
// L2 of the same unit of the next 16 rows: 16 streams are more than the hardware prefetchers
// follow well, and with few rows of x the decoding would wait on memory.
// (the zero block: at least the biggest unit, 256 weights of Q8_0 = 272 bytes; pack16 and
// gemm_vnni_small assert it for their type)
alignas(64) constexpr uint8_t kZeroUnit[512] = {};
INT4_AI void unit_rows(const uint8_t* W, int64_t rb, int64_t n0, int n, int64_t u, int64_t ub, const uint8_t* p[16]) {
  for (int i = 0; i < 16; i++) p[i] = i < n ? W + (n0 + i) * rb + u * ub : kZeroUnit;
  for (int i = 0; i < n; i++)
    for (int64_t o = 0; o < ub; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p[i] + 16 * rb + o), _MM_HINT_T1);
}

// ---- products of 16 decoded rows with vpdpbusd: a lane per W row, MX rows of x per tile ----
//
// Per chunk and x row: 8 vpdpbusd (the decoded dwords times broadcast x dwords: exact i32 sums),
// then the f32 scaling. Per chunk c, with dw, ow its scale vectors ([row]):
//   Q4_K, Q5_K, Q4_1, Q5_1 (codes 0..15 / 0..31):  y += sum * (dw * dx) + ow * s
//   Q8_0, Q4_0, Q5_0, IQ4_NL (codes q + off, u8):  sum - off * (sum of x codes), y += sum * (dw * dx)
//   Q6_K (codes q, 0..63), per 16-group g: sum_g - 32 * (sum of x codes of g), y += (t0 * dw0 + t1 * dw1) * dx
// so each chunk's sum is the reference's exact integer sum. One unit (up to 8 chunks, c0 = its
// first) at a time, into acc[m]: each (x row, W row) gets the same operations in the same order
// whatever MX, M, the rows or the tiling, and the same as the AMX tiles of blocks_amx.cpp.

INT4_AI __m512i bcast_dword(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// One scale (kMin: and a min) per chunk, nc chunks (B, dw, ow: the unit's). kOff: the codes carry
// an offset; xo: per x row and chunk, offset * (sum of x codes) (i32).
template <int MX, bool kOff, bool kMin>
INT4_AI void vnni_unit_chunks(const block_q8* const* xr, const int32_t* const* xo, int64_t c0, int nc, const int8_t* B, const float* dw,
                              const float* ow, __m512* acc) {
    // (not unrolled: see vnni_unit_chunks)
#pragma GCC unroll 1
  for (int c = 0; c < nc; c++) {
    __m512i b[8];
    for (int r = 0; r < 8; r++) b[r] = _mm512_load_si512(B + c * 512 + r * 64);
    const __m512 w = _mm512_load_ps(dw + c * 16);
    const __m512 o = kMin ? _mm512_load_ps(ow + c * 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int m = 0; m < MX; m++) {
      const block_q8& x = xr[m][c0 + c];
      __m512i s = _mm512_dpbusd_epi32(kOff ? _mm512_set1_epi32(-xo[m][c0 + c]) : _mm512_setzero_si512(), b[0], bcast_dword(x.qs));
#pragma GCC unroll 8
      for (int r = 1; r < 8; r++) s = _mm512_dpbusd_epi32(s, b[r], bcast_dword(x.qs + 4 * r));
      acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(w, _mm512_set1_ps(x.d)), acc[m]);
      if (kMin) acc[m] = _mm512_fmadd_ps(o, _mm512_set1_ps(x.s), acc[m]);
    }
  }
}

// Q6_K; x16: per x row and chunk, 32 * (sum of x codes) of its two 16-groups (i32)
template <int MX>
INT4_AI void vnni_unit_q6_K(const block_q8* const* xr, const int32_t* const* x16, int64_t c0, const int8_t* B, const float* dw,
                            __m512* acc) {
  // (not unrolled: see vnni_unit_chunks)
#pragma GCC unroll 1
  for (int c = 0; c < 8; c++) {
    __m512i b[8];
    for (int r = 0; r < 8; r++) b[r] = _mm512_load_si512(B + c * 512 + r * 64);
    const __m512 w0 = _mm512_load_ps(dw + c * 32), w1 = _mm512_load_ps(dw + c * 32 + 16);
#pragma GCC unroll 8
    for (int m = 0; m < MX; m++) {
      const block_q8& x = xr[m][c0 + c];
      __m512i s0 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(x16[m][2 * (c0 + c)]));
      __m512i s1 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(x16[m][2 * (c0 + c) + 1]));
#pragma GCC unroll 4
      for (int r = 0; r < 4; r++) {
        s0 = _mm512_dpbusd_epi32(s0, b[r], bcast_dword(x.qs + 4 * r));
        s1 = _mm512_dpbusd_epi32(s1, b[4 + r], bcast_dword(x.qs + 16 + 4 * r));
      }
      const __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), w1, _mm512_mul_ps(_mm512_cvtepi32_ps(s0), w0));
      acc[m] = _mm512_fmadd_ps(t, _mm512_set1_ps(x.d), acc[m]);
    }
  }
}

// ---- per type, the decoding of one unit of 16 rows ----
//
// A unit is 8 chunks (256 weights; for the 32-weight types 8 blocks, the last unit of a row
// possibly fewer: K = 896 is 28 chunks). P::unit(p, nc, B, dw, ow): the unit's nc chunks of the 16
// rows (p[i]: row i's unit) -> B (nc x 512 bytes) and the f32 scales of its chunks or 16-groups
// ([chunk or group][row]); kDw / kOw: scale vectors per unit (of 8 chunks). P::mul<MX>: the unit
// times MX rows of x (above). P::x_sums (kXSums > 0): the integers per chunk of x the products
// subtract (the offsets of unsigned codes).

// Q4_K: codes 0..15; dw = d * sc, ow = -dmin * m
struct PackQ4_K {
  static constexpr int kUnitBytes = 144, kDw = 8, kOw = 8, kXSums = 0;
  static INT4_AI void scales(const uint8_t* const* p, float* dw, float* ow) {
    __m512 f[16], t[16];
    for (int i = 0; i < 16; i++) {
      const __m512 sm = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(k4_scales_mins(p[i] + 4)));
      f[i] = _mm512_mul_ps(sm, _mm512_insertf32x8(_mm512_set1_ps(f16_at(p[i])), _mm256_set1_ps(-f16_at(p[i] + 2)), 1));
    }
    transpose16x16_ps(f, t);
    for (int c = 0; c < 8; c++) _mm512_store_ps(dw + 16 * c, t[c]), _mm512_store_ps(ow + 16 * c, t[8 + c]);
  }
  static INT4_AI void unit(const uint8_t* const* p, int, int8_t* B, float* dw, float* ow) {
    scales(p, dw, ow);
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (int j = 0; j < 4; j++) {
      int8_t* b0 = B + 2 * j * 512;
      __m512i d[8];
      transpose16x8(p, 16 + 32 * j, d);
      for (int r = 0; r < 8; r++) {
        _mm512_store_si512(b0 + r * 64, _mm512_and_si512(d[r], low));
        _mm512_store_si512(b0 + 512 + r * 64, _mm512_and_si512(_mm512_srli_epi16(d[r], 4), low));
      }
    }
  }
  template <int MX>
  static INT4_AI void mul(const block_q8* const* xr, const int32_t* const*, int64_t c0, int, const int8_t* B, const float* dw,
                          const float* ow, __m512* acc) {
    vnni_unit_chunks<MX, false, true>(xr, nullptr, c0, 8, B, dw, ow, acc);
  }
};

// Q5_K: codes 0..31 (the Q4_K nibble and bit c of qh for chunk c); dw, ow as Q4_K
struct PackQ5_K : PackQ4_K {
  static constexpr int kUnitBytes = 176;
  static INT4_AI void unit(const uint8_t* const* p, int, int8_t* B, float* dw, float* ow) {
    PackQ4_K::scales(p, dw, ow);
    const __m512i low = _mm512_set1_epi8(0x0F), b4 = _mm512_set1_epi8(0x10);
    __m512i H[8];
    transpose16x8(p, 16, H);
    for (int j = 0; j < 4; j++) {
      int8_t* b0 = B + 2 * j * 512;
      __m512i d[8];
      transpose16x8(p, 48 + 32 * j, d);
      for (int r = 0; r < 8; r++) {
        // bit 2j (2j+1) of each qh byte to bit 4
        const __m512i h0 = _mm512_and_si512(2 * j <= 4 ? _mm512_sll_epi16(H[r], _mm_cvtsi32_si128(4 - 2 * j))
                                                        : _mm512_srl_epi16(H[r], _mm_cvtsi32_si128(2 * j - 4)), b4);
        const __m512i h1 = _mm512_and_si512(2 * j + 1 <= 4 ? _mm512_sll_epi16(H[r], _mm_cvtsi32_si128(3 - 2 * j))
                                                            : _mm512_srl_epi16(H[r], _mm_cvtsi32_si128(2 * j - 3)), b4);
        _mm512_store_si512(b0 + r * 64, _mm512_or_si512(_mm512_and_si512(d[r], low), h0));
        _mm512_store_si512(b0 + 512 + r * 64, _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(d[r], 4), low), h1));
      }
    }
  }
};

// Q6_K: codes q - 32 (kSigned) or q (0..63); dw = d * sc per 16-group
template <bool kSigned>
struct PackQ6_K {
  static constexpr int kUnitBytes = 210, kDw = 16, kOw = 0, kXSums = 2;
  static INT4_AI void unit(const uint8_t* const* p, int, int8_t* B, float* dw, float*) {
    __m512 f[16], t[16];
    for (int i = 0; i < 16; i++)
      f[i] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(ld128(p[i] + 192))), _mm512_set1_ps(f16_at(p[i] + 208)));
    transpose16x16_ps(f, t);
    for (int g = 0; g < 16; g++) _mm512_store_ps(dw + 16 * g, t[g]);
    const __m512i low = _mm512_set1_epi8(0x0F), b45 = _mm512_set1_epi8(0x30), k32 = _mm512_set1_epi8(kSigned ? 32 : 0);
    for (int h = 0; h < 2; h++) {
      int8_t* b0 = B + 4 * h * 512;
      __m512i L0[8], L1[8], QH[8];
      transpose16x8(p, 64 * h, L0);
      transpose16x8(p, 64 * h + 32, L1);
      transpose16x8(p, 128 + 32 * h, QH);
      for (int r = 0; r < 8; r++) {
        const __m512i l0 = L0[r], l1 = L1[r], qh = QH[r];
        const __m512i q0 = _mm512_or_si512(_mm512_and_si512(l0, low), _mm512_and_si512(_mm512_slli_epi16(qh, 4), b45));
        const __m512i q1 = _mm512_or_si512(_mm512_and_si512(l1, low), _mm512_and_si512(_mm512_slli_epi16(qh, 2), b45));
        const __m512i q2 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), low), _mm512_and_si512(qh, b45));
        const __m512i q3 =
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), low), _mm512_and_si512(_mm512_srli_epi16(qh, 2), b45));
        _mm512_store_si512(b0 + r * 64, _mm512_sub_epi8(q0, k32));
        _mm512_store_si512(b0 + 512 + r * 64, _mm512_sub_epi8(q1, k32));
        _mm512_store_si512(b0 + 1024 + r * 64, _mm512_sub_epi8(q2, k32));
        _mm512_store_si512(b0 + 1536 + r * 64, _mm512_sub_epi8(q3, k32));
      }
    }
  }
  template <int MX>
  static INT4_AI void mul(const block_q8* const* xr, const int32_t* const* x16, int64_t c0, int, const int8_t* B, const float* dw,
                          const float*, __m512* acc) {
    vnni_unit_q6_K<MX>(xr, x16, c0, B, dw, acc);
  }
  // 32 * the sums of x codes of each 16-group (the -32 of every weight)
  static void x_sums(const block_q8* xq, int64_t n, int32_t* out) {
    for (int64_t i = 0; i < n; i++) {
      int s0 = 0, s1 = 0;
      for (int l = 0; l < 16; l++) s0 += xq[i].qs[l], s1 += xq[i].qs[16 + l];
      out[2 * i] = 32 * s0, out[2 * i + 1] = 32 * s1;
    }
  }
};

// The 32-weight types: one block per chunk, codes(p, o, D0, D1, q) -> q[r] (r = 0..7): dwords r of
// the 16 rows' blocks at p[i] + o as u8 codes, the signed weight code + kOff (kMin: the unsigned
// code, kOff = 0); the block's d (and kMin's m) in its first dword.

// the dword at p[i] + off of each of the 16 rows (lane i; D0, D1: p[0..7] - p[0], p[8..15] - p[0])
INT4_AI __m512i dword16(const uint8_t* const* p, __m512i D0, __m512i D1, int64_t off) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_i64gather_epi32(D0, p[0] + off, 1)), _mm512_i64gather_epi32(D1, p[0] + off, 1),
                            1);
}
INT4_AI void row_deltas(const uint8_t* const* p, __m512i& D0, __m512i& D1) {
  const __m512i p0 = _mm512_set1_epi64(reinterpret_cast<int64_t>(p[0]));
  D0 = _mm512_sub_epi64(_mm512_loadu_si512(p), p0), D1 = _mm512_sub_epi64(_mm512_loadu_si512(p + 8), p0);
}

// 16 bytes at p[i] + off for each of 16 rows -> out[r] (r = 0..3): dword r of row i in lane i (the
// rows 4 to a zmm, 128-bit lane L of z[k] row k + 4L; then a 4 x 4 transpose per lane)
INT4_AI void transpose16x4(const uint8_t* const* p, int64_t off, __m512i out[4]) {
  __m512i z[4];
  for (int k = 0; k < 4; k++) {
    z[k] = _mm512_castsi128_si512(ld128(p[k] + off));
    z[k] = _mm512_inserti32x4(z[k], ld128(p[k + 4] + off), 1);  // (immediates: no loop over the lanes)
    z[k] = _mm512_inserti32x4(z[k], ld128(p[k + 8] + off), 2);
    z[k] = _mm512_inserti32x4(z[k], ld128(p[k + 12] + off), 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2), out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3), out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Q8_0: q + 128
struct CodesQ8_0 {
  static constexpr int kBytes = 34, kOff = 128;
  static constexpr bool kMin = false;
  static INT4_AI void codes(const uint8_t* const* p, int64_t o, __m512i, __m512i, __m512i q[8]) {
    transpose16x8(p, o + 2, q);
    for (int r = 0; r < 8; r++) q[r] = _mm512_xor_si512(q[r], _mm512_set1_epi8(static_cast<char>(0x80)));
  }
};

// The nibble types (16 bytes at kQs: weight j in the low nibble of byte j, j + 16 in the high):
// Q4_0 (nibble, offset 8), Q4_1 (nibble, min), with a fifth bit per weight in the 32 bits at kQh:
// Q5_0 (offset 16), Q5_1 (min); IQ4_NL (kTable: kvalues_iq4nl[nibble] + 128, offset 128).
template <int kBytes_, int kQs, int kQh, bool kMin_, bool kTable>
struct CodesNib {
  static constexpr int kBytes = kBytes_, kOff = kMin_ ? 0 : kTable ? 128 : kQh >= 0 ? 16 : 8;
  static constexpr bool kMin = kMin_;
  static INT4_AI void codes(const uint8_t* const* p, int64_t o, __m512i D0, __m512i D1, __m512i q[8]) {
    __m512i t[4];
    transpose16x4(p, o + kQs, t);
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (int r = 0; r < 4; r++) q[r] = _mm512_and_si512(t[r], low), q[4 + r] = _mm512_and_si512(_mm512_srli_epi16(t[r], 4), low);
    if constexpr (kQh >= 0) {
      // dword r (weights 4r..4r+3) takes bits 4r..4r+3 of qh, i.e. of its byte r / 2: that byte
      // copied to the dword's 4 bytes (vpshufb, per 128-bit lane: byte 4j + r / 2 for dword j),
      // each byte tested on its own bit
      const __m512i h = dword16(p, D0, D1, o + kQh);
      const __m512i at = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12));
      for (int r = 0; r < 8; r++) {
        const __m512i b = _mm512_shuffle_epi8(h, _mm512_add_epi8(at, _mm512_set1_epi8(static_cast<char>(r / 2))));
        const __mmask64 k = _mm512_test_epi8_mask(b, _mm512_set1_epi32(static_cast<int>(r % 2 ? 0x80402010u : 0x08040201u)));
        q[r] = _mm512_mask_add_epi8(q[r], k, q[r], _mm512_set1_epi8(16));
      }
    }
    if constexpr (kTable) {
      const __m512i tab = _mm512_add_epi8(_mm512_broadcast_i32x4(ld128(kvalues_iq4nl)), _mm512_set1_epi8(static_cast<char>(0x80)));
      for (int r = 0; r < 8; r++) q[r] = _mm512_shuffle_epi8(tab, q[r]);
    }
  }
};

using CodesQ4_0 = CodesNib<18, 2, -1, false, false>;
using CodesQ4_1 = CodesNib<20, 4, -1, true, false>;
using CodesQ5_0 = CodesNib<22, 6, 2, false, false>;
using CodesQ5_1 = CodesNib<24, 8, 4, true, false>;
using CodesIQ4_NL = CodesNib<18, 2, -1, false, true>;

// A 32-weight type's units: dw = d, ow = m (kMin); the codes signed (kSigned: code - kOff, for
// the AMX tiles) or as codes() makes them (vpdpbusd's u8 side)
template <class C, bool kSigned>
struct Pack32 {
  static constexpr int kUnitBytes = 8 * C::kBytes, kDw = 8, kOw = C::kMin ? 8 : 0, kXSums = C::kOff ? 1 : 0;
  static INT4_AI void unit(const uint8_t* const* p, int nc, int8_t* B, float* dw, float* ow) {
    __m512i D0, D1;
    row_deltas(p, D0, D1);
#pragma GCC unroll 1
    for (int c = 0; c < nc; c++) {
      const int64_t o = c * C::kBytes;
      const __m512i h = dword16(p, D0, D1, o);
      _mm512_store_ps(dw + 16 * c, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h)));
      if constexpr (C::kMin) _mm512_store_ps(ow + 16 * c, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(h, 16))));
      __m512i q[8];
      C::codes(p, o, D0, D1, q);
      for (int r = 0; r < 8; r++)
        _mm512_store_si512(B + c * 512 + r * 64, kSigned ? _mm512_sub_epi8(q[r], _mm512_set1_epi8(static_cast<char>(C::kOff))) : q[r]);
    }
  }
  template <int MX>
  static INT4_AI void mul(const block_q8* const* xr, const int32_t* const* xo, int64_t c0, int nc, const int8_t* B, const float* dw,
                          const float* ow, __m512* acc) {
    vnni_unit_chunks<MX, (C::kOff > 0), C::kMin>(xr, xo, c0, nc, B, dw, ow, acc);
  }
  // kOff * the sum of each chunk's x codes
  static void x_sums(const block_q8* xq, int64_t n, int32_t* out) {
    for (int64_t i = 0; i < n; i++) {
      int s = 0;
      for (int l = 0; l < 32; l++) s += xq[i].qs[l];
      out[i] = C::kOff * s;
    }
  }
};

// chunks of unit u of nb
INT4_AI int unit_chunks(int64_t nb, int64_t u) { return nb - 8 * u < 8 ? static_cast<int>(nb - 8 * u) : 8; }

// Rows [n0, n0 + n) of W, all units -> B (nb x 512 bytes), dw, ow (per unit P::kDw, P::kOw
// vectors of 16)
template <class P>
void pack16(const uint8_t* W, int64_t rb, int64_t nb, int64_t n0, int n, int8_t* B, float* dw, float* ow) {
  for (int64_t u = 0; u < (nb + 7) / 8; u++) {
    const uint8_t* p[16];
    unit_rows(W, rb, n0, n, u, P::kUnitBytes, p);
    P::unit(p, unit_chunks(nb, u), B + u * 8 * 512, dw + u * P::kDw * 16, ow + u * P::kOw * 16);
  }
}

// ---- the GEMMs on 16 decoded rows ----

// f(integral_constant<int, mx>) for mx = n (1..8)
template <class F>
INT4_AI void with_mx(int n, F&& f) {
  switch (n) {
    case 1: return f(std::integral_constant<int, 1>());
    case 2: return f(std::integral_constant<int, 2>());
    case 3: return f(std::integral_constant<int, 3>());
    case 4: return f(std::integral_constant<int, 4>());
    case 5: return f(std::integral_constant<int, 5>());
    case 6: return f(std::integral_constant<int, 6>());
    case 7: return f(std::integral_constant<int, 7>());
    default: return f(std::integral_constant<int, 8>());
  }
}

constexpr int kVnniMX = 8;

// Many rows of x (a prompt): each 16 W rows decoded whole, then multiplied by every x row, kVnniMX
// at a time.
template <class P>
void gemm_vnni(const TypeTraits&, const uint8_t* W, int64_t rb, int64_t K, const block_q8* xq, int64_t M, int64_t r0, int64_t r1,
               float* y, int64_t ldy) {
  const int64_t nb = K / 32, nu = (nb + 7) / 8;
  Buf<__m512i, 1> B(nb * 8);
  Buf<__m512, 1> dw(nu * P::kDw), ow(nu * P::kOw);
  static_assert(P::kUnitBytes <= sizeof kZeroUnit, "the zero block covers a unit");
  Buf<int32_t, 1> xs(M * nb * P::kXSums);
  if constexpr (P::kXSums > 0) P::x_sums(xq, M * nb, xs.p);
  int8_t* Bp = reinterpret_cast<int8_t*>(B.p);
  float* dwp = reinterpret_cast<float*>(dw.p);
  float* owp = reinterpret_cast<float*>(ow.p);
  for (int64_t n0 = r0; n0 < r1; n0 += 16) {
    const int n = static_cast<int>(r1 - n0 < 16 ? r1 - n0 : 16);
    pack16<P>(W, rb, nb, n0, n, Bp, dwp, owp);
    for (int64_t m = 0; m < M; m += kVnniMX) {
      with_mx(static_cast<int>(M - m), [&](auto mx) {
        constexpr int MX = decltype(mx)::value;
        const block_q8* xr[MX];
        const int32_t* xsr[MX];
        __m512 acc[MX];
        for (int j = 0; j < MX; j++) xr[j] = xq + (m + j) * nb, xsr[j] = xs.p + (m + j) * nb * P::kXSums, acc[j] = _mm512_setzero_ps();
        for (int64_t u = 0; u < nu; u++)
          P::template mul<MX>(xr, xsr, 8 * u, unit_chunks(nb, u), Bp + u * 8 * 512, dwp + u * P::kDw * 16, owp + u * P::kOw * 16, acc);
        const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
        for (int j = 0; j < MX; j++) _mm512_mask_storeu_ps(y + (m + j) * ldy + n0, cols, acc[j]);
      });
    }
  }
}

// Few rows of x (batched decoding: one row per sequence): memory-bound, so each unit of 16 W
// rows is decoded into L1 and multiplied by every x row at once, while the next rows stream in.
// The same operations as gemm_vnni per output, so the same results.
template <class P>
void gemm_vnni_small(const TypeTraits&, const uint8_t* W, int64_t rb, int64_t K, const block_q8* xq, int64_t M, int64_t r0, int64_t r1,
                     float* y, int64_t ldy) {
  const int64_t nb = K / 32, nu = (nb + 7) / 8;
  alignas(64) int8_t B[8 * 512];
  alignas(64) float dw[16 * P::kDw], ow[16 * (P::kOw > 0 ? P::kOw : 1)];
  static_assert(P::kUnitBytes <= sizeof kZeroUnit, "the zero block covers a unit");
  Buf<int32_t, 4096> xs(M * nb * P::kXSums);  // on the stack for 8 rows of x, K = 5632, 2 sums a chunk (Q6_K)
  if constexpr (P::kXSums > 0) P::x_sums(xq, M * nb, xs.p);
  Buf<__m512, 16> acc(M);
  for (int64_t n0 = r0; n0 < r1; n0 += 16) {
    const int n = static_cast<int>(r1 - n0 < 16 ? r1 - n0 : 16);
    for (int64_t m = 0; m < M; m++) acc.p[m] = _mm512_setzero_ps();
    for (int64_t u = 0; u < nu; u++) {
      const uint8_t* p[16];
      const int nc = unit_chunks(nb, u);
      unit_rows(W, rb, n0, n, u, P::kUnitBytes, p);
      P::unit(p, nc, B, dw, ow);
      for (int64_t m = 0; m < M; m += kVnniMX) {
        with_mx(static_cast<int>(M - m), [&](auto mx) {
          constexpr int MX = decltype(mx)::value;
          const block_q8* xr[MX];
          const int32_t* xsr[MX];
          __m512 a[MX];
          for (int j = 0; j < MX; j++) xr[j] = xq + (m + j) * nb, xsr[j] = xs.p + (m + j) * nb * P::kXSums, a[j] = acc.p[m + j];
          P::template mul<MX>(xr, xsr, 8 * u, nc, B, dw, ow, a);
          for (int j = 0; j < MX; j++) acc.p[m + j] = a[j];
        });
      }
    }
    const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
    for (int64_t m = 0; m < M; m++) _mm512_mask_storeu_ps(y + m * ldy + n0, cols, acc.p[m]);
  }
}

// The VNNI GEMM for this many rows of x
template <class P>
void gemm_vnni_any(const TypeTraits& t, const uint8_t* W, int64_t rb, int64_t K, const block_q8* xq, int64_t M, int64_t r0, int64_t r1,
                   float* y, int64_t ldy) {
  if (M < kTileMinRows) gemm_vnni_small<P>(t, W, rb, K, xq, M, r0, r1, y, ldy);
  else gemm_vnni<P>(t, W, rb, K, xq, M, r0, r1, y, ldy);
}
}  // namespace
}  // namespace ggml
}  // namespace int4

#if !defined(INT4_BLOCKS_AMX)  // blocks_amx.cpp includes this file and defines its own table
namespace int4 {
namespace ggml {

extern const BlockKernels kBlockKernels_avx512[kTypeCount] = {
    {gemv<DecQ4_0>, gemm_vnni_any<Pack32<CodesQ4_0, false>>, nullptr, 2},
    {gemv<DecQ4_1>, gemm_vnni_any<Pack32<CodesQ4_1, false>>, nullptr, 2},
    {gemv<DecQ5_0>, gemm_vnni_any<Pack32<CodesQ5_0, false>>, nullptr, 2},
    {gemv<DecQ5_1>, gemm_vnni_any<Pack32<CodesQ5_1, false>>, nullptr, 2},
    {gemv<DecQ8_0>, gemm_vnni_any<Pack32<CodesQ8_0, false>>, nullptr, 2},
    INT4_BLOCK_ROW(DecQ2_K),
    INT4_BLOCK_ROW(DecQ3_K),
    {gemv_q4_K_zmm, gemm_vnni_any<PackQ4_K>, nullptr, 2},
    {gemv<DecQ5_K>, gemm_vnni_any<PackQ5_K>, nullptr, 2},
    {gemv<DecQ6_K>, gemm_vnni_any<PackQ6_K<false>>, nullptr, 2},
    INT4_BLOCK_ROW(DecQ8_K),
    {gemv<DecIQ4_NL>, gemm_vnni_any<Pack32<CodesIQ4_NL, false>>, nullptr, 2},
    INT4_BLOCK_ROW(DecIQ4_XS),
};

}  // namespace ggml
}  // namespace int4
#endif
