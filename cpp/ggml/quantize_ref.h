// llama.cpp's quantizers, reproduced to the bit: given the same floats they write the same blocks
// as ggml-quants.c (llama.cpp late-2025 master, the one behind node-llama-cpp 3.22.1).
//
// Two entry points per type, as in ggml:
//   quantize_row_<type>_ref(x, y, k): ggml's round-to-nearest reference of the type, k weights
//     (a multiple of the block size) into k / block_size blocks.
//   quantize_rows_<type>(src, dst, nrows, n_per_row, imatrix): ggml's quantize_<type>, what
//     llama-quantize calls (ggml_quantize_chunk) and so what its files hold. Without an importance
//     matrix most types fall back to the _ref function, but not all: IQ4_NL and IQ4_XS always run
//     their scale search (quantize_row_iq4_nl_ref is not what llama-quantize writes). With one
//     (imatrix: n_per_row weights, one per column, shared by every row, e.g. a Hessian diagonal)
//     each type runs its importance-weighted search. Returns the bytes written:
//     nrows * row_bytes(n_per_row).
// Inputs must be finite. Q8_0 and Q8_K ignore the importance matrix, as ggml does.
#pragma once
#include <cstddef>
#include <cstdint>

#include "blocks.h"

namespace int4 {
namespace ggml {

void quantize_row_q4_0_ref(const float* x, block_q4_0* y, int64_t k);
void quantize_row_q4_1_ref(const float* x, block_q4_1* y, int64_t k);
void quantize_row_q5_0_ref(const float* x, block_q5_0* y, int64_t k);
void quantize_row_q5_1_ref(const float* x, block_q5_1* y, int64_t k);
void quantize_row_q8_0_ref(const float* x, block_q8_0* y, int64_t k);
void quantize_row_q2_K_ref(const float* x, block_q2_K* y, int64_t k);
void quantize_row_q3_K_ref(const float* x, block_q3_K* y, int64_t k);
void quantize_row_q4_K_ref(const float* x, block_q4_K* y, int64_t k);
void quantize_row_q5_K_ref(const float* x, block_q5_K* y, int64_t k);
void quantize_row_q6_K_ref(const float* x, block_q6_K* y, int64_t k);
void quantize_row_q8_K_ref(const float* x, block_q8_K* y, int64_t k);
void quantize_row_iq4_nl_ref(const float* x, block_iq4_nl* y, int64_t k);
void quantize_row_iq4_xs_ref(const float* x, block_iq4_xs* y, int64_t k);

size_t quantize_rows_q4_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q4_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q5_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q5_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q8_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q2_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q3_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q4_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q5_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q6_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_q8_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_iq4_nl(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);
size_t quantize_rows_iq4_xs(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);


}  // namespace ggml
}  // namespace int4
