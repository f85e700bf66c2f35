// Native measurements for bench/run.mjs, printed as JSON lines:
//   int4_bench bandwidth <bytes> <threads> <repeats>
//       read bandwidth: a sum of 64-bit words (SSE2, prefetched) over a buffer of <bytes>, split across
//       <threads> threads (each sums its own contiguous part), median and min seconds per pass.
//   int4_bench matmul <isa> <M> <N> <K> <group> <threads> <repeats>
//       matmul_q4 (int8 activations) on random weights, timed without Node, for checking the JS
//       numbers and profiling. Weights in the layout the addon uses for these kernels.
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
#include "int4/thread_pool.h"

using namespace int4;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sums words [a, b) as 4 runs read in lockstep (one core's prefetchers serve several streams in
// parallel: 4 read 20-30 % faster than one here, as the rows-16 GEMV does): 16-byte loads into 8
// independent accumulators, two cache lines per run and step, each run prefetched 4 KiB ahead, so
// the memory system and not the adds is the limit. (A scalar sum of 64-bit words is not: it
// measured 9 GB/s on a machine that streams 16 GB/s per core.)
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
  // as the addon holds matrices: in the rows-16 layout when the kernels have a GEMV for it
  // (INT4_BENCH_LAYOUT=public measures the public layout instead)
  std::vector<uint8_t> packed;
  const char* layout = std::getenv("INT4_BENCH_LAYOUT");
  if (active_kernels().gemv_q4_q8_rows16 && !(layout && std::string(layout) == "public")) {
    packed.resize(static_cast<size_t>(v.packed_bytes()));
    pack_q4_rows16(v, packed.data());
    v.packed = packed.data(), v.codes = nullptr, v.scales = nullptr;
  }
  std::vector<double> times;
  for (int r = 0; r < repeats + 1; r++) {
    const auto t0 = Clock::now();
    matmul_q4(active_kernels(), v, x.data(), M, y.data(), Activations::Int8, threads);
    if (r > 0) times.push_back(seconds_since(t0));
  }
  report("matmul", times, static_cast<double>(codes.size() + scales.size() * 2));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "bandwidth" && argc == 5) return bandwidth(std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "matmul" && argc == 9)
    return matmul(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]), std::atoi(argv[6]), std::atoi(argv[7]),
                  std::atoi(argv[8]));
  std::fprintf(stderr, "usage: int4_bench bandwidth <bytes> <threads> <repeats>\n"
                       "       int4_bench matmul <isa> <M> <N> <K> <group> <threads> <repeats>\n");
  return 2;
}
