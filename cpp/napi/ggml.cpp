// The binding of llama.cpp's block types (cpp/ggml): the type table for TypeScript, and
// dequantization / row lookup of block bytes. Block arguments are checked against the table's
// sizes here, so no call reads past the bytes it was given.
#include <cstring>
#include <string>

#include "../ggml/types.h"
#include "napi_util.h"

namespace int4 {

const ggml::TypeTraits& type_arg(const Napi::CallbackInfo& info, size_t i) {
  const int64_t id = int_arg(info, i, "type", 0, 1 << 16);
  const ggml::TypeTraits* t = ggml::find_type(static_cast<int>(id));
  if (!t) throw_range(info.Env(), "type: no block type with GGUF id " + std::to_string(id));
  return *t;
}

int64_t block_shape_args(const Napi::CallbackInfo& info, size_t i, const ggml::TypeTraits& t, int64_t* N, int64_t* K) {
  *N = int_arg(info, i, "N", 1, kMaxElements);
  *K = int_arg(info, i + 1, "K", 1, kMaxElements);
  if (*K % t.block_size != 0)
    throw_range(info.Env(), std::string("K: ") + t.name + " rows need a multiple of " + std::to_string(t.block_size) +
                                ", got " + std::to_string(*K));
  if (*N > kMaxElements / *K) throw_range(info.Env(), "N*K: too many elements");
  return t.row_bytes(*K);
}

namespace {

// ggmlTypes() -> [{ id, name, blockSize, blockBytes, quantize, hasMins }]: the native type table
Napi::Value GGMLTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env, ggml::kTypeCount);
  for (int i = 0; i < ggml::kTypeCount; i++) {
    const ggml::TypeTraits& t = ggml::kTypes[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", t.id);
    o.Set("name", t.name);
    o.Set("blockSize", t.block_size);
    o.Set("blockBytes", t.block_bytes);
    o.Set("quantize", t.quantize_rows != nullptr);
    // a second fp16 scale field is the blocks' min (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K: w = d * q - m)
    o.Set("hasMins", t.half_at[1] >= 0);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

// dequantizeGGML(type, blocks, N, K, out (N*K))
Napi::Value DequantizeGGML(const Napi::CallbackInfo& info) {
  const ggml::TypeTraits& t = type_arg(info, 0);
  auto blocks = typed_arg<uint8_t>(info, 1, "blocks", "Uint8Array");
  int64_t N, K;
  const int64_t row_bytes = block_shape_args(info, 2, t, &N, &K);
  check_len(info.Env(), "blocks", blocks.ElementLength(), N * row_bytes);
  auto out = typed_arg<float>(info, 4, "out", "Float32Array");
  check_len(info.Env(), "out", out.ElementLength(), N * K);
  for (int64_t r = 0; r < N; r++) t.dequantize_row(blocks.Data() + r * row_bytes, out.Data() + r * K, K);
  return info.Env().Undefined();
}

// firstNonFinite(type, blocks) -> index of the first block with a NaN or infinite scale, or -1
Napi::Value FirstNonFinite(const Napi::CallbackInfo& info) {
  const ggml::TypeTraits& t = type_arg(info, 0);
  auto blocks = typed_arg<uint8_t>(info, 1, "blocks", "Uint8Array");
  if (blocks.ElementLength() % static_cast<size_t>(t.block_bytes) != 0)
    throw_range(info.Env(), std::string("blocks: expected a multiple of ") + std::to_string(t.block_bytes) + " bytes for " + t.name +
                                ", got " + std::to_string(blocks.ElementLength()));
  const int64_t n = static_cast<int64_t>(blocks.ElementLength()) / t.block_bytes;
  return Napi::Number::New(info.Env(), static_cast<double>(ggml::first_nonfinite_block(t, blocks.Data(), n)));
}

// getRowGGML(type, blocks, N, K, row, out, outOffset): row `row` of the matrix -> out[outOffset..+K)
Napi::Value GetRowGGML(const Napi::CallbackInfo& info) {
  const ggml::TypeTraits& t = type_arg(info, 0);
  auto blocks = typed_arg<uint8_t>(info, 1, "blocks", "Uint8Array");
  int64_t N, K;
  const int64_t row_bytes = block_shape_args(info, 2, t, &N, &K);
  check_len(info.Env(), "blocks", blocks.ElementLength(), N * row_bytes);
  const int64_t row = int_arg(info, 4, "row", 0, N - 1);
  auto out = typed_arg<float>(info, 5, "out", "Float32Array");
  const int64_t off = int_arg(info, 6, "outOffset", 0, kMaxElements);
  if (off + K > static_cast<int64_t>(out.ElementLength()))
    throw_range(info.Env(), "out: expected at least " + std::to_string(off + K) + " elements, got " + std::to_string(out.ElementLength()));
  t.dequantize_row(blocks.Data() + row * row_bytes, out.Data() + off, K);
  return info.Env().Undefined();
}

}  // namespace

void register_ggml(Napi::Env env, Napi::Object exports) {
  exports.Set("ggmlTypes", Napi::Function::New(env, GGMLTypes));
  exports.Set("dequantizeGGML", Napi::Function::New(env, DequantizeGGML));
  exports.Set("firstNonFinite", Napi::Function::New(env, FirstNonFinite));
  exports.Set("getRowGGML", Napi::Function::New(env, GetRowGGML));
}

}  // namespace int4
