// Native measurements for bench/run.mjs, printed as JSON lines:
//   int4_bench bandwidth <bytes> <threads> <repeats>
//       read bandwidth: a sum of 64-bit words (SSE2, prefetched) over a buffer of <bytes>, split across
//       <threads> threads (each sums its own contiguous part), median and min seconds per pass.
//   int4_bench matmul <isa> <M> <N> <K> <group> <threads> <repeats>
//       matmul_q4 (int8 activations) on random weights, timed without Node, for checking the JS
//       numbers and profiling. Weights in the layout the addon uses for these kernels.
//   int4_bench decode <isa> <threads> <tokens>
//       the products of one generated token of the demo model (TinyLlama-1.1B shape, G=32 sym:
//       per layer Q, K, V and gate, up each as one matmul_q4_shared, O and down alone; then the
//       output), random weights held as the addon holds them: seconds per token and weight GB/s.
//       The weights' memory bound without the rest of the forward pass.
//   int4_bench blocks <isa> <type> <M> <N> <K> <threads> <repeats>
//       matmul_q4 on a llama.cpp block type held as stored (<type>: Q4_K, Q6_K, ... as llama.cpp
//       names it), int8 activations, random blocks with moderate fp16 scales. M < 4 (GEMV) runs
//       cold: distinct copies of the matrix totalling >= 1 GiB (INT4_BENCH_COLD_BYTES), each used
//       once per pass, so the weights stream from memory; "bytes" are the weight bytes of one
//       matrix, gbps_median its read rate. M >= 4 (GEMM) runs one matrix; gflops is 2 M N K / s.
//   int4_bench sgemm <M> <N> <K> <threads> <repeats>
//       the f32 GEMM of the reference path (quant "f32"); "bytes" is its flop count, so
//       gbps_median reads as GFLOPS.
#include <algorithm>
#include <chrono>
#if defined(__x86_64__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "int4/dispatch.h"
#include "int4/kernels.h"
#include "ggml/types.h"
#include "int4/thread_pool.h"
#include "ops/ops.h"

using namespace int4;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sums words [a, b) as 4 runs read in lockstep (one core's prefetchers serve several streams in
// parallel, as the rows-16 GEMV reads; one run per thread measured 12-16 GB/s on a core that
// reads about 20 this way): 16-byte loads into 8 independent accumulators, two cache lines per
// run and step, each run prefetched 4 KiB ahead, so the memory system and not the adds is the
// limit. (A scalar sum of 64-bit words is not: it measured 9 GB/s on a machine that streams
// 16 GB/s per core.)
#if defined(__x86_64__)
uint64_t sum_words(const uint64_t* p, size_t a, size_t b) {
  constexpr int kRuns = 4;
  const size_t q = (b - a) / kRuns / 16 * 16;  // words per run
  __m128i acc[8];
  for (auto& v : acc) v = _mm_setzero_si128();
  for (size_t i = 0; i < q; i += 16)
    for (int r = 0; r < kRuns; r++) {
      const uint64_t* w = p + a + r * q + i;
      _mm_prefetch(reinterpret_cast<const char*>(w) + 4096, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + 4096 + 64, _MM_HINT_T0);
      for (int k = 0; k < 8; k++) acc[k] = _mm_add_epi64(acc[k], _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * k)));
    }
  uint64_t s = 0;
  for (size_t i = a + kRuns * q; i < b; i++) s += p[i];
  for (auto& v : acc) {
    uint64_t w[2];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
    s += w[0] + w[1];
  }
  return s;
}
#else
uint64_t sum_words(const uint64_t* p, size_t a, size_t b) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = a;
  for (; i + 4 <= b; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
  for (; i < b; i++) s0 += p[i];
  return s0 + s1 + s2 + s3;
}
#endif

volatile uint64_t g_sink;

void report(const char* what, std::vector<double>& t, double bytes) {
  std::sort(t.begin(), t.end());
  const double med = t[t.size() / 2];
  std::printf("{\"kind\":\"%s\",\"median_s\":%.9g,\"min_s\":%.9g,\"bytes\":%.17g,\"gbps_median\":%.6g}\n", what, med,
              t.front(), bytes, bytes / med / 1e9);
}

int bandwidth(size_t bytes, int threads, int repeats) {
  const size_t n = bytes / 8;
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; i++) buf[i] = i;
  struct Arg {
    const uint64_t* p;
    size_t n;
    int parts;
    uint64_t sums[256];
  } arg{buf.data(), n, threads, {}};
  auto task = [](void* a, int64_t t) {
    Arg& g = *static_cast<Arg*>(a);
    const size_t lo = g.n * t / g.parts, hi = g.n * (t + 1) / g.parts;
    g.sums[t] = sum_words(g.p, lo, hi);
  };
  std::vector<double> times;
  for (int r = 0; r < repeats + 1; r++) {
    const auto t0 = Clock::now();
    parallel_for(threads, threads, task, &arg);
    const double dt = seconds_since(t0);
    uint64_t s = 0;
    for (int t = 0; t < threads; t++) s += arg.sums[t];
    g_sink = s;
    if (r > 0) times.push_back(dt);  // the first pass faults pages in / warms caches
  }
  report("bandwidth", times, static_cast<double>(n * 8));
  return 0;
}

// As the addon holds matrices: in the rows-16 layout (into `packed`) when the kernels have a GEMV
// for it, unless INT4_BENCH_LAYOUT=public asks for the public layout.
void hold_like_addon(QMatrixView& v, std::vector<uint8_t>& packed) {
  const char* layout = std::getenv("INT4_BENCH_LAYOUT");
  if (!active_kernels().gemv_q4_q8_rows16 || (layout && std::string(layout) == "public")) return;
  packed.resize(static_cast<size_t>(v.packed_bytes()));
  pack_q4_rows16(v, packed.data());
  v.packed = packed.data(), v.codes = nullptr, v.scales = nullptr;
}

int matmul(const std::string& isa, int64_t M, int64_t N, int64_t K, int G, int threads, int repeats) {
  const std::string err = select_kernels(isa);
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(N * K)), x(static_cast<size_t>(M * K)), y(static_cast<size_t>(M * N));
  for (auto& v : w) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  QMatrixView v;
  v.rows = N, v.cols = K, v.group_size = G, v.scheme = Scheme::Symmetric;
  std::vector<uint8_t> codes(static_cast<size_t>(N * v.row_code_bytes()));
  std::vector<uint16_t> scales(static_cast<size_t>(N * v.groups_per_row()));
  quantize_q4_generic(w.data(), N, K, G, v.scheme, codes.data(), scales.data(), nullptr);
  v.codes = codes.data(), v.scales = scales.data();
  std::vector<uint8_t> packed;
  hold_like_addon(v, packed);
  std::vector<double> times;
  for (int r = 0; r < repeats + 1; r++) {
    const auto t0 = Clock::now();
    matmul_q4(active_kernels(), v, x.data(), M, y.data(), Activations::Int8, threads);
    if (r > 0) times.push_back(seconds_since(t0));
  }
  report("matmul", times, static_cast<double>(codes.size() + scales.size() * 2));
  return 0;
}

// A random G=32 symmetric matrix held as the addon holds it.
struct HeldMatrix {
  QMatrixView view;
  std::vector<uint8_t> codes, packed;
  std::vector<uint16_t> scales;
};

HeldMatrix held_matrix(int64_t N, int64_t K, std::mt19937& rng) {
  HeldMatrix h;
  QMatrixView& v = h.view;
  v.rows = N, v.cols = K, v.group_size = 32, v.scheme = Scheme::Symmetric;
  h.codes.resize(static_cast<size_t>(N * v.row_code_bytes()));
  h.scales.resize(static_cast<size_t>(N * v.groups_per_row()));
  for (auto& c : h.codes) c = static_cast<uint8_t>(rng());
  for (auto& sc : h.scales) sc = static_cast<uint16_t>(0x2000 + (rng() & 0x3ff));  // small positive fp16
  v.codes = h.codes.data(), v.scales = h.scales.data();
  hold_like_addon(v, h.packed);
  if (v.packed) {  // the public arrays are not read any more
    std::vector<uint8_t>().swap(h.codes);
    std::vector<uint16_t>().swap(h.scales);
  }
  return h;
}

int decode(const std::string& isa, int threads, int tokens) {
  const std::string err = select_kernels(isa);
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  const int64_t layers = 22, dim = 2048, kvd = 256, hidden = 5632, vocab = 32000;
  std::mt19937 rng(1);
  std::vector<HeldMatrix> all;  // per layer: q, k, v, o, gate, up (K = dim), down (K = hidden); then the output
  for (int64_t l = 0; l < layers; l++) {
    for (int64_t n : {dim, kvd, kvd, dim, hidden, hidden}) all.push_back(held_matrix(n, dim, rng));
    all.push_back(held_matrix(dim, hidden, rng));
  }
  all.push_back(held_matrix(vocab, dim, rng));
  double bytes = 0;
  for (const auto& h : all) bytes += static_cast<double>(h.view.packed ? h.packed.size() : h.codes.size() + 2 * h.scales.size());
  std::vector<float> x(static_cast<size_t>(hidden), 0.01f), y(static_cast<size_t>(vocab));
  std::vector<float> yq(dim), yk(kvd), yv(kvd), yg(hidden), yu(hidden);
  const KernelTable& kt = active_kernels();
  std::vector<double> times;
  for (int t = 0; t < tokens + 1; t++) {
    const auto t0 = Clock::now();
    for (int64_t l = 0; l < layers; l++) {
      const HeldMatrix* L = &all[static_cast<size_t>(l * 7)];
      const QMatrixView* qkv[3] = {&L[0].view, &L[1].view, &L[2].view};
      float* qkv_y[3] = {yq.data(), yk.data(), yv.data()};
      matmul_q4_shared(kt, qkv, qkv_y, 3, x.data(), 1, Activations::Int8, threads);
      matmul_q4(kt, L[3].view, x.data(), 1, y.data(), Activations::Int8, threads);
      const QMatrixView* gu[2] = {&L[4].view, &L[5].view};
      float* gu_y[2] = {yg.data(), yu.data()};
      matmul_q4_shared(kt, gu, gu_y, 2, x.data(), 1, Activations::Int8, threads);
      matmul_q4(kt, L[6].view, x.data(), 1, y.data(), Activations::Int8, threads);
    }
    matmul_q4(kt, all.back().view, x.data(), 1, y.data(), Activations::Int8, threads);
    if (t > 0) times.push_back(seconds_since(t0));  // the first token faults pages in
  }
  report("decode", times, bytes);
  return 0;
}

// Random blocks of type t whose fp16 scale fields hold moderate values (no NaN, inf or subnormal
// arithmetic, which would time something else).
void fill_blocks(const ggml::TypeTraits& t, uint8_t* p, int64_t nblocks, std::mt19937& rng) {
  for (int64_t i = 0; i < nblocks * t.block_bytes; i += 4) {
    const uint32_t v = rng();
    std::memcpy(p + i, &v, static_cast<size_t>(nblocks * t.block_bytes - i < 4 ? nblocks * t.block_bytes - i : 4));
  }
  const std::string n = t.name;
  std::vector<int> half;  // offsets of fp16 fields in a block
  if (n == "Q4_1" || n == "Q5_1" || n == "Q4_K" || n == "Q5_K") half = {0, 2};
  else if (n == "Q2_K") half = {80, 82};
  else if (n == "Q3_K") half = {108};
  else if (n == "Q6_K") half = {208};
  else if (n != "Q8_K") half = {0};
  for (int64_t b = 0; b < nblocks; b++) {
    uint8_t* blk = p + b * t.block_bytes;
    for (int o : half) {
      const uint16_t h = static_cast<uint16_t>(0x2000 + (rng() & 0x3ff));
      std::memcpy(blk + o, &h, 2);
    }
    if (n == "Q8_K") {
      const float d = 0.01f;
      std::memcpy(blk, &d, 4);
    }
  }
}

int blocks(const std::string& isa, const std::string& type, int64_t M, int64_t N, int64_t K, int threads, int repeats) {
  const std::string err = select_kernels(isa);
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  const ggml::TypeTraits* t = nullptr;
  for (const auto& tt : ggml::kTypes)
    if (type == tt.name) t = &tt;
  if (!t || K % t->block_size) {
    std::fprintf(stderr, "unknown type %s (or K not a multiple of its block)\n", type.c_str());
    return 2;
  }
  std::mt19937 rng(1);
  const int64_t row_bytes = t->row_bytes(K), bytes = N * row_bytes;
  double cold = 1024.0 * 1024 * 1024;
  if (const char* c = std::getenv("INT4_BENCH_COLD_BYTES")) cold = std::atof(c);
  const int64_t copies = M < kGemmMinRows ? static_cast<int64_t>((cold + bytes - 1) / bytes) : 1;
  std::vector<std::vector<uint8_t>> data(static_cast<size_t>(copies));
  std::vector<QMatrixView> views(static_cast<size_t>(copies));
  for (int64_t i = 0; i < copies; i++) {
    data[i].resize(static_cast<size_t>(bytes));
    fill_blocks(*t, data[i].data(), bytes / t->block_bytes, rng);
    QMatrixView& v = views[i];
    v.rows = N, v.cols = K, v.block_type = t, v.blocks = data[i].data(), v.block_row_bytes = row_bytes;
  }
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(M * K)), y(static_cast<size_t>(M * N));
  for (auto& v : x) v = dist(rng);
  const KernelTable& kt = active_kernels();
  std::vector<double> times;
  for (int r = 0; r < repeats + 1; r++) {
    const auto t0 = Clock::now();
    for (const auto& v : views) matmul_q4(kt, v, x.data(), M, y.data(), Activations::Int8, threads);
    if (r > 0) times.push_back(seconds_since(t0) / static_cast<double>(copies));
  }
  std::sort(times.begin(), times.end());
  const double med = times[times.size() / 2];
  std::printf("{\"kind\":\"blocks\",\"isa\":\"%s\",\"type\":\"%s\",\"M\":%lld,\"N\":%lld,\"K\":%lld,\"threads\":%d,"
              "\"cold\":%s,\"median_s\":%.9g,\"min_s\":%.9g,\"bytes\":%lld,\"gbps_median\":%.6g,\"gflops\":%.6g}\n",
              kt.name, t->name, static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K), threads,
              copies > 1 ? "true" : "false", med, times.front(), static_cast<long long>(bytes), static_cast<double>(bytes) / med / 1e9,
              2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) / med / 1e9);
  return 0;
}

int sgemm(int64_t M, int64_t N, int64_t K, int threads, int repeats) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K)), y(static_cast<size_t>(M * N));
  for (auto& v : x) v = dist(rng);
  for (auto& v : w) v = dist(rng);
  std::vector<double> times;
  for (int r = 0; r < repeats + 1; r++) {
    const auto t0 = Clock::now();
    sgemm_f32(x.data(), M, K, w.data(), N, y.data(), threads);
    if (r > 0) times.push_back(seconds_since(t0));
  }
  report("sgemm", times, 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "bandwidth" && argc == 5) return bandwidth(std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "matmul" && argc == 9)
    return matmul(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]), std::atoi(argv[6]), std::atoi(argv[7]),
                  std::atoi(argv[8]));
  if (mode == "decode" && argc == 5) return decode(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "blocks" && argc == 9)
    return blocks(argv[2], argv[3], std::atoll(argv[4]), std::atoll(argv[5]), std::atoll(argv[6]), std::atoi(argv[7]), std::atoi(argv[8]));
  if (mode == "sgemm" && argc == 7)
    return sgemm(std::atoll(argv[2]), std::atoll(argv[3]), std::atoll(argv[4]), std::atoi(argv[5]), std::atoi(argv[6]));
  std::fprintf(stderr, "usage: int4_bench bandwidth <bytes> <threads> <repeats>\n"
                       "       int4_bench matmul <isa> <M> <N> <K> <group> <threads> <repeats>\n"
                       "       int4_bench decode <isa> <threads> <tokens>\n"
                       "       int4_bench blocks <isa> <type> <M> <N> <K> <threads> <repeats>\n"
                       "       int4_bench sgemm <M> <N> <K> <threads> <repeats>\n");
  return 2;
}
