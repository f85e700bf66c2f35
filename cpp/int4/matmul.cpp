// x (M,K) @ W (N,K)^T -> y (M,N), driving one ISA's kernels.
#include <vector>

#include "kernels.h"

namespace int4 {

void matmul_q4(const KernelTable& kt, const QMatrixView& W, const float* x, int64_t M, float* y,
               Activations act, int threads) {
  (void)threads;  // single-threaded for now: the thread pool arrives with the SIMD kernels
  const int64_t K = W.cols, N = W.rows;
  if (act == Activations::Int8) {
    // Quantize each row of x once; every row of W reuses it.
    const int64_t nb = W.chunks_per_row();
    std::vector<block_q8> xq(static_cast<size_t>(M * nb));
    for (int64_t m = 0; m < M; m++) kt.quantize_row_q8(x + m * K, K, xq.data() + m * nb);
    for (int64_t m = 0; m < M; m++) kt.gemv_q4_q8(W, xq.data() + m * nb, 0, N, y + m * N);
  } else {
    for (int64_t m = 0; m < M; m++) kt.gemv_q4_f32(W, x + m * K, 0, N, y + m * N);
  }
}

}  // namespace int4
