// AVX-512 kernels (F/BW/VL/DQ/VNNI; compiled with those flags only). quantize, dequantize and the
// f32 path are the 256-bit ones of kernels_x86.inc; the int8 GEMV and GEMM work on 512 bits, four
// 32-weight chunks per step:
//
//   codes: 64 bytes = 4 chunks of one row; & 0x0F gives weights 0..15 of each chunk, >> 4 gives
//          16..31, so i32 lane l of vpdpbusd sums 8 products of chunk l / 4.
//   x:     packed once per call into the same order (XStep below): 64 bytes of weights 0..15 of
//          the 4 chunks, 64 of 16..31, the 16-lane scale pattern, and the correction lanes.
//
// Symmetric weights: sum (q - 8) x = sum q x - 8 sum x, and -8 sum x (an integer) starts one lane
// per chunk, so the sums stay exact integers as in the scalar reference. Asymmetric: m * s is
// added in float per chunk (lane 4j of the pattern holds s of chunk j).
#define INT4_DPBUSD_AVX512VL 1
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its _mm512_undefined_* helpers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cstdlib>
#include <new>

#include "kernels_x86.inc"
#include "platform/platform.h"

namespace int4 {
namespace {

struct alignas(64) XStep {
  int8_t xa[64];    // weights 0..15 of chunks 0..3
  int8_t xb[64];    // weights 16..31 of chunks 0..3
  float dx[16];     // lane l: d of chunk l / 4
  union {
    int32_t corr[16];  // symmetric: lane 4j = -8 * sum of chunk j's codes, else 0
    float s[16];       // asymmetric: lane 4j = s of chunk j, else 0
  };
};
static_assert(sizeof(XStep) == 256, "XStep is 4 cache lines");

// One row of int8 blocks (nc chunks) -> ceil(nc/4) steps; missing chunks are zeros.
void pack_x(const block_q8* xq, int64_t nc, Scheme scheme, XStep* out) {
  const int64_t steps = (nc + 3) / 4;
  for (int64_t s = 0; s < steps; s++) {
    XStep& o = out[s];
    std::memset(&o, 0, sizeof o);
    for (int j = 0; j < 4 && 4 * s + j < nc; j++) {
      const block_q8& b = xq[4 * s + j];
      std::memcpy(o.xa + 16 * j, b.qs, 16);
      std::memcpy(o.xb + 16 * j, b.qs + 16, 16);
      for (int l = 0; l < 4; l++) o.dx[4 * j + l] = b.d;
      if (scheme == Scheme::Symmetric) {
        int sum = 0;
        for (int i = 0; i < QK; i++) sum += b.qs[i];
        o.corr[4 * j] = -8 * sum;
      } else {
        o.s[4 * j] = b.s;
      }
    }
  }
}

// Per-call constants of a matrix: where each lane's group scale sits among the halves loaded.
struct StepShape {
  int64_t nc, steps, G;
  int cpg_shift;       // log2(chunks per group)
  int halves;          // scales per step: 4 (group 32), 2 (64), 1 (>= 128)
  __m512i lane_group;  // lane l -> index of its chunk's scale among the loaded halves
};

StepShape step_shape(const QMatrixView& W) {
  StepShape sh;
  sh.nc = W.chunks_per_row();
  sh.steps = (sh.nc + 3) / 4;
  sh.G = W.groups_per_row();
  const int cpg = W.group_size / QK;  // 1, 2, 4 or 8
  sh.cpg_shift = cpg == 1 ? 0 : cpg == 2 ? 1 : cpg == 4 ? 2 : 3;
  sh.halves = cpg >= 4 ? 1 : 4 / cpg;
  alignas(64) int32_t idx[16];
  for (int l = 0; l < 16; l++) idx[l] = (l / 4) / cpg;
  sh.lane_group = _mm512_load_si512(idx);
  return sh;
}

// What a step needs to find its scales: the group of its first chunk, and a mask of the scales
// that exist (the last step may hold fewer chunks: never read past the row).
struct StepScales {
  int64_t first;
  __mmask8 mask;
};

inline StepScales step_scales(const StepShape& sh, int64_t s) {
  StepScales ss;
  ss.first = (4 * s) >> sh.cpg_shift;
  int64_t n = sh.G - ss.first;
  if (n > sh.halves) n = sh.halves;
  ss.mask = static_cast<__mmask8>((1u << n) - 1);
  return ss;
}

// The 16-lane pattern of a row's fp16 values (scales or offsets) for a step.
inline __m512 step_pattern(const StepShape& sh, const StepScales& ss, const uint16_t* row) {
  if (sh.halves == 1) return _mm512_set1_ps(half_to_float(row[ss.first]));
  const __m128 h = _mm_cvtph_ps(_mm_maskz_loadu_epi16(ss.mask, row + ss.first));
  return _mm512_permutexvar_ps(sh.lane_group, _mm512_zextps128_ps512(h));
}

// Mask of the code bytes of step s: all 64, or 16 per chunk the last step still has.
inline __mmask64 step_code_mask(const StepShape& sh, int64_t s) {
  const int64_t have = sh.nc - 4 * s;
  return have >= 4 ? ~__mmask64(0) : ((__mmask64(1) << (16 * have)) - 1);
}

// Sums of 4 vectors -> [sum a, sum b, sum c, sum d]. Rows tiled 1 at a time use the same adds
// in the same order (reduce4(a, a, a, a)), so a row's result never depends on its tile.
inline __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  const __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
  const __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
  const __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a8, b8), _mm256_hadd_ps(c8, d8));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// R (1 or 4) row sums -> y[0..R)
template <int R>
inline void store_rows(const __m512* acc, int stride, float* y) {
  if (R == 4) {
    _mm_storeu_ps(y, reduce4(acc[0], acc[stride], acc[2 * stride], acc[3 * stride]));
  } else {
    for (int i = 0; i < R; i++) y[i] = _mm_cvtss_f32(reduce4(acc[i * stride], acc[i * stride], acc[i * stride], acc[i * stride]));
  }
}

// R weight rows [r, r+R) x MX packed x rows -> y[m * ldy + r + i]. Each (row, x row) pair gets
// the same operations whatever R and MX are, so tiling never changes a result.
template <int R, int MX>
void tile(const QMatrixView& W, const StepShape& sh, const XStep* const* xs, int64_t r, float* y, int64_t ldy) {
  const int64_t rb = W.row_code_bytes();
  const int64_t G = sh.G;
  const bool sym = W.scheme == Scheme::Symmetric;
  const __m512i low = _mm512_set1_epi8(0x0F);
  const uint8_t* codes = W.codes + r * rb;
  const uint16_t* scales = W.scales + r * G;
  const uint16_t* offsets = sym ? nullptr : W.offsets + r * G;
  __m512 acc[R][MX];
  for (int i = 0; i < R; i++)
    for (int m = 0; m < MX; m++) acc[i][m] = _mm512_setzero_ps();
  for (int64_t s = 0; s < sh.steps; s++) {
    const __mmask64 cm = step_code_mask(sh, s);
    const StepScales ss = step_scales(sh, s);
    __m512i lo[R], hi[R];
    __m512 dw[R], ow[R];
    if (MX == 1 && R == 4) {
      // GEMV reads each weight once, from memory: ask for the next tile's codes (the 4 rows
      // after these, contiguous) a step at a time, so that DRAM keeps several lines in flight.
      const char* next = reinterpret_cast<const char*>(codes + 4 * rb) + s * 256;
      _mm_prefetch(next, _MM_HINT_T0);
      _mm_prefetch(next + 64, _MM_HINT_T0);
      _mm_prefetch(next + 128, _MM_HINT_T0);
      _mm_prefetch(next + 192, _MM_HINT_T0);
    }
    for (int i = 0; i < R; i++) {
      const __m512i v = _mm512_maskz_loadu_epi8(cm, codes + i * rb + s * 64);
      lo[i] = _mm512_and_si512(v, low);
      hi[i] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      dw[i] = step_pattern(sh, ss, scales + i * G);
      if (!sym) ow[i] = step_pattern(sh, ss, offsets + i * G);
    }
    for (int m = 0; m < MX; m++) {
      const XStep& x = xs[m][s];
      const __m512i xa = _mm512_load_si512(x.xa), xb = _mm512_load_si512(x.xb);
      const __m512 dx = _mm512_load_ps(x.dx);
      const __m512i init = sym ? _mm512_load_si512(x.corr) : _mm512_setzero_si512();
      for (int i = 0; i < R; i++) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(init, lo[i], xa), hi[i], xb);
        acc[i][m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[i], dx), acc[i][m]);
        if (!sym) acc[i][m] = _mm512_fmadd_ps(ow[i], _mm512_load_ps(x.s), acc[i][m]);
      }
    }
  }
  for (int m = 0; m < MX; m++) store_rows<R>(&acc[0][m], MX, y + m * ldy + r);
}

// GEMV for groups of >= 128 weights (whole steps per group): the chunk sums times dx gather per
// group, and the group scale multiplies once at its end (one multiply fewer per step).
template <int R>
void gemv_whole_groups(const QMatrixView& W, const StepShape& sh, const XStep* xs, int64_t r, float* y) {
  const int64_t rb = W.row_code_bytes();
  const int64_t G = sh.G;
  const bool sym = W.scheme == Scheme::Symmetric;
  const __m512i low = _mm512_set1_epi8(0x0F);
  const uint8_t* codes = W.codes + r * rb;
  const uint16_t* scales = W.scales + r * G;
  const uint16_t* offsets = sym ? nullptr : W.offsets + r * G;
  const int64_t steps_per_group = int64_t(1) << (sh.cpg_shift - 2);
  __m512 acc[R];
  for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; g++) {
    const int64_t s0 = g * steps_per_group;
    const int64_t s1 = s0 + steps_per_group < sh.steps ? s0 + steps_per_group : sh.steps;
    __m512 gacc[R];
    for (int i = 0; i < R; i++) gacc[i] = _mm512_setzero_ps();
    __m512 gs = _mm512_setzero_ps();  // the group's s lanes (asymmetric offset term)
    for (int64_t s = s0; s < s1; s++) {
      const __mmask64 cm = step_code_mask(sh, s);
      const XStep& x = xs[s];
      const __m512i xa = _mm512_load_si512(x.xa), xb = _mm512_load_si512(x.xb);
      const __m512 dx = _mm512_load_ps(x.dx);
      const __m512i init = sym ? _mm512_load_si512(x.corr) : _mm512_setzero_si512();
      if (!sym) gs = _mm512_add_ps(gs, _mm512_load_ps(x.s));
      for (int i = 0; i < R; i++) {
        const __m512i v = _mm512_maskz_loadu_epi8(cm, codes + i * rb + s * 64);
        const __m512i lo = _mm512_and_si512(v, low), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(init, lo, xa), hi, xb);
        gacc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), dx, gacc[i]);
      }
    }
    for (int i = 0; i < R; i++) {
      acc[i] = _mm512_fmadd_ps(gacc[i], _mm512_set1_ps(half_to_float(scales[i * G + g])), acc[i]);
      if (!sym) acc[i] = _mm512_fmadd_ps(gs, _mm512_set1_ps(half_to_float(offsets[i * G + g])), acc[i]);
    }
  }
  store_rows<R>(acc, 1, y + r);
}

template <int MX>
void tile_rows(const QMatrixView& W, const StepShape& sh, const XStep* const* xs, int64_t r0, int64_t r1, float* y,
               int64_t ldy) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) tile<4, MX>(W, sh, xs, r, y, ldy);
  for (; r < r1; r++) tile<1, MX>(W, sh, xs, r, y, ldy);
}

XStep* alloc_steps(int64_t n) {
  return static_cast<XStep*>(platform::aligned_malloc(64, static_cast<size_t>(n) * sizeof(XStep)));
}

void gemv_q4_q8_avx512(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y) {
  const StepShape sh = step_shape(W);
  alignas(64) XStep local[32];  // K <= 4096 needs no heap
  XStep* xs = sh.steps <= 32 ? local : alloc_steps(sh.steps);
  if (!xs) throw std::bad_alloc();
  pack_x(xq, sh.nc, W.scheme, xs);
  if (sh.cpg_shift >= 2) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) gemv_whole_groups<4>(W, sh, xs, r, y);
    for (; r < r1; r++) gemv_whole_groups<1>(W, sh, xs, r, y);
  } else {
    const XStep* rows[1] = {xs};
    tile_rows<1>(W, sh, rows, r0, r1, y, 0);
  }
  if (xs != local) platform::aligned_free(xs);
}

// GEMV on the rows-16 layout (format.h): lane r of every vector is row 16b + r, so a chunk is 4
// code vectors against broadcast dwords of x (8 vpdpbusd, no shuffles), and its scale is one
// vector of 16 row scales times the chunk's dx. Each row's sum runs over its chunks in order.
// A range of blocks is read as kStreams runs in lockstep, then the blocks left over one by one;
// each stream is prefetched a fixed distance ahead.
inline int32_t x_dword(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Bytes ahead of the chunk being read. Measured on a 460 MB matrix here: 1 KiB reached 60 % of
// the read bandwidth; 8 and 16 KiB the whole of it on one thread, and 8 KiB did best on two.
constexpr int64_t kRows16Prefetch = 8192;
// The GEMV reads kStreams runs of blocks at once, each prefetched this far ahead of itself.
#ifndef INT4_STREAMS
#define INT4_STREAMS 4
#endif
#ifndef INT4_LOCKSTEP_PF
#define INT4_LOCKSTEP_PF 4096
#endif
constexpr int kStreams = INT4_STREAMS;
constexpr int64_t kRows16LockstepPrefetch = INT4_LOCKSTEP_PF;

// The symmetric correction of each chunk of M rows of x: corr[m * nc + c] = -8 * sum of the
// chunk's int8 values (sum (q - 8) x = sum q x - 8 sum x), 0 when asymmetric.
int32_t* chunk_corrections(const block_q8* xq, int64_t M, int64_t nc, bool sym, int32_t* local, int64_t nlocal) {
  int32_t* corr = M * nc <= nlocal ? local : static_cast<int32_t*>(std::malloc(static_cast<size_t>(M * nc) * 4));
  if (!corr) throw std::bad_alloc();
  for (int64_t i = 0; i < M * nc; i++) {
    int sum = 0;
    for (int t = 0; t < QK; t++) sum += xq[i].qs[t];
    corr[i] = sym ? -8 * sum : 0;
  }
  return corr;
}

// ---- one chunk of a rows-16 block, shared by its GEMV and GEMM so both do the same operations ----

// The chunk's 4 code vectors (p) split into low and high nibbles.
inline void split_chunk(const uint8_t* p, __m512i lo[4], __m512i hi[4]) {
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (int k = 0; k < 4; k++) {
    const __m512i v = _mm512_loadu_si512(p + 64 * k);
    lo[k] = _mm512_and_si512(v, low);
    hi[k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
  }
}

// The dwords of a chunk of x, each broadcast: xb[k] holds bytes 4k..4k+3.
inline void broadcast_x(const int8_t* x, __m512i xb[8]) {
  for (int k = 0; k < 8; k++) xb[k] = _mm512_set1_epi32(x_dword(x + 4 * k));
}

// acc (lane r: row r of the block) += the chunk's 16 row sums against one row of x, scaled: two
// independent chains of 4 dot products from the symmetric correction, one sum, then times the
// rows' scales dw and the chunk's dx (plus the rows' offsets ow times its s when asymmetric).
inline __m512 add_chunk(__m512 acc, const __m512i lo[4], const __m512i hi[4], const __m512i xb[8], int32_t corr,
                        const block_q8& xc, __m512 dw, __m512 ow, bool sym) {
  __m512i pa = _mm512_set1_epi32(corr), pb = _mm512_setzero_si512();
  pa = _mm512_dpbusd_epi32(pa, lo[0], xb[0]);
  pb = _mm512_dpbusd_epi32(pb, lo[1], xb[1]);
  pa = _mm512_dpbusd_epi32(pa, hi[0], xb[4]);
  pb = _mm512_dpbusd_epi32(pb, hi[1], xb[5]);
  pa = _mm512_dpbusd_epi32(pa, lo[2], xb[2]);
  pb = _mm512_dpbusd_epi32(pb, lo[3], xb[3]);
  pa = _mm512_dpbusd_epi32(pa, hi[2], xb[6]);
  pb = _mm512_dpbusd_epi32(pb, hi[3], xb[7]);
  const __m512 sum = _mm512_cvtepi32_ps(_mm512_add_epi32(pa, pb));
  acc = _mm512_fmadd_ps(sum, _mm512_mul_ps(dw, _mm512_set1_ps(xc.d)), acc);
  return sym ? acc : _mm512_fmadd_ps(ow, _mm512_set1_ps(xc.s), acc);
}

// Requests the chunk `dist` bytes ahead of p (its 4 lines).
inline void prefetch_chunk(const uint8_t* p, int64_t dist) {
  for (int k = 0; k < 4; k++) _mm_prefetch(reinterpret_cast<const char*>(p) + dist + 64 * k, _MM_HINT_T0);
}

// One 16-row block (p: its bytes) against MX rows of x -> acc[m], lane r = row 16b + r. The code
// vectors are split into nibbles once for all MX rows; each (row, x row) pair gets the same
// operations whatever MX is, so GEMV and GEMM agree to the bit.
template <int MX>
void rows16_block(const QMatrixView& W, const uint8_t* p, const block_q8* const* xs, const int32_t* const* corr,
                  bool prefetch, __m512* acc) {
  const int64_t nc = W.chunks_per_row(), G = W.groups_per_row(), hdr = W.pack_header_bytes();
  const int cpg = W.group_size / QK;
  const bool sym = W.scheme == Scheme::Symmetric;
  for (int m = 0; m < MX; m++) acc[m] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; g++) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __m512 ow = sym ? _mm512_setzero_ps() : _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
    p += hdr;
    const int64_t c1 = (g + 1) * cpg < nc ? (g + 1) * cpg : nc;
    for (int64_t c = g * cpg; c < c1; c++, p += kPackChunkBytes) {
      if (prefetch) prefetch_chunk(p, kRows16Prefetch);
      __m512i lo[4], hi[4];
      split_chunk(p, lo, hi);
      for (int m = 0; m < MX; m++) {
        __m512i xb[8];
        broadcast_x(xs[m][c].qs, xb);
        acc[m] = add_chunk(acc[m], lo, hi, xb, corr[m][c], xs[m][c], dw, ow, sym);
      }
    }
  }
}

inline __mmask16 rows16_store_mask(int64_t b, int64_t r1) {
  const int64_t n = r1 - b * kPackRows < kPackRows ? r1 - b * kPackRows : kPackRows;
  return static_cast<__mmask16>((1u << n) - 1);
}

// S blocks of 16 rows (ps[s]: their bytes) against one row of x, read in lockstep a chunk of
// each at a time: S streams from S places in memory, which one core's prefetchers serve in
// parallel (a token's products 1.2-1.5x faster with 4 than with one stream here:
// bench/results/2026-11-27-gemv-streams.txt). Each block gets the operations rows16_block<1>
// gives it (add_chunk); the x dwords of a chunk are broadcast once for all S.
template <int S>
void rows16_blocks_lockstep(const QMatrixView& W, const uint8_t* const* ps, const block_q8* x, const int32_t* corr,
                            __m512* acc) {
  const int64_t nc = W.chunks_per_row(), G = W.groups_per_row(), hdr = W.pack_header_bytes();
  const int cpg = W.group_size / QK;
  const bool sym = W.scheme == Scheme::Symmetric;
  const uint8_t* p[S];
  for (int s = 0; s < S; s++) p[s] = ps[s], acc[s] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; g++) {
    __m512 dw[S], ow[S];
    for (int s = 0; s < S; s++) {
      dw[s] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[s])));
      ow[s] = sym ? _mm512_setzero_ps() : _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[s] + 32)));
      p[s] += hdr;
    }
    const int64_t c1 = (g + 1) * cpg < nc ? (g + 1) * cpg : nc;
    for (int64_t c = g * cpg; c < c1; c++) {
      __m512i xb[8];
      broadcast_x(x[c].qs, xb);
      for (int s = 0; s < S; s++) {
        prefetch_chunk(p[s], kRows16LockstepPrefetch);
        __m512i lo[4], hi[4];
        split_chunk(p[s], lo, hi);
        p[s] += kPackChunkBytes;
        acc[s] = add_chunk(acc[s], lo, hi, xb, corr[c], x[c], dw[s], ow[s], sym);
      }
    }
  }
}

void gemv_q4_q8_rows16_avx512(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y) {
  const int64_t nc = W.chunks_per_row(), bb = W.pack_block_bytes();
  int32_t local[256];
  int32_t* corr = chunk_corrections(xq, 1, nc, W.scheme == Scheme::Symmetric, local, 256);
  // The range's blocks as kStreams runs of q blocks read in lockstep, then the rest one by one.
  const int64_t b0 = r0 / kPackRows, b1 = (r1 + kPackRows - 1) / kPackRows, q = (b1 - b0) / kStreams;
  const uint8_t* base = W.packed + b0 * bb;
  // each run prefetches ahead of itself: request the lines before that distance now
  const auto warm = [](const uint8_t* p, int64_t n) {
    for (int64_t o = 0; o < n; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p) + o, _MM_HINT_T0);
  };
  for (int s = 0; s < (q > 0 ? kStreams : 0); s++)
    warm(base + s * q * bb, q * bb < kRows16LockstepPrefetch ? q * bb : kRows16LockstepPrefetch);
  const int64_t rest = (b1 - b0 - kStreams * q) * bb;  // bytes of the blocks done one by one
  if (q == 0) warm(base, rest < kRows16Prefetch ? rest : kRows16Prefetch);
  for (int64_t i = 0; i < q; i++) {
    const uint8_t* ps[kStreams];
    for (int s = 0; s < kStreams; s++) ps[s] = base + (s * q + i) * bb;
    __m512 acc[kStreams];
    rows16_blocks_lockstep<kStreams>(W, ps, xq, corr, acc);
    for (int s = 0; s < kStreams; s++) {
      const int64_t b = b0 + s * q + i;
      _mm512_mask_storeu_ps(y + b * kPackRows, rows16_store_mask(b, r1), acc[s]);
    }
  }
  if (q > 0) warm(base + kStreams * q * bb, rest < kRows16Prefetch ? rest : kRows16Prefetch);
  const block_q8* xs[1] = {xq};
  const int32_t* cs[1] = {corr};
  for (int64_t b = b0 + kStreams * q; b < b1; b++) {
    __m512 acc[1];
    rows16_block<1>(W, W.packed + b * bb, xs, cs, true, acc);
    _mm512_mask_storeu_ps(y + b * kPackRows, rows16_store_mask(b, r1), acc[0]);
  }
  if (corr != local) std::free(corr);
}

// M rows of x: each 16-row block of W (read from memory once, then from cache) against all of
// them, 4 at a time.
void gemm_q4_q8_rows16_avx512(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                              int64_t ldy) {
  const int64_t nc = W.chunks_per_row();
  int32_t local[1024];
  int32_t* corr = chunk_corrections(xq, M, nc, W.scheme == Scheme::Symmetric, local, 1024);
  for (int64_t b = r0 / kPackRows; b * kPackRows < r1; b++) {
    const uint8_t* p = W.packed + b * W.pack_block_bytes();
    const __mmask16 mask = rows16_store_mask(b, r1);
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) {
      const block_q8* xs[4] = {xq + m * nc, xq + (m + 1) * nc, xq + (m + 2) * nc, xq + (m + 3) * nc};
      const int32_t* cs[4] = {corr + m * nc, corr + (m + 1) * nc, corr + (m + 2) * nc, corr + (m + 3) * nc};
      __m512 acc[4];
      rows16_block<4>(W, p, xs, cs, false, acc);
      for (int i = 0; i < 4; i++) _mm512_mask_storeu_ps(y + (m + i) * ldy + b * kPackRows, mask, acc[i]);
    }
    for (; m < M; m++) {
      const block_q8* xs[1] = {xq + m * nc};
      const int32_t* cs[1] = {corr + m * nc};
      __m512 acc[1];
      rows16_block<1>(W, p, xs, cs, false, acc);
      _mm512_mask_storeu_ps(y + m * ldy + b * kPackRows, mask, acc[0]);
    }
  }
  if (corr != local) std::free(corr);
}

// quantize_q4_generic, vectorized per group and byte-identical to it: the same float operations
// (mul then add, no FMA: the kernels build with -ffp-contract=off), the same first-of-the-largest
// choice of the signed maximum, the same truncation. Non-finite input: the scalar code reports it.
int64_t quantize_q4_avx512(const float* w, int64_t N, int64_t K, int group_size, Scheme scheme, uint8_t* codes,
                           uint16_t* scales, uint16_t* offsets) {
  const int64_t total = N * K;
  for (int64_t i = 0; i < total; i += 16) {
    const __mmask16 m = total - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (total - i)) - 1);
    // 0x99: QNaN, +inf, -inf, SNaN
    if (_mm512_mask_fpclass_ps_mask(m, _mm512_maskz_loadu_ps(m, w + i), 0x99))
      return quantize_q4_generic(w, N, K, group_size, scheme, codes, scales, offsets);
  }
  QMatrixView V;
  V.rows = N, V.cols = K, V.group_size = group_size;
  const int64_t G = V.groups_per_row(), rb = V.row_code_bytes();
  const bool sym = scheme == Scheme::Symmetric;
  const __m512i pad = _mm512_set1_epi32(sym ? 8 : 0);
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t r = 0; r < N; r++) {
    const float* x = w + r * K;
    uint8_t* rc = codes + r * rb;
    for (int64_t g = 0; g < G; g++) {
      const int64_t k0 = g * group_size, k1 = k0 + group_size < K ? k0 + group_size : K;
      const int64_t nv = (k1 - k0 + 15) / 16;  // vectors of 16 (the last masked)
      auto mask = [&](int64_t v) {
        const int64_t n = k1 - k0 - 16 * v;
        return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
      };
      float d, bias, lo = 0.0f;
      if (sym) {
        __m512 amax = _mm512_setzero_ps();
        for (int64_t v = 0; v < nv; v++)
          amax = _mm512_max_ps(amax, _mm512_and_ps(_mm512_maskz_loadu_ps(mask(v), x + k0 + 16 * v), abs_mask));
        const float a = _mm512_reduce_max_ps(amax);
        float max = 0.0f;  // the first value whose magnitude is the largest, sign kept (0 if all zero)
        if (a > 0.0f) {
          const __m512 av = _mm512_set1_ps(a);
          for (int64_t v = 0; v < nv; v++) {
            const __m512 xv = _mm512_maskz_loadu_ps(mask(v), x + k0 + 16 * v);
            const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_and_ps(xv, abs_mask), av, _CMP_EQ_OQ);
            if (hit) {
              max = x[k0 + 16 * v + __builtin_ctz(hit)];
              break;
            }
          }
        }
        d = max / -8.0f;
        bias = 8.5f;
      } else {
        __m512 mn = _mm512_set1_ps(x[k0]), mx = mn;
        for (int64_t v = 0; v < nv; v++) {
          const __m512 xv = _mm512_maskz_loadu_ps(mask(v), x + k0 + 16 * v);
          mn = _mm512_mask_min_ps(mn, mask(v), mn, xv);
          mx = _mm512_mask_max_ps(mx, mask(v), mx, xv);
        }
        lo = _mm512_reduce_min_ps(mn);
        float hi = _mm512_reduce_max_ps(mx);
        if (lo == 0.0f || hi == 0.0f) {
          // a zero extreme: its sign is that of the first such value, as the scalar loop keeps it
          lo = hi = x[k0];
          for (int64_t k = k0 + 1; k < k1; k++) {
            if (x[k] < lo) lo = x[k];
            if (x[k] > hi) hi = x[k];
          }
        }
        d = (hi - lo) / 15.0f;
        bias = 0.5f;
        offsets[r * G + g] = fp32_to_fp16(lo);
      }
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      scales[r * G + g] = fp32_to_fp16(d);
      const __m512 idv = _mm512_set1_ps(id), bv = _mm512_set1_ps(bias), lov = _mm512_set1_ps(lo);
      // chunk by chunk: weights 0..15 -> low nibbles, 16..31 -> high nibbles; padding keeps `pad`
      for (int64_t k = k0; k < k1; k += QK) {
        __m512i q[2];
        for (int h = 0; h < 2; h++) {
          const int64_t n = k1 - (k + 16 * h);
          const __mmask16 m = n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << n) - 1);
          __m512 v = _mm512_maskz_loadu_ps(m, x + k + 16 * h);
          if (!sym) v = _mm512_sub_ps(v, lov);
          v = _mm512_add_ps(_mm512_mul_ps(v, idv), bv);
          v = _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(15.0f));
          q[h] = _mm512_mask_mov_epi32(pad, m, _mm512_cvttps_epi32(v));
        }
        const __m512i b = _mm512_or_si512(q[0], _mm512_slli_epi32(q[1], 4));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(rc + (k / QK) * (QK / 2)), _mm512_cvtepi32_epi8(b));
      }
    }
    // a row whose length is not a multiple of 32 ends in a padded chunk: written above, since
    // groups start on chunk boundaries and the last chunk's missing lanes took `pad`
  }
  return -1;
}

// Blocked GEMM: x is packed in blocks of kXBlock rows (kept in L2), and for each block the
// weight rows pass in blocks of kWBlock rows, 4 weight rows x 4 x rows per tile.
constexpr int64_t kXBlock = 32, kWBlock = 32;

void gemm_q4_q8_avx512(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                       int64_t ldy) {
  const StepShape sh = step_shape(W);
  const int64_t nc = sh.nc;
  const int64_t mb = M < kXBlock ? M : kXBlock;
  XStep* xs = alloc_steps(mb * sh.steps);
  if (!xs) throw std::bad_alloc();
  for (int64_t m0 = 0; m0 < M; m0 += kXBlock) {
    const int64_t m1 = m0 + kXBlock < M ? m0 + kXBlock : M;
    for (int64_t m = m0; m < m1; m++) pack_x(xq + m * nc, nc, W.scheme, xs + (m - m0) * sh.steps);
    for (int64_t b0 = r0; b0 < r1; b0 += kWBlock) {
      const int64_t b1 = b0 + kWBlock < r1 ? b0 + kWBlock : r1;
      int64_t m = m0;
      for (; m + 4 <= m1; m += 4) {
        const XStep* rows[4];
        for (int j = 0; j < 4; j++) rows[j] = xs + (m + j - m0) * sh.steps;
        tile_rows<4>(W, sh, rows, b0, b1, y + m * ldy, ldy);
      }
      for (; m < m1; m++) {
        const XStep* rows[1] = {xs + (m - m0) * sh.steps};
        tile_rows<1>(W, sh, rows, b0, b1, y + m * ldy, ldy);
      }
    }
  }
  platform::aligned_free(xs);
}

}  // namespace

#if !defined(INT4_WITH_AMX)  // kernels_amx.cpp includes this file and defines its own table
const KernelTable kAvx512Kernels = {
    "avx512", quantize_q4_avx512, quantize_row_q8_x86, dequantize_row_q4_x86, gemv_q4_f32_x86, gemv_q4_q8_avx512, gemm_q4_q8_avx512, gemv_q4_q8_rows16_avx512,
    gemm_q4_q8_rows16_avx512, ggml::kBlockKernels_avx512,
};
#endif

}  // namespace int4
