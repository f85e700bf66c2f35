// What both AMX GEMMs (kernels_amx.cpp: INT4, ggml/blocks_amx.cpp: llama.cpp's block types) set up
// the same way: GCC's Windows tile load/store fix, and the one tile configuration they use.
// Include after <immintrin.h>, in a file compiled with -mamx-tile -mamx-int8.
#pragma once
#include <immintrin.h>

#include <cstdint>

#if defined(_WIN32) && defined(__GNUC__) && !defined(__clang__)
// GCC's amxtileintrin.h passes the stride as a long: 32 bits on Windows, not an address register.
// The same instructions with a 64-bit stride.
#undef _tile_loadd_internal
#define _tile_loadd_internal(dst, base, stride) \
  __asm__ volatile("tileloadd\t(%0,%1,1), %%tmm" #dst ::"r"((const void*)(base)), "r"((long long)(stride)))
#undef _tile_stored_internal
#define _tile_stored_internal(src, base, stride) \
  __asm__ volatile("tilestored\t%%tmm" #src ", (%0,%1,1)" ::"r"((void*)(base)), "r"((long long)(stride)) : "memory")
#endif

namespace int4 {
namespace amx {

// ldtilecfg's 64-byte operand (palette 1)
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

// tmm0..3: C (16 x 16 i32); tmm4, tmm5: A (16 rows of x, kk bytes of each); tmm6, tmm7: B (kk / 4
// rows of 64 bytes: 4 weights of each of 16 W rows). Tile state is per thread: configure on the
// thread that runs the task.
inline void load_tile_config(int kk) {
  TileConfig c;
  for (int t = 0; t < 4; t++) c.rows[t] = 16, c.colsb[t] = 64;
  for (int t = 4; t < 6; t++) c.rows[t] = 16, c.colsb[t] = static_cast<uint16_t>(kk);
  for (int t = 6; t < 8; t++) c.rows[t] = static_cast<uint8_t>(kk / 4), c.colsb[t] = 64;
  _tile_loadconfig(&c);
}

}  // namespace amx
}  // namespace int4
