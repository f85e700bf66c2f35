// The operators of cpp/ops whose code differs per ISA, as a table of functions, the way
// cpp/int4/kernels.h has KernelTable: one table per ISA, each defined in a file compiled with only
// that ISA's flags (ops_generic.cpp: the baseline; ops_avx2.cpp; ops_avx512.cpp). Which one runs
// is chosen with the kernels, in the one list of cpp/int4/dispatch.cpp (active_ops(): the row of
// the active kernels, so INT4_ISA sets both). nn.cpp, sgemm.cpp and rng.cpp split the work and
// call the active table.
#pragma once
#include <cstdint>

#include "ops.h"  // AttnOpts

namespace int4 {

struct OpsTable {
  const char* name;
  // x rows [m0, m1) times W rows [n0, n1) -> y (M, N), x (M, K) and W (N, K) row-major.
  void (*sgemm_block)(const float* x, int64_t m0, int64_t m1, int64_t K, const float* w, int64_t n0, int64_t n1,
                      int64_t N, float* y);
  // Causal attention of batch row m (position pos0 + m) for the query heads of KV head g, over the
  // cache layout of ops.h, scores as opts says (AttnOpts); att: scratch of (n_head / n_kv) *
  // (pos0 + m + 1) floats.
  void (*attention_row_group)(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t m,
                              int64_t pos0, int64_t n_head, int64_t n_kv, int64_t hd, int64_t ctx, int64_t g,
                              float* att, const AttnOpts& opts);
  // gate[i] = silu(gate[i]) * up[i], i < n.
  void (*silu_mul)(float* gate, const float* up, int64_t n);
  // gate[i] = gelu_tanh(gate[i]) * up[i], i < n.
  void (*gelu_mul)(float* gate, const float* up, int64_t n);
  // dst[i] = scale * approx_normal(seed, offset + i) for i in [i0, i1) (see fill_normal_f32).
  void (*fill_normal)(float* dst, int64_t i0, int64_t i1, uint64_t seed, uint64_t offset, float scale);
};

extern const OpsTable kGenericOps;
#if defined(__x86_64__)
extern const OpsTable kAvx2Ops;
extern const OpsTable kAvx512Ops;
#endif

// The table in use: the one beside the active kernels in dispatch.cpp's list.
const OpsTable& active_ops();

}  // namespace int4
