// Argument checks shared by the binding's files. The friendly checks live in TypeScript (src/);
// these keep memory safe when the binding is called directly.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "../int4/format.h"

namespace int4 {

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

// One napi_get_typedarray_info per argument: matmul's per-call cost is mostly these checks.
template <typename T>
Napi::TypedArrayOf<T> typed_arg(const Napi::CallbackInfo& info, size_t i, const char* name, const char* type_name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray()) throw_type(info.Env(), std::string(name) + ": expected a " + type_name);
  const napi_typedarray_type want = std::is_same<T, float>::value      ? napi_float32_array
                                   : std::is_same<T, uint16_t>::value ? napi_uint16_array
                                                                      : napi_uint8_array;
  Napi::TypedArrayOf<T> ta(info.Env(), v);  // reads type, length and data once
  if (ta.TypedArrayType() != want) throw_type(info.Env(), std::string(name) + ": expected a " + type_name);
  return ta;
}

inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw_type(info.Env(), std::string(name) + ": expected an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_range(info.Env(), std::string(name) + ": expected an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got " + v.ToString().Utf8Value());
  return static_cast<int64_t>(d);
}

inline constexpr int64_t kMaxThreads = 256;
inline constexpr int64_t kMaxElements = int64_t(1) << 46;  // keeps every byte count far from overflow

// Whether n floats at a and m floats at b share memory (compared as addresses: the arrays may
// belong to different buffers).
inline bool overlaps(const float* a, size_t n, const float* b, size_t m) {
  const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  return a0 < b0 + m * sizeof(float) && b0 < a0 + n * sizeof(float);
}

inline void check_len(Napi::Env env, const char* name, size_t got, int64_t want) {
  if (static_cast<int64_t>(got) != want)
    throw_range(env, std::string(name) + ": expected length " + std::to_string(want) + ", got " + std::to_string(got));
}

// Shape of a quantized matrix from arguments (N, K, groupSize, scheme) at position i.
inline QMatrixView shape_args(const Napi::CallbackInfo& info, size_t i) {
  QMatrixView v;
  v.rows = int_arg(info, i, "N", 1, kMaxElements);
  v.cols = int_arg(info, i + 1, "K", 1, kMaxElements);
  const int64_t g = int_arg(info, i + 2, "groupSize", 32, 256);
  if (g != 32 && g != 64 && g != 128 && g != 256)
    throw_range(info.Env(), "groupSize: expected 32, 64, 128 or 256, got " + std::to_string(g));
  v.group_size = static_cast<int>(g);
  v.scheme = static_cast<Scheme>(int_arg(info, i + 3, "scheme", 0, 1));
  if (v.rows > kMaxElements / v.cols) throw_range(info.Env(), "N*K: too many elements");
  return v;
}

// Attaches code/scale/offset arrays at positions i..i+2 to v, checking their lengths.
inline void storage_args(const Napi::CallbackInfo& info, size_t i, QMatrixView& v) {
  auto codes = typed_arg<uint8_t>(info, i, "codes", "Uint8Array");
  auto scales = typed_arg<uint16_t>(info, i + 1, "scales", "Uint16Array");
  check_len(info.Env(), "codes", codes.ElementLength(), v.rows * v.row_code_bytes());
  check_len(info.Env(), "scales", scales.ElementLength(), v.rows * v.groups_per_row());
  v.codes = codes.Data();
  v.scales = scales.Data();
  v.offsets = nullptr;
  if (v.scheme == Scheme::Asymmetric) {
    auto offsets = typed_arg<uint16_t>(info, i + 2, "offsets", "Uint16Array");
    check_len(info.Env(), "offsets", offsets.ElementLength(), v.rows * v.groups_per_row());
    v.offsets = offsets.Data();
  }
}

namespace ggml {
struct TypeTraits;
}
// A block type id argument at i (a RangeError for an id int4 has no kernels for), and the shape
// (N, K) at i, i+1 checked against it; returns the bytes of one row (cpp/napi/ggml.cpp).
const ggml::TypeTraits& type_arg(const Napi::CallbackInfo& info, size_t i);
int64_t block_shape_args(const Napi::CallbackInfo& info, size_t i, const ggml::TypeTraits& t, int64_t* N, int64_t* K);
// Registers the block types' functions (cpp/napi/ggml.cpp) on the addon's exports.
void register_ggml(Napi::Env env, Napi::Object exports);

// Registers the model's operators (cpp/napi/ops.cpp) on the addon's exports.
void register_ops(Napi::Env env, Napi::Object exports);

}  // namespace int4
