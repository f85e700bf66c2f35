// The transformer's small operators: RMSNorm, RoPE, attention, SwiGLU, residual add.
// Arithmetic follows llama2.c's run.c (f32 sums in order, expf/sqrtf), the reference the tests hold
// the f32 path to.
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "../int4/dispatch.h"
#include "../int4/thread_pool.h"
#include "nn_isa.h"
#include "ops.h"

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
    float ss = 0.0f;
    for (int64_t j = 0; j < n; j++) ss += xr[j] * xr[j];
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

// Whether the AVX-512 versions of attention and SwiGLU run: when the AVX-512 kernels do (so that
// INT4_ISA=avx2 or scalar also keeps these operators off AVX-512).
bool use_avx512_ops() {
#if defined(INT4_HAVE_AVX512_OPS)
  return isa_family(active_kernels()) == "avx512";
#else
  return false;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define INT4_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define INT4_CLONES
#endif

// Rows m0, m0 + stride, ... of the batch. The query heads that share a KV head are done together,
// so each key and value row is loaded once for all of them. Scores accumulate over i in order (as
// llama2.c's dot product) but for all positions at once: att[j][t] += q_j[i] * k_t[i][t], a loop
// over contiguous t that vectorizes without horizontal sums.
INT4_CLONES
void attention_rows_generic(const float* q, const float* k_t, const float* vc, float* out, int64_t M, int64_t pos0,
                            int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int64_t m0, int64_t stride,
                            float* att /* (group, T) */) {
  const int64_t kv_dim = n_kv * hd, q_dim = n_head * hd, group = n_head / n_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t m = m0; m < M; m += stride) {
    const int64_t T = pos0 + m + 1;  // positions this row sees
    for (int64_t g = 0; g < n_kv; g++) {
      const float* qg = q + m * q_dim + g * group * hd;  // (group, hd): the query heads of KV head g
      const float* kg = k_t + g * hd * ctx;             // (hd, ctx)
      // scores: q_j . k_t / sqrt(hd), t < T
      for (int64_t j = 0; j < group; j++)
        for (int64_t t = 0; t < T; t++) att[j * T + t] = 0.0f;
      for (int64_t i = 0; i < hd; i++) {
        const float* kr = kg + i * ctx;
        for (int64_t j = 0; j < group; j++) {
          const float qi = qg[j * hd + i];
          float* a = att + j * T;
          for (int64_t t = 0; t < T; t++) a[t] += qi * kr[t];
        }
      }
      // softmax per head; the 1/sum is folded into the weights of the values
      for (int64_t j = 0; j < group; j++) {
        float* a = att + j * T;
        // max and sum in 16 lanes: vectorized, where one running value would be a serial chain
        float lm[16], ls[16];
        for (int l = 0; l < 16; l++) lm[l] = -INFINITY, ls[l] = 0.0f;
        const int64_t T16 = T - T % 16;
        for (int64_t t = 0; t < T16; t += 16)
          for (int l = 0; l < 16; l++) {
            a[t + l] *= scale;
            lm[l] = a[t + l] > lm[l] ? a[t + l] : lm[l];
          }
        for (int64_t t = T16; t < T; t++) {
          a[t] *= scale;
          lm[0] = a[t] > lm[0] ? a[t] : lm[0];
        }
        float mx = lm[0];
        for (int l = 1; l < 16; l++) mx = lm[l] > mx ? lm[l] : mx;
        for (int64_t t = 0; t < T; t++) a[t] = std::exp(a[t] - mx);
        for (int64_t t = 0; t < T16; t += 16)
          for (int l = 0; l < 16; l++) ls[l] += a[t + l];
        float sum = 0.0f;
        for (int l = 0; l < 16; l++) sum += ls[l];
        for (int64_t t = T16; t < T; t++) sum += a[t];
        const float inv = 1.0f / sum;
        for (int64_t t = 0; t < T; t++) a[t] *= inv;
      }
      // weighted sum of values: out_j = sum_t a_j[t] v[t]
      float* og = out + m * q_dim + g * group * hd;
      for (int64_t e = 0; e < group * hd; e++) og[e] = 0.0f;
      for (int64_t t = 0; t < T; t++) {
        const float* v = vc + t * kv_dim + g * hd;
        for (int64_t j = 0; j < group; j++) {
          const float a = att[j * T + t];
          float* o = og + j * hd;
          for (int64_t i = 0; i < hd; i++) o[i] += a * v[i];
        }
      }
    }
  }
}

void attention_rows(const float* q, const float* k_t, const float* vc, float* out, int64_t M, int64_t pos0,
                    int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int64_t m0, int64_t stride) {
  std::vector<float> att(static_cast<size_t>(n_head / n_kv * (pos0 + M)));
#if defined(INT4_HAVE_AVX512_OPS)
  if (use_avx512_ops())
    return attention_rows_avx512(q, k_t, vc, out, M, pos0, n_head, n_kv, hd, ctx, m0, stride, att.data());
#endif
  attention_rows_generic(q, k_t, vc, out, M, pos0, n_head, n_kv, hd, ctx, m0, stride, att.data());
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
  // One token's attention is small: threads only pay off over a prompt. Rows are dealt out in
  // turn (row m has pos0 + m + 1 positions), which keeps the threads' work even.
  const int64_t T = threads > M ? M : threads;
  if (T <= 1 || M * (pos0 + M) < 4096) {
    attention_rows(q, k_t, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, 0, 1);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < T; t++) pool.emplace_back(attention_rows, q, k_t, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, t, T);
  attention_rows(q, k_t, v_cache, out, M, pos0, n_head, n_kv, hd, ctx, 0, T);
  for (auto& th : pool) th.join();
}

void silu_mul_f32(float* gate, const float* up, int64_t n, int threads) {
  const bool avx512 = use_avx512_ops();
  parallel_ranges(threads, n, 1, [&](int64_t a, int64_t b) {
#if defined(INT4_HAVE_AVX512_OPS)
    if (avx512) return silu_mul_avx512(gate + a, up + a, b - a);
#endif
    (void)avx512;
    for (int64_t i = a; i < b; i++) {
      const float g = gate[i];
      gate[i] = g * (1.0f / (1.0f + std::exp(-g))) * up[i];
    }
  });
}

void add_f32(float* x, const float* y, int64_t n, int threads) {
  parallel_ranges(threads, n, 1, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; i++) x[i] += y[i];
  });
}

}  // namespace int4
