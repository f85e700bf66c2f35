// The AVX-512 table of cpp/ops (ops_table.h), compiled with AVX-512 flags only: its own versions of
// the operators whose cost grows with the prompt (causal attention, SwiGLU, the f32 GEMM's blocks)
// and ops_generic.inc's random fill. Attention and SwiGLU make the same sums in the same order as
// ops_generic.inc (over i for a score, over t for an output), with fused multiply-adds and a
// polynomial exp: results agree to a few ulp.
//
// No STL and no inline functions with external linkage here (a COMDAT copy compiled with AVX-512
// could be picked for baseline callers): scratch memory comes from the caller.
// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its _mm512_undefined_* helpers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>  // INFINITY
#include <cstdint>

#include "ops_generic.inc"

namespace int4 {
namespace {

// e^x, 16 lanes: x = n ln2 + r with |r| <= ln2/2, e^r by Cephes' expf polynomial, times 2^n by
// scalef (which also underflows to 0 for very negative x). Relative error about 2 ulp.
// Non-finite input as std::exp: NaN stays NaN (min/max return their second operand when one is
// NaN, so x goes second), +inf gives +inf, -inf 0.
__m512 exp16(__m512 x0) {
  const __mmask16 overflow = _mm512_cmp_ps_mask(x0, _mm512_set1_ps(88.72283935546875f), _CMP_GT_OQ);
  __m512 x = _mm512_min_ps(_mm512_set1_ps(88.3762626647949f), x0);
  x = _mm512_max_ps(_mm512_set1_ps(-103.972077083991f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_mask_blend_ps(overflow, _mm512_scalef_ps(p, n), _mm512_set1_ps(INFINITY));
}

__mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << n) - 1); }

constexpr int kHeadBlock = 8;  // query heads whose scores are accumulated together (registers)

// Scores of NJ heads for the 16 positions of one key block kb (hd, 16): acc[j] = q_j . kb. NJ is
// a template argument so that the accumulators live in registers (a runtime count left them on
// the stack, one load and store per FMA: 5x slower).
template <int NJ>
void score_block(const float* qg, const float* kb, int64_t hd, __mmask16 m, __m512* acc) {
  __m512 a[NJ];
  for (int j = 0; j < NJ; j++) a[j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < hd; i++) {
    const __m512 k = _mm512_maskz_loadu_ps(m, kb + i * 16);
    for (int j = 0; j < NJ; j++) a[j] = _mm512_fmadd_ps(_mm512_set1_ps(qg[j * hd + i]), k, a[j]);
  }
  for (int j = 0; j < NJ; j++) acc[j] = a[j];
}

// att (nj, T) = q (nj, hd) . keys (T, hd)^T * scale, soft-capped and masked before t_lo as
// ops_generic.inc's cap_and_mask (scalar: Gemma 2 and sliding windows only), then softmax per row;
// kg: one KV head's key blocks (ctx / 16, hd, 16).
void scores_softmax(const float* qg, int64_t nj, const float* kg, int64_t hd, int64_t T, float scale, float softcap,
                    int64_t t_lo, float* att) {
  __m512 vmax[kHeadBlock];
  for (int j = 0; j < nj; j++) vmax[j] = _mm512_set1_ps(-INFINITY);
  for (int64_t t0 = 0; t0 < T; t0 += 16) {
    const __mmask16 m = tail_mask(T - t0);
    const float* kb = kg + t0 * hd;  // block t0 / 16
    __m512 acc[kHeadBlock];
    switch (nj) {
      case 1: score_block<1>(qg, kb, hd, m, acc); break;
      case 2: score_block<2>(qg, kb, hd, m, acc); break;
      case 3: score_block<3>(qg, kb, hd, m, acc); break;
      case 4: score_block<4>(qg, kb, hd, m, acc); break;
      case 5: score_block<5>(qg, kb, hd, m, acc); break;
      case 6: score_block<6>(qg, kb, hd, m, acc); break;
      case 7: score_block<7>(qg, kb, hd, m, acc); break;
      default: score_block<8>(qg, kb, hd, m, acc); break;
    }
    for (int j = 0; j < nj; j++) {
      const __m512 a = _mm512_mul_ps(acc[j], _mm512_set1_ps(scale));
      vmax[j] = _mm512_mask_max_ps(vmax[j], m, vmax[j], a);
      _mm512_mask_storeu_ps(att + j * T + t0, m, a);
    }
  }
  if (softcap > 0.0f || t_lo > 0) {
    for (int j = 0; j < nj; j++) {
      float lm[16];
      cap_and_mask(att + j * T, T, t_lo, softcap, lm);
      vmax[j] = _mm512_loadu_ps(lm);
    }
  }
  for (int j = 0; j < nj; j++) {
    float* a = att + j * T;
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax[j]));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
      const __mmask16 m = tail_mask(T - t0);
      const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + t0), mx));
      sum = _mm512_mask_add_ps(sum, m, sum, e);
      _mm512_mask_storeu_ps(a + t0, m, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
      const __mmask16 m = tail_mask(T - t0);
      _mm512_mask_storeu_ps(a + t0, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + t0), inv));
    }
  }
}

// out_j (hd) = sum_t att_j[t] v[t] for NJ heads, NV vectors of columns from c0 of the head (the
// last one masked); vg: one KV head's values (T, hd). Template arguments keep the NJ x NV
// accumulators in registers.
template <int NJ, int NV>
void weighted_values_t(const float* att, int64_t t_lo, int64_t T, const float* vg, int64_t hd, int64_t c0,
                       const __mmask16* mk, float* og) {
  __m512 acc[NJ][NV];
  for (int j = 0; j < NJ; j++)
    for (int c = 0; c < NV; c++) acc[j][c] = _mm512_setzero_ps();
  for (int64_t t = t_lo; t < T; t++) {
    const float* v = vg + t * hd + c0;
    __m512 vv[NV];
    for (int c = 0; c < NV; c++) vv[c] = _mm512_maskz_loadu_ps(mk[c], v + 16 * c);
    for (int j = 0; j < NJ; j++) {
      const __m512 a = _mm512_set1_ps(att[j * T + t]);
      for (int c = 0; c < NV; c++) acc[j][c] = _mm512_fmadd_ps(a, vv[c], acc[j][c]);
    }
  }
  for (int j = 0; j < NJ; j++)
    for (int c = 0; c < NV; c++) _mm512_mask_storeu_ps(og + j * hd + c0 + 16 * c, mk[c], acc[j][c]);
}

template <int NJ>
void weighted_values_nj(const float* att, int64_t t_lo, int64_t T, const float* vg, int64_t hd, int64_t c0, int nv,
                        const __mmask16* mk, float* og) {
  switch (nv) {
    case 1: return weighted_values_t<NJ, 1>(att, t_lo, T, vg, hd, c0, mk, og);
    case 2: return weighted_values_t<NJ, 2>(att, t_lo, T, vg, hd, c0, mk, og);
    case 3: return weighted_values_t<NJ, 3>(att, t_lo, T, vg, hd, c0, mk, og);
    default: return weighted_values_t<NJ, 4>(att, t_lo, T, vg, hd, c0, mk, og);
  }
}

// out_j (hd) = sum_t att_j[t] v[t] for nj heads (nj <= 4), columns [c0, c0 + 64) of the head.
void weighted_values(const float* att, int64_t nj, int64_t t_lo, int64_t T, const float* vg, int64_t hd, int64_t c0,
                     float* og) {
  const int64_t w = hd - c0 < 64 ? hd - c0 : 64;
  const int nv = static_cast<int>((w + 15) / 16);
  __mmask16 mk[4];
  for (int c = 0; c < nv; c++) mk[c] = tail_mask(w - 16 * c);
  switch (nj) {
    case 1: return weighted_values_nj<1>(att, t_lo, T, vg, hd, c0, nv, mk, og);
    case 2: return weighted_values_nj<2>(att, t_lo, T, vg, hd, c0, nv, mk, og);
    case 3: return weighted_values_nj<3>(att, t_lo, T, vg, hd, c0, nv, mk, og);
    default: return weighted_values_nj<4>(att, t_lo, T, vg, hd, c0, nv, mk, og);
  }
}

}  // namespace

void attention_row_group_avx512(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t m,
                                int64_t pos0, int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int64_t g,
                                float* att, const AttnOpts& opts) {
  const int64_t q_dim = n_head * hd, group = n_head / n_kv;
  const int64_t T = pos0 + m + 1;  // positions this row sees
  const int64_t t_lo = first_visible(T, opts.window);
  const float* qg = q + m * q_dim + g * group * hd;  // (group, hd): the query heads of KV head g
  const float* kg = k_cache + g * ctx * hd;         // (ctx / 16, hd, 16)
  const float* vg = v_cache + g * ctx * hd;         // (ctx, hd)
  for (int64_t j0 = 0; j0 < group; j0 += kHeadBlock) {
    const int64_t nj = group - j0 < kHeadBlock ? group - j0 : kHeadBlock;
    scores_softmax(qg + j0 * hd, nj, kg, hd, T, opts.scale, opts.softcap, t_lo, att + j0 * T);
  }
  float* og = out + m * q_dim + g * group * hd;
  for (int64_t j0 = 0; j0 < group; j0 += 4) {
    const int64_t nj = group - j0 < 4 ? group - j0 : 4;
    for (int64_t c0 = 0; c0 < hd; c0 += 64)
      weighted_values(att + j0 * T, nj, t_lo, T, vg, hd, c0, og + j0 * hd);
  }
}

namespace {

// y[i*N + j] = x_i . w_j for MR rows of x and NR rows of W (rows K apart): MR x NR accumulators of
// 16 lanes (lane l sums the k = l mod 16), the last K % 16 values masked, then each summed across
// its lanes. Each (i, j) gets the same operations whatever MR and NR are.
template <int MR, int NR>
void sgemm_tile(const float* x, int64_t K, const float* w, int64_t N, float* y) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = _mm512_loadu_ps(w + j * K + k);
    for (int i = 0; i < MR; i++) {
      const __m512 xv = _mm512_loadu_ps(x + i * K + k);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  if (k < K) {
    const __mmask16 m = tail_mask(K - k);
    __m512 wv[NR];
    for (int j = 0; j < NR; j++) wv[j] = _mm512_maskz_loadu_ps(m, w + j * K + k);
    for (int i = 0; i < MR; i++) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + i * K + k);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) y[i * N + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <int NR>
void sgemm_rows_of_x(const float* x, int64_t m0, int64_t m1, int64_t K, const float* w, int64_t N, float* y) {
  int64_t m = m0;
  for (; m + 4 <= m1; m += 4) sgemm_tile<4, NR>(x + m * K, K, w, N, y + m * N);
  for (; m < m1; m++) sgemm_tile<1, NR>(x + m * K, K, w, N, y + m * N);
}

}  // namespace

void sgemm_block_avx512(const float* x, int64_t m0, int64_t m1, int64_t K, const float* w, int64_t n0, int64_t n1,
                        int64_t N, float* y) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) sgemm_rows_of_x<4>(x, m0, m1, K, w + n * K, N, y + n);
  for (; n < n1; n++) sgemm_rows_of_x<1>(x, m0, m1, K, w + n * K, N, y + n);
}

void silu_mul_avx512(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

const OpsTable kAvx512Ops = {
    "avx512", sgemm_block_avx512, attention_row_group_avx512, silu_mul_avx512, gelu_mul_generic,
    fill_normal_generic,
};

}  // namespace int4
