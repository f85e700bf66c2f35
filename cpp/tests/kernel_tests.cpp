// Kernel tests without Node: the scalar reference against plain double-precision math, and every
// kernel set this CPU can run against the scalar reference. Runs alone (and under qemu-aarch64).
// Prints "N passed, N failed" and exits non-zero on any failure.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "int4/dispatch.h"
#include "int4/kernels.h"

using namespace int4;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    g_passed++;
  } else {
    g_failed++;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

std::mt19937 rng(1234);

std::vector<float> random_vector(int64_t n, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// An owning quantized matrix for tests.
struct QMatrix {
  std::vector<uint8_t> codes;
  std::vector<uint16_t> scales, offsets;
  QMatrixView view;
};

QMatrix quantize(const std::vector<float>& w, int64_t N, int64_t K, int G, Scheme s) {
  QMatrix q;
  q.view.rows = N;
  q.view.cols = K;
  q.view.group_size = G;
  q.view.scheme = s;
  q.codes.resize(static_cast<size_t>(N * q.view.row_code_bytes()));
  q.scales.resize(static_cast<size_t>(N * q.view.groups_per_row()));
  if (s == Scheme::Asymmetric) q.offsets.resize(q.scales.size());
  const int64_t bad = quantize_q4_generic(w.data(), N, K, G, s, q.codes.data(), q.scales.data(),
                                          s == Scheme::Asymmetric ? q.offsets.data() : nullptr);
  check(bad == -1, "quantize: finite input accepted");
  q.view.codes = q.codes.data();
  q.view.scales = q.scales.data();
  q.view.offsets = s == Scheme::Asymmetric ? q.offsets.data() : nullptr;
  return q;
}

std::vector<float> dequantize(const QMatrix& q) {
  std::vector<float> out(static_cast<size_t>(q.view.rows * q.view.cols));
  for (int64_t r = 0; r < q.view.rows; r++) dequantize_row_q4_generic(q.view, r, out.data() + r * q.view.cols);
  return out;
}

std::string shape_name(int64_t N, int64_t K, int G, Scheme s) {
  return "N=" + std::to_string(N) + " K=" + std::to_string(K) + " G=" + std::to_string(G) +
         (s == Scheme::Symmetric ? " sym" : " asym");
}

// ---- fp16 ----

void test_fp16() {
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    if (fp32_to_fp16(f) != h) bad++;
  }
  check(bad == 0, "fp16: every half survives f16 -> f32 -> f16");
  // Rounding: the result is the nearest half (ties to even), checked against its neighbours.
  bad = 0;
  std::uniform_int_distribution<uint32_t> bits(0, 0xFFFFFFFFu);
  for (int i = 0; i < 200000; i++) {
    uint32_t u = bits(rng);
    float f;
    std::memcpy(&f, &u, 4);
    if (!std::isfinite(f) || std::fabs(f) >= 65504.0f) continue;
    const uint16_t h = fp32_to_fp16(f);
    const double e = std::fabs(static_cast<double>(fp16_to_fp32(h)) - f);
    for (int step : {-1, 1}) {
      const uint16_t n = static_cast<uint16_t>((h & 0x7FFF) + step) | (h & 0x8000);
      if ((h & 0x7FFF) == 0 && step < 0) continue;
      if ((n & 0x7FFF) >= 0x7C00) continue;
      const double en = std::fabs(static_cast<double>(fp16_to_fp32(n)) - f);
      if (en < e || (en == e && (h & 1))) bad++;
    }
  }
  check(bad == 0, "fp16: f32 -> f16 rounds to nearest, ties to even");
  check(fp32_to_fp16(65520.0f) == 0x7C00 && fp32_to_fp16(65519.0f) == 0x7BFF, "fp16: overflow threshold");
  check(fp32_to_fp16(2.98023224e-8f) == 0 && fp32_to_fp16(2.9802326e-8f) == 1, "fp16: smallest subnormal threshold");
}

// ---- quantize / dequantize against the format's definition ----

void test_quantize_roundtrip(int64_t N, int64_t K, int G, Scheme s) {
  auto w = random_vector(N * K);
  QMatrix q = quantize(w, N, K, G, s);
  auto d = dequantize(q);
  const std::string name = shape_name(N, K, G, s);
  int bad = 0;
  for (int64_t r = 0; r < N; r++) {
    for (int64_t g = 0; g * G < K; g++) {
      const float step = std::fabs(fp16_to_fp32(q.scales[r * q.view.groups_per_row() + g]));
      for (int64_t k = g * G; k < std::min<int64_t>(K, (g + 1) * G); k++) {
        const double err = std::fabs(static_cast<double>(d[r * K + k]) - w[r * K + k]);
        // half a step, plus fp16 rounding of the scale (and offset) times the largest code;
        // symmetric groups may clamp the value opposite their extreme to +7 (one step).
        const int q8 = chunk_code(q.view.row_codes(r) + (k / QK) * (QK / 2), static_cast<int>(k % QK));
        const double slack = 16.0 * step / 1024.0 + 1e-6;
        const double limit = (s == Scheme::Symmetric && q8 == 15) ? step + slack : 0.5 * step + slack;
        if (!(err <= limit)) bad++;
      }
    }
    // padding past K holds the code for zero
    for (int64_t k = K; k < q.view.chunks_per_row() * QK; k++) {
      const int code = chunk_code(q.view.row_codes(r) + (k / QK) * (QK / 2), static_cast<int>(k % QK));
      if (code != (s == Scheme::Symmetric ? 8 : 0)) bad++;
    }
  }
  check(bad == 0, "quantize/dequantize within half a step: " + name);
}

void test_ggml_roundtrip(Scheme s) {
  const int64_t N = 5, K = 96;
  auto w = random_vector(N * K, 3.0f);
  QMatrix q = quantize(w, N, K, 32, s);
  const size_t bs = s == Scheme::Symmetric ? sizeof(block_q4_0) : sizeof(block_q4_1);
  std::vector<uint8_t> blocks(N * (K / 32) * bs);
  q4_to_ggml(q.view, blocks.data());
  QMatrix back = q;
  std::fill(back.codes.begin(), back.codes.end(), 0);
  std::fill(back.scales.begin(), back.scales.end(), 0);
  q4_from_ggml(blocks.data(), s, N, K, back.codes.data(), back.scales.data(),
               s == Scheme::Asymmetric ? back.offsets.data() : nullptr);
  check(back.codes == q.codes && back.scales == q.scales && back.offsets == q.offsets,
        std::string("ggml blocks round trip: ") + (s == Scheme::Symmetric ? "q4_0" : "q4_1"));
}

// ---- dot products and matmul against double precision ----

double dot_double(const float* a, const float* b, int64_t n, double* abs_sum) {
  double s = 0, as = 0;
  for (int64_t i = 0; i < n; i++) {
    s += static_cast<double>(a[i]) * b[i];
    as += std::fabs(static_cast<double>(a[i]) * b[i]);
  }
  if (abs_sum) *abs_sum = as;
  return s;
}

std::vector<float> dequantize_q8(const std::vector<block_q8>& xq, int64_t K) {
  std::vector<float> x(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; k++) x[k] = xq[k / QK].d * xq[k / QK].qs[k % QK];
  return x;
}

void test_dots(int64_t N, int64_t K, int G, Scheme s) {
  auto w = random_vector(N * K);
  auto x = random_vector(K);
  QMatrix q = quantize(w, N, K, G, s);
  auto wd = dequantize(q);
  std::vector<block_q8> xq(static_cast<size_t>(q.view.chunks_per_row()));
  quantize_row_q8_generic(x.data(), K, xq.data());
  auto xd = dequantize_q8(xq, K);
  const std::string name = shape_name(N, K, G, s);
  int bad_f32 = 0, bad_q8 = 0, bad_q8x = 0;
  for (int64_t r = 0; r < N; r++) {
    double as = 0;
    const double ref = dot_double(wd.data() + r * K, x.data(), K, &as);
    // f32 accumulation over K terms: relative error of a few K * eps of the absolute sum
    if (std::fabs(dot_q4_f32_generic(q.view, r, x.data()) - ref) > 1e-6 * as * (1 + K / 64.0) + 1e-6) bad_f32++;
    double asq = 0;
    const double refq = dot_double(wd.data() + r * K, xd.data(), K, &asq);
    if (std::fabs(dot_q4_q8_generic(q.view, r, xq.data()) - refq) > 1e-6 * asq * (1 + K / 64.0) + 1e-6) bad_q8++;
    // int8 activations against f32 ones: each x moves by at most half its block's step
    double bound = 0;
    for (int64_t k = 0; k < K; k++) bound += std::fabs(wd[r * K + k]) * 0.5 * xq[k / QK].d;
    if (std::fabs(refq - ref) > bound * (1 + 1e-5) + 1e-6) bad_q8x++;
  }
  check(bad_f32 == 0, "dot_q4_f32 vs double: " + name);
  check(bad_q8 == 0, "dot_q4_q8 vs double over dequantized operands: " + name);
  check(bad_q8x == 0, "int8 activations stay within their rounding bound: " + name);
}

// Every kernel set this CPU can run, against the scalar reference.
void test_kernel_set(const KernelTable& kt, int64_t M, int64_t N, int64_t K, int G, Scheme s) {
  auto w = random_vector(N * K);
  auto x = random_vector(M * K);
  QMatrix q = quantize(w, N, K, G, s);
  const std::string name = std::string(kt.name) + " M=" + std::to_string(M) + " " + shape_name(N, K, G, s);
  // dequantize: exact
  std::vector<float> a(static_cast<size_t>(K)), b(static_cast<size_t>(K));
  int bad = 0;
  for (int64_t r = 0; r < N; r++) {
    dequantize_row_q4_generic(q.view, r, a.data());
    kt.dequantize_row_q4(q.view, r, b.data());
    if (a != b) bad++;
  }
  check(bad == 0, "dequantize_row matches scalar: " + name);
  // quantize_row_q8: exact
  const int64_t nb = q.view.chunks_per_row();
  std::vector<block_q8> qa(static_cast<size_t>(nb)), qb(static_cast<size_t>(nb));
  quantize_row_q8_generic(x.data(), K, qa.data());
  kt.quantize_row_q8(x.data(), K, qb.data());
  bool same = true;
  for (int64_t i = 0; i < nb; i++)
    same = same && qa[i].d == qb[i].d && std::memcmp(qa[i].qs, qb[i].qs, QK) == 0 && std::fabs(qa[i].s - qb[i].s) <= 1e-6f * std::fabs(qa[i].s);
  check(same, "quantize_row_q8 matches scalar: " + name);
  // matmul both ways: the kernels may sum in another order; allow a few ulps of the absolute sum
  auto wd = dequantize(q);
  for (Activations act : {Activations::Int8, Activations::Float32}) {
    std::vector<float> yr(static_cast<size_t>(M * N)), yk(static_cast<size_t>(M * N));
    matmul_q4(kGenericKernels, q.view, x.data(), M, yr.data(), act);
    matmul_q4(kt, q.view, x.data(), M, yk.data(), act);
    bad = 0;
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double as = 0;
        dot_double(wd.data() + n * K, x.data() + m * K, K, &as);
        if (std::fabs(yr[m * N + n] - yk[m * N + n]) > 2e-6 * as * (1 + K / 64.0) + 1e-6) bad++;
      }
    check(bad == 0, std::string("matmul ") + (act == Activations::Int8 ? "int8" : "f32") + " matches scalar: " + name);
    // the thread count never changes a bit of the result
    bool same_threads = true;
    for (int threads : {2, 3, 5}) {
      std::vector<float> yt(static_cast<size_t>(M * N));
      matmul_q4(kt, q.view, x.data(), M, yt.data(), act, threads);
      same_threads = same_threads && yt == yk;
    }
    check(same_threads, std::string("matmul ") + (act == Activations::Int8 ? "int8" : "f32") + " independent of threads: " + name);
  }
}

// The rows-16 copy of a matrix (kernel sets with a rows-16 GEMV keep their matrices that way):
// unpacking gives back every byte; matmul on it matches the scalar reference on the public
// layout, by GEMV, GEMM (unpacked blocks) and f32 activations, independent of threads.
void test_rows16(const KernelTable& kt, int64_t M, int64_t N, int64_t K, int G, Scheme s) {
  auto w = random_vector(N * K);
  auto x = random_vector(M * K);
  QMatrix q = quantize(w, N, K, G, s);
  const std::string name = std::string(kt.name) + " rows16 M=" + std::to_string(M) + " " + shape_name(N, K, G, s);
  std::vector<uint8_t> packed(static_cast<size_t>(q.view.packed_bytes()));
  pack_q4_rows16(q.view, packed.data());
  QMatrixView P = q.view;
  P.codes = nullptr, P.scales = nullptr, P.offsets = nullptr;
  P.packed = packed.data();
  std::vector<uint8_t> codes(q.codes.size(), 0xAB);
  std::vector<uint16_t> scales(q.scales.size(), 0xABCD), offsets(q.offsets.size(), 0xABCD);
  const int64_t rb = q.view.row_code_bytes(), Gr = q.view.groups_per_row();
  for (int64_t b = 0; b < P.pack_blocks(); b++)
    unpack_q4_block16(P, b, codes.data() + b * kPackRows * rb, scales.data() + b * kPackRows * Gr,
                      s == Scheme::Asymmetric ? offsets.data() + b * kPackRows * Gr : nullptr);
  check(codes == q.codes && scales == q.scales && offsets == q.offsets, "rows16 unpack gives back the public layout: " + name);
  auto wd = dequantize(q);
  for (Activations act : {Activations::Int8, Activations::Float32}) {
    std::vector<float> yr(static_cast<size_t>(M * N)), yk(static_cast<size_t>(M * N));
    matmul_q4(kGenericKernels, q.view, x.data(), M, yr.data(), act);
    matmul_q4(kt, P, x.data(), M, yk.data(), act);
    int bad = 0;
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double as = 0;
        dot_double(wd.data() + n * K, x.data() + m * K, K, &as);
        if (!(std::fabs(yr[m * N + n] - yk[m * N + n]) <= 2e-6 * as * (1 + K / 64.0) + 1e-6)) bad++;
      }
    const std::string a = act == Activations::Int8 ? "int8" : "f32";
    check(bad == 0, "matmul " + a + " matches scalar: " + name);
    bool same_threads = true;
    for (int threads : {2, 3}) {
      std::vector<float> yt(static_cast<size_t>(M * N));
      matmul_q4(kt, P, x.data(), M, yt.data(), act, threads);
      same_threads = same_threads && yt == yk;
    }
    check(same_threads, "matmul " + a + " independent of threads: " + name);
  }
}

// A GEMV over rows [r0, r1) writes exactly those outputs, each equal to the bit to what the same
// kernel gives over the whole matrix: whatever the range's length (the GEMVs group rows in runs
// of 4 or of 16-row blocks, then take the rest one by one) and wherever it starts (a multiple of
// 16 for the rows-16 layout, as matmul cuts tasks).
void test_gemv_ranges(const KernelTable& kt, int64_t K, int G, Scheme s) {
  const int64_t N = 300;
  QMatrix q = quantize(random_vector(N * K), N, K, G, s);
  const auto x = random_vector(K);
  std::vector<block_q8> xq(static_cast<size_t>(q.view.chunks_per_row()));
  kt.quantize_row_q8(x.data(), K, xq.data());
  std::vector<uint8_t> packed;
  QMatrixView P = q.view;
  if (kt.gemv_q4_q8_rows16) {
    packed.resize(static_cast<size_t>(q.view.packed_bytes()));
    pack_q4_rows16(q.view, packed.data());
    P.codes = nullptr, P.scales = nullptr, P.offsets = nullptr;
    P.packed = packed.data();
  }
  const std::string name = std::string(kt.name) + " GEMV ranges " + shape_name(N, K, G, s);
  const float sentinel = -12345.0f;
  for (int layout = 0; layout < (kt.gemv_q4_q8_rows16 ? 2 : 1); layout++) {
    const QMatrixView& W = layout ? P : q.view;
    auto gemv = [&](int64_t r0, int64_t r1, float* y) {
      if (layout) kt.gemv_q4_q8_rows16(W, xq.data(), r0, r1, y);
      else kt.gemv_q4_q8(W, xq.data(), r0, r1, y);
    };
    std::vector<float> whole(static_cast<size_t>(N), sentinel);
    gemv(0, N, whole.data());
    bool ok = true;
    for (int64_t r0 : {int64_t(0), int64_t(16), int64_t(48), int64_t(160)})
      for (int64_t len : {1, 3, 5, 16, 17, 40, 63, 64, 65, 100, 140}) {
        const int64_t r1 = r0 + len < N ? r0 + len : N;
        std::vector<float> y(static_cast<size_t>(N), sentinel);
        gemv(r0, r1, y.data());
        for (int64_t r = 0; r < N; r++) ok = ok && (r >= r0 && r < r1 ? y[r] == whole[r] : y[r] == sentinel);
      }
    check(ok, name + (layout ? " rows16" : " public") + ": only [r0, r1) written, equal to the whole-matrix run");
  }
}

// matmul_q4_shared gives every matrix exactly what matmul_q4 gives it alone, for any thread
// count, with the matrices in either layout (rows-16 when the table has kernels for it).
void test_shared(const KernelTable& kt, int64_t M, int64_t K, int G, Scheme s) {
  const int64_t Ns[3] = {40, 16, 300};
  std::vector<QMatrix> qs;
  std::vector<std::vector<uint8_t>> packed(3);
  QMatrixView views[3];
  for (int i = 0; i < 3; i++) {
    qs.push_back(quantize(random_vector(Ns[i] * K), Ns[i], K, G, s));
  }
  for (int i = 0; i < 3; i++) {
    views[i] = qs[i].view;
    if (kt.gemv_q4_q8_rows16 && i != 1) {  // the middle one stays in the public layout
      packed[i].resize(static_cast<size_t>(views[i].packed_bytes()));
      pack_q4_rows16(views[i], packed[i].data());
      views[i].codes = nullptr, views[i].scales = nullptr, views[i].offsets = nullptr;
      views[i].packed = packed[i].data();
    }
  }
  auto x = random_vector(M * K);
  const std::string name = std::string(kt.name) + " shared M=" + std::to_string(M) + " " + shape_name(300, K, G, s);
  for (Activations act : {Activations::Int8, Activations::Float32}) {
    std::vector<std::vector<float>> alone(3);
    for (int i = 0; i < 3; i++) {
      alone[i].resize(static_cast<size_t>(M * Ns[i]));
      matmul_q4(kt, views[i], x.data(), M, alone[i].data(), act, 1);
    }
    bool same = true;
    for (int threads : {1, 2, 3}) {
      std::vector<std::vector<float>> ys(3);
      float* yp[3];
      const QMatrixView* wp[3];
      for (int i = 0; i < 3; i++) {
        ys[i].assign(static_cast<size_t>(M * Ns[i]), -1.0f);
        yp[i] = ys[i].data(), wp[i] = &views[i];
      }
      matmul_q4_shared(kt, wp, yp, 3, x.data(), M, act, threads);
      for (int i = 0; i < 3; i++) same = same && ys[i] == alone[i];
    }
    check(same, std::string("matmul_q4_shared equals matmul_q4 per matrix, ") + (act == Activations::Int8 ? "int8 " : "f32 ") + name);
  }
}

// A table's quantize_q4 writes the bytes quantize_q4_generic writes, on ordinary weights and
// on the cases a vector version gets wrong first: ties in magnitude with both signs, signed zeros,
// all-zero groups, partial groups and chunks, and non-finite input (reported at the same index).
void test_quantize_table(const KernelTable& kt) {
  for (Scheme s : {Scheme::Symmetric, Scheme::Asymmetric})
    for (int G : {32, 64, 128, 256})
      for (int64_t K : {int64_t(17), int64_t(172), int64_t(G), int64_t(G) * 3 + 5}) {
        const int64_t N = 9;
        auto w = random_vector(N * K);
        for (int64_t k = 0; k < K; k++) {
          w[k] = 0.0f;                            // row 0: zeros
          w[K + k] = (k % 3 == 0) ? -0.0f : 0.0f;  // row 1: signed zeros
          w[2 * K + k] = (k % 2) ? 2.5f : -2.5f;   // row 2: ties in magnitude
        }
        w[3 * K + K / 2] = -0.0f;
        std::vector<uint8_t> c1(static_cast<size_t>(N * ((K + 31) / 32) * 16)), c2(c1.size());
        const int64_t ng = (K + G - 1) / G;
        std::vector<uint16_t> s1(static_cast<size_t>(N * ng)), s2(s1.size()), o1(s1.size()), o2(s1.size());
        const bool asym = s == Scheme::Asymmetric;
        const int64_t r1 = quantize_q4_generic(w.data(), N, K, G, s, c1.data(), s1.data(), asym ? o1.data() : nullptr);
        const int64_t r2 = kt.quantize_q4(w.data(), N, K, G, s, c2.data(), s2.data(), asym ? o2.data() : nullptr);
        check(r1 == -1 && r2 == -1 && c1 == c2 && s1 == s2 && o1 == o2,
              std::string(kt.name) + " quantize_q4 matches scalar: " + shape_name(N, K, G, s));
        w[5 * K + 3] = NAN;
        w[7 * K] = INFINITY;
        check(kt.quantize_q4(w.data(), N, K, G, s, c2.data(), s2.data(), asym ? o2.data() : nullptr) == 5 * K + 3,
              std::string(kt.name) + " quantize_q4 reports the first non-finite weight: " + shape_name(N, K, G, s));
      }
}

// Several matmuls at once from different threads (as from libuv's workers), each using the pool.
void test_concurrent(const KernelTable& kt) {
  const int64_t M = 5, N = 150, K = 300;
  auto w = random_vector(N * K);
  QMatrix q = quantize(w, N, K, 64, Scheme::Asymmetric);
  std::vector<std::vector<float>> xs, expected;
  for (int t = 0; t < 4; t++) {
    xs.push_back(random_vector((t + 1) * K));
    expected.emplace_back(static_cast<size_t>((t + 1) * N));
    matmul_q4(kt, q.view, xs[t].data(), t + 1, expected[t].data(), Activations::Int8, 1);
  }
  (void)M;
  std::vector<int> ok(4, 1);
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; t++) {
    callers.emplace_back([&, t] {
      std::vector<float> y(static_cast<size_t>((t + 1) * N));
      for (int rep = 0; rep < 20; rep++) {
        matmul_q4(kt, q.view, xs[t].data(), t + 1, y.data(), Activations::Int8, 2);
        if (y != expected[t]) ok[t] = 0;
      }
    });
  }
  for (auto& c : callers) c.join();
  check(ok[0] && ok[1] && ok[2] && ok[3], std::string(kt.name) + ": concurrent matmuls on the pool give the same results");
}

}  // namespace

#include "block_type_tests.h"

int main(int argc, char** argv) {
  // Optional argument: only this kernel set (besides the scalar reference tests).
  const std::string only = argc > 1 ? argv[1] : "";
  test_fp16();
  const Scheme schemes[] = {Scheme::Symmetric, Scheme::Asymmetric};
  for (Scheme s : schemes) {
    for (int G : {32, 64, 128, 256}) {
      for (int64_t K : {int64_t(G), int64_t(172), int64_t(G) * 3 + 5, int64_t(17)}) {
        test_quantize_roundtrip(3, K, G, s);
        test_dots(5, K, G, s);
      }
    }
    test_ggml_roundtrip(s);
  }
  // Kernel tables: each one this CPU runs, variants included (avx2 and avx2+vnni, neon and
  // neon+dotprod). The argument selects one by table name or ISA family.
  const KernelTable* tables[16];
  const int ntables = runnable_kernel_tables(tables, 16);
  for (int t = 0; t < ntables && t < 16; t++) {
    const KernelTable& kt = *tables[t];
    if (!only.empty() && only != kt.name && only != isa_family(kt)) continue;
    std::printf("kernels: %s\n", kt.name);
    std::uniform_int_distribution<int> mdist(1, 9);
    for (Scheme s : schemes)
      for (int G : {32, 64, 128, 256}) {
        for (int64_t K : {int64_t(17), int64_t(172), int64_t(G) * 2, int64_t(G) * 5 + 13}) {
          test_kernel_set(kt, mdist(rng), 7, K, G, s);
          test_kernel_set(kt, 33, 13, K, G, s);
        }
        // GEMM blocks of x and of W rows, several 4-chunk steps and a partial one
        test_kernel_set(kt, 70, 77, int64_t(G) * 3 + 45, G, s);
        if (kt.gemv_q4_q8_rows16)
          for (int64_t M : {1, 3, 5, 20})
            for (int64_t N : {5, 16, 300})
              for (int64_t K : {int64_t(17), int64_t(172), int64_t(G) * 2 + 40}) test_rows16(kt, M, N, K, G, s);
      }
    for (Scheme s : schemes)
      for (int64_t M : {1, 6})
        for (int G : {32, 128}) test_shared(kt, M, int64_t(G) * 3 + 7, G, s);
    for (Scheme s : schemes)
      for (int G : {32, 128}) test_gemv_ranges(kt, int64_t(G) * 2 + 40, G, s);
    test_quantize_table(kt);
    test_concurrent(kt);
  }
  block_tests::run(tables, ntables < 16 ? ntables : 16, only);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
