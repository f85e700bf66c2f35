// What the quantizer files share: llama.cpp's rounding helper, its codebook search and its scale
// searches (quantize_search.cpp). Bit-exactness with llama.cpp rests on each float operation
// happening in the same order and precision as in ggml-quants.c, so the expressions below keep
// ggml's association (a*b*c is (a*b)*c) and the library is built with -ffp-contract=off (ggml-base,
// which holds ggml-quants.c, is built for baseline x86-64: no FMA to contract into).
#pragma once
#include <cstdint>
#include <cstring>

#include "../int4/format.h"
#include "blocks.h"

namespace int4 {
namespace ggml {
namespace detail {

// Below this, a group's largest magnitude counts as zero: the group quantizes to all-zero codes.
constexpr float GROUP_MAX_EPS = 1e-15f;

// Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 leaves the rounded integer in
// the low mantissa bits. llama.cpp's nearest_int; ties go to even here, where roundf would go away
// from zero, so it must not be replaced by roundf/lrintf-with-another-mode.
inline int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// The index of the value of the sorted codebook val[0..n) nearest to x (the upper one on a tie).
inline int best_index_int8(int n, const int8_t* val, float x) {
  if (x <= val[0]) return 0;
  if (x >= val[n - 1]) return n - 1;
  int lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < val[mid]) hi = mid;
    else lo = mid;
  }
  return x - val[hi - 1] < val[hi] - x ? hi - 1 : hi;
}

inline float half_to_float(uint16_t h) { return fp16_to_fp32(h); }
inline uint16_t float_to_half(float f) { return fp32_to_fp16(f); }

// Symmetric codes L[i] in [0, 2*nmax) (l + nmax for l in [-nmax, nmax)) with the scale that
// minimizes sum w (x - scale*l)^2 over 18 trial inverse scales around -nmax/max; w = qw[i], or
// x[i]^2 without weights. llama.cpp's make_qx_quants with rmse_type 1 (the only type its
// quantizers still use).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* qw);

// Q3_K's variant without weights: a start at -nmax/max, then up to 5 passes moving single codes
// while that improves the x^2-weighted fit. Codes L[i] in [0, 2*nmax).
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);

// Asymmetric codes L[i] in [0, nmax] with a scale and a min (returned as *the_min, positive
// meaning subtract): nstep + 1 trial inverse scales (rmin + rdelta*is + nmax) / (max - min), each
// refit by weighted least squares, keeping the smallest weighted error (|diff| when use_mad).
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// make_qkx2_quants for the importance-weighted paths (weights null: x^2), guarding codes against
// a trial min at or past max.
float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// Non-negative codes L[i] in [0, nmax] for non-negative x (the sub-block scales and mins of the
// importance-weighted K-quants), weighted by quant_weights.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights);

}  // namespace detail
}  // namespace ggml
}  // namespace int4
