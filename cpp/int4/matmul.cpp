// x (M,K) @ W (N,K)^T -> y (M,N), driving one ISA's kernels on the thread pool.
//
// The rows of W (the output columns) are cut into tasks; each kernel computes every output row
// with the same operations wherever its range starts (row tiles change how many rows share an x
// load, never a row's own sums), and the GEMV/GEMM choice depends on M only: results do not
// depend on `threads`.
#include <memory>
#include <new>
#include <stdexcept>

#include "kernels.h"
#include "thread_pool.h"

namespace int4 {

namespace {

// 64-byte aligned storage (new[] of it aligns), for the x tiles
struct alignas(64) Line64 {
  unsigned char b[64];
};

// One matrix of a job: its output and its tasks, numbered from first_task.
struct Part {
  const QMatrixView* W;
  float* y;
  int64_t rows_per_task, first_task;
};

struct Job {
  const KernelTable* kt;
  const float* x;
  const block_q8* xq;
  const ggml::XTiles* xt;  // x as tiles for the block types' gemm_tiled, or null
  int64_t M;
  Activations act;
  int count;
  Part parts[kMaxShared];
};

// Rows [r0, r1) of W in the public layout: the kernels of every kind.
void run_rows(const Job& j, const QMatrixView& W, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  const int64_t K = W.cols, nb = W.chunks_per_row();
  if (j.act == Activations::Float32) {
    for (int64_t m = 0; m < j.M; m++) j.kt->gemv_q4_f32(W, j.x + m * K, r0, r1, y + m * ldy);
  } else if (j.M < kGemmMinRows) {
    for (int64_t m = 0; m < j.M; m++) j.kt->gemv_q4_q8(W, j.xq + m * nb, r0, r1, y + m * ldy);
  } else {
    j.kt->gemm_q4_q8(W, j.xq, j.M, r0, r1, y, ldy);
  }
}

// A rows-16 matrix: its own GEMV; everything else (GEMM, f32 activations) runs the public-layout
// kernels on blocks of rows unpacked to scratch, which costs little next to M rows of work.
constexpr int64_t kUnpackRows = 256;

void run_rows16(const Job& j, const Part& part, int64_t r0, int64_t r1) {
  const QMatrixView& P = *part.W;
  float* const y = part.y;
  const int64_t N = P.rows, nb = P.chunks_per_row();
  if (j.act == Activations::Int8 && j.M < kGemmMinRows && j.kt->gemv_q4_q8_rows16) {
    for (int64_t m = 0; m < j.M; m++) j.kt->gemv_q4_q8_rows16(P, j.xq + m * nb, r0, r1, y + m * N);
    return;
  }
  if (j.act == Activations::Int8 && j.M >= kGemmMinRows && j.kt->gemm_q4_q8_rows16) {
    j.kt->gemm_q4_q8_rows16(P, j.xq, j.M, r0, r1, y, N);
    return;
  }
  const int64_t G = P.groups_per_row(), span = r1 - r0 < kUnpackRows ? r1 - r0 : kUnpackRows;
  std::unique_ptr<uint8_t[]> codes(new uint8_t[static_cast<size_t>(span * P.row_code_bytes())]);
  std::unique_ptr<uint16_t[]> scales(new uint16_t[static_cast<size_t>(span * G)]);
  std::unique_ptr<uint16_t[]> offsets(P.scheme == Scheme::Asymmetric ? new uint16_t[static_cast<size_t>(span * G)] : nullptr);
  for (int64_t a = r0; a < r1; a += kUnpackRows) {
    const int64_t n = r1 - a < kUnpackRows ? r1 - a : kUnpackRows;
    for (int64_t b = a / kPackRows; b * kPackRows < a + n; b++) {
      const int64_t row = b * kPackRows - a;
      unpack_q4_block16(P, b, codes.get() + row * P.row_code_bytes(), scales.get() + row * G,
                        offsets ? offsets.get() + row * G : nullptr);
    }
    QMatrixView W = P;
    W.rows = n;
    W.packed = nullptr;
    W.codes = codes.get(), W.scales = scales.get(), W.offsets = offsets.get();
    run_rows(j, W, 0, n, y + a, N);
  }
}

// A llama.cpp block type as stored: its ISA's GEMV/GEMM (or the scalar reference) on int8
// activations; with float32 activations each row is dequantized (dequantize_row, exactly) and
// multiplied with x as it is, the reference path.
void run_blocks(const Job& j, const Part& part, int64_t r0, int64_t r1) {
  const QMatrixView& W = *part.W;
  const ggml::TypeTraits& t = *W.block_type;
  const int64_t N = W.rows, K = W.cols, nb = W.chunks_per_row();
  if (j.act == Activations::Int8) {
    if (j.M < block_gemm_min_rows(*j.kt, t)) {
      const ggml::GemvFn gemv = block_gemv(*j.kt, t);
      for (int64_t m = 0; m < j.M; m++) gemv(t, W.blocks, W.block_row_bytes, K, j.xq + m * nb, r0, r1, part.y + m * N);
    } else if (j.xt && j.kt->blocks[t.index].gemm_tiled) {
      j.kt->blocks[t.index].gemm_tiled(t, W.blocks, W.block_row_bytes, K, j.xq, *j.xt, j.M, r0, r1, part.y, N);
    } else {
      block_gemm(*j.kt, t)(t, W.blocks, W.block_row_bytes, K, j.xq, j.M, r0, r1, part.y, N);
    }
    return;
  }
  std::unique_ptr<float[]> row(new float[static_cast<size_t>(K)]);
  for (int64_t r = r0; r < r1; r++) {
    t.dequantize_row(W.blocks + r * W.block_row_bytes, row.get(), K);
    for (int64_t m = 0; m < j.M; m++) {
      const float* x = j.x + m * K;
      float sum = 0.0f;
      for (int64_t k = 0; k < K; k++) sum += row[k] * x[k];
      part.y[m * N + r] = sum;
    }
  }
}

void run_task(void* arg, int64_t task) {
  const Job& j = *static_cast<const Job*>(arg);
  int i = 0;
  while (i + 1 < j.count && task >= j.parts[i + 1].first_task) i++;
  const Part& part = j.parts[i];
  const int64_t N = part.W->rows;
  const int64_t r0 = (task - part.first_task) * part.rows_per_task;
  const int64_t r1 = r0 + part.rows_per_task < N ? r0 + part.rows_per_task : N;
  if (part.W->block_type)
    run_blocks(j, part, r0, r1);
  else if (part.W->packed)
    run_rows16(j, part, r0, r1);
  else
    run_rows(j, *part.W, r0, r1, part.y, N);
}

}  // namespace

void matmul_q4_shared(const KernelTable& kt, const QMatrixView* const* Ws, float* const* ys, int count,
                      const float* x, int64_t M, Activations act, int threads) {
  if (count < 1) return;
  if (count > kMaxShared) throw std::invalid_argument("matmul_q4_shared: too many matrices");
  const QMatrixView& W0 = *Ws[0];
  const int64_t K = W0.cols;
  for (int i = 1; i < count; i++)
    if (Ws[i]->cols != K) throw std::invalid_argument("matmul_q4_shared: matrices of different K");
  std::unique_ptr<block_q8[]> heap;
  block_q8 local[128];  // up to K = 4096 for one row of x: no allocation per token
  block_q8* xq = nullptr;
  // x as tiles when a block type's kernels take them: made with the quantization, once for all tasks
  bool want_tiles = false;
  if (act == Activations::Int8 && M >= ggml::kTileMinRows && kt.blocks)
    for (int i = 0; i < count; i++)
      want_tiles = want_tiles || (Ws[i]->block_type && kt.blocks[Ws[i]->block_type->index].gemm_tiled);
  std::unique_ptr<Line64[]> tile_mem;
  ggml::XTiles tiles;
  if (want_tiles) {
    tiles.nb = W0.chunks_per_row(), tiles.mt = (M + 15) / 16;
    const int64_t per = tiles.mt * tiles.nb;  // 512 bytes of codes, 64 of d, 64 of s each
    tile_mem.reset(new Line64[static_cast<size_t>(per * 10)]);
    tiles.q = reinterpret_cast<int8_t*>(tile_mem.get());
    tiles.d = reinterpret_cast<float*>(tile_mem.get() + per * 8);
    tiles.s = reinterpret_cast<float*>(tile_mem.get() + per * 9);
  }
  if (act == Activations::Int8) {
    // Quantize each row of x once; every row of every W reuses it. The padding blocks are zeros.
    const int64_t nb = W0.chunks_per_row();
    if (M * nb <= 128) {
      xq = local;
    } else {
      heap.reset(new block_q8[static_cast<size_t>(M * nb)]);
      xq = heap.get();
    }
    struct Rows {
      const KernelTable* kt;
      const float* x;
      block_q8* xq;
      int64_t M, K, nb, per;
      const ggml::XTiles* tiles;
    } rq{&kt, x, xq, M, K, nb, 32, want_tiles ? &tiles : nullptr};
    auto quantize_rows = [](void* a, int64_t t) {
      const Rows& r = *static_cast<const Rows*>(a);
      const int64_t m1 = (t + 1) * r.per < r.M ? (t + 1) * r.per : r.M;
      for (int64_t m = t * r.per; m < m1; m++) r.kt->quantize_row_q8(r.x + m * r.K, r.K, r.xq + m * r.nb);
      if (r.tiles) ggml::tile_x(r.xq, r.M, t * r.per, m1, *r.tiles);
    };
    // a prompt's rows are quantized on the pool too (32 rows a task); each row alone, as always
    parallel_for(M >= 64 ? threads : 1, (M + rq.per - 1) / rq.per, quantize_rows, &rq);
  }
  int nthreads = threads > 0 ? threads : default_threads();
  // Waking a worker costs microseconds: small products (M N K below ~0.5 M multiply-adds, a few
  // microseconds of work) run on the calling thread alone.
  double work = 0;
  for (int i = 0; i < count; i++) work += static_cast<double>(M) * static_cast<double>(Ws[i]->rows) * static_cast<double>(K);
  if (work < double(1 << 19)) nthreads = 1;
  // Tasks: several per thread for balance (each one packs x again, so not many more), at least
  // 16 rows, a multiple of 16. Per-row results do not depend on where a task starts. Small tasks
  // keep a thread that the OS descheduled (shared machines) from holding up the rest; 8 per
  // thread still leaves each task thousands of rows x K of work for a GEMV. (The first matrix's
  // kernel decides: a block type's GEMM may start below kGemmMinRows.)
  const int64_t gemm_from = W0.block_type ? block_gemm_min_rows(kt, *W0.block_type) : kGemmMinRows;
  const int64_t per_thread = act == Activations::Int8 && M >= gemm_from ? 4 : 8;
  Job job{&kt, x, xq, want_tiles ? &tiles : nullptr, M, act, count, {}};
  int64_t ntasks = 0;
  for (int i = 0; i < count; i++) {
    const int64_t N = Ws[i]->rows;
    int64_t rows = (N + nthreads * per_thread - 1) / (nthreads * per_thread);
    rows = rows < 16 ? 16 : (rows + 15) / 16 * 16;
    if (nthreads == 1) rows = N;  // one task per matrix: x is packed once
    job.parts[i] = Part{Ws[i], ys[i], rows, ntasks};
    ntasks += (N + rows - 1) / rows;
  }
  parallel_for(nthreads, ntasks, run_task, &job);
}

void matmul_q4(const KernelTable& kt, const QMatrixView& W, const float* x, int64_t M, float* y,
               Activations act, int threads) {
  const QMatrixView* Ws[1] = {&W};
  float* ys[1] = {y};
  matmul_q4_shared(kt, Ws, ys, 1, x, M, act, threads);
}

}  // namespace int4
