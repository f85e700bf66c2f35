// ISA versions of nn.cpp's operators, defined in files compiled with that ISA's flags. Call them
// only when the CPU has the ISA (nn.cpp asks dispatch which kernels are active).
#pragma once
#include <cstdint>

namespace int4 {

#if defined(__x86_64__)
#define INT4_HAVE_AVX512_OPS 1
// attention_row_group of nn.cpp (row m, the query heads of KV head g); att: scratch of
// (n_head / n_kv) * (pos0 + m + 1) floats.
void attention_row_group_avx512(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t m,
                                int64_t pos0, int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int64_t g,
                                float* att);
void silu_mul_avx512(float* gate, const float* up, int64_t n);
#endif

}  // namespace int4
