// Native operators of the Llama forward pass besides INT4 matmul: f32 matmul (the full-precision
// reference path), RMSNorm, RoPE, causal attention over a KV cache, SwiGLU, and a seeded random
// fill for the demo model. Plain scalar loops written so the compiler vectorizes them.
// Shapes as in llama2.c: x (M,K) is M rows of K floats, row-major.
#pragma once
#include <cstdint>

namespace int4 {

// x (M,K) @ W (N,K)^T -> y (M,N), all f32. `threads` > 1 splits the rows of W (big products only).
void sgemm_f32(const float* x, int64_t M, int64_t K, const float* w, int64_t N, float* y, int threads);

// out[m] = x[m] / sqrt(mean(x[m]^2) + eps) * w, for M rows of n. out may equal x.
// threads > 1 splits big batches (a prompt's rows) on the thread pool; results do not change.
void rmsnorm_f32(const float* x, const float* w, float* out, int64_t M, int64_t n, float eps, int threads = 1);

// Rotates pairs of x (M, n_heads*head_dim) in place; row m is at position pos0 + m.
// mode 0: llama.cpp "normal" (pairs (i, i+1)); mode 2: "neox" (pairs (i, i + n_rot/2)).
// Only the first n_rot dimensions of each head rotate, pair j (j < n_rot/2) by the angle
//   theta_j = freq_scale * pos * base^(-2j/n_rot) / factors[j]
// (ggml_rope_ext without YaRN: factors are a model's rope_freqs / rope_factors_* tensor, null for
// none; freq_scale is 1 / the linear scaling factor), and cos, sin are multiplied by mscale.
void rope_f32(float* x, int64_t M, int64_t n_heads, int64_t head_dim, int64_t pos0, int64_t n_rot,
              float base, int mode, const float* factors = nullptr, float freq_scale = 1.0f, float mscale = 1.0f);

// The KV cache of one layer, n_kv * ctx * hd floats each; ctx is a multiple of kKvBlock.
//   keys: k (n_kv, ctx / 16, hd, 16): per KV head, blocks of 16 positions, each block transposed
//     (dimension i of positions t0..t0+15 is 16 contiguous floats), so that the scores of one
//     query against 16 positions are one vector per step over i (no horizontal sums), and a head's
//     keys are one contiguous run (prefetched as a stream while a token is generated);
//   values: v (n_kv, ctx, hd): per KV head, one row per position, also one contiguous run.
// store_kv writes M new rows k, v (M, n_kv*hd) at positions pos0...
constexpr int64_t kKvBlock = 16;
inline int64_t kv_key_index(int64_t t, int64_t g, int64_t i, int64_t hd, int64_t ctx) {
  return g * ctx * hd + (t / kKvBlock) * hd * kKvBlock + i * kKvBlock + t % kKvBlock;
}
void store_kv_f32(const float* k, const float* v, int64_t M, int64_t pos0, int64_t n_kv, int64_t hd, int64_t ctx,
                  float* k_cache, float* v_cache);

// How a score q.k becomes a softmax input, as the architecture declares it:
//   s = q.k * scale; if softcap > 0: s = softcap * tanh(s / softcap) (Gemma 2);
//   window > 0: query position p sees key position t only when p - t < window (llama.cpp's
//   standard sliding window), else every t <= p.
struct AttnOpts {
  float scale;
  float softcap;
  int64_t window;
};

// Causal grouped-query attention. q (M, n_head*hd); the cache (above) holds positions
// [0, pos0 + M), the M new ones included. Query row m (position pos0 + m) attends to positions
// 0..pos0+m (the last `window` of them with a sliding window). out (M, n_head*hd). Query head h
// reads KV head h / (n_head / n_kv).
void attention_f32(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t M, int64_t pos0,
                   int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int threads, const AttnOpts& opts);

// gate = gelu(gate) * up, n values: GELU with the tanh approximation (GeGLU, Gemma).
void gelu_mul_f32(float* gate, const float* up, int64_t n, int threads = 1);

// x (M, n) += b (n): a linear layer's bias on each row.
void add_bias_f32(float* x, const float* b, int64_t M, int64_t n);

// x = cap * tanh(x / cap), n values (Gemma 2's final logit soft-capping).
void softcap_f32(float* x, int64_t n, float cap);

// x *= s, n values (Gemma's embedding scale).
void scale_f32(float* x, int64_t n, float s);

// gate = silu(gate) * up, n values.
void silu_mul_f32(float* gate, const float* up, int64_t n, int threads = 1);

// x += y, n values.
void add_f32(float* x, const float* y, int64_t n, int threads = 1);

// dst[i] = scale * approx_normal(seed, offset + i): a counter-based generator (splitmix64 hash of
// the index, Irwin-Hall sum of four 16-bit uniforms), so any slice can be filled independently
// and the values depend only on (seed, index).
void fill_normal_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset, float scale, int threads);

}  // namespace int4

#include "../int4/format.h"

namespace int4 {

// The demo model's weights: W (N,K) filled as fill_normal_f32(seed, offset r*K) row by row and
// quantized at once with quantize_q4_generic, a block of rows at a time on `threads` threads, so
// the f32 values of a whole tensor never exist at once. err2/ref2 (may be null) receive the
// squared INT4 error and the squared values summed over a sample of rows (one in 64).
void random_q4(int64_t N, int64_t K, uint64_t seed, float scale, int group_size, Scheme scheme, uint8_t* codes,
               uint16_t* scales, uint16_t* offsets, int threads, double* err2, double* ref2);

}  // namespace int4
