// INT4 kernels. Every kernel has a scalar `*_generic` reference here (the specification); SIMD
// versions live one file per ISA with the same signatures and are chosen once at load
// (dispatch.cpp). Shapes are given as in llama2.c: W (N,K) @ x (K,) -> y (N,).
#pragma once
#include "../ggml/types.h"
#include "format.h"

namespace int4 {

// ---- quantization (quant_generic.cpp) ----

// w (N,K) f32 -> codes, scales (and offsets when asymmetric) of W in the layout of format.h.
// Symmetric follows llama.cpp's quantize_row_q4_0_ref per group: the signed value of largest
// magnitude maps to code 0 (-8), d = max / -8. Asymmetric follows quantize_row_q4_1_ref:
// d = (max - min) / 15, m = min. With group_size 32 the bytes equal llama.cpp's.
// Returns -1, or the flat index of the first non-finite weight (then nothing is defined).
int64_t quantize_q4_generic(const float* w, int64_t N, int64_t K, int group_size, Scheme scheme,
                            uint8_t* codes, uint16_t* scales, uint16_t* offsets);

// W row r -> out (K,)
void dequantize_row_q4_generic(const QMatrixView& W, int64_t r, float* out);

// x (K,) -> xq (ceil(K/32),) int8 blocks; the padding past K is zero.
void quantize_row_q8_generic(const float* x, int64_t K, block_q8* xq);

// llama.cpp blocks <-> the public layout (group_size 32 only). Bit-exact both ways.
void q4_from_ggml(const void* blocks, Scheme scheme, int64_t N, int64_t K, uint8_t* codes,
                  uint16_t* scales, uint16_t* offsets);
void q4_to_ggml(const QMatrixView& W, void* blocks);

// ---- the rows-16 layout (pack_generic.cpp) ----

// W (public layout) -> out (W.packed_bytes()), the rows-16 layout of format.h.
void pack_q4_rows16(const QMatrixView& W, uint8_t* out);
// Rows [16 b, 16 b + n) of a rows-16 matrix P back to the public layout: codes (n, row_code_bytes),
// scales (and offsets) (n, groups_per_row). n = the block's real rows.
void unpack_q4_block16(const QMatrixView& P, int64_t b, uint8_t* codes, uint16_t* scales, uint16_t* offsets);

// ---- dot products and matrix-vector products (dot_generic.cpp) ----

// W row r (K,) . x (K,) -> scalar; weights dequantized, f32 activations.
float dot_q4_f32_generic(const QMatrixView& W, int64_t r, const float* x);
// W row r (K,) . xq (K,) -> scalar; int8 activations, integer products summed per 32-chunk.
float dot_q4_q8_generic(const QMatrixView& W, int64_t r, const block_q8* xq);

// W rows [r0,r1) (r1-r0,K) @ x (K,) -> y[r0..r1)
void gemv_q4_f32_generic(const QMatrixView& W, const float* x, int64_t r0, int64_t r1, float* y);
void gemv_q4_q8_generic(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y);

// ---- the table an ISA provides ----
struct KernelTable {
  const char* name;
  // quantize_q4_generic, byte for byte
  int64_t (*quantize_q4)(const float* w, int64_t N, int64_t K, int group_size, Scheme scheme, uint8_t* codes,
                         uint16_t* scales, uint16_t* offsets);
  void (*quantize_row_q8)(const float* x, int64_t K, block_q8* xq);
  void (*dequantize_row_q4)(const QMatrixView& W, int64_t r, float* out);
  void (*gemv_q4_f32)(const QMatrixView& W, const float* x, int64_t r0, int64_t r1, float* y);
  void (*gemv_q4_q8)(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y);
  // Many rows of x at once (prompt processing): xq (M, chunks_per_row) @ W rows [r0,r1) ->
  // y[m * ldy + r]. Same sums as gemv_q4_q8 row by row, blocked so each weight is unpacked once
  // for several rows of x.
  void (*gemm_q4_q8)(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                     int64_t ldy);
  // GEMV on a rows-16 matrix (W.packed), rows [r0, r1) with r0 a multiple of 16; null when this
  // kernel set keeps the public layout. A set with it wants its matrices packed (see QMatrix).
  void (*gemv_q4_q8_rows16)(const QMatrixView& W, const block_q8* xq, int64_t r0, int64_t r1, float* y);
  // GEMM on a rows-16 matrix (as gemm_q4_q8), r0 a multiple of 16; null: matmul unpacks blocks of
  // rows to the public layout and runs gemm_q4_q8 on them.
  void (*gemm_q4_q8_rows16)(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                            int64_t ldy);
  // This ISA's kernels for llama.cpp's block types, indexed by TypeTraits::index (ggml::kTypeCount
  // rows), or null for none; a null row or entry runs the scalar reference (ggml::gemv_generic).
  const ggml::BlockKernels* blocks;
};

// The GEMV / GEMM a kernel table runs for a block type: its own, or the scalar reference.
ggml::GemvFn block_gemv(const KernelTable& kt, const ggml::TypeTraits& t);
ggml::GemmFn block_gemm(const KernelTable& kt, const ggml::TypeTraits& t);
// from this many rows of x a block type's matmul runs its GEMM (BlockKernels::gemm_min_rows)
int64_t block_gemm_min_rows(const KernelTable& kt, const ggml::TypeTraits& t);

// xq (M, chunks) @ W rows [r0,r1): gemv_q4_q8_generic for each row of x.
void gemm_q4_q8_generic(const QMatrixView& W, const block_q8* xq, int64_t M, int64_t r0, int64_t r1, float* y,
                        int64_t ldy);

extern const KernelTable kGenericKernels;
// ISA tables: each defined in its own file, compiled with that ISA's flags. Use only through
// dispatch.h, which checks the CPU first.
#if defined(__x86_64__)
#define INT4_HAVE_X86_KERNELS 1
extern const KernelTable kAvx2Kernels;     // AVX2 + FMA + F16C
extern const KernelTable kAvxVnniKernels;  // the same with AVX-VNNI dot products
extern const KernelTable kAvx512Kernels;   // AVX-512 F/BW/VL/DQ/VNNI
extern const KernelTable kAvx512AmxKernels;  // the same with an AMX-INT8 tile GEMM
#endif
#if defined(__aarch64__)
#define INT4_HAVE_NEON_KERNELS 1
extern const KernelTable kNeonKernels;     // ARMv8 NEON
extern const KernelTable kNeonDotKernels;  // the same with the dot-product extension (sdot)
#endif

// ---- matmul (matmul.cpp) ----

enum class Activations : int { Int8 = 0, Float32 = 1 };

// x (M,K) @ W (N,K)^T -> y (M,N) using the given kernels. `threads`: how many threads share the
// work (0: default_threads()); the result does not depend on it. Int8 activations use GEMV
// (gemv_q4_q8) below kGemmMinRows rows of x, the blocked GEMM (gemm_q4_q8) from there on.
constexpr int64_t kGemmMinRows = 4;
void matmul_q4(const KernelTable& kt, const QMatrixView& W, const float* x, int64_t M, float* y,
               Activations act, int threads = 1);

// Several matrices of the same K applied to one x (a layer's Q, K and V; its gate and up):
// x (M,K) @ Ws[i] (N_i,K)^T -> ys[i] (M,N_i) for i < count (at most kMaxShared). x is quantized
// once and the rows of all of them are tasks of one pool job, so a token pays one start and one
// end for the group instead of one each. Every y equals matmul_q4's for that matrix alone.
constexpr int kMaxShared = 8;
void matmul_q4_shared(const KernelTable& kt, const QMatrixView* const* Ws, float* const* ys, int count,
                      const float* x, int64_t M, Activations act, int threads = 1);

}  // namespace int4
