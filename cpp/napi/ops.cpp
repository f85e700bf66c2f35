// Operators besides INT4 matmul that loading and running models need, registered on the addon.
#include "napi_util.h"

#include <cmath>

#include "../int4/kernels.h"
#include "../ops/ops.h"

namespace int4 {

namespace {

// f16ToF32(src: Uint16Array, dst: Float32Array): IEEE half bits -> float, same length.
Napi::Value F16ToF32(const Napi::CallbackInfo& info) {
  auto src = typed_arg<uint16_t>(info, 0, "src", "Uint16Array");
  auto dst = typed_arg<float>(info, 1, "dst", "Float32Array");
  check_len(info.Env(), "dst", dst.ElementLength(), static_cast<int64_t>(src.ElementLength()));
  const uint16_t* s = src.Data();
  float* d = dst.Data();
  for (size_t i = 0, n = src.ElementLength(); i < n; i++) d[i] = fp16_to_fp32(s[i]);
  return info.Env().Undefined();
}

// bf16ToF32(src: Uint16Array, dst: Float32Array): bfloat16 bits -> float (exact), same length.
Napi::Value BF16ToF32(const Napi::CallbackInfo& info) {
  auto src = typed_arg<uint16_t>(info, 0, "src", "Uint16Array");
  auto dst = typed_arg<float>(info, 1, "dst", "Float32Array");
  check_len(info.Env(), "dst", dst.ElementLength(), static_cast<int64_t>(src.ElementLength()));
  const uint16_t* s = src.Data();
  float* d = dst.Data();
  for (size_t i = 0, n = src.ElementLength(); i < n; i++) {
    const uint32_t bits = static_cast<uint32_t>(s[i]) << 16;
    std::memcpy(d + i, &bits, 4);
  }
  return info.Env().Undefined();
}

// ---- the forward pass's operators (cpp/ops). Buffers may be longer than the part used (scratch
// sized for the longest batch); every access is checked against their lengths here. ----

int64_t need(const Napi::Env& env, const char* name, size_t have, int64_t want) {
  if (want < 0 || static_cast<int64_t>(have) < want)
    throw_range(env, std::string(name) + ": expected at least " + std::to_string(want) + " elements, got " + std::to_string(have));
  return want;
}

double num_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw_type(info.Env(), std::string(name) + ": expected a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range(info.Env(), std::string(name) + ": expected a finite number");
  return d;
}

constexpr int64_t kMaxDim = int64_t(1) << 31;

// sgemm(x, M, K, w, N, y, threads): x (M,K) @ w (N,K)^T -> y (M,N), f32
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto x = typed_arg<float>(info, 0, "x", "Float32Array");
  const int64_t M = int_arg(info, 1, "M", 1, kMaxDim), K = int_arg(info, 2, "K", 1, kMaxDim);
  auto w = typed_arg<float>(info, 3, "w", "Float32Array");
  const int64_t N = int_arg(info, 4, "N", 1, kMaxDim);
  auto y = typed_arg<float>(info, 5, "y", "Float32Array");
  const int threads = static_cast<int>(int_arg(info, 6, "threads", 0, kMaxThreads));
  if (M > kMaxElements / K || N > kMaxElements / K || M > kMaxElements / N) throw_range(env, "sgemm: too many elements");
  need(env, "x", x.ElementLength(), M * K);
  need(env, "w", w.ElementLength(), N * K);
  need(env, "y", y.ElementLength(), M * N);
  sgemm_f32(x.Data(), M, K, w.Data(), N, y.Data(), threads);
  return env.Undefined();
}

// An optional trailing `threads` argument (default 1): the model passes its own.
int threads_arg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && !info[i].IsUndefined() ? static_cast<int>(int_arg(info, i, "threads", 1, kMaxThreads)) : 1;
}

// rmsnorm(x, w, out, M, n, eps, threads?)
Napi::Value Rmsnorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto x = typed_arg<float>(info, 0, "x", "Float32Array");
  auto w = typed_arg<float>(info, 1, "w", "Float32Array");
  auto out = typed_arg<float>(info, 2, "out", "Float32Array");
  const int64_t M = int_arg(info, 3, "M", 1, kMaxDim), n = int_arg(info, 4, "n", 1, kMaxDim);
  const float eps = static_cast<float>(num_arg(info, 5, "eps"));
  need(env, "x", x.ElementLength(), M * n);
  need(env, "w", w.ElementLength(), n);
  need(env, "out", out.ElementLength(), M * n);
  rmsnorm_f32(x.Data(), w.Data(), out.Data(), M, n, eps, threads_arg(info, 6));
  return env.Undefined();
}

// An optional number argument: its default when absent or undefined.
double opt_num(const Napi::CallbackInfo& info, size_t i, const char* name, double fallback) {
  return info.Length() > i && !info[i].IsUndefined() ? num_arg(info, i, name) : fallback;
}

// rope(x, M, nHeads, headDim, pos0, nRot, base, mode, factors?: Float32Array | null, freqScale?, mscale?)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto x = typed_arg<float>(info, 0, "x", "Float32Array");
  const int64_t M = int_arg(info, 1, "M", 1, kMaxDim), H = int_arg(info, 2, "nHeads", 1, kMaxDim);
  const int64_t hd = int_arg(info, 3, "headDim", 1, kMaxDim), pos0 = int_arg(info, 4, "pos0", 0, kMaxDim);
  const int64_t n_rot = int_arg(info, 5, "nRot", 0, hd);
  const float base = static_cast<float>(num_arg(info, 6, "base"));
  const int mode = static_cast<int>(int_arg(info, 7, "mode", 0, 2));
  if (n_rot % 2 != 0) throw_range(env, "nRot: expected an even number");
  if (mode == 1) throw_range(env, "mode: expected 0 (normal) or 2 (neox)");
  if (M > kMaxElements / (H * hd)) throw_range(env, "rope: too many elements");
  need(env, "x", x.ElementLength(), M * H * hd);
  const float* factors = nullptr;
  if (info.Length() > 8 && !info[8].IsUndefined() && !info[8].IsNull()) {
    auto f = typed_arg<float>(info, 8, "factors", "Float32Array");
    need(env, "factors", f.ElementLength(), n_rot / 2);
    factors = f.Data();
  }
  const float freq_scale = static_cast<float>(opt_num(info, 9, "freqScale", 1.0));
  const float mscale = static_cast<float>(opt_num(info, 10, "mscale", 1.0));
  rope_f32(x.Data(), M, H, hd, pos0, n_rot, base, mode, factors, freq_scale, mscale);
  return env.Undefined();
}

// The KV cache arguments of one layer: kCache and vCache hold nKv * ctx * headDim floats per layer
// (cpp/ops/ops.h: keys in blocks of 16 positions, values in rows); cacheOffset is the layer's
// first element.
struct CacheArgs {
  int64_t off, n_kv, hd, ctx;
};
void check_cache(const Napi::Env& env, const Napi::Float32Array& kc, const Napi::Float32Array& vc, const CacheArgs& c) {
  if (c.ctx % kKvBlock != 0)
    throw_range(env, "ctx: expected a multiple of 16 (the key cache is kept in blocks of 16 positions), got " + std::to_string(c.ctx));
  need(env, "kCache", kc.ElementLength(), c.off + c.n_kv * c.hd * c.ctx);
  need(env, "vCache", vc.ElementLength(), c.off + c.ctx * c.n_kv * c.hd);
}

// storeKV(k, v, M, pos0, nKv, headDim, ctx, kCache, vCache, cacheOffset)
Napi::Value StoreKV(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto k = typed_arg<float>(info, 0, "k", "Float32Array");
  auto v = typed_arg<float>(info, 1, "v", "Float32Array");
  const int64_t M = int_arg(info, 2, "M", 1, kMaxDim), pos0 = int_arg(info, 3, "pos0", 0, kMaxDim);
  CacheArgs c;
  c.n_kv = int_arg(info, 4, "nKv", 1, 1 << 16);
  c.hd = int_arg(info, 5, "headDim", 1, 1 << 16);
  c.ctx = int_arg(info, 6, "ctx", 1, kMaxDim);
  auto kc = typed_arg<float>(info, 7, "kCache", "Float32Array");
  auto vc = typed_arg<float>(info, 8, "vCache", "Float32Array");
  c.off = int_arg(info, 9, "cacheOffset", 0, kMaxElements);
  if (pos0 + M > c.ctx) throw_range(env, "pos0 + M: expected at most ctx = " + std::to_string(c.ctx));
  if (c.n_kv * c.hd > kMaxDim / c.ctx) throw_range(env, "storeKV: too many elements");
  need(env, "k", k.ElementLength(), M * c.n_kv * c.hd);
  need(env, "v", v.ElementLength(), M * c.n_kv * c.hd);
  check_cache(env, kc, vc, c);
  store_kv_f32(k.Data(), v.Data(), M, pos0, c.n_kv, c.hd, c.ctx, kc.Data() + c.off, vc.Data() + c.off);
  return env.Undefined();
}

// attention(q, kCache, vCache, cacheOffset, out, M, pos0, nHead, nKv, headDim, ctx, threads, scale?, softcap?, window?)
// scale defaults to 1/sqrt(headDim), softcap to 0 (none), window to 0 (every earlier position)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto q = typed_arg<float>(info, 0, "q", "Float32Array");
  auto kc = typed_arg<float>(info, 1, "kCache", "Float32Array");
  auto vc = typed_arg<float>(info, 2, "vCache", "Float32Array");
  CacheArgs c;
  c.off = int_arg(info, 3, "cacheOffset", 0, kMaxElements);
  auto out = typed_arg<float>(info, 4, "out", "Float32Array");
  const int64_t M = int_arg(info, 5, "M", 1, kMaxDim), pos0 = int_arg(info, 6, "pos0", 0, kMaxDim);
  const int64_t H = int_arg(info, 7, "nHead", 1, 1 << 16);
  c.n_kv = int_arg(info, 8, "nKv", 1, H);
  c.hd = int_arg(info, 9, "headDim", 1, 1 << 16);
  c.ctx = int_arg(info, 10, "ctx", 1, kMaxDim);
  const int threads = static_cast<int>(int_arg(info, 11, "threads", 0, kMaxThreads));
  AttnOpts opts{static_cast<float>(opt_num(info, 12, "scale", 1.0 / std::sqrt(static_cast<double>(c.hd)))),
                static_cast<float>(opt_num(info, 13, "softcap", 0.0)),
                info.Length() > 14 && !info[14].IsUndefined() ? int_arg(info, 14, "window", 0, kMaxDim) : 0};
  if (opts.softcap < 0) throw_range(env, "softcap: expected 0 (none) or a positive number");
  if (H % c.n_kv != 0) throw_range(env, "nHead: expected a multiple of nKv");
  if (pos0 + M > c.ctx) throw_range(env, "pos0 + M: expected at most ctx = " + std::to_string(c.ctx));
  if (M > kMaxDim / (H * c.hd) || c.n_kv * c.hd > kMaxDim / c.ctx) throw_range(env, "attention: too many elements");
  need(env, "q", q.ElementLength(), M * H * c.hd);
  need(env, "out", out.ElementLength(), M * H * c.hd);
  check_cache(env, kc, vc, c);
  // out is written by several threads while the others read q and the cache: it may be q itself
  // (each task reads its part of q before it writes the same part of out) but overlap nothing else
  const size_t n = static_cast<size_t>(M * H * c.hd);
  if (overlaps(out.Data(), n, kc.Data(), kc.ElementLength()) || overlaps(out.Data(), n, vc.Data(), vc.ElementLength()) ||
      (out.Data() != q.Data() && overlaps(out.Data(), n, q.Data(), n)))
    throw_range(env, "out: must not overlap the caches, nor q unless it is q");
  try {
    attention_f32(q.Data(), kc.Data() + c.off, vc.Data() + c.off, out.Data(), M, pos0, H, c.n_kv, c.hd, c.ctx, threads, opts);
  } catch (const std::bad_alloc&) {  // the scores' scratch: a JS error, never a terminate()
    throw_range(env, "attention: out of memory");
  }
  return env.Undefined();
}

// Argument i: a Float32Array of at least n elements (n read from a later argument), its data.
// (Called one statement each, in argument order: the first bad one is the one an error names.)
float* f32_n(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t n) {
  auto a = typed_arg<float>(info, i, name, "Float32Array");
  need(info.Env(), name, a.ElementLength(), n);
  return a.Data();
}

// siluMul / geluMul(gate, up, n, threads?): gate = act(gate) * up (act: silu, gelu_tanh)
template <void (*act_mul)(float*, const float*, int64_t, int)>
Napi::Value GatedMul(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 2, "n", 0, kMaxElements);
  float* g = f32_n(info, 0, "gate", n);
  float* u = f32_n(info, 1, "up", n);
  act_mul(g, u, n, threads_arg(info, 3));
  return info.Env().Undefined();
}

// addBias(x, b, M, n): x (M,n) += b (n) on every row
Napi::Value AddBias(const Napi::CallbackInfo& info) {
  const int64_t M = int_arg(info, 2, "M", 1, kMaxDim), n = int_arg(info, 3, "n", 1, kMaxDim);
  if (M > kMaxElements / n) throw_range(info.Env(), "addBias: too many elements");
  float* x = f32_n(info, 0, "x", M * n);
  const float* b = f32_n(info, 1, "b", n);
  add_bias_f32(x, b, M, n);
  return info.Env().Undefined();
}

// softcap(x, n, cap): x = cap * tanh(x / cap)
Napi::Value Softcap(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 1, "n", 0, kMaxElements);
  const double cap = num_arg(info, 2, "cap");
  if (!(cap > 0)) throw_range(info.Env(), "cap: expected a positive number");
  softcap_f32(f32_n(info, 0, "x", n), n, static_cast<float>(cap));
  return info.Env().Undefined();
}

// scaleInPlace(x, n, s): x *= s
Napi::Value ScaleInPlace(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 1, "n", 0, kMaxElements);
  float* x = f32_n(info, 0, "x", n);
  scale_f32(x, n, static_cast<float>(num_arg(info, 2, "s")));
  return info.Env().Undefined();
}

// addInPlace(x, y, n, threads?): x += y
Napi::Value AddInPlace(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 2, "n", 0, kMaxElements);
  float* x = f32_n(info, 0, "x", n);
  const float* y = f32_n(info, 1, "y", n);
  add_f32(x, y, n, threads_arg(info, 3));
  return info.Env().Undefined();
}

// copyF32(src, srcOffset, dst, dstOffset, n): a copy between ranges without making views
Napi::Value CopyF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto src = typed_arg<float>(info, 0, "src", "Float32Array");
  const int64_t so = int_arg(info, 1, "srcOffset", 0, kMaxElements);
  auto dst = typed_arg<float>(info, 2, "dst", "Float32Array");
  const int64_t d_o = int_arg(info, 3, "dstOffset", 0, kMaxElements);
  const int64_t n = int_arg(info, 4, "n", 0, kMaxElements);
  need(env, "src", src.ElementLength(), so + n);
  need(env, "dst", dst.ElementLength(), d_o + n);
  std::memmove(dst.Data() + d_o, src.Data() + so, static_cast<size_t>(n) * sizeof(float));
  return env.Undefined();
}

// getRowQ4(codes, scales, offsets|null, N, K, groupSize, scheme, row, out, outOffset): one row of
// an INT4 matrix dequantized (the embedding lookup of a quantized token_embd)
Napi::Value GetRowQ4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QMatrixView v = shape_args(info, 3);
  storage_args(info, 0, v);
  const int64_t row = int_arg(info, 7, "row", 0, v.rows - 1);
  auto out = typed_arg<float>(info, 8, "out", "Float32Array");
  const int64_t oo = int_arg(info, 9, "outOffset", 0, kMaxElements);
  need(env, "out", out.ElementLength(), oo + v.cols);
  dequantize_row_q4_generic(v, row, out.Data() + oo);
  return env.Undefined();
}

// fillNormal(dst, seed, offset, scale, threads): deterministic approximately-normal values
Napi::Value FillNormal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dst = typed_arg<float>(info, 0, "dst", "Float32Array");
  const int64_t seed = int_arg(info, 1, "seed", 0, int64_t(1) << 53);
  const int64_t off = int_arg(info, 2, "offset", 0, int64_t(1) << 53);
  const float scale = static_cast<float>(num_arg(info, 3, "scale"));
  const int threads = static_cast<int>(int_arg(info, 4, "threads", 0, kMaxThreads));
  fill_normal_f32(dst.Data(), static_cast<int64_t>(dst.ElementLength()), static_cast<uint64_t>(seed),
                  static_cast<uint64_t>(off), scale, threads);
  return env.Undefined();
}

// randomQ4(codes, scales, offsets|null, N, K, groupSize, scheme, seed, scale, threads) -> [err2, ref2]:
// the demo model's random INT4 weights (see cpp/ops/ops.h random_q4)
Napi::Value RandomQ4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QMatrixView v = shape_args(info, 3);
  storage_args(info, 0, v);
  const int64_t seed = int_arg(info, 7, "seed", 0, int64_t(1) << 53);
  const float scale = static_cast<float>(num_arg(info, 8, "scale"));
  const int threads = static_cast<int>(int_arg(info, 9, "threads", 0, kMaxThreads));
  double e2 = 0, r2 = 0;
  random_q4(v.rows, v.cols, static_cast<uint64_t>(seed), scale, v.group_size, v.scheme, const_cast<uint8_t*>(v.codes),
            const_cast<uint16_t*>(v.scales), const_cast<uint16_t*>(v.offsets), threads, &e2, &r2);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t(0), Napi::Number::New(env, e2));
  out.Set(uint32_t(1), Napi::Number::New(env, r2));
  return out;
}

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("f16ToF32", Napi::Function::New(env, F16ToF32));
  exports.Set("bf16ToF32", Napi::Function::New(env, BF16ToF32));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("rmsnorm", Napi::Function::New(env, Rmsnorm));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("storeKV", Napi::Function::New(env, StoreKV));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("siluMul", Napi::Function::New(env, GatedMul<silu_mul_f32>));
  exports.Set("addInPlace", Napi::Function::New(env, AddInPlace));
  exports.Set("geluMul", Napi::Function::New(env, GatedMul<gelu_mul_f32>));
  exports.Set("addBias", Napi::Function::New(env, AddBias));
  exports.Set("softcap", Napi::Function::New(env, Softcap));
  exports.Set("scaleInPlace", Napi::Function::New(env, ScaleInPlace));
  exports.Set("copyF32", Napi::Function::New(env, CopyF32));
  exports.Set("getRowQ4", Napi::Function::New(env, GetRowQ4));
  exports.Set("fillNormal", Napi::Function::New(env, FillNormal));
  exports.Set("randomQ4", Napi::Function::New(env, RandomQ4));
}

}  // namespace int4
