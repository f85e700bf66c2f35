// The transformer's small operators: RMSNorm, RoPE, attention, SwiGLU, residual add.
// Arithmetic follows llama2.c's run.c (f32 sums in order, expf/sqrtf), the reference the tests hold
// the f32 path to.
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "ops.h"

namespace int4 {

void rmsnorm_f32(const float* x, const float* w, float* out, int64_t M, int64_t n, float eps) {
  for (int64_t m = 0; m < M; m++) {
    const float* xr = x + m * n;
    float* o = out + m * n;
    float ss = 0.0f;
    for (int64_t j = 0; j < n; j++) ss += xr[j] * xr[j];
    ss /= static_cast<float>(n);
    ss += eps;
    ss = 1.0f / std::sqrt(ss);
    for (int64_t j = 0; j < n; j++) o[j] = w[j] * (ss * xr[j]);
  }
}

void rope_f32(float* x, int64_t M, int64_t n_heads, int64_t head_dim, int64_t pos0, int64_t n_rot, float base,
              int mode) {
  std::vector<float> cs(static_cast<size_t>(n_rot));  // cos, sin per pair at this position
  for (int64_t m = 0; m < M; m++) {
    const double pos = static_cast<double>(pos0 + m);
    for (int64_t i = 0; i < n_rot; i += 2) {
      const double freq = 1.0 / std::pow(static_cast<double>(base), static_cast<double>(i) / static_cast<double>(n_rot));
      const double v = pos * freq;
      cs[i] = static_cast<float>(std::cos(v));
      cs[i + 1] = static_cast<float>(std::sin(v));
    }
    float* row = x + m * n_heads * head_dim;
    for (int64_t h = 0; h < n_heads; h++) {
      float* v = row + h * head_dim;
      for (int64_t i = 0; i < n_rot; i += 2) {
        const int64_t a = mode == 2 ? i / 2 : i;
        const int64_t b = mode == 2 ? i / 2 + n_rot / 2 : i + 1;
        const float v0 = v[a], v1 = v[b];
        const float c = cs[i], s = cs[i + 1];
        v[a] = v0 * c - v1 * s;
        v[b] = v0 * s + v1 * c;
      }
    }
  }
}

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define INT4_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define INT4_CLONES
#endif

// Query heads [h0, h1) of every row. Scores accumulate over i in order (as llama2.c's dot product)
// but for all positions at once: att[t] += q[i] * k_t[i][t], a loop over contiguous t.
INT4_CLONES
void attention_heads(const float* q, const float* k_t, const float* vc, float* out, int64_t M, int64_t pos0,
                     int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int64_t h0, int64_t h1) {
  const int64_t kv_dim = n_kv * hd, q_dim = n_head * hd, group = n_head / n_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> att_buf(static_cast<size_t>(pos0 + M));
  float* att = att_buf.data();
  for (int64_t m = 0; m < M; m++) {
    const int64_t T = pos0 + m + 1;  // positions this row sees
    for (int64_t h = h0; h < h1; h++) {
      const float* qh = q + m * q_dim + h * hd;
      const int64_t g = h / group;
      const float* kg = k_t + g * hd * ctx;
      // scores: q . k_t / sqrt(hd), t < T
      for (int64_t t = 0; t < T; t++) att[t] = 0.0f;
      for (int64_t i = 0; i < hd; i++) {
        const float qi = qh[i];
        const float* kr = kg + i * ctx;
        for (int64_t t = 0; t < T; t++) att[t] += qi * kr[t];
      }
      float mx = -INFINITY;
      for (int64_t t = 0; t < T; t++) {
        att[t] *= scale;
        mx = att[t] > mx ? att[t] : mx;
      }
      // softmax
      float sum = 0.0f;
      for (int64_t t = 0; t < T; t++) {
        att[t] = std::exp(att[t] - mx);
        sum += att[t];
      }
      const float inv = 1.0f / sum;
      // weighted sum of values
      float* o = out + m * q_dim + h * hd;
      for (int64_t i = 0; i < hd; i++) o[i] = 0.0f;
      for (int64_t t = 0; t < T; t++) {
        const float* v = vc + t * kv_dim + g * hd;
        const float a = att[t] * inv;
        for (int64_t i = 0; i < hd; i++) o[i] += a * v[i];
      }
    }
  }
}

}  // namespace

void store_kv_f32(const float* k, const float* v, int64_t M, int64_t pos0, int64_t n_kv, int64_t hd, int64_t ctx,
                  float* k_t, float* v_cache) {
  const int64_t kv_dim = n_kv * hd;
  for (int64_t m = 0; m < M; m++)
    for (int64_t j = 0; j < kv_dim; j++) k_t[j * ctx + pos0 + m] = k[m * kv_dim + j];
  std::memcpy(v_cache + pos0 * kv_dim, v, static_cast<size_t>(M * kv_dim) * sizeof(float));
}

void attention_f32(const float* q, const float* k_t, const float* v_cache, float* out, int64_t M, int64_t pos0,
                   int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int threads) {
  // One token's attention is small: threads only pay off over a prompt.
  if (threads <= 1 || M * (pos0 + M) < 4096 || n_head < threads) {
    attention_heads(q, k_t, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, 0, n_head);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t per = (n_head + threads - 1) / threads;
  for (int t = 1; t < threads; t++) {
    const int64_t h0 = t * per, h1 = h0 + per < n_head ? h0 + per : n_head;
    if (h0 < h1) pool.emplace_back(attention_heads, q, k_t, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, h0, h1);
  }
  attention_heads(q, k_t, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, 0, per < n_head ? per : n_head);
  for (auto& th : pool) th.join();
}

void silu_mul_f32(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float g = gate[i];
    gate[i] = g * (1.0f / (1.0f + std::exp(-g))) * up[i];
  }
}

void add_f32(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

}  // namespace int4
