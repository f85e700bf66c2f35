// AMX-INT8 tile GEMMs for llama.cpp's block types (prompt processing), on top of the avx512 block
// kernels (this file includes blocks_avx512.cpp: the GEMVs, and the GEMM for fewer than 16 rows
// of x, are those). Compiled with the AVX-512 flags and -mamx-tile -mamx-int8; used only through
// the avx512+amx kernel table (kernels_amx.cpp), i.e. when the CPU has AMX-INT8 and the process
// was granted the tile state.
//
// Per block of 16 weight rows, the rows are decoded once (for all rows of x) into tiles in the
// layout tdpb*d reads for B (per 32-value chunk: 8 rows of 64 bytes, row r holding weights
// 4r..4r+3 of each of the 16 W rows, as in kernels_amx.cpp) plus f32 scales per (row, chunk or
// 16-group). Then every 16 rows of x multiply it: one tile product per chunk (or per 16-group)
// gives the exact i32 sums of 16 x rows by 16 W rows, as the scalar reference's, which are then
// scaled in f32:
//   Q4_K: codes 0..15 unsigned (tdpbsud), dw = d * sc, ow = -dmin * m (f32, per row and chunk):
//         y += sum * dw * dx + ow * s           (s = dx * sum of the x codes: block_q8's s)
//   Q6_K: codes q - 32 signed (tdpbssd), 16-groups (tiles of K = 16), dw = d * sc per group:
//         y += (sum0 * dw0 + sum1 * dw1) * dx
//   Q8_0, Q4_0, Q5_0, IQ4_NL: the signed codes (tdpbssd), dw = d: y += sum * dw * dx
//   Q4_1, Q5_1: codes 0..15 / 0..31 (tdpbsud), dw = d, ow = m: as Q4_K
// Each output (x row, W row) goes through the same operations whatever the tile, the row range or
// the thread count: results do not depend on `threads`.
#define INT4_BLOCKS_AMX 1
#include "blocks_avx512.cpp"

#include <immintrin.h>

#include <cstddef>
#include <utility>

#include "../int4/amx_tiles.h"

#define INT4_AI_LAMBDA __attribute__((always_inline))

// tilestored of a C tile (16 x 64 bytes) to C: as _tile_stored, but with the 1 KiB it writes as
// the asm's output instead of a "memory" clobber, which made GCC keep the 16 accumulators in
// memory (a store and a load of each per round).
#define INT4_TILE_STORE_C(src, C)                                                           \
  __asm__ volatile("tilestored %%tmm" #src ", (%1,%2,1)"                                   \
                   : "=m"(*reinterpret_cast<int32_t(*)[256]>(C))                           \
                   : "r"(static_cast<void*>(C)), "r"(static_cast<long long>(64)))

namespace int4 {
namespace ggml {
namespace {

// f(integral_constant<int, m>) for m = 0..15: constant indices into the accumulators from the
// start (a loop unrolled late leaves the array in memory)
template <class F, int... m>
INT4_AI void for16_impl(F&& f, std::integer_sequence<int, m...>) {
  (f(std::integral_constant<int, m>()), ...);
}
template <class F>
INT4_AI void for16(F&& f) {
  for16_impl(f, std::make_integer_sequence<int, 16>());
}

// ---- per type: the decoder of 16 W rows and the scaling of the tile sums ----
//
// A round issues up to two tile products (slots 0 and 1, slots(nb, r) of them) into two C tiles;
// a_off/b_off give the bytes of x (from a row's first block_q8) and of the packed B of each.
// kSub = tiles per chunk.

// One scale per 32-chunk (kMin: and a min), a chunk per tile, two chunks a round (the last round
// of an odd nb: one). Q4_K, Q5_K, and the 32-weight types.
template <bool kMin, bool kU>
struct AmxChunks {
  static constexpr int kKK = 32, kSub = 1;
  static constexpr bool kUnsigned = kU;
  static int64_t rounds(int64_t nb) { return (nb + 1) / 2; }
  static int slots(int64_t nb, int64_t r) { return nb - 2 * r < 2 ? 1 : 2; }
  static int64_t a_off(int64_t r, int s) { return (2 * r + s) * 512; }
  static int64_t b_off(int64_t r, int s) { return (2 * r + s) * 512; }

  // the sums of round r (chunks 2r, 2r+1; ns of them) into acc
  static INT4_AI void scale(int64_t r, int ns, const int32_t (*C)[16][16], const float* xd, const float* xs, const float* dw,
                            const float* ow, __m512* acc) {
    for (int s = 0; s < ns; s++) {
      const int64_t c = 2 * r + s;
      const __m512 w = _mm512_load_ps(dw + c * 16);
      const __m512 o = kMin ? _mm512_load_ps(ow + c * 16) : _mm512_setzero_ps();
      for16([&](auto m) INT4_AI_LAMBDA {
        const __m512 sum = _mm512_cvtepi32_ps(_mm512_load_si512(C[s][m]));
        acc[m] = _mm512_fmadd_ps(sum, _mm512_mul_ps(w, _mm512_set1_ps(xd[c * 16 + m])), acc[m]);
        if (kMin) acc[m] = _mm512_fmadd_ps(o, _mm512_set1_ps(xs[c * 16 + m]), acc[m]);
      });
    }
  }
};

// Per type: Pack, the decoder of the B tiles; VnniPack, the one of the VNNI GEMM that runs below
// 16 rows of x (unsigned codes for vpdpbusd where the tiles take signed ones).
struct AmxQ4_K : AmxChunks<true, true> {
  using Pack = PackQ4_K;
  using VnniPack = PackQ4_K;
};

// Q5_K: Q4_K's tiles and scaling with 5-bit codes
struct AmxQ5_K : AmxChunks<true, true> {
  using Pack = PackQ5_K;
  using VnniPack = PackQ5_K;
};

// The 32-weight types (C: CodesQ8_0, ...): signed codes (tdpbssd), or Q4_1/Q5_1's unsigned codes
// and mins (tdpbsud)
template <class C>
struct Amx32 : AmxChunks<C::kMin, C::kMin> {
  using Pack = Pack32<C, true>;
  using VnniPack = Pack32<C, false>;
};

struct AmxQ6_K {
  static constexpr int kKK = 16, kSub = 2;
  static constexpr bool kUnsigned = false;
  static int64_t rounds(int64_t nb) { return nb; }
  static int slots(int64_t, int64_t) { return 2; }
  static int64_t a_off(int64_t r, int s) { return r * 512 + 16 * s; }
  static int64_t b_off(int64_t r, int s) { return r * 512 + 256 * s; }
  using Pack = PackQ6_K<true>;
  using VnniPack = PackQ6_K<false>;

  // round r = chunk r, its two 16-groups in C[0], C[1]
  static INT4_AI void scale(int64_t r, int, const int32_t (*C)[16][16], const float* xd, const float*, const float* dw, const float*,
                            __m512* acc) {
    const __m512 w0 = _mm512_load_ps(dw + (2 * r) * 16), w1 = _mm512_load_ps(dw + (2 * r + 1) * 16);
    for16([&](auto m) INT4_AI_LAMBDA {
      const __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(C[1][m])), w1,
                                       _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(C[0][m])), w0));
      acc[m] = _mm512_fmadd_ps(t, _mm512_set1_ps(xd[r * 16 + m]), acc[m]);
    });
  }
};

// 16 rows of x (m-tile mt of t; mrows of them real) x one packed block of 16 W rows -> y (mrows x n)
template <class S>
void amx_tile(const XTiles& t, int64_t mt, int mrows, const int8_t* B, const float* dw, const float* ow, float* y, int64_t ldy, int n) {
  alignas(64) int32_t C[2][2][16][16];
  __m512 acc[16];
  for16([&](auto m) INT4_AI_LAMBDA { acc[m] = _mm512_setzero_ps(); });
  const int64_t nb = t.nb;
  const int8_t* xb = t.q + mt * nb * 512;
  const float* xd = t.d + mt * nb * 16;
  const float* xs = t.s + mt * nb * 16;
  // Rounds alternate between tmm0/1 and tmm2/3; the next round's products are issued before this
  // round's sums are stored and scaled, so they overlap. (Tile numbers are immediates: macros.)
#define INT4_AMX_DP(C, A, Bt)                                   \
  do {                                                          \
    if constexpr (S::kUnsigned) _tile_dpbsud(C, A, Bt);         \
    else _tile_dpbssd(C, A, Bt);                                \
  } while (0)
#define INT4_AMX_ISSUE(C0, C1, r)                      \
  do {                                                 \
    _tile_zero(C0);                                    \
    _tile_zero(C1);                                    \
    _tile_loadd(4, xb + S::a_off(r, 0), 32);           \
    _tile_loadd(6, B + S::b_off(r, 0), 64);            \
    INT4_AMX_DP(C0, 4, 6);                             \
    if (S::slots(nb, r) > 1) {                         \
      _tile_loadd(5, xb + S::a_off(r, 1), 32);         \
      _tile_loadd(7, B + S::b_off(r, 1), 64);          \
      INT4_AMX_DP(C1, 5, 7);                           \
    }                                                  \
  } while (0)
  // The sums of round r are stored to C[r % 2] and scaled one round later, so the vector loads
  // never wait for the tile stores just issued. (The slot 1 of a round with one product: zeros,
  // stored but not scaled.)
  const int64_t rounds = S::rounds(nb);
  INT4_AMX_ISSUE(0, 1, 0);
  if (rounds > 1) INT4_AMX_ISSUE(2, 3, 1);
  INT4_TILE_STORE_C(0, C[0][0]);
  INT4_TILE_STORE_C(1, C[0][1]);
  for (int64_t r = 0; r < rounds; r += 2) {
    // round r is in C[0], round r + 1 in tmm2/3
    if (r + 2 < rounds) INT4_AMX_ISSUE(0, 1, r + 2);
    if (r + 1 < rounds) {
      INT4_TILE_STORE_C(2, C[1][0]);
      INT4_TILE_STORE_C(3, C[1][1]);
    }
    S::scale(r, S::slots(nb, r), C[0], xd, xs, dw, ow, acc);
    if (r + 3 < rounds) INT4_AMX_ISSUE(2, 3, r + 3);
    if (r + 2 < rounds) {
      INT4_TILE_STORE_C(0, C[0][0]);
      INT4_TILE_STORE_C(1, C[0][1]);
    }
    if (r + 1 < rounds) S::scale(r + 1, S::slots(nb, r + 1), C[1], xd, xs, dw, ow, acc);
  }
#undef INT4_AMX_ISSUE
#undef INT4_AMX_DP
  const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
  // (constant indices only: a variable one would keep acc in memory through the loop)
  for16([&](auto m) INT4_AI_LAMBDA {
    if (m < mrows) _mm512_mask_storeu_ps(y + m * ldy, cols, acc[m]);
  });
}

constexpr int64_t kAmxMinRows = kTileMinRows;

// rows [r0, r1) of W with x as tiles
template <class S>
void gemm_amx_tiles(const uint8_t* W, int64_t rb, int64_t nb, const XTiles& xt, int64_t M, int64_t r0, int64_t r1, float* y,
                    int64_t ldy) {
  Buf<__m512i, 1> B(nb * 8);                 // nb x 512 bytes
  Buf<__m512, 1> dw(nb * S::kSub), ow(nb);  // nb (x kSub) x 16 floats
  int8_t* Bp = reinterpret_cast<int8_t*>(B.p);
  float* dwp = reinterpret_cast<float*>(dw.p);
  float* owp = reinterpret_cast<float*>(ow.p);
  amx::load_tile_config(S::kKK);  // tile state is per thread: configure on the thread that runs this task
  for (int64_t n0 = r0; n0 < r1; n0 += 16) {
    const int n = static_cast<int>(r1 - n0 < 16 ? r1 - n0 : 16);
    pack16<typename S::Pack>(W, rb, nb, n0, n, Bp, dwp, owp);
    for (int64_t i = 0; i < xt.mt; i++) {
      const int mrows = static_cast<int>(M - 16 * i < 16 ? M - 16 * i : 16);
      amx_tile<S>(xt, i, mrows, Bp, dwp, owp, y + 16 * i * ldy + n0, ldy, n);
    }
  }
  _tile_release();
}

// Few rows of x: the avx512 GEMM.
INT4_AI bool amx_fits(int64_t M) { return M >= kAmxMinRows; }

template <class S>
void gemm_amx_tiled(const TypeTraits& t, const uint8_t* W, int64_t rb, int64_t K, const block_q8* xq, const XTiles& xt, int64_t M,
                    int64_t r0, int64_t r1, float* y, int64_t ldy) {
  if (!amx_fits(M)) return gemm_vnni_small<typename S::VnniPack>(t, W, rb, K, xq, M, r0, r1, y, ldy);
  gemm_amx_tiles<S>(W, rb, K / 32, xt, M, r0, r1, y, ldy);
}

// Without tiles from matmul: made here.
template <class S>
void gemm_amx(const TypeTraits& t, const uint8_t* W, int64_t rb, int64_t K, const block_q8* xq, int64_t M, int64_t r0, int64_t r1,
              float* y, int64_t ldy) {
  if (!amx_fits(M)) return gemm_vnni_small<typename S::VnniPack>(t, W, rb, K, xq, M, r0, r1, y, ldy);
  const int64_t nb = K / 32, mt = (M + 15) / 16;
  Buf<__m512i, 1> xq_t(mt * nb * 8);
  Buf<__m512, 1> xd_t(mt * nb), xs_t(mt * nb);
  XTiles xt;
  xt.nb = nb, xt.mt = mt, xt.q = reinterpret_cast<int8_t*>(xq_t.p), xt.d = reinterpret_cast<float*>(xd_t.p);
  xt.s = reinterpret_cast<float*>(xs_t.p);
  tile_x(xq, M, 0, M, xt);
  gemm_amx_tiles<S>(W, rb, nb, xt, M, r0, r1, y, ldy);
}

}  // namespace

extern const BlockKernels kBlockKernels_avx512_amx[kTypeCount] = {
    {gemv<DecQ4_0>, gemm_amx<Amx32<CodesQ4_0>>, gemm_amx_tiled<Amx32<CodesQ4_0>>, 2},
    {gemv<DecQ4_1>, gemm_amx<Amx32<CodesQ4_1>>, gemm_amx_tiled<Amx32<CodesQ4_1>>, 2},
    {gemv<DecQ5_0>, gemm_amx<Amx32<CodesQ5_0>>, gemm_amx_tiled<Amx32<CodesQ5_0>>, 2},
    {gemv<DecQ5_1>, gemm_amx<Amx32<CodesQ5_1>>, gemm_amx_tiled<Amx32<CodesQ5_1>>, 2},
    {gemv<DecQ8_0>, gemm_amx<Amx32<CodesQ8_0>>, gemm_amx_tiled<Amx32<CodesQ8_0>>, 2},
    INT4_BLOCK_ROW(DecQ2_K),
    INT4_BLOCK_ROW(DecQ3_K),
    {gemv_q4_K_zmm, gemm_amx<AmxQ4_K>, gemm_amx_tiled<AmxQ4_K>, 2},
    {gemv<DecQ5_K>, gemm_amx<AmxQ5_K>, gemm_amx_tiled<AmxQ5_K>, 2},
    {gemv<DecQ6_K>, gemm_amx<AmxQ6_K>, gemm_amx_tiled<AmxQ6_K>, 2},
    INT4_BLOCK_ROW(DecQ8_K),
    {gemv<DecIQ4_NL>, gemm_amx<Amx32<CodesIQ4_NL>>, gemm_amx_tiled<Amx32<CodesIQ4_NL>>, 2},
    INT4_BLOCK_ROW(DecIQ4_XS),
};

}  // namespace ggml
}  // namespace int4
