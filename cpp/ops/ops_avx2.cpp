// The AVX2 table of cpp/ops (ops_table.h): the portable loops of ops_generic.inc compiled with
// -mavx2 -mfma -mf16c only (the same values as the baseline, in wider vectors).
#include "ops_generic.inc"

namespace int4 {

const OpsTable kAvx2Ops = {
    "avx2", sgemm_block_generic, attention_row_group_generic, silu_mul_generic, gelu_mul_generic,
    fill_normal_generic,
};

}  // namespace int4
