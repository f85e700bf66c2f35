// Scalar reference: quantize and dequantize INT4, quantize activations to int8, and convert
// to and from llama.cpp's Q4_0 / Q4_1 blocks.
#include <cmath>

#include "kernels.h"

namespace int4 {

namespace {

// Code for one weight, given the inverse scale. v is clamped before the conversion so that
// NaN (0 * inf when the scale underflows) and overflow cannot reach the float->int cast; for
// finite groups this gives exactly llama.cpp's MIN(15, (int8_t)(v)).
inline uint8_t to_code(float v) {
  if (!(v >= 0.0f)) return 0;
  if (v >= 15.0f) return 15;
  return static_cast<uint8_t>(v);  // truncation, as llama.cpp
}

inline void set_code(uint8_t* chunk, int i, uint8_t q) {
  if (i < QK / 2) chunk[i] = static_cast<uint8_t>((chunk[i] & 0xF0) | q);
  else chunk[i - QK / 2] = static_cast<uint8_t>((chunk[i - QK / 2] & 0x0F) | (q << 4));
}

}  // namespace

int64_t quantize_q4_generic(const float* w, int64_t N, int64_t K, int group_size, Scheme scheme,
                            uint8_t* codes, uint16_t* scales, uint16_t* offsets) {
  QMatrixView V;
  V.rows = N;
  V.cols = K;
  V.group_size = group_size;
  const int64_t G = V.groups_per_row();
  const int64_t row_bytes = V.row_code_bytes();
  const uint8_t pad = scheme == Scheme::Symmetric ? 0x88 : 0x00;
  for (int64_t i = 0; i < N * K; i++) {
    if (!std::isfinite(w[i])) return i;
  }
  for (int64_t r = 0; r < N; r++) {
    const float* x = w + r * K;
    uint8_t* rc = codes + r * row_bytes;
    std::memset(rc, pad, static_cast<size_t>(row_bytes));
    for (int64_t g = 0; g < G; g++) {
      const int64_t k0 = g * group_size;
      const int64_t k1 = k0 + group_size < K ? k0 + group_size : K;
      if (scheme == Scheme::Symmetric) {
        float amax = 0.0f, max = 0.0f;  // max keeps its sign
        for (int64_t k = k0; k < k1; k++) {
          if (amax < std::fabs(x[k])) { amax = std::fabs(x[k]); max = x[k]; }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        scales[r * G + g] = fp32_to_fp16(d);
        for (int64_t k = k0; k < k1; k++) {
          set_code(rc + (k / QK) * (QK / 2), static_cast<int>(k % QK), to_code(x[k] * id + 8.5f));
        }
      } else {
        float min = x[k0], max = x[k0];
        for (int64_t k = k0 + 1; k < k1; k++) {
          if (x[k] < min) min = x[k];
          if (x[k] > max) max = x[k];
        }
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        scales[r * G + g] = fp32_to_fp16(d);
        offsets[r * G + g] = fp32_to_fp16(min);
        for (int64_t k = k0; k < k1; k++) {
          set_code(rc + (k / QK) * (QK / 2), static_cast<int>(k % QK), to_code((x[k] - min) * id + 0.5f));
        }
      }
    }
  }
  return -1;
}

void dequantize_row_q4_generic(const QMatrixView& W, int64_t r, float* out) {
  const uint8_t* rc = W.row_codes(r);
  const uint16_t* sc = W.row_scales(r);
  const uint16_t* of = W.row_offsets(r);
  for (int64_t k = 0; k < W.cols; k++) {
    const int64_t g = k / W.group_size;
    const int q = chunk_code(rc + (k / QK) * (QK / 2), static_cast<int>(k % QK));
    const float d = fp16_to_fp32(sc[g]);
    out[k] = W.scheme == Scheme::Symmetric ? static_cast<float>(q - 8) * d
                                           : static_cast<float>(q) * d + fp16_to_fp32(of[g]);
  }
}

void quantize_row_q8_generic(const float* x, int64_t K, block_q8* xq) {
  const int64_t nb = (K + QK - 1) / QK;
  for (int64_t b = 0; b < nb; b++) {
    const int64_t k0 = b * QK;
    const int n = static_cast<int>(K - k0 < QK ? K - k0 : QK);
    float amax = 0.0f;
    for (int i = 0; i < n; i++) amax = std::fmax(amax, std::fabs(x[k0 + i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int i = 0; i < QK; i++) {
      const int q = i < n ? static_cast<int>(std::nearbyint(x[k0 + i] * id)) : 0;
      xq[b].qs[i] = static_cast<int8_t>(q);
      sum += q;
    }
    xq[b].d = d;
    xq[b].s = d * static_cast<float>(sum);
  }
}

void q4_from_ggml(const void* blocks, Scheme scheme, int64_t N, int64_t K, uint8_t* codes,
                  uint16_t* scales, uint16_t* offsets) {
  // K is a multiple of 32 for llama.cpp blocks, so chunks, groups and blocks coincide.
  const int64_t nb = N * (K / QK);
  if (scheme == Scheme::Symmetric) {
    const auto* b = static_cast<const block_q4_0*>(blocks);
    for (int64_t i = 0; i < nb; i++) {
      scales[i] = b[i].d;
      std::memcpy(codes + i * (QK / 2), b[i].qs, QK / 2);
    }
  } else {
    const auto* b = static_cast<const block_q4_1*>(blocks);
    for (int64_t i = 0; i < nb; i++) {
      scales[i] = b[i].d;
      offsets[i] = b[i].m;
      std::memcpy(codes + i * (QK / 2), b[i].qs, QK / 2);
    }
  }
}

void q4_to_ggml(const QMatrixView& W, void* blocks) {
  const int64_t nb = W.rows * (W.cols / QK);
  if (W.scheme == Scheme::Symmetric) {
    auto* b = static_cast<block_q4_0*>(blocks);
    for (int64_t i = 0; i < nb; i++) {
      b[i].d = W.scales[i];
      std::memcpy(b[i].qs, W.codes + i * (QK / 2), QK / 2);
    }
  } else {
    auto* b = static_cast<block_q4_1*>(blocks);
    for (int64_t i = 0; i < nb; i++) {
      b[i].d = W.scales[i];
      b[i].m = W.offsets[i];
      std::memcpy(b[i].qs, W.codes + i * (QK / 2), QK / 2);
    }
  }
}

}  // namespace int4
