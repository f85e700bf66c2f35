// Operators besides INT4 matmul that loading and running models need, registered on the addon.
#include "napi_util.h"

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

// dequantizeQ8_0(blocks: Uint8Array, dst: Float32Array): llama.cpp Q8_0 blocks (34 bytes per 32
// values: fp16 d, 32 int8) -> d * q.
Napi::Value DequantizeQ8_0(const Napi::CallbackInfo& info) {
  auto src = typed_arg<uint8_t>(info, 0, "blocks", "Uint8Array");
  auto dst = typed_arg<float>(info, 1, "dst", "Float32Array");
  if (src.ElementLength() % sizeof(block_q8_0) != 0)
    throw Napi::RangeError::New(info.Env(), "blocks: expected a multiple of 34 bytes, got " + std::to_string(src.ElementLength()));
  const size_t nb = src.ElementLength() / sizeof(block_q8_0);
  check_len(info.Env(), "dst", dst.ElementLength(), static_cast<int64_t>(nb * QK));
  for (size_t b = 0; b < nb; b++) {
    block_q8_0 blk;
    std::memcpy(&blk, src.Data() + b * sizeof(block_q8_0), sizeof blk);  // blocks are not 4-byte aligned
    const float d = fp16_to_fp32(blk.d);
    for (int i = 0; i < QK; i++) dst.Data()[b * QK + i] = d * static_cast<float>(blk.qs[i]);
  }
  return info.Env().Undefined();
}

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("f16ToF32", Napi::Function::New(env, F16ToF32));
  exports.Set("bf16ToF32", Napi::Function::New(env, BF16ToF32));
  exports.Set("dequantizeQ8_0", Napi::Function::New(env, DequantizeQ8_0));
}

}  // namespace int4
