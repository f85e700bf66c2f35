// llama.cpp's IQ4_NL and IQ4_XS quantizers: 4-bit indices into the non-linear codebook
// kvalues_iq4nl under a per-32 scale (IQ4_NL: fp16; IQ4_XS: 6 bits under an fp16 super-scale).
//
// llama-quantize writes both through one search (ggml's quantize_row_iq4_nl_impl with ntry 7):
// per 32 weights, a start at -max/-127, then the least-squares scale of the codes that 15 trial
// inverse scales (itry - 127) / max give, keeping the best fit. ggml's quantize_row_iq4_nl_ref
// runs it with ntry -1 (no trials, no re-rounding): a different result, not what files hold.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quantize_internal.h"
#include "quantize_ref.h"

namespace int4 {
namespace ggml {

using namespace detail;

namespace {

constexpr int kBlock = 32;  // weights per scale in both types

// One super-block of n weights (32 for IQ4_NL, 256 for IQ4_XS). scales_h / scales_l: IQ4_XS's
// packed sub-scales (unused when n == 32). qw: importance weights of these n weights, or null.
void quantize_iq4_block(int n, const float* x, uint16_t* dh, uint8_t* q4, uint16_t* scales_h, uint8_t* scales_l,
                        const float* qw, int ntry) {
  const int8_t* values = kvalues_iq4nl;
  float scales[QK_K / kBlock], weight[kBlock];
  uint8_t L[QK_K];

  float sigma2 = 0;
  for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
  sigma2 *= 2.f / static_cast<float>(n);

  std::memset(q4, 0, static_cast<size_t>(n / 2));
  *dh = float_to_half(0.f);

  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < n / kBlock; ++ib) {
    const float* xb = x + ib * kBlock;
    uint8_t* Lb = L + ib * kBlock;
    if (qw) {
      for (int j = 0; j < kBlock; ++j) weight[j] = qw[ib * kBlock + j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    } else {
      for (int j = 0; j < kBlock; ++j) weight[j] = xb[j] * xb[j];
    }
    float amax = 0, max = 0;
    for (int j = 0; j < kBlock; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) amax = ax, max = xb[j];
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      std::memset(Lb, 0, kBlock);
      continue;
    }
    // The codes of inverse scale id and their weighted least-squares scale: sumqx / sumq2.
    auto fit = [&](float id, float& sumqx, float& sumq2, bool store) {
      sumqx = 0, sumq2 = 0;
      for (int j = 0; j < kBlock; ++j) {
        const int l = best_index_int8(16, values, id * xb[j]);
        if (store) Lb[j] = static_cast<uint8_t>(l);
        const float q = values[l];
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
    };
    // the start maps max onto the codebook's end of its sign (-127 when searching)
    const float d0 = ntry > 0 ? -max / static_cast<float>(values[0]) : max / static_cast<float>(values[0]);
    float sumqx, sumq2;
    fit(1 / d0, sumqx, sumq2, true);
    float d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; ++itry) {
      fit(static_cast<float>(itry + values[0]) / max, sumqx, sumq2, false);
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    if (std::fabs(d) > amax_scale) amax_scale = std::fabs(d), max_scale = d;
  }

  if (n / kBlock > 1) {
    // IQ4_XS: the sub-scales as 6-bit signed multiples of d = -max_scale / 32, then every weight
    // re-rounded against its quantized sub-scale (the float d, not its fp16 rounding)
    *scales_h = 0;
    const float d = -max_scale / 32;
    *dh = float_to_half(d);
    const float id = d != 0 ? 1 / d : 0.f;
    for (int ib = 0; ib < n / kBlock; ++ib) {
      int l = std::max(-32, std::min(31, nearest_int(id * scales[ib])));
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0 ? 1 / dl : 0.f;
      for (int j = 0; j < kBlock; ++j) L[ib * kBlock + j] = static_cast<uint8_t>(best_index_int8(16, values, idl * x[ib * kBlock + j]));
      l += 32;
      if (ib % 2 == 0) scales_l[ib / 2] = static_cast<uint8_t>(l & 0xf);
      else scales_l[ib / 2] |= static_cast<uint8_t>((l & 0xf) << 4);
      *scales_h |= static_cast<uint16_t>((l >> 4) << (2 * (ib % 8)));
    }
  } else {
    // IQ4_NL: the fp16 of the float scale; when searching, the codes re-rounded against that
    // float scale
    *dh = float_to_half(scales[0]);
    if (ntry > 0) {
      const float id = scales[0] != 0 ? 1 / scales[0] : 0;
      for (int j = 0; j < n; ++j) L[j] = static_cast<uint8_t>(best_index_int8(16, values, id * x[j]));
    }
  }

  // weights j and j + 16 of each 32 share byte j of its 16
  for (int i = 0; i < n / 32; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

}  // namespace

// An all-zero block gets codes 0 (as in llama.cpp master); llama.cpp 0.5.0 left them as whatever
// its stack held, so only such blocks can differ from its output.
void quantize_row_iq4_nl_ref(const float* x, block_iq4_nl* y, int64_t k) {
  uint16_t unused_h;
  for (int64_t ib = 0; ib < k / QK4_NL; ++ib)
    quantize_iq4_block(QK4_NL, x + QK4_NL * ib, &y[ib].d, y[ib].qs, &unused_h, nullptr, nullptr, -1);
}

void quantize_row_iq4_xs_ref(const float* x, block_iq4_xs* y, int64_t k) { quantize_rows_iq4_xs(x, y, 1, k, nullptr); }

size_t quantize_rows_iq4_nl(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  const int64_t nblock = n_per_row / QK4_NL;
  auto* y = static_cast<block_iq4_nl*>(dst);
  uint16_t unused_h;
  for (int64_t row = 0; row < nrows; ++row, src += n_per_row, y += nblock)
    for (int64_t ib = 0; ib < nblock; ++ib)
      quantize_iq4_block(QK4_NL, src + QK4_NL * ib, &y[ib].d, y[ib].qs, &unused_h, nullptr,
                         imatrix ? imatrix + QK4_NL * ib : nullptr, 7);
  return static_cast<size_t>(nrows * nblock) * sizeof(block_iq4_nl);
}

size_t quantize_rows_iq4_xs(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  const int64_t nblock = n_per_row / QK_K;
  auto* y = static_cast<block_iq4_xs*>(dst);
  for (int64_t row = 0; row < nrows; ++row, src += n_per_row, y += nblock)
    for (int64_t ib = 0; ib < nblock; ++ib)
      quantize_iq4_block(QK_K, src + QK_K * ib, &y[ib].d, y[ib].qs, &y[ib].scales_h, y[ib].scales_l,
                         imatrix ? imatrix + QK_K * ib : nullptr, 7);
  return static_cast<size_t>(nrows * nblock) * sizeof(block_iq4_xs);
}

}  // namespace ggml
}  // namespace int4
