// Tests of llama.cpp's block types (cpp/ggml), included by kernel_tests.cpp after its helpers
// (check, rng). For every type of the table: the scalar dot product against the dequantized
// weights in double precision, then every kernel table's matmul (its SIMD GEMV/GEMM, or the
// reference it falls back to) against the scalar dot product, on 1 and 2 threads.
#pragma once
#include <cmath>
#include <cstring>
#include <vector>

#include "ggml/types.h"

namespace block_tests {

using namespace int4;

// Random blocks whose values are finite and moderate: random bytes, each block drawn again
// until it dequantizes to values below 1e4 (random fp16/f32 scale fields are sometimes NaN or huge).
std::vector<uint8_t> random_blocks(const ggml::TypeTraits& t, int64_t N, int64_t K) {
  std::uniform_int_distribution<int> byte(0, 255);
  const int64_t nb = N * K / t.block_size;
  std::vector<uint8_t> out(static_cast<size_t>(nb * t.block_bytes));
  std::vector<float> v(static_cast<size_t>(t.block_size));
  for (int64_t b = 0; b < nb; b++) {
    uint8_t* p = out.data() + b * t.block_bytes;
    for (;;) {
      for (int i = 0; i < t.block_bytes; i++) p[i] = static_cast<uint8_t>(byte(rng));
      t.dequantize_row(p, v.data(), t.block_size);
      bool ok = true;
      for (float x : v) ok = ok && std::isfinite(x) && std::fabs(x) < 1e4f;
      if (ok) break;
    }
  }
  return out;
}

std::vector<block_q8> quantize_x(const std::vector<float>& x, int64_t M, int64_t K) {
  std::vector<block_q8> xq(static_cast<size_t>(M * K / QK));
  for (int64_t m = 0; m < M; m++) quantize_row_q8_generic(x.data() + m * K, K, xq.data() + m * (K / QK));
  return xq;
}

// The scalar dot product equals sum(dequantized w * dequantized x) up to float rounding.
void test_reference(const ggml::TypeTraits& t, int64_t K) {
  const int64_t N = 4;
  const auto w = random_blocks(t, N, K);
  const auto x = random_vector(K);
  const auto xq = quantize_x(x, 1, K);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t r = 0; r < N; r++) {
    const uint8_t* wr = w.data() + r * t.row_bytes(K);
    t.dequantize_row(wr, row.data(), K);
    double ref = 0, mag = 0;
    for (int64_t k = 0; k < K; k++) {
      const double xv = static_cast<double>(xq[k / QK].d) * xq[k / QK].qs[k % QK];
      ref += static_cast<double>(row[k]) * xv;
      mag += std::fabs(static_cast<double>(row[k]) * xv);
    }
    const double got = t.vec_dot_q8(wr, xq.data(), K);
    check(std::fabs(got - ref) <= 1e-5 * mag + 1e-30,
          std::string("vec_dot_q8 ") + t.name + " K=" + std::to_string(K) + ": " + std::to_string(got) + " vs " + std::to_string(ref));
  }
}

// A kernel table's matmul on a block-type matrix against the scalar dot product, row by row.
void test_matmul(const KernelTable& kt, const ggml::TypeTraits& t, int64_t M, int64_t N, int64_t K) {
  const auto w = random_blocks(t, N, K);
  const auto x = random_vector(M * K);
  const auto xq = quantize_x(x, M, K);
  QMatrixView W;
  W.rows = N, W.cols = K, W.block_type = &t, W.blocks = w.data(), W.block_row_bytes = t.row_bytes(K);
  std::vector<float> y1(static_cast<size_t>(M * N)), y2(y1.size()), yf(y1.size());
  matmul_q4(kt, W, x.data(), M, y1.data(), Activations::Int8, 1);
  matmul_q4(kt, W, x.data(), M, y2.data(), Activations::Int8, 2);
  matmul_q4(kt, W, x.data(), M, yf.data(), Activations::Float32, 2);
  check(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0,
        std::string(kt.name) + " " + t.name + ": 1 and 2 threads agree bit for bit");
  std::vector<float> row(static_cast<size_t>(K));
  int bad = 0, badf = 0;
  for (int64_t r = 0; r < N; r++) {
    const uint8_t* wr = w.data() + r * t.row_bytes(K);
    t.dequantize_row(wr, row.data(), K);
    for (int64_t m = 0; m < M; m++) {
      double mag = 0, magf = 0, reff = 0;
      for (int64_t k = 0; k < K; k++) {
        mag += std::fabs(static_cast<double>(row[k]) * xq[m * (K / QK) + k / QK].d * xq[m * (K / QK) + k / QK].qs[k % QK]);
        magf += std::fabs(static_cast<double>(row[k]) * x[m * K + k]);
        reff += static_cast<double>(row[k]) * x[m * K + k];
      }
      const float ref = t.vec_dot_q8(wr, xq.data() + m * (K / QK), K);
      if (!(std::fabs(y1[m * N + r] - ref) <= 1e-5 * mag + 1e-30)) bad++;
      if (!(std::fabs(yf[m * N + r] - reff) <= 1e-5 * magf + 1e-30)) badf++;
    }
  }
  const std::string what = std::string(kt.name) + " " + t.name + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                           " K=" + std::to_string(K);
  check(bad == 0, what + ": int8 matmul equals the scalar dot products (" + std::to_string(bad) + " differ)");
  check(badf == 0, what + ": float32 matmul equals the dequantized product (" + std::to_string(badf) + " differ)");
}

// From the GEMM's first row count on, a row of x gets the same bits whatever the other rows are
// and however many (batched decoding relies on it: a sequence's tokens do not depend on its
// companions): the small-M GEMM, the prompt GEMM and the tile GEMMs agree bit for bit.
void test_batch_invariance(const KernelTable& kt, const ggml::TypeTraits& t, int64_t K) {
  const int64_t N = 37, Mmax = 20;
  const auto w = random_blocks(t, N, K);
  const auto x = random_vector(Mmax * K);
  QMatrixView W;
  W.rows = N, W.cols = K, W.block_type = &t, W.blocks = w.data(), W.block_row_bytes = t.row_bytes(K);
  std::vector<float> all(static_cast<size_t>(Mmax * N)), y(all.size());
  matmul_q4(kt, W, x.data(), Mmax, all.data(), Activations::Int8, 2);
  const int64_t from = block_gemm_min_rows(kt, t);
  int bad = 0;
  for (int64_t M : {from, from + 1, int64_t{5}, int64_t{8}, int64_t{9}, int64_t{16}}) {
    if (M < from) continue;
    matmul_q4(kt, W, x.data(), M, y.data(), Activations::Int8, 1);
    if (std::memcmp(y.data(), all.data(), static_cast<size_t>(M * N) * sizeof(float)) != 0) bad++;
  }
  check(bad == 0, std::string(kt.name) + " " + t.name + " K=" + std::to_string(K) + ": each row of x gets the same bits from " +
                      std::to_string(from) + " to 20 rows of x (" + std::to_string(bad) + " row counts differ)");
}

void run(const KernelTable* const* tables, int ntables, const std::string& only) {
  for (const ggml::TypeTraits& t : ggml::kTypes) {
    test_reference(t, t.block_size);
    test_reference(t, 4 * ggml::QK_K);
  }
  for (int i = 0; i < ntables; i++) {
    const KernelTable& kt = *tables[i];
    if (!only.empty() && only != kt.name && only != isa_family(kt)) continue;
    for (const ggml::TypeTraits& t : ggml::kTypes) {
      for (int64_t M : {1, 3, 4, 9, 33}) test_matmul(kt, t, M, 37, t.block_size == 32 ? 160 : 768);
      // long rows (a GEMM may decode K in slices) and more than 64 rows of x (and tiles of them)
      test_matmul(kt, t, 70, 9, t.block_size == 32 ? 32 * 101 : 256 * 13);
      // one block / super-block per row; the GEMM's M tails (4..7 rows past a tile), fewer rows
      // than a row tile, and more rows of x than one x block of the SIMD GEMMs (64)
      for (int64_t M : {1, 2, 5, 6, 7}) test_matmul(kt, t, M, 5, t.block_size);
      test_matmul(kt, t, 7, 3, 2 * ggml::QK_K);
      test_matmul(kt, t, 70, 21, ggml::QK_K);
      // K: one partial unit of 8 blocks; whole units and a partial one (Qwen2.5's 896 = 28 chunks)
      for (int64_t K : t.block_size == 32 ? std::vector<int64_t>{160, 896} : std::vector<int64_t>{768}) test_batch_invariance(kt, t, K);
    }
  }
}

}  // namespace block_tests
