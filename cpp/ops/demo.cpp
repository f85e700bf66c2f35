// Random INT4 weights for the demo model, generated and quantized in blocks of rows, in parallel.
#include <thread>
#include <vector>

#include "../int4/dispatch.h"
#include "../int4/kernels.h"
#include "ops.h"

namespace int4 {

namespace {

constexpr int64_t kRowsPerBlock = 64;

struct RandomQ4Job {
  int64_t N, K;
  uint64_t seed;
  float scale;
  int group_size;
  Scheme scheme;
  uint8_t* codes;
  uint16_t* scales;
  uint16_t* offsets;
};

// Blocks t, t + stride, ... of rows; returns the sampled squared error and squared values.
void random_q4_blocks(const RandomQ4Job& j, int64_t t, int64_t stride, double* err2, double* ref2) {
  QMatrixView v;
  v.rows = j.N;
  v.cols = j.K;
  v.group_size = j.group_size;
  v.scheme = j.scheme;
  std::vector<float> w(static_cast<size_t>(kRowsPerBlock * j.K)), back(static_cast<size_t>(j.K));
  double e2 = 0, r2 = 0;
  for (int64_t r0 = t * kRowsPerBlock; r0 < j.N; r0 += stride * kRowsPerBlock) {
    const int64_t rows = r0 + kRowsPerBlock <= j.N ? kRowsPerBlock : j.N - r0;
    fill_normal_f32(w.data(), rows * j.K, j.seed, static_cast<uint64_t>(r0 * j.K), j.scale, 1);
    uint8_t* c = j.codes + r0 * v.row_code_bytes();
    uint16_t* s = j.scales + r0 * v.groups_per_row();
    uint16_t* o = j.offsets ? j.offsets + r0 * v.groups_per_row() : nullptr;
    active_kernels().quantize_q4(w.data(), rows, j.K, j.group_size, j.scheme, c, s, o);
    // the block's first row: dequantize and compare
    QMatrixView b = v;
    b.rows = rows;
    b.codes = c;
    b.scales = s;
    b.offsets = o;
    dequantize_row_q4_generic(b, 0, back.data());
    for (int64_t k = 0; k < j.K; k++) {
      const double d = static_cast<double>(back[k]) - w[k];
      e2 += d * d;
      r2 += static_cast<double>(w[k]) * w[k];
    }
  }
  *err2 = e2;
  *ref2 = r2;
}

}  // namespace

void random_q4(int64_t N, int64_t K, uint64_t seed, float scale, int group_size, Scheme scheme, uint8_t* codes,
               uint16_t* scales, uint16_t* offsets, int threads, double* err2, double* ref2) {
  const RandomQ4Job job{N, K, seed, scale, group_size, scheme, codes, scales, offsets};
  const int64_t blocks = (N + kRowsPerBlock - 1) / kRowsPerBlock;
  const int T = threads < 1 ? 1 : (threads > blocks ? static_cast<int>(blocks) : threads);
  std::vector<double> e(static_cast<size_t>(T)), r(static_cast<size_t>(T));
  std::vector<std::thread> pool;
  for (int t = 1; t < T; t++) pool.emplace_back(random_q4_blocks, std::cref(job), t, T, &e[t], &r[t]);
  random_q4_blocks(job, 0, T, &e[0], &r[0]);
  for (auto& th : pool) th.join();
  double se = 0, sr = 0;
  for (int t = 0; t < T; t++) {
    se += e[t];
    sr += r[t];
  }
  if (err2) *err2 = se;
  if (ref2) *ref2 = sr;
}

}  // namespace int4
