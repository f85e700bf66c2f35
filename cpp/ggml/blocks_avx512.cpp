// avx512 kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference. The code of
// blocks_x86.inc compiled with AVX-512 F/BW/VL/DQ/VNNI (vpdpbusd for the types without sub-block
// scales; the GEMM tile stays 4 x 2: 4 x 4 and 8 x 2 measured slower), plus a 512-bit Q4_K GEMV,
// and for Q4_K, Q5_K and Q6_K a GEMM on 16 weight rows decoded once per call (pack16_*: a lane
// per W row, 4 code bytes per lane, f32 per-(row, chunk) scales and mins), multiplied with
// vpdpbusd by broadcast x dwords; blocks_amx.cpp runs the same decoded rows on AMX tiles.
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

// the 16 rows' unit u (rows past n: a block of zeros)
INT4_AI void unit_rows(const uint8_t* W, int64_t rb, int64_t n0, int n, int64_t u, int64_t ub, const uint8_t* zero, const uint8_t* p[16]) {
  for (int i = 0; i < 16; i++) p[i] = i < n ? W + (n0 + i) * rb + u * ub : zero;
}

// Q4_K: codes 0..15; dw = d * sc, ow = -dmin * m (f32, [chunk][row])
void pack16_q4_K(const uint8_t* W, int64_t rb, int64_t nb, int64_t n0, int n, int8_t* B, float* dw, float* ow) {
  const int64_t nu = nb / 8;
  const __m512i low = _mm512_set1_epi8(0x0F);
  alignas(64) static const uint8_t zero[256] = {};
  for (int64_t u = 0; u < nu; u++) {
    for (int i = 0; i < 16; i++) {
      alignas(64) float f[16];
      if (i < n) {
        const uint8_t* p = W + (n0 + i) * rb + u * 144;
        const __m512 sm = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(k4_scales_mins(p + 4)));
        const __m512 dd = _mm512_insertf32x8(_mm512_set1_ps(f16_at(p)), _mm256_set1_ps(-f16_at(p + 2)), 1);
        _mm512_store_ps(f, _mm512_mul_ps(sm, dd));
      } else {
        _mm512_store_ps(f, _mm512_setzero_ps());
      }
      for (int c = 0; c < 8; c++) dw[(8 * u + c) * 16 + i] = f[c], ow[(8 * u + c) * 16 + i] = f[8 + c];
    }
    const uint8_t* p[16];
    unit_rows(W, rb, n0, n, u, 144, zero, p);
    for (int j = 0; j < 4; j++) {
      int8_t* b0 = B + (8 * u + 2 * j) * 512;
      __m512i d[8];
      transpose16x8(p, 16 + 32 * j, d);
      for (int r = 0; r < 8; r++) {
        _mm512_store_si512(b0 + r * 64, _mm512_and_si512(d[r], low));
        _mm512_store_si512(b0 + 512 + r * 64, _mm512_and_si512(_mm512_srli_epi16(d[r], 4), low));
      }
    }
  }
}

// Q5_K: codes 0..31 (the Q4_K nibble and bit c of qh for chunk c); dw, ow as Q4_K
void pack16_q5_K(const uint8_t* W, int64_t rb, int64_t nb, int64_t n0, int n, int8_t* B, float* dw, float* ow) {
  const int64_t nu = nb / 8;
  const __m512i low = _mm512_set1_epi8(0x0F), b4 = _mm512_set1_epi8(0x10);
  alignas(64) static const uint8_t zero[256] = {};
  for (int64_t u = 0; u < nu; u++) {
    for (int i = 0; i < 16; i++) {
      alignas(64) float f[16];
      if (i < n) {
        const uint8_t* p = W + (n0 + i) * rb + u * 176;
        const __m512 sm = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(k4_scales_mins(p + 4)));
        const __m512 dd = _mm512_insertf32x8(_mm512_set1_ps(f16_at(p)), _mm256_set1_ps(-f16_at(p + 2)), 1);
        _mm512_store_ps(f, _mm512_mul_ps(sm, dd));
      } else {
        _mm512_store_ps(f, _mm512_setzero_ps());
      }
      for (int c = 0; c < 8; c++) dw[(8 * u + c) * 16 + i] = f[c], ow[(8 * u + c) * 16 + i] = f[8 + c];
    }
    const uint8_t* p[16];
    unit_rows(W, rb, n0, n, u, 176, zero, p);
    __m512i H[8];
    transpose16x8(p, 16, H);
    for (int j = 0; j < 4; j++) {
      int8_t* b0 = B + (8 * u + 2 * j) * 512;
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
}

// Q6_K: codes q - 32 (kSigned) or q (0..63); dw = d * sc per 16-group ([chunk][group][row])
template <bool kSigned>
void pack16_q6_K(const uint8_t* W, int64_t rb, int64_t nb, int64_t n0, int n, int8_t* B, float* dw) {
  const int64_t nu = nb / 8;
  alignas(64) static const uint8_t zero[256] = {};
  const __m512i low = _mm512_set1_epi8(0x0F), b45 = _mm512_set1_epi8(0x30), k32 = _mm512_set1_epi8(kSigned ? 32 : 0);
  for (int64_t u = 0; u < nu; u++) {
    for (int i = 0; i < 16; i++) {
      alignas(64) float f[16];
      if (i < n) {
        const uint8_t* p = W + (n0 + i) * rb + u * 210;
        const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(ld128(p + 192)));
        _mm512_store_ps(f, _mm512_mul_ps(sc, _mm512_set1_ps(f16_at(p + 208))));
      } else {
        _mm512_store_ps(f, _mm512_setzero_ps());
      }
      for (int g = 0; g < 16; g++) dw[(16 * u + g) * 16 + i] = f[g];
    }
    const uint8_t* p[16];
    unit_rows(W, rb, n0, n, u, 210, zero, p);
    for (int h = 0; h < 2; h++) {
      int8_t* b0 = B + (8 * u + 4 * h) * 512;
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
}

// ---- GEMM on 16 decoded rows with vpdpbusd: a lane per W row, MX rows of x per tile ----
//
// Per chunk and x row: 8 vpdpbusd (the decoded dwords times broadcast x dwords: the exact i32
// sums), then the f32 scaling. Q4_K: y += sum * dw * dx + ow * s. Q6_K (codes q, 0..63): per
// 16-group g, sum_g - 32 * (sum of x codes of g), y += (t0 * dw0 + t1 * dw1) * dx.

INT4_AI __m512i bcast_dword(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int MX>
void vnni_tile_q4_K(const block_q8* const* xr, int64_t nb, const int8_t* B, const float* dw, const float* ow, float* const* yr, int n) {
  __m512 acc[MX];
  for (int m = 0; m < MX; m++) acc[m] = _mm512_setzero_ps();
  for (int64_t c = 0; c < nb; c++) {
    __m512i b[8];
    for (int r = 0; r < 8; r++) b[r] = _mm512_load_si512(B + c * 512 + r * 64);
    const __m512 w = _mm512_load_ps(dw + c * 16), o = _mm512_load_ps(ow + c * 16);
#pragma GCC unroll 8
    for (int m = 0; m < MX; m++) {
      const block_q8& x = xr[m][c];
      __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), b[0], bcast_dword(x.qs));
#pragma GCC unroll 8
      for (int r = 1; r < 8; r++) s = _mm512_dpbusd_epi32(s, b[r], bcast_dword(x.qs + 4 * r));
      acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(w, _mm512_set1_ps(x.d)), acc[m]);
      acc[m] = _mm512_fmadd_ps(o, _mm512_set1_ps(x.s), acc[m]);
    }
  }
  const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
  for (int m = 0; m < MX; m++) _mm512_mask_storeu_ps(yr[m], cols, acc[m]);
}

// x16: per x row and chunk, 32 * (sum of x codes) of its two 16-groups (i32)
template <int MX>
void vnni_tile_q6_K(const block_q8* const* xr, const int32_t* const* x16, int64_t nb, const int8_t* B, const float* dw, float* const* yr,
                    int n) {
  __m512 acc[MX];
  for (int m = 0; m < MX; m++) acc[m] = _mm512_setzero_ps();
  for (int64_t c = 0; c < nb; c++) {
    __m512i b[8];
    for (int r = 0; r < 8; r++) b[r] = _mm512_load_si512(B + c * 512 + r * 64);
    const __m512 w0 = _mm512_load_ps(dw + c * 32), w1 = _mm512_load_ps(dw + c * 32 + 16);
#pragma GCC unroll 8
    for (int m = 0; m < MX; m++) {
      const block_q8& x = xr[m][c];
      __m512i s0 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(x16[m][2 * c]));
      __m512i s1 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(x16[m][2 * c + 1]));
#pragma GCC unroll 4
      for (int r = 0; r < 4; r++) {
        s0 = _mm512_dpbusd_epi32(s0, b[r], bcast_dword(x.qs + 4 * r));
        s1 = _mm512_dpbusd_epi32(s1, b[4 + r], bcast_dword(x.qs + 16 + 4 * r));
      }
      const __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), w1, _mm512_mul_ps(_mm512_cvtepi32_ps(s0), w0));
      acc[m] = _mm512_fmadd_ps(t, _mm512_set1_ps(x.d), acc[m]);
    }
  }
  const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
  for (int m = 0; m < MX; m++) _mm512_mask_storeu_ps(yr[m], cols, acc[m]);
}

constexpr int kVnniMX = 8;

// kT: 0 Q4_K, 1 Q6_K, 2 Q5_K
template <int kT>
void gemm_vnni(const TypeTraits&, const uint8_t* W, int64_t rb, int64_t K, const block_q8* xq, int64_t M, int64_t r0, int64_t r1,
               float* y, int64_t ldy) {
  constexpr bool kQ6 = kT == 1;
  const int64_t nb = K / 32;
  Buf<__m512i, 1> B(nb * 8);
  Buf<__m512, 1> dw(nb * 2), ow(kQ6 ? 0 : nb);
  Buf<int32_t, 1> x16(kQ6 ? M * nb * 2 : 0);
  if (kQ6)
    for (int64_t i = 0; i < M * nb; i++) {
      int s0 = 0, s1 = 0;
      for (int l = 0; l < 16; l++) s0 += xq[i].qs[l], s1 += xq[i].qs[16 + l];
      x16.p[2 * i] = 32 * s0, x16.p[2 * i + 1] = 32 * s1;
    }
  int8_t* Bp = reinterpret_cast<int8_t*>(B.p);
  float* dwp = reinterpret_cast<float*>(dw.p);
  float* owp = reinterpret_cast<float*>(ow.p);
  for (int64_t n0 = r0; n0 < r1; n0 += 16) {
    const int n = static_cast<int>(r1 - n0 < 16 ? r1 - n0 : 16);
    if constexpr (kQ6) pack16_q6_K<false>(W, rb, nb, n0, n, Bp, dwp);
    else if constexpr (kT == 2) pack16_q5_K(W, rb, nb, n0, n, Bp, dwp, owp);
    else pack16_q4_K(W, rb, nb, n0, n, Bp, dwp, owp);
    auto run = [&](auto mx, int64_t m) {
      constexpr int MX = decltype(mx)::value;
      const block_q8* xr[MX];
      const int32_t* xs[MX];
      float* yr[MX];
      for (int j = 0; j < MX; j++) xr[j] = xq + (m + j) * nb, xs[j] = kQ6 ? x16.p + (m + j) * nb * 2 : nullptr, yr[j] = y + (m + j) * ldy + n0;
      if constexpr (kQ6) vnni_tile_q6_K<MX>(xr, xs, nb, Bp, dwp, yr, n);
      else vnni_tile_q4_K<MX>(xr, nb, Bp, dwp, owp, yr, n);
    };
    int64_t m = 0;
    for (; m + kVnniMX <= M; m += kVnniMX) run(std::integral_constant<int, kVnniMX>(), m);
    for (; m < M; m++) run(std::integral_constant<int, 1>(), m);
  }
}

}  // namespace
}  // namespace ggml
}  // namespace int4

#if !defined(INT4_BLOCKS_AMX)  // blocks_amx.cpp includes this file and defines its own table
namespace int4 {
namespace ggml {

extern const BlockKernels kBlockKernels_avx512[kTypeCount] = {
    INT4_BLOCK_ROW(DecQ4_0), INT4_BLOCK_ROW(DecQ4_1), INT4_BLOCK_ROW(DecQ5_0), INT4_BLOCK_ROW(DecQ5_1),
    INT4_BLOCK_ROW(DecQ8_0), INT4_BLOCK_ROW(DecQ2_K), INT4_BLOCK_ROW(DecQ3_K), {gemv_q4_K_zmm, gemm_vnni<0>},
    {gemv<DecQ5_K>, gemm_vnni<2>}, {gemv<DecQ6_K>, gemm_vnni<1>}, INT4_BLOCK_ROW(DecQ8_K), INT4_BLOCK_ROW(DecIQ4_NL),
    INT4_BLOCK_ROW(DecIQ4_XS),
};

}  // namespace ggml
}  // namespace int4
#endif
