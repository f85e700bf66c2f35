// f32 matmul: x (M,K) @ W (N,K)^T -> y (M,N). The full-precision reference path of the model
// (quant "f32"); not the product int4 is about, but fast enough to evaluate against.
// The inner loops keep 16 independent partial sums so the compiler can vectorize them without
// reassociating floats; target_clones builds AVX-512 and AVX2 copies chosen at load (x86-64).
// With the AVX-512 kernels, nn_avx512.cpp's 4 x 4 register tiles do the blocks instead (each x
// load then serves 4 rows of W and each W load 4 rows of x).

#include "../int4/thread_pool.h"
#include "nn_isa.h"
#include "ops.h"
#include "../platform/platform.h"

#if INT4_HAVE_TARGET_CLONES
#define INT4_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define INT4_CLONES
#endif

namespace int4 {

namespace {

constexpr int L = 16;  // partial sums per dot product

// x rows [m0, m1) times W rows [n0, n1). Four W rows at a time share each load of x.
INT4_CLONES
void sgemm_block(const float* x, int64_t m0, int64_t m1, int64_t K, const float* w, int64_t n0, int64_t n1,
                 int64_t N, float* y) {
  const int64_t K16 = K - K % L;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    const float* w0 = w + n * K;
    const float* w1 = w0 + K;
    const float* w2 = w1 + K;
    const float* w3 = w2 + K;
    for (int64_t m = m0; m < m1; m++) {
      const float* xr = x + m * K;
      float a0[L] = {0}, a1[L] = {0}, a2[L] = {0}, a3[L] = {0};
      for (int64_t k = 0; k < K16; k += L) {
        for (int l = 0; l < L; l++) {
          const float xv = xr[k + l];
          a0[l] += xv * w0[k + l];
          a1[l] += xv * w1[k + l];
          a2[l] += xv * w2[k + l];
          a3[l] += xv * w3[k + l];
        }
      }
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int l = 0; l < L; l++) {
        s0 += a0[l];
        s1 += a1[l];
        s2 += a2[l];
        s3 += a3[l];
      }
      for (int64_t k = K16; k < K; k++) {
        s0 += xr[k] * w0[k];
        s1 += xr[k] * w1[k];
        s2 += xr[k] * w2[k];
        s3 += xr[k] * w3[k];
      }
      float* yr = y + m * N + n;
      yr[0] = s0;
      yr[1] = s1;
      yr[2] = s2;
      yr[3] = s3;
    }
  }
  for (; n < n1; n++) {
    const float* wr = w + n * K;
    for (int64_t m = m0; m < m1; m++) {
      const float* xr = x + m * K;
      float a[L] = {0};
      for (int64_t k = 0; k < K16; k += L)
        for (int l = 0; l < L; l++) a[l] += xr[k + l] * wr[k + l];
      float s = 0;
      for (int l = 0; l < L; l++) s += a[l];
      for (int64_t k = K16; k < K; k++) s += xr[k] * wr[k];
      y[m * N + n] = s;
    }
  }
}

// W rows [n0, n1) against all of x, in tiles of W rows that stay in cache while x streams by.
void sgemm_rows(const float* x, int64_t M, int64_t K, const float* w, int64_t n0, int64_t n1, int64_t N, float* y) {
  const bool avx512 = use_avx512_ops();
  (void)avx512;
  const int64_t tile = K > 0 && K < 4096 ? (64 * 1024) / (K * 4) * 4 + 4 : 4;  // about 64 KiB of W
  const int64_t mt = 64;
  for (int64_t nt = n0; nt < n1; nt += tile) {
    const int64_t ne = nt + tile < n1 ? nt + tile : n1;
    for (int64_t m = 0; m < M; m += mt) {
      const int64_t m1 = m + mt < M ? m + mt : M;
#if defined(INT4_HAVE_AVX512_OPS)
      if (avx512) {
        sgemm_block_avx512(x, m, m1, K, w, nt, ne, N, y);
        continue;
      }
#endif
      sgemm_block(x, m, m1, K, w, nt, ne, N, y);
    }
  }
}

}  // namespace

void sgemm_f32(const float* x, int64_t M, int64_t K, const float* w, int64_t N, float* y, int threads) {
  // Waking the pool costs microseconds: only worth it for big products.
  if (threads <= 1 || static_cast<double>(M) * N * K < 4e6 || N < 8 * threads) {
    sgemm_rows(x, M, K, w, 0, N, N, y);
    return;
  }
  // one range of W rows (a multiple of 4) per thread, on the shared pool
  struct Job {
    const float *x, *w;
    float* y;
    int64_t M, K, N, per;
  } job{x, w, y, M, K, N, ((N + threads - 1) / threads + 3) / 4 * 4};
  const int64_t tasks = (N + job.per - 1) / job.per;
  parallel_for(threads, tasks, [](void* a, int64_t t) {
    const Job& j = *static_cast<const Job*>(a);
    const int64_t n0 = t * j.per, n1 = n0 + j.per < j.N ? n0 + j.per : j.N;
    sgemm_rows(j.x, j.M, j.K, j.w, n0, n1, j.N, j.y);
  }, &job);
}

}  // namespace int4
