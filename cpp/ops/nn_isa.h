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
// sgemm_block of sgemm.cpp: x rows [m0, m1) times W rows [n0, n1) -> y (M, N), 4 x 4 register tiles.
void sgemm_block_avx512(const float* x, int64_t m0, int64_t m1, int64_t K, const float* w, int64_t n0, int64_t n1,
                        int64_t N, float* y);
#endif

// Whether the AVX-512 operators above run: when the AVX-512 kernels do (so that INT4_ISA=avx2 or
// scalar also keeps these operators off AVX-512). In nn.cpp.
bool use_avx512_ops();

}  // namespace int4
