// avx512 kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference. The code of
// blocks_x86.inc compiled with AVX-512 F/BW/VL/DQ/VNNI (vpdpbusd for the types without sub-block
// scales; the GEMM tile stays 4 x 2: 4 x 4 and 8 x 2 measured slower), plus a 512-bit Q4_K GEMV.
#define INT4_BLOCKS_GEMM_R 4
#define INT4_BLOCKS_GEMM_MX 2
#define INT4_BLOCKS_VNNI 1
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its _mm512_undefined_* helpers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "blocks_x86.inc"

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

}  // namespace
}  // namespace ggml
}  // namespace int4

#if !defined(INT4_BLOCKS_AMX)  // blocks_amx.cpp includes this file and defines its own table
namespace int4 {
namespace ggml {

extern const BlockKernels kBlockKernels_avx512[kTypeCount] = {
    INT4_BLOCK_ROW(DecQ4_0), INT4_BLOCK_ROW(DecQ4_1), INT4_BLOCK_ROW(DecQ5_0), INT4_BLOCK_ROW(DecQ5_1),
    INT4_BLOCK_ROW(DecQ8_0), INT4_BLOCK_ROW(DecQ2_K), INT4_BLOCK_ROW(DecQ3_K), {gemv_q4_K_zmm, gemm<DecQ4_K>},
    INT4_BLOCK_ROW(DecQ5_K), INT4_BLOCK_ROW(DecQ6_K), INT4_BLOCK_ROW(DecQ8_K), INT4_BLOCK_ROW(DecIQ4_NL),
    INT4_BLOCK_ROW(DecIQ4_XS),
};

}  // namespace ggml
}  // namespace int4
#endif
