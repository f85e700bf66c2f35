// f32 matmul: x (M,K) @ W (N,K)^T -> y (M,N). The full-precision reference path of the model
// (quant "f32"); not the product int4 is about, but fast enough to evaluate against.
// The blocks are per ISA (ops_table.h): ops_generic.inc's loops keep 16 independent partial sums
// so the compiler vectorizes them without reassociating floats; with the AVX-512 kernels,
// ops_avx512.cpp's 4 x 4 register tiles (each x load then serves 4 rows of W and each W load 4
// rows of x). This file tiles the product and splits it over threads.

#include "../int4/thread_pool.h"
#include "ops.h"
#include "ops_table.h"

namespace int4 {

namespace {

// W rows [n0, n1) against all of x, in tiles of W rows that stay in cache while x streams by.
void sgemm_rows(const float* x, int64_t M, int64_t K, const float* w, int64_t n0, int64_t n1, int64_t N, float* y) {
  const OpsTable& ops = active_ops();
  const int64_t tile = K > 0 && K < 4096 ? (64 * 1024) / (K * 4) * 4 + 4 : 4;  // about 64 KiB of W
  const int64_t mt = 64;
  for (int64_t nt = n0; nt < n1; nt += tile) {
    const int64_t ne = nt + tile < n1 ? nt + tile : n1;
    for (int64_t m = 0; m < M; m += mt) {
      const int64_t m1 = m + mt < M ? m + mt : M;
      ops.sgemm_block(x, m, m1, K, w, nt, ne, N, y);
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
