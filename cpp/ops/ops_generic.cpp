// The baseline table of cpp/ops (ops_table.h): the portable loops of ops_generic.inc, compiled for
// the architecture's baseline ISA (SSE2 on x86-64, NEON on arm64). "scalar" and "neon" use it.
#include "ops_generic.inc"

namespace int4 {

const OpsTable kGenericOps = {
    "generic", sgemm_block_generic, attention_row_group_generic, silu_mul_generic, gelu_mul_generic,
    fill_normal_generic,
};

}  // namespace int4
