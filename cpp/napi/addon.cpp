// The N-API binding: thin. TypeScript (src/) validates and explains; this layer re-checks what
// would otherwise read or write out of bounds, converts, and calls the kernels. Async work copies
// its activations and holds the weights by shared_ptr, so it never touches a JS value off the
// main thread.
#include <napi.h>

#include <atomic>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../int4/dispatch.h"
#include "../int4/kernels.h"
#include "../int4/thread_pool.h"
#include "../platform/platform.h"
#include "int4_source_hash.h"
#include "napi_util.h"

namespace int4 { void register_quantize_ref(Napi::Env env, Napi::Object exports); }  // quantize_ref.cpp

namespace {

using namespace int4;

// Native matrices alive in the process, over all its environments (main thread and Workers): what
// a test reads to tell a leak of them from the allocator keeping pages.
std::atomic<int64_t> g_live_matrices{0};

// ---- free functions ----

// quantize(w, N, K, groupSize, scheme, codes, scales, offsets|null) -> -1 | index of first non-finite
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  QMatrixView v = shape_args(info, 1);
  auto w = typed_arg<float>(info, 0, "w", "Float32Array");
  check_len(info.Env(), "w", w.ElementLength(), v.rows * v.cols);
  storage_args(info, 5, v);
  const int64_t bad = active_kernels().quantize_q4(w.Data(), v.rows, v.cols, v.group_size, v.scheme,
                                          const_cast<uint8_t*>(v.codes), const_cast<uint16_t*>(v.scales),
                                          const_cast<uint16_t*>(v.offsets));
  return Napi::Number::New(info.Env(), static_cast<double>(bad));
}

// dequantize(codes, scales, offsets|null, N, K, groupSize, scheme, out)
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  QMatrixView v = shape_args(info, 3);
  storage_args(info, 0, v);
  auto out = typed_arg<float>(info, 7, "out", "Float32Array");
  check_len(info.Env(), "out", out.ElementLength(), v.rows * v.cols);
  const KernelTable& kt = active_kernels();
  for (int64_t r = 0; r < v.rows; r++) kt.dequantize_row_q4(v, r, out.Data() + r * v.cols);
  return info.Env().Undefined();
}

int64_t ggml_block_bytes(Scheme s) { return s == Scheme::Symmetric ? sizeof(block_q4_0) : sizeof(block_q4_1); }

// fromGGML(blocks, N, K, scheme, codes, scales, offsets|null)
Napi::Value FromGGML(const Napi::CallbackInfo& info) {
  auto blocks = typed_arg<uint8_t>(info, 0, "blocks", "Uint8Array");
  QMatrixView v;
  v.rows = int_arg(info, 1, "N", 1, kMaxElements);
  v.cols = int_arg(info, 2, "K", 1, kMaxElements);
  v.scheme = static_cast<Scheme>(int_arg(info, 3, "scheme", 0, 1));
  if (v.cols % QK != 0) throw_range(info.Env(), "K: llama.cpp blocks need a multiple of 32, got " + std::to_string(v.cols));
  if (v.rows > kMaxElements / v.cols) throw_range(info.Env(), "N*K: too many elements");
  check_len(info.Env(), "blocks", blocks.ElementLength(), v.rows * (v.cols / QK) * ggml_block_bytes(v.scheme));
  storage_args(info, 4, v);
  q4_from_ggml(blocks.Data(), v.scheme, v.rows, v.cols, const_cast<uint8_t*>(v.codes),
               const_cast<uint16_t*>(v.scales), const_cast<uint16_t*>(v.offsets));
  return info.Env().Undefined();
}

// toGGML(codes, scales, offsets|null, N, K, scheme, out)
Napi::Value ToGGML(const Napi::CallbackInfo& info) {
  QMatrixView v;
  v.rows = int_arg(info, 3, "N", 1, kMaxElements);
  v.cols = int_arg(info, 4, "K", 1, kMaxElements);
  v.scheme = static_cast<Scheme>(int_arg(info, 5, "scheme", 0, 1));
  if (v.cols % QK != 0) throw_range(info.Env(), "K: llama.cpp blocks need a multiple of 32, got " + std::to_string(v.cols));
  if (v.rows > kMaxElements / v.cols) throw_range(info.Env(), "N*K: too many elements");
  storage_args(info, 0, v);
  auto out = typed_arg<uint8_t>(info, 6, "out", "Uint8Array");
  check_len(info.Env(), "out", out.ElementLength(), v.rows * (v.cols / QK) * ggml_block_bytes(v.scheme));
  q4_to_ggml(v, out.Data());
  return info.Env().Undefined();
}

Napi::Value SourceHash(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), INT4_SOURCE_HASH); }

Napi::Value Backend(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("isa", isa_family(active_kernels()));
  o.Set("kernels", active_kernels().name);
  o.Set("available", available_kernels());
  o.Set("threads", default_threads());
  o.Set("liveMatrices", static_cast<double>(g_live_matrices.load(std::memory_order_relaxed)));
  return o;
}

// ---- QMatrix: native copy of a quantized matrix, the operand of matmul ----

struct FreeDeleter {
  void operator()(void* p) const { platform::aligned_free(p); }
};

struct QMatrixData {
  QMatrixData() { g_live_matrices.fetch_add(1, std::memory_order_relaxed); }
  ~QMatrixData() { g_live_matrices.fetch_sub(1, std::memory_order_relaxed); }
  QMatrixData(const QMatrixData&) = delete;
  QMatrixData& operator=(const QMatrixData&) = delete;
  QMatrixView view;
  std::vector<uint8_t> codes;  // the public layout's codes
  std::vector<uint16_t> scales, offsets;
  // or the rows-16 copy (view.packed), on a cache-line boundary: the kernels' 64-byte loads then
  // never straddle two lines
  std::unique_ptr<uint8_t, FreeDeleter> packed;
  // or a block type's blocks (view.blocks), likewise aligned
  std::unique_ptr<uint8_t, FreeDeleter> blocks;
};

class MatmulWorker : public Napi::AsyncWorker {
 public:
  MatmulWorker(Napi::Env env, std::shared_ptr<const QMatrixData> w, std::vector<float> x, int64_t M, Activations act, int threads)
      : Napi::AsyncWorker(env), w_(std::move(w)), x_(std::move(x)), M_(M), act_(act), threads_(threads), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      y_.resize(static_cast<size_t>(M_ * w_->view.rows));
      matmul_q4(active_kernels(), w_->view, x_.data(), M_, y_.data(), act_, threads_);
    } catch (const std::bad_alloc&) {
      SetError("matmul: out of memory");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    auto y = Napi::Float32Array::New(env, y_.size());
    std::memcpy(y.Data(), y_.data(), y_.size() * sizeof(float));
    deferred_.Resolve(y);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(Napi::RangeError::New(Env(), e.Message()).Value()); }

 private:
  std::shared_ptr<const QMatrixData> w_;
  std::vector<float> x_, y_;
  int64_t M_;
  Activations act_;
  int threads_;
  Napi::Promise::Deferred deferred_;
};

// Marks the objects QMatrix made, so that matmulShared can tell them from any other object.
constexpr napi_type_tag kQMatrixTag = {0x8a2f3c1d5e6b4a70ULL, 0x91c4d2e7f3a85b16ULL};

class QMatrix : public Napi::ObjectWrap<QMatrix> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "QMatrix",
                       {InstanceMethod("matmul", &QMatrix::Matmul), InstanceMethod("matmulAsync", &QMatrix::MatmulAsync),
                        InstanceMethod("dispose", &QMatrix::Dispose)});
  }

  // new QMatrix(codes, scales, offsets|null, N, K, groupSize, scheme), or
  // new QMatrix(type, blocks, N, K) for a llama.cpp block type: copies the data.
  explicit QMatrix(const Napi::CallbackInfo& info) : Napi::ObjectWrap<QMatrix>(info) {
    if (info[0].IsNumber()) {
      from_blocks(info);
      return;
    }
    QMatrixView v = shape_args(info, 3);
    storage_args(info, 0, v);
    info.This().As<Napi::Object>().TypeTag(&kQMatrixTag);
    auto d = std::make_shared<QMatrixData>();
    if (active_kernels().gemv_q4_q8_rows16) {
      // these kernels read their own layout (format.h, rows-16): the same bytes, regrouped once
      const size_t bytes = static_cast<size_t>(v.packed_bytes());
      d->packed.reset(static_cast<uint8_t*>(platform::aligned_malloc(64, (bytes + 63) / 64 * 64)));
      if (!d->packed) throw_range(info.Env(), "QMatrix: out of memory");
      pack_q4_rows16(v, d->packed.get());
      d->view = v;
      d->view.codes = nullptr, d->view.scales = nullptr, d->view.offsets = nullptr;
      d->view.packed = d->packed.get();
      data_ = std::move(d);
      return;
    }
    d->codes.assign(v.codes, v.codes + v.rows * v.row_code_bytes());
    d->scales.assign(v.scales, v.scales + v.rows * v.groups_per_row());
    if (v.offsets) d->offsets.assign(v.offsets, v.offsets + v.rows * v.groups_per_row());
    d->view = v;
    d->view.codes = d->codes.data();
    d->view.scales = d->scales.data();
    d->view.offsets = v.offsets ? d->offsets.data() : nullptr;
    data_ = std::move(d);
  }

  // The live data of the QMatrix behind a JS value (a reference of the caller's own, which a
  // dispose() cannot free), or a TypeError naming `what`.
  static std::shared_ptr<const QMatrixData> From(Napi::Env env, Napi::Value value, const std::string& what) {
    if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kQMatrixTag)) throw_type(env, what + ": expected a QMatrix");
    QMatrix* q = Unwrap(value.As<Napi::Object>());
    q->live(env);
    return q->data_;
  }

 private:
  void from_blocks(const Napi::CallbackInfo& info) {
    const ggml::TypeTraits& t = type_arg(info, 0);
    auto blocks = typed_arg<uint8_t>(info, 1, "blocks", "Uint8Array");
    int64_t N, K;
    const int64_t row_bytes = block_shape_args(info, 2, t, &N, &K);
    check_len(info.Env(), "blocks", blocks.ElementLength(), N * row_bytes);
    info.This().As<Napi::Object>().TypeTag(&kQMatrixTag);
    auto d = std::make_shared<QMatrixData>();
    const size_t bytes = static_cast<size_t>(N * row_bytes);
    d->blocks.reset(static_cast<uint8_t*>(platform::aligned_malloc(64, (bytes + 63) / 64 * 64)));
    if (!d->blocks) throw_range(info.Env(), "QMatrix: out of memory");
    std::memcpy(d->blocks.get(), blocks.Data(), bytes);
    d->view.rows = N;
    d->view.cols = K;
    d->view.block_type = &t;
    d->view.blocks = d->blocks.get();
    d->view.block_row_bytes = row_bytes;
    data_ = std::move(d);
  }

  const QMatrixData& live(Napi::Env env) {
    if (!data_) throw Napi::Error::New(env, "QMatrix: used after dispose()");
    return *data_;
  }

  // matmul(x, M, y, activations, threads): x (M,K) @ W^T -> y (M,N)
  Napi::Value Matmul(const Napi::CallbackInfo& info) {
    const QMatrixData& d = live(info.Env());
    auto x = typed_arg<float>(info, 0, "x", "Float32Array");
    const int64_t M = int_arg(info, 1, "M", 1, kMaxElements / d.view.cols);
    auto y = typed_arg<float>(info, 2, "y", "Float32Array");
    const auto act = static_cast<Activations>(int_arg(info, 3, "activations", 0, 1));
    const int threads = static_cast<int>(int_arg(info, 4, "threads", 0, kMaxThreads));
    check_len(info.Env(), "x", x.ElementLength(), M * d.view.cols);
    if (M > kMaxElements / d.view.rows) throw_range(info.Env(), "M*N: too many elements");
    check_len(info.Env(), "y", y.ElementLength(), M * d.view.rows);
    // threads write y while others still read x
    if (overlaps(y.Data(), y.ElementLength(), x.Data(), x.ElementLength())) throw_range(info.Env(), "y: must not overlap x");
    try {
      matmul_q4(active_kernels(), d.view, x.Data(), M, y.Data(), act, threads);
    } catch (const std::bad_alloc&) {  // scratch for x: a JS error, never a terminate()
      throw_range(info.Env(), "matmul: out of memory");
    }
    return info.Env().Undefined();
  }

  // matmulAsync(x, M, activations, threads) -> Promise<Float32Array (M*N)>
  Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
    live(info.Env());
    const QMatrixView& v = data_->view;
    auto x = typed_arg<float>(info, 0, "x", "Float32Array");
    const int64_t M = int_arg(info, 1, "M", 1, kMaxElements / v.cols);
    const auto act = static_cast<Activations>(int_arg(info, 2, "activations", 0, 1));
    const int threads = static_cast<int>(int_arg(info, 3, "threads", 0, kMaxThreads));
    check_len(info.Env(), "x", x.ElementLength(), M * v.cols);
    if (M > kMaxElements / v.rows) throw_range(info.Env(), "M*N: too many elements");
    std::vector<float> xs(x.Data(), x.Data() + M * v.cols);
    auto* w = new MatmulWorker(info.Env(), data_, std::move(xs), M, act, threads);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // Frees this handle's reference; async work in flight keeps its own.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    data_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<const QMatrixData> data_;
};

// matmulShared([W...], x, M, [y...], activations, threads): y[i] = x (M,K) @ W[i]^T for matrices of
// the same K, in one pool job (matmul_q4_shared).
Napi::Value MatmulShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[3].IsArray()) throw_type(env, "matmulShared: expected arrays of matrices and outputs");
  auto wa = info[0].As<Napi::Array>(), ya = info[3].As<Napi::Array>();
  const uint32_t count = wa.Length();
  if (count < 1 || count > static_cast<uint32_t>(kMaxShared) || ya.Length() != count)
    throw_range(env, "matmulShared: expected 1 to " + std::to_string(kMaxShared) + " matrices and as many outputs, got " +
                         std::to_string(count) + " and " + std::to_string(ya.Length()));
  // Reading an array element can run JavaScript (a getter): read them all before taking any
  // pointer into a matrix or a buffer, which such code could free or detach.
  Napi::Value wv[kMaxShared], yv[kMaxShared];
  for (uint32_t i = 0; i < count; i++) wv[i] = wa.Get(i), yv[i] = ya.Get(i);
  std::shared_ptr<const QMatrixData> mats[kMaxShared];  // held for the call
  const QMatrixView* views[kMaxShared];
  float* outs[kMaxShared];
  for (uint32_t i = 0; i < count; i++) {
    mats[i] = QMatrix::From(env, wv[i], "matrix " + std::to_string(i));
    views[i] = &mats[i]->view;
  }
  auto x = typed_arg<float>(info, 1, "x", "Float32Array");
  const int64_t K = views[0]->cols;
  const int64_t M = int_arg(info, 2, "M", 1, kMaxElements / K);
  check_len(env, "x", x.ElementLength(), M * K);
  // x and the outputs must not overlap: threads write the outputs at once
  size_t lens[kMaxShared];
  for (uint32_t i = 0; i < count; i++) {
    const std::string name = "output " + std::to_string(i);
    if (views[i]->cols != K)
      throw_range(env, "matrix " + std::to_string(i) + ": expected K = " + std::to_string(K) + ", got " + std::to_string(views[i]->cols));
    if (!yv[i].IsTypedArray() || yv[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw_type(env, name + ": expected a Float32Array");
    auto yf = yv[i].As<Napi::Float32Array>();
    if (M > kMaxElements / views[i]->rows) throw_range(env, "M*N: too many elements");
    check_len(env, name.c_str(), yf.ElementLength(), M * views[i]->rows);
    outs[i] = yf.Data(), lens[i] = static_cast<size_t>(M * views[i]->rows);
    if (overlaps(outs[i], lens[i], x.Data(), static_cast<size_t>(M * K))) throw_range(env, name + ": must not overlap x");
    for (uint32_t j = 0; j < i; j++)
      if (overlaps(outs[i], lens[i], outs[j], lens[j])) throw_range(env, name + ": must not overlap output " + std::to_string(j));
  }
  const auto act = static_cast<Activations>(int_arg(info, 4, "activations", 0, 1));
  const int threads = static_cast<int>(int_arg(info, 5, "threads", 0, kMaxThreads));
  try {
    matmul_q4_shared(active_kernels(), views, outs, static_cast<int>(count), x.Data(), M, act, threads);
  } catch (const std::bad_alloc&) {
    throw_range(env, "matmul: out of memory");
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  platform::pin_this_library();
  if (const char* isa = std::getenv("INT4_ISA")) {
    if (*isa) {
      const std::string err = select_kernels(isa);
      if (!err.empty()) throw Napi::Error::New(env, err);
    }
  }
  exports.Set("sourceHash", Napi::Function::New(env, SourceHash));
  exports.Set("backend", Napi::Function::New(env, Backend));
  exports.Set("quantize", Napi::Function::New(env, Quantize));
  exports.Set("dequantize", Napi::Function::New(env, Dequantize));
  exports.Set("fromGGML", Napi::Function::New(env, FromGGML));
  exports.Set("toGGML", Napi::Function::New(env, ToGGML));
  exports.Set("QMatrix", QMatrix::Init(env));
  exports.Set("matmulShared", Napi::Function::New(env, MatmulShared));
  register_ops(env, exports);
  register_ggml(env, exports);
  register_quantize_ref(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(int4, Init)
