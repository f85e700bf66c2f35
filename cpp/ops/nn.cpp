// The transformer's small operators: RMSNorm, RoPE, attention, SwiGLU, residual add.
// Arithmetic follows llama2.c's run.c (f32, expf/sqrtf), the reference the tests hold the f32 path
// to; long sums (RMSNorm's squares, softmax's max and sum) run in 16 lanes so that they vectorize.
// Attention's and SwiGLU's inner code is per ISA (ops_table.h); this file splits the work.
#include <cmath>
#include <cstring>
#include <vector>

#include "../int4/thread_pool.h"
#include "ops.h"
#include "ops_table.h"

namespace int4 {

namespace {

// Splits [0, n) into pieces of at least kMinPiece for the thread pool: elementwise work is
// memory-bound and short, so only big batches (a prompt) are worth waking workers for. Each
// element (or row) is computed the same way whatever the split.
constexpr int64_t kMinPiece = 1 << 16;

template <class F>
void parallel_ranges(int threads, int64_t n, int64_t unit, F f) {
  const int64_t pieces = threads > 1 && n * unit >= 2 * kMinPiece ? (n * unit / kMinPiece < 4 * threads ? n * unit / kMinPiece : 4 * threads) : 1;
  if (pieces <= 1) return f(int64_t(0), n);
  struct Job {
    F* f;
    int64_t n, pieces;
  } job{&f, n, pieces};
  parallel_for(threads, pieces, [](void* a, int64_t t) {
    const Job& j = *static_cast<const Job*>(a);
    (*j.f)(j.n * t / j.pieces, j.n * (t + 1) / j.pieces);
  }, &job);
}

void rmsnorm_rows(const float* x, const float* w, float* out, int64_t m0, int64_t m1, int64_t n, float eps) {
  for (int64_t m = m0; m < m1; m++) {
    const float* xr = x + m * n;
    float* o = out + m * n;
    // the sum of squares in 16 lanes (vectorized; one running sum would be a serial chain), then
    // the lanes in order
    float lanes[16] = {};
    const int64_t n16 = n - n % 16;
    for (int64_t j = 0; j < n16; j += 16)
      for (int l = 0; l < 16; l++) lanes[l] += xr[j + l] * xr[j + l];
    float ss = 0.0f;
    for (int l = 0; l < 16; l++) ss += lanes[l];
    for (int64_t j = n16; j < n; j++) ss += xr[j] * xr[j];
    ss /= static_cast<float>(n);
    ss += eps;
    ss = 1.0f / std::sqrt(ss);
    for (int64_t j = 0; j < n; j++) o[j] = w[j] * (ss * xr[j]);
  }
}

}  // namespace

void rmsnorm_f32(const float* x, const float* w, float* out, int64_t M, int64_t n, float eps, int threads) {
  parallel_ranges(threads, M, n, [&](int64_t a, int64_t b) { rmsnorm_rows(x, w, out, a, b, n, eps); });
}

void rope_f32(float* x, int64_t M, int64_t n_heads, int64_t head_dim, int64_t pos0, int64_t n_rot, float base,
              int mode, const float* factors, float freq_scale, float mscale) {
  // The frequencies base^(-i/n_rot) depend on the model only: kept per thread between calls.
  thread_local std::vector<double> freq;
  thread_local float freq_base = 0.0f;
  if (freq_base != base || freq.size() != static_cast<size_t>(n_rot / 2)) {
    freq.resize(static_cast<size_t>(n_rot / 2));
    for (int64_t i = 0; i < n_rot; i += 2)
      freq[i / 2] = 1.0 / std::pow(static_cast<double>(base), static_cast<double>(i) / static_cast<double>(n_rot));
    freq_base = base;
  }
  thread_local std::vector<float> cs;  // cos, sin per pair at this position
  cs.resize(static_cast<size_t>(n_rot));
  const int64_t half = n_rot / 2;
  for (int64_t m = 0; m < M; m++) {
    const double pos = static_cast<double>(pos0 + m);
    for (int64_t i = 0; i < n_rot; i += 2) {
      double v = pos * freq[i / 2];
      if (factors) v /= static_cast<double>(factors[i / 2]);
      v *= static_cast<double>(freq_scale);
      cs[i] = static_cast<float>(std::cos(v)) * mscale;
      cs[i + 1] = static_cast<float>(std::sin(v)) * mscale;
    }
    float* row = x + m * n_heads * head_dim;
    for (int64_t h = 0; h < n_heads; h++) {
      float* v = row + h * head_dim;
      if (mode == 2) {  // neox: pairs (i, i + n_rot/2)
        for (int64_t i = 0; i < half; i++) {
          const float v0 = v[i], v1 = v[i + half], c = cs[2 * i], s = cs[2 * i + 1];
          v[i] = v0 * c - v1 * s;
          v[i + half] = v0 * s + v1 * c;
        }
      } else {  // normal: adjacent pairs (2i, 2i + 1)
        for (int64_t i = 0; i < n_rot; i += 2) {
          const float v0 = v[i], v1 = v[i + 1], c = cs[i], s = cs[i + 1];
          v[i] = v0 * c - v1 * s;
          v[i + 1] = v0 * s + v1 * c;
        }
      }
    }
  }
}

namespace {

// Requests the cache lines of one KV head's keys and values, positions [0, T), all at once. While
// a token is generated the weights stream through the caches between two layers' attention, so
// the cache is cold; a short run is otherwise read a miss at a time, before the hardware
// prefetcher has seen enough of it.
void prefetch_kv(const float* k_cache, const float* v_cache, int64_t T, int64_t hd, int64_t ctx, int64_t g) {
  const int64_t nk = (T + kKvBlock - 1) / kKvBlock * kKvBlock * hd;
  for (int64_t e = 0; e < nk; e += 16) __builtin_prefetch(k_cache + g * ctx * hd + e);
  for (int64_t e = 0; e < T * hd; e += 16) __builtin_prefetch(v_cache + g * ctx * hd + e);
}

struct AttentionJob {
  const float *q, *k_cache, *v_cache;
  float* out;
  int64_t M, pos0, n_head, n_kv, hd, ctx;
  const OpsTable* ops;
  AttnOpts opts;
};

// One task: row m = task / n_kv, KV head g = task % n_kv. Scratch for the scores is per thread.
void attention_task(void* arg, int64_t task) {
  const AttentionJob& j = *static_cast<const AttentionJob*>(arg);
  const int64_t m = task / j.n_kv, g = task % j.n_kv, T = j.pos0 + m + 1;
  thread_local std::vector<float> att;
  if (att.size() < static_cast<size_t>(j.n_head / j.n_kv * T)) att.resize(static_cast<size_t>(j.n_head / j.n_kv * T));
  if (j.M <= 4) prefetch_kv(j.k_cache, j.v_cache, T, j.hd, j.ctx, g);
  j.ops->attention_row_group(j.q, j.k_cache, j.v_cache, j.out, m, j.pos0, j.n_head, j.n_kv, j.hd, j.ctx, g, att.data(), j.opts);
}

}  // namespace

void store_kv_f32(const float* k, const float* v, int64_t M, int64_t pos0, int64_t n_kv, int64_t hd, int64_t ctx,
                  float* k_cache, float* v_cache) {
  const int64_t kv_dim = n_kv * hd;
  for (int64_t m = 0; m < M; m++)
    for (int64_t g = 0; g < n_kv; g++) {
      const float* kr = k + m * kv_dim + g * hd;
      for (int64_t i = 0; i < hd; i++) k_cache[kv_key_index(pos0 + m, g, i, hd, ctx)] = kr[i];
      std::memcpy(v_cache + g * ctx * hd + (pos0 + m) * hd, v + m * kv_dim + g * hd, static_cast<size_t>(hd) * sizeof(float));
    }
}

void attention_f32(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t M, int64_t pos0,
                   int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int threads, const AttnOpts& opts) {
  // Tasks of one row and one KV head, taken in order from the pool's counter (later rows see more
  // positions; taking them as threads free up keeps the threads even). A short one runs alone.
  AttentionJob job{q, k_cache, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, &active_ops(), opts};
  const bool small = M * (pos0 + M) * n_head * hd < (int64_t(1) << 16);
  parallel_for(small ? 1 : threads, M * n_kv, attention_task, &job);
}

void silu_mul_f32(float* gate, const float* up, int64_t n, int threads) {
  const OpsTable& ops = active_ops();
  parallel_ranges(threads, n, 1, [&](int64_t a, int64_t b) { ops.silu_mul(gate + a, up + a, b - a); });
}

void gelu_mul_f32(float* gate, const float* up, int64_t n, int threads) {
  const OpsTable& ops = active_ops();
  parallel_ranges(threads, n, 1, [&](int64_t a, int64_t b) { ops.gelu_mul(gate + a, up + a, b - a); });
}

void add_bias_f32(float* x, const float* b, int64_t M, int64_t n) {
  for (int64_t m = 0; m < M; m++)
    for (int64_t j = 0; j < n; j++) x[m * n + j] += b[j];
}

void softcap_f32(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; i++) x[i] = cap * std::tanh(x[i] / cap);
}

void scale_f32(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; i++) x[i] *= s;
}

void add_f32(float* x, const float* y, int64_t n, int threads) {
  parallel_ranges(threads, n, 1, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; i++) x[i] += y[i];
  });
}

}  // namespace int4
