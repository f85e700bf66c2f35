// quantizeRowsGGML: llama.cpp's quantizers (the type table's quantize_rows, cpp/ggml/quantize_ref.h)
// by type name, for `int4 quantize` and for tests that compare with llama-quantize's files.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../ggml/types.h"
#include "napi_util.h"

namespace int4 {

namespace {

// The types with a quantizer, as a list for messages.
std::string type_names() {
  std::string s;
  for (const ggml::TypeTraits& t : ggml::kTypes)
    if (t.quantize_rows) s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s;
}

// The index of the first non-finite value, or -1.
int64_t first_non_finite(const float* v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
  return -1;
}

// quantizeRowsGGML(type, src: Float32Array, nrows, nPerRow, imatrix: Float32Array | null,
// dst: Uint8Array) -> bytes written. src holds nrows rows of nPerRow finite weights; imatrix, when
// given, nPerRow finite importance weights (one per column); dst exactly the rows' blocks.
Napi::Value QuantizeRowsGGML(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_type(env, "type: expected a string");
  const std::string type = info[0].As<Napi::String>().Utf8Value();
  const ggml::TypeTraits* q = ggml::find_type_by_name(type.c_str());
  if (!q || !q->quantize_rows) throw_range(env, "type: expected one of " + type_names() + ", got " + type.substr(0, 40));
  const int64_t nrows = int_arg(info, 2, "nrows", 1, kMaxElements);
  const int64_t n_per_row = int_arg(info, 3, "nPerRow", 1, kMaxElements);
  if (n_per_row % q->block_size != 0)
    throw_range(env, "nPerRow: " + type + " needs a multiple of " + std::to_string(q->block_size) + ", got " +
                         std::to_string(n_per_row));
  if (nrows > kMaxElements / n_per_row) throw_range(env, "nrows*nPerRow: too many elements");
  const bool has_imatrix = !info[4].IsNull() && !info[4].IsUndefined();
  // every argument is converted before any pointer into a buffer is taken
  auto src = typed_arg<float>(info, 1, "src", "Float32Array");
  Napi::Float32Array imatrix;
  if (has_imatrix) imatrix = typed_arg<float>(info, 4, "imatrix", "Float32Array or null");
  auto dst = typed_arg<uint8_t>(info, 5, "dst", "Uint8Array");

  check_len(env, "src", src.ElementLength(), nrows * n_per_row);
  if (has_imatrix) check_len(env, "imatrix", imatrix.ElementLength(), n_per_row);
  const int64_t bytes = nrows * (n_per_row / q->block_size) * q->block_bytes;
  check_len(env, "dst", dst.ElementLength(), bytes);
  const auto s0 = reinterpret_cast<uintptr_t>(src.Data()), d0 = reinterpret_cast<uintptr_t>(dst.Data());
  if (d0 < s0 + src.ElementLength() * sizeof(float) && s0 < d0 + static_cast<size_t>(bytes))
    throw_range(env, "dst: must not overlap src");
  if (has_imatrix) {
    const auto i0 = reinterpret_cast<uintptr_t>(imatrix.Data());
    if (d0 < i0 + imatrix.ElementLength() * sizeof(float) && i0 < d0 + static_cast<size_t>(bytes))
      throw_range(env, "dst: must not overlap imatrix");
  }
  if (int64_t bad = first_non_finite(src.Data(), src.ElementLength()); bad >= 0)
    throw_range(env, "src: element " + std::to_string(bad) + " is not finite");
  if (has_imatrix) {
    if (int64_t bad = first_non_finite(imatrix.Data(), imatrix.ElementLength()); bad >= 0)
      throw_range(env, "imatrix: element " + std::to_string(bad) + " is not finite");
  }
  const float* qw = has_imatrix ? imatrix.Data() : nullptr;
  // The blocks hold fp16 (and Q8_K float) fields: a Uint8Array at an odd offset gets them through
  // an aligned copy.
  if (d0 % alignof(float) != 0) {
    std::vector<float> aligned(static_cast<size_t>((bytes + 3) / 4));
    q->quantize_rows(src.Data(), aligned.data(), nrows, n_per_row, qw);
    std::memcpy(dst.Data(), aligned.data(), static_cast<size_t>(bytes));
  } else {
    q->quantize_rows(src.Data(), dst.Data(), nrows, n_per_row, qw);
  }
  return Napi::Number::New(env, static_cast<double>(bytes));
}

}  // namespace

void register_quantize_ref(Napi::Env env, Napi::Object exports) {
  exports.Set("quantizeRowsGGML", Napi::Function::New(env, QuantizeRowsGGML));
}

}  // namespace int4
