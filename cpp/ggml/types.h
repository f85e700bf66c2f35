// The table of llama.cpp tensor types int4 multiplies as stored (ggml's type_traits): per type its
// GGUF id, name, block size and bytes, the scalar reference dequantization and dot product, and
// the round-to-nearest quantizer. Everything that needs a fact about a type looks it up here (the
// binding exports the table to TypeScript), so adding a type is a block struct (blocks.h), its
// reference functions and one row of kTypes, plus optional SIMD rows per ISA (BlockKernels).
//
// Activations: every type's dot product takes int4's block_q8 (32 int8 values, an f32 scale and
// the scaled sum, format.h), the format the INT4 kernels already use. Sub-blocks of 16 and 32 lie
// inside one 32-value chunk, so each chunk's products are exact integer sums, scaled once by the
// weight scale(s) and the chunk's activation scale. (llama.cpp uses Q8_K, one scale per 256, for
// the K-quants: per-32 scales round the activations less.)
#pragma once
#include <cstddef>
#include <cstdint>

#include "../int4/format.h"
#include "blocks.h"

namespace int4 {
namespace ggml {

struct TypeTraits;

// Rows [r0, r1) of W (blocks of type t, row_bytes apart) @ xq (K/32 chunks) -> y[r0..r1)
using GemvFn = void (*)(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t r0, int64_t r1,
                        float* y);
// xq (M, K/32) @ rows [r0, r1) of W -> y[m * ldy + r]; equal, row by row, to the GEMV's sums
using GemmFn = void (*)(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t M, int64_t r0,
                        int64_t r1, float* y, int64_t ldy);

struct TypeTraits {
  int id;            // GGUF / ggml type number
  const char* name;  // as llama.cpp prints it ("Q4_K")
  int block_size;    // weights per block
  int block_bytes;
  // k weights (a multiple of block_size) of blocks -> out (k,), exactly llama.cpp's dequantize_row_*
  void (*dequantize_row)(const void* blocks, float* out, int64_t k);
  // one row (k / block_size blocks) . xq (k / 32 chunks): the reference every SIMD kernel matches
  float (*vec_dot_q8)(const void* row, const block_q8* xq, int64_t k);
  // nrows rows of n_per_row weights -> their blocks, as llama-quantize writes them (ggml's
  // quantize_<type>: importance-weighted when imatrix, one weight per column, is given; else the
  // round-to-nearest of *_ref or the type's own search). Returns the bytes written.
  size_t (*quantize_rows)(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
  int index;  // position in kTypes: the index of this type's SIMD row in a BlockKernels array
  // Byte offsets in a block of its fp16 scales (-1: none), and of an f32 scale (Q8_K; -1: none):
  // what must be finite for the block's values to be.
  int half_at[2];
  int float_at;

  int64_t row_bytes(int64_t k) const { return k / block_size * block_bytes; }
};

// Every type this build multiplies as stored.
constexpr int kTypeCount = 13;
extern const TypeTraits kTypes[kTypeCount];

// The value of a block's fp16 field.
inline float f16(uint16_t v) { return fp16_to_fp32(v); }

// The row of a GGUF type id, or null when int4 has no kernels for it.
const TypeTraits* find_type(int id);
// The row of a type named as llama.cpp prints it ("Q4_K"), or null.
const TypeTraits* find_type_by_name(const char* name);

// The first of nblocks blocks whose scale is NaN or infinite, or -1.
int64_t first_nonfinite_block(const TypeTraits& t, const uint8_t* blocks, int64_t nblocks);

// x regrouped for the tile GEMMs (AMX), made once per matmul for all its tasks: per 16 rows of x
// (the last 16 padded with zero rows) and 32-chunk c, the 16 rows' 32 code bytes (512 contiguous
// bytes: one tile load), and the 16 rows' d and s (block_q8's).
struct XTiles {
  int64_t nb = 0, mt = 0;     // chunks per row, 16-row tiles
  int8_t* q = nullptr;        // [mt][nb][16][32]
  float* d = nullptr;         // [mt][nb][16]
  float* s = nullptr;         // [mt][nb][16]
};
// rows [m0, m1) of xq (M rows, nb chunks each) into t, and the zero rows past M when m1 == M
void tile_x(const block_q8* xq, int64_t M, int64_t m0, int64_t m1, const XTiles& t);

// xq (M, K/32) @ rows [r0, r1) of W as GemmFn, with x also as tiles (xt, made by tile_x)
using GemmTiledFn = void (*)(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, const XTiles& xt,
                             int64_t M, int64_t r0, int64_t r1, float* y, int64_t ldy);
constexpr int64_t kTileMinRows = 16;  // matmul makes tiles from this many rows of x

// One ISA's kernels for one type; a null entry falls back to the scalar reference (block_gemv).
// gemm_tiled (optional): the GEMM matmul runs when it made x tiles (M >= kTileMinRows).
// gemm_min_rows: from this many rows of x the GEMM runs, below it a GEMV per row (kernels.h's
// kGemmMinRows; 2 where the GEMM decodes W once for few rows faster than two GEMVs read it).
struct BlockKernels {
  GemvFn gemv;
  GemmFn gemm;
  GemmTiledFn gemm_tiled = nullptr;
  int64_t gemm_min_rows = 4;
};

// The SIMD rows of each ISA (blocks_<isa>.cpp, compiled with that ISA's flags), for the kernel
// tables of kernels.h.
#if defined(__x86_64__)
extern const BlockKernels kBlockKernels_avx2[kTypeCount];
extern const BlockKernels kBlockKernels_avx512[kTypeCount];
extern const BlockKernels kBlockKernels_avx512_amx[kTypeCount];  // with AMX-INT8 tile GEMMs (blocks_amx.cpp)
#endif
#if defined(__aarch64__)
extern const BlockKernels kBlockKernels_neon[kTypeCount];
extern const BlockKernels kBlockKernels_neon_dotprod[kTypeCount];  // with sdot: CPUs with ASIMDDP only
#endif

// The scalar GEMV / GEMM (vec_dot_q8 row by row): what a missing SIMD entry runs.
void gemv_generic(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t r0,
                  int64_t r1, float* y);
void gemm_generic(const TypeTraits& t, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t M,
                  int64_t r0, int64_t r1, float* y, int64_t ldy);

// The reference functions (dequantize_ref.cpp, vec_dot_generic.cpp), ggml's names.
void dequantize_row_q4_0(const void* b, float* y, int64_t k);
void dequantize_row_q4_1(const void* b, float* y, int64_t k);
void dequantize_row_q5_0(const void* b, float* y, int64_t k);
void dequantize_row_q5_1(const void* b, float* y, int64_t k);
void dequantize_row_q8_0(const void* b, float* y, int64_t k);
void dequantize_row_q2_K(const void* b, float* y, int64_t k);
void dequantize_row_q3_K(const void* b, float* y, int64_t k);
void dequantize_row_q4_K(const void* b, float* y, int64_t k);
void dequantize_row_q5_K(const void* b, float* y, int64_t k);
void dequantize_row_q6_K(const void* b, float* y, int64_t k);
void dequantize_row_q8_K(const void* b, float* y, int64_t k);
void dequantize_row_iq4_nl(const void* b, float* y, int64_t k);
void dequantize_row_iq4_xs(const void* b, float* y, int64_t k);

float vec_dot_q4_0_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q4_1_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q5_0_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q5_1_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q8_0_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q2_K_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q3_K_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q4_K_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q5_K_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q6_K_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_q8_K_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_iq4_nl_q8(const void* row, const block_q8* xq, int64_t k);
float vec_dot_iq4_xs_q8(const void* row, const block_q8* xq, int64_t k);

}  // namespace ggml
}  // namespace int4
