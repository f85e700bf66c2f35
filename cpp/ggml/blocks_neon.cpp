// NEON kernels for llama.cpp's block types: one BlockKernels row per type of kTypes (types.h),
// same signatures as the scalar reference; a null entry runs the reference.
// blocks_neon_dotprod.cpp includes this file with INT4_NEON_DOTPROD, compiled with
// -march=armv8.2-a+dotprod, for the neon+dotprod table: then the int8 products use sdot.
//
// Every type is evaluated the same way, a group of 4 chunks (128 weights, 4 activation chunks)
// at a time:
//   decode: the group's weights become 8 vectors of 16 signed bytes (Q4_K: the nibbles 0..15,
//           Q5_K: 0..31, Q6_K: q - 32, Q3_K: q - 4, Q8_0 / Q8_K: the codes, IQ4_NL / IQ4_XS:
//           the codebook values by vqtbl1q, ...), its integer scales (per 16 or 32 weights),
//           per chunk the float scale d and, for the types with mins (Q2_K, Q4_K, Q5_K), dmin
//           and the integer mins; Q4_1 / Q5_1 per chunk their f32 offset m;
//   dot:    per chunk the exact integer sum of the codes times the activation codes, the integer
//           scales applied inside it (as the reference does), then in f32 for 4 chunks at once
//             acc += (d * dx) * isum  [- (dmin * dx) * (m * sum(x codes))]  [+ m * sx]
//           so a row's result differs from vec_dot_q8 only in the order (and fusing) of its
//           f32 operations, never in the integer sums.
// The GEMV decodes each block as it streams past, 4 rows of W per pass over x; the GEMM decodes a
// panel of 4 rows (a slice of K at a time) once into a buffer and runs up to 64 rows of x over
// it, two at a time (each decoded vector loaded once for 4 x 2 dot products). A row's f32
// operations are the same in both and do not depend on which rows or tasks share a pass, so
// GEMV and GEMM agree bit for bit and thread counts do not change results.
//
// Nothing from a header's inline functions is called here (fp16 conversion, the scale unpacking
// are local): the linker may keep any one copy of an inline function for every caller, and the
// copy compiled with dotprod flags must not be it.
#include <arm_neon.h>

#include <cstring>
#include <memory>

#include "types.h"

namespace int4 {
namespace ggml {
namespace {

template <typename V>
inline V ld(const uint8_t* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// fcvtl: exact, as fp16_to_fp32
inline float half_to_float(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }
inline float32x4_t halves_to_float(const uint16_t h[4]) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h))); }

// 4 bytes (little-endian in v) -> 4 u32 lanes
inline int32x4_t bytes_to_s32(uint32_t v) {
  return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vcreate_u8(static_cast<uint64_t>(v))))));
}

// acc + the 16 products of a and b (s8), in 4 i32 lanes
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(INT4_NEON_DOTPROD)
  return vdotq_s32(acc, a, b);
#else
  // |a b| <= 128 * 127: two products fit an i16
  int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
  p = vmlal_high_s8(p, a, b);
  return vpadalq_s16(acc, p);
#endif
}

// the lane sums of a, b, c, d
inline int32x4_t sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

// the sum of the 32 codes a (0..15), b (16..31) of a chunk, spread over 4 lanes
inline int32x4_t chunk_sum(int8x16_t a, int8x16_t b) {
#if defined(INT4_NEON_DOTPROD)
  const int8x16_t one = vdupq_n_s8(1);
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a, one), b, one);
#else
  return vpaddlq_s16(vpadalq_s8(vpaddlq_s8(a), b));
#endif
}

// the sum of 16 codes, spread over 4 lanes
inline int32x4_t sum16(int8x16_t a) {
#if defined(INT4_NEON_DOTPROD)
  return vdotq_s32(vdupq_n_s32(0), a, vdupq_n_s8(1));
#else
  return vpaddlq_s16(vpaddlq_s8(a));
#endif
}

// ---- one group of 4 chunks (128 weights) of a row, decoded ----

enum ScaleKind { kNoScale, kPerChunk, kPer16 };
// types with mins: - dmin * dx * (sum over the chunk's sub-blocks of min * sum(x codes)), integers
enum MinKind { kNoMin, kMinPerChunk, kMinPer16 };

struct Dec {
  int8x16_t q[8];     // chunk c: q[2c] weights 0..15, q[2c + 1] weights 16..31
  int32x4_t sc[2];    // kPer16: scale of q[j] in lane j % 4 of sc[j / 4]; kPerChunk: chunk c in lane c of sc[0]
  int32x4_t m[2];     // kMinPerChunk: chunk c's min in lane c of m[0]; kMinPer16: as sc for kPer16
  float32x4_t d;      // chunk c's float scale
  float32x4_t dmin;   // types with mins: chunk c's float min scale; kOffset: chunk c's offset m
};

// The activations of a group: codes, scales, and what the type needs of: each chunk's (or each
// 16 values') code sum, each chunk's s = d * sum.
struct XGroup {
  int8x16_t q[8];
  float32x4_t d, s;
  int32x4_t sum[2];  // kMinPerChunk: chunk c in lane c of sum[0]; kMinPer16: 16 values j in lane j % 4 of sum[j / 4]
};

template <class T>
inline void load_x(const block_q8* xq, int64_t g, int64_t nb, XGroup& x) {
  const block_q8* p = xq + 4 * g;
  block_q8 pad[4];
  if (4 * g + 4 > nb) {  // the last group of a row of 32-weight blocks: zero chunks past the row
    std::memset(pad, 0, sizeof pad);
    std::memcpy(pad, p, static_cast<size_t>(nb - 4 * g) * sizeof(block_q8));
    p = pad;
  }
  float d[4], xs[4];
  for (int c = 0; c < 4; c++) {
    x.q[2 * c] = vld1q_s8(p[c].qs);
    x.q[2 * c + 1] = vld1q_s8(p[c].qs + 16);
    d[c] = p[c].d;
    xs[c] = p[c].s;
  }
  x.d = vld1q_f32(d);
  if (T::kOffset) x.s = vld1q_f32(xs);
  if (T::kMin == kMinPerChunk)
    x.sum[0] = sum4(chunk_sum(x.q[0], x.q[1]), chunk_sum(x.q[2], x.q[3]), chunk_sum(x.q[4], x.q[5]),
                    chunk_sum(x.q[6], x.q[7]));
  if (T::kMin == kMinPer16) {
    x.sum[0] = sum4(sum16(x.q[0]), sum16(x.q[1]), sum16(x.q[2]), sum16(x.q[3]));
    x.sum[1] = sum4(sum16(x.q[4]), sum16(x.q[5]), sum16(x.q[6]), sum16(x.q[7]));
  }
}

// acc (lane c: chunk c of every group so far) + one group's products
template <class T>
inline float32x4_t group_dot(float32x4_t acc, const Dec& w, const XGroup& x) {
  const int32x4_t z = vdupq_n_s32(0);
  int32x4_t isum;
  if (T::kScale == kPer16) {
    int32x4_t p[8];
    for (int j = 0; j < 8; j++) p[j] = dot16(z, w.q[j], x.q[j]);
    const int32x4_t s0 = sum4(p[0], p[1], p[2], p[3]), s1 = sum4(p[4], p[5], p[6], p[7]);
    isum = vpaddq_s32(vmulq_s32(s0, w.sc[0]), vmulq_s32(s1, w.sc[1]));
  } else {
    int32x4_t p[4];
    for (int c = 0; c < 4; c++) p[c] = dot16(dot16(z, w.q[2 * c], x.q[2 * c]), w.q[2 * c + 1], x.q[2 * c + 1]);
    isum = sum4(p[0], p[1], p[2], p[3]);
    if (T::kScale == kPerChunk) isum = vmulq_s32(isum, w.sc[0]);
  }
  acc = vfmaq_f32(acc, vcvtq_f32_s32(isum), vmulq_f32(w.d, x.d));
  if (T::kMin != kNoMin) {
    const int32x4_t imin = T::kMin == kMinPerChunk
                               ? vmulq_s32(w.m[0], x.sum[0])
                               : vpaddq_s32(vmulq_s32(w.m[0], x.sum[0]), vmulq_s32(w.m[1], x.sum[1]));
    acc = vfmsq_f32(acc, vcvtq_f32_s32(imin), vmulq_f32(w.dmin, x.d));
  }
  if (T::kOffset) acc = vfmaq_f32(acc, w.dmin, x.s);
  return acc;
}

inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// ---- the types: decode(row, g, nb, w) fills w with group g of a row of nb chunks ----

// Q4_K: group g is the half g % 2 of super-block g / 2 (its chunks 4 (g % 2) .. + 3)
struct Q4K {
  static constexpr ScaleKind kScale = kPerChunk;
  static constexpr MinKind kMin = kMinPerChunk;
  static constexpr bool kOffset = false;
  static void scales(const uint8_t* b, int h, Dec& w) {
    // get_scale_min_k4 for chunks 4h .. 4h + 3, 4 bytes at a time
    const uint32_t s0 = ld<uint32_t>(b + 4), s1 = ld<uint32_t>(b + 8), s2 = ld<uint32_t>(b + 12);
    uint32_t sc, mn;
    if (h == 0) {
      sc = s0 & 0x3f3f3f3f;
      mn = s1 & 0x3f3f3f3f;
    } else {
      sc = (s2 & 0x0f0f0f0f) | (((s0 >> 6) & 0x03030303) << 4);
      mn = ((s2 >> 4) & 0x0f0f0f0f) | (((s1 >> 6) & 0x03030303) << 4);
    }
    w.sc[0] = bytes_to_s32(sc);
    w.m[0] = bytes_to_s32(mn);
    w.d = vdupq_n_f32(half_to_float(ld<uint16_t>(b)));
    w.dmin = vdupq_n_f32(half_to_float(ld<uint16_t>(b + 2)));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_q4_K));
    const int h = static_cast<int>(g & 1);
    scales(b, h, w);
    const uint8_t* qs = b + 16 + 64 * h;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    for (int j = 0; j < 2; j++) {  // chunks 2j, 2j + 1: the low and high nibbles of 32 bytes
      const uint8x16_t v0 = vld1q_u8(qs + 32 * j), v1 = vld1q_u8(qs + 32 * j + 16);
      w.q[4 * j] = s8(vandq_u8(v0, m4));
      w.q[4 * j + 1] = s8(vandq_u8(v1, m4));
      w.q[4 * j + 2] = s8(vshrq_n_u8(v0, 4));
      w.q[4 * j + 3] = s8(vshrq_n_u8(v1, 4));
    }
  }
};

// Q5_K: Q4_K's nibbles and scales, the fifth bit of chunk c's weight l in bit c of qh[l]
struct Q5K {
  static constexpr ScaleKind kScale = kPerChunk;
  static constexpr MinKind kMin = kMinPerChunk;
  static constexpr bool kOffset = false;
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_q5_K));
    const int h = static_cast<int>(g & 1);
    Q4K::scales(b, h, w);
    const int8x16_t hs = vdupq_n_s8(static_cast<int8_t>(-4 * h));  // bits 4h .. 4h + 3 to 0 .. 3
    const uint8x16_t h0 = vshlq_u8(vld1q_u8(b + 16), hs), h1 = vshlq_u8(vld1q_u8(b + 32), hs);
    const uint8_t* qs = b + 48 + 64 * h;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    const uint8x16_t v0 = vld1q_u8(qs), v1 = vld1q_u8(qs + 16), v2 = vld1q_u8(qs + 32), v3 = vld1q_u8(qs + 48);
    w.q[0] = s8(vorrq_u8(vandq_u8(v0, m4), vandq_u8(vshlq_n_u8(h0, 4), b4)));
    w.q[1] = s8(vorrq_u8(vandq_u8(v1, m4), vandq_u8(vshlq_n_u8(h1, 4), b4)));
    w.q[2] = s8(vorrq_u8(vshrq_n_u8(v0, 4), vandq_u8(vshlq_n_u8(h0, 3), b4)));
    w.q[3] = s8(vorrq_u8(vshrq_n_u8(v1, 4), vandq_u8(vshlq_n_u8(h1, 3), b4)));
    w.q[4] = s8(vorrq_u8(vandq_u8(v2, m4), vandq_u8(vshlq_n_u8(h0, 2), b4)));
    w.q[5] = s8(vorrq_u8(vandq_u8(v3, m4), vandq_u8(vshlq_n_u8(h1, 2), b4)));
    w.q[6] = s8(vorrq_u8(vshrq_n_u8(v2, 4), vandq_u8(vshlq_n_u8(h0, 1), b4)));
    w.q[7] = s8(vorrq_u8(vshrq_n_u8(v3, 4), vandq_u8(vshlq_n_u8(h1, 1), b4)));
  }
};

// Q6_K: half g % 2 of super-block g / 2: ql[64 h ..], qh[32 h ..], 8 int8 scales per 16 weights
struct Q6K {
  static constexpr ScaleKind kScale = kPer16;
  static constexpr MinKind kMin = kNoMin;
  static constexpr bool kOffset = false;
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_q6_K));
    const int h = static_cast<int>(g & 1);
    const uint8_t* ql = b + 64 * h;
    const uint8_t* qh = b + 128 + 32 * h;
    const int16x8_t sc = vmovl_s8(vld1_s8(reinterpret_cast<const int8_t*>(b + 192 + 8 * h)));
    w.sc[0] = vmovl_s16(vget_low_s16(sc));
    w.sc[1] = vmovl_s16(vget_high_s16(sc));
    w.d = vdupq_n_f32(half_to_float(ld<uint16_t>(b + 208)));
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
    const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16), l2 = vld1q_u8(ql + 32), l3 = vld1q_u8(ql + 48);
    const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
    const int8x16_t k32 = vdupq_n_s8(32);
    // chunk t: ql[32 (t & 1) + l] nibble t >> 1, qh[l] bits 2t, 2t + 1
    w.q[0] = vsubq_s8(s8(vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(h0, 4), m30))), k32);
    w.q[1] = vsubq_s8(s8(vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(h1, 4), m30))), k32);
    w.q[2] = vsubq_s8(s8(vorrq_u8(vandq_u8(l2, m4), vandq_u8(vshlq_n_u8(h0, 2), m30))), k32);
    w.q[3] = vsubq_s8(s8(vorrq_u8(vandq_u8(l3, m4), vandq_u8(vshlq_n_u8(h1, 2), m30))), k32);
    w.q[4] = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h0, m30))), k32);
    w.q[5] = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(h1, m30))), k32);
    w.q[6] = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(l2, 4), vandq_u8(vshrq_n_u8(h0, 2), m30))), k32);
    w.q[7] = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(l3, 4), vandq_u8(vshrq_n_u8(h1, 2), m30))), k32);
  }
};

// IQ4_XS: half g % 2 of super-block g / 2: chunk c's 16 bytes at qs[16 c], scale ls - 32
struct IQ4XS {
  static constexpr ScaleKind kScale = kPerChunk;
  static constexpr MinKind kMin = kNoMin;
  static constexpr bool kOffset = false;
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_iq4_xs));
    const int h = static_cast<int>(g & 1);
    const uint32_t sh = ld<uint16_t>(b + 2);
    const uint8_t* sl = b + 4;
    int32_t ls[4];
    for (int k = 0; k < 4; k++) {
      const int c = 4 * h + k;
      ls[k] = static_cast<int32_t>(((sl[c / 2] >> 4 * (c % 2)) & 0xf) | (((sh >> 2 * c) & 3) << 4)) - 32;
    }
    w.sc[0] = vld1q_s32(ls);
    w.d = vdupq_n_f32(half_to_float(ld<uint16_t>(b)));
    const int8x16_t kv = vld1q_s8(kvalues_iq4nl);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const uint8_t* qs = b + 8 + 64 * h;
    for (int k = 0; k < 4; k++) {
      const uint8x16_t v = vld1q_u8(qs + 16 * k);
      w.q[2 * k] = vqtbl1q_s8(kv, vandq_u8(v, m4));
      w.q[2 * k + 1] = vqtbl1q_s8(kv, vshrq_n_u8(v, 4));
    }
  }
};

// ---- the 32-weight types: group g is blocks 4g .. 4g + 3 (those below nb; the others zero) ----
// T::block(p, lo, hi): block p's weights 0..15, 16..31 as signed bytes; its fp16 d at p, and with
// T::kOffset its fp16 offset m at p + 2.

template <class T>
inline void decode_blocks(const uint8_t* row, int64_t g, int64_t nb, Dec& w) {
  uint16_t d[4] = {0, 0, 0, 0}, m[4] = {0, 0, 0, 0};
  for (int k = 0; k < 4; k++) {
    const int64_t i = 4 * g + k;
    if (i < nb) {
      const uint8_t* p = row + i * T::kBytes;
      d[k] = ld<uint16_t>(p);
      if (T::kOffset) m[k] = ld<uint16_t>(p + 2);
      T::block(p, w.q[2 * k], w.q[2 * k + 1]);
    } else {
      w.q[2 * k] = w.q[2 * k + 1] = vdupq_n_s8(0);
    }
  }
  w.d = halves_to_float(d);
  if (T::kOffset) w.dmin = halves_to_float(m);
}

// 16 bits of v (from bit 0) -> 16 bytes, 0x10 where the bit is set
inline uint8x16_t bits_to_16(uint32_t v) {
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bytes = vcombine_u8(vdup_n_u8(static_cast<uint8_t>(v)), vdup_n_u8(static_cast<uint8_t>(v >> 8)));
  return vandq_u8(vtstq_u8(bytes, vld1q_u8(kBit)), vdupq_n_u8(0x10));
}

struct Block32 {
  static constexpr ScaleKind kScale = kNoScale;
  static constexpr MinKind kMin = kNoMin;
  static constexpr bool kOffset = false;
};

// Q4_0: nibbles - 8
struct Q40 : Block32 {
  static constexpr int64_t kBytes = sizeof(block_q4_0);
  static void block(const uint8_t* p, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t v = vld1q_u8(p + 2);
    lo = vsubq_s8(s8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
    hi = vsubq_s8(s8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t nb, Dec& w) { decode_blocks<Q40>(row, g, nb, w); }
};

// Q4_1: nibbles, + m * s per chunk
struct Q41 : Block32 {
  static constexpr bool kOffset = true;
  static constexpr int64_t kBytes = sizeof(block_q4_1);
  static void block(const uint8_t* p, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t v = vld1q_u8(p + 4);
    lo = s8(vandq_u8(v, vdupq_n_u8(0x0F)));
    hi = s8(vshrq_n_u8(v, 4));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t nb, Dec& w) { decode_blocks<Q41>(row, g, nb, w); }
};

// Q5_0: (nibble | fifth bit) - 16, the fifth bit of weight j in bit j of qh
struct Q50 : Block32 {
  static constexpr int64_t kBytes = sizeof(block_q5_0);
  static void block(const uint8_t* p, int8x16_t& lo, int8x16_t& hi) {
    const uint32_t qh = ld<uint32_t>(p + 2);
    const uint8x16_t v = vld1q_u8(p + 6);
    lo = vsubq_s8(s8(vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), bits_to_16(qh))), vdupq_n_s8(16));
    hi = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(v, 4), bits_to_16(qh >> 16))), vdupq_n_s8(16));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t nb, Dec& w) { decode_blocks<Q50>(row, g, nb, w); }
};

// Q5_1: nibble | fifth bit, + m * s per chunk
struct Q51 : Block32 {
  static constexpr bool kOffset = true;
  static constexpr int64_t kBytes = sizeof(block_q5_1);
  static void block(const uint8_t* p, int8x16_t& lo, int8x16_t& hi) {
    const uint32_t qh = ld<uint32_t>(p + 4);
    const uint8x16_t v = vld1q_u8(p + 8);
    lo = s8(vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), bits_to_16(qh)));
    hi = s8(vorrq_u8(vshrq_n_u8(v, 4), bits_to_16(qh >> 16)));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t nb, Dec& w) { decode_blocks<Q51>(row, g, nb, w); }
};

// Q8_0: the codes
struct Q80 : Block32 {
  static constexpr int64_t kBytes = sizeof(block_q8_0);
  static void block(const uint8_t* p, int8x16_t& lo, int8x16_t& hi) {
    lo = vld1q_s8(reinterpret_cast<const int8_t*>(p + 2));
    hi = vld1q_s8(reinterpret_cast<const int8_t*>(p + 18));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t nb, Dec& w) { decode_blocks<Q80>(row, g, nb, w); }
};

// IQ4_NL: the codebook values of the nibbles, by vqtbl1q
struct IQ4NL : Block32 {
  static constexpr int64_t kBytes = sizeof(block_iq4_nl);
  static void block(const uint8_t* p, int8x16_t& lo, int8x16_t& hi) {
    const int8x16_t kv = vld1q_s8(kvalues_iq4nl);
    const uint8x16_t v = vld1q_u8(p + 2);
    lo = vqtbl1q_s8(kv, vandq_u8(v, vdupq_n_u8(0x0F)));
    hi = vqtbl1q_s8(kv, vshrq_n_u8(v, 4));
  }
  static void decode(const uint8_t* row, int64_t g, int64_t nb, Dec& w) { decode_blocks<IQ4NL>(row, g, nb, w); }
};

// ---- more super-block types ----

// Q8_K: f32 d, 256 codes; group g is the half g % 2 of block g / 2
struct Q8K {
  static constexpr ScaleKind kScale = kNoScale;
  static constexpr MinKind kMin = kNoMin;
  static constexpr bool kOffset = false;
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_q8_K));
    const int8_t* qs = reinterpret_cast<const int8_t*>(b + 4 + 128 * (g & 1));
    for (int j = 0; j < 8; j++) w.q[j] = vld1q_s8(qs + 16 * j);
    w.d = vdupq_n_f32(ld<float>(b));
  }
};

// Q3_K: chunk c's 2 low bits at bits 2 (c % 4) of qs[32 (c / 4) + l], its high bit in bit c of
// hmask[l]: (low | high << 2) - 4; 16 6-bit scales - 32 per 16 weights
struct Q3K {
  static constexpr ScaleKind kScale = kPer16;
  static constexpr MinKind kMin = kNoMin;
  static constexpr bool kOffset = false;
  // q3_k_scales (blocks.h), local
  static void scales(const uint8_t* packed, int8_t out[16]) {
    uint32_t aux[4];
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    for (int i = 0; i < 3; i++) aux[i] = ld<uint32_t>(packed + 4 * i);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    std::memcpy(out, aux, 16);
  }
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_q3_K));
    const int h = static_cast<int>(g & 1);
    int8_t sc[16];
    scales(b + 96, sc);
    const int16x8_t s16 = vsubq_s16(vmovl_s8(vld1_s8(sc + 8 * h)), vdupq_n_s16(32));
    w.sc[0] = vmovl_s16(vget_low_s16(s16));
    w.sc[1] = vmovl_s16(vget_high_s16(s16));
    w.d = vdupq_n_f32(half_to_float(ld<uint16_t>(b + 108)));
    const int8x16_t hs = vdupq_n_s8(static_cast<int8_t>(-4 * h));  // hmask bits 4h .. 4h + 3 to 0 .. 3
    const uint8x16_t h0 = vshlq_u8(vld1q_u8(b), hs), h1 = vshlq_u8(vld1q_u8(b + 16), hs);
    const uint8x16_t q0 = vld1q_u8(b + 32 + 32 * h), q1 = vld1q_u8(b + 48 + 32 * h);
    const uint8x16_t m3 = vdupq_n_u8(3), m4 = vdupq_n_u8(4);
    const int8x16_t k4 = vdupq_n_s8(4);
    w.q[0] = vsubq_s8(s8(vorrq_u8(vandq_u8(q0, m3), vandq_u8(vshlq_n_u8(h0, 2), m4))), k4);
    w.q[1] = vsubq_s8(s8(vorrq_u8(vandq_u8(q1, m3), vandq_u8(vshlq_n_u8(h1, 2), m4))), k4);
    w.q[2] = vsubq_s8(s8(vorrq_u8(vandq_u8(vshrq_n_u8(q0, 2), m3), vandq_u8(vshlq_n_u8(h0, 1), m4))), k4);
    w.q[3] = vsubq_s8(s8(vorrq_u8(vandq_u8(vshrq_n_u8(q1, 2), m3), vandq_u8(vshlq_n_u8(h1, 1), m4))), k4);
    w.q[4] = vsubq_s8(s8(vorrq_u8(vandq_u8(vshrq_n_u8(q0, 4), m3), vandq_u8(h0, m4))), k4);
    w.q[5] = vsubq_s8(s8(vorrq_u8(vandq_u8(vshrq_n_u8(q1, 4), m3), vandq_u8(h1, m4))), k4);
    w.q[6] = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(q0, 6), vandq_u8(vshrq_n_u8(h0, 1), m4))), k4);
    w.q[7] = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(q1, 6), vandq_u8(vshrq_n_u8(h1, 1), m4))), k4);
  }
};

// Q2_K: chunk c's 2 bits at bits 2 (c % 4) of qs[32 (c / 4) + l]; per 16 weights a 4-bit scale
// (low nibble) and a 4-bit min (high nibble)
struct Q2K {
  static constexpr ScaleKind kScale = kPer16;
  static constexpr MinKind kMin = kMinPer16;
  static constexpr bool kOffset = false;
  static void decode(const uint8_t* row, int64_t g, int64_t, Dec& w) {
    const uint8_t* b = row + (g >> 1) * static_cast<int64_t>(sizeof(block_q2_K));
    const int h = static_cast<int>(g & 1);
    const uint8x8_t sm = vld1_u8(b + 8 * h);
    const uint16x8_t sc = vmovl_u8(vand_u8(sm, vdup_n_u8(0x0F))), mn = vmovl_u8(vshr_n_u8(sm, 4));
    w.sc[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sc)));
    w.sc[1] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(sc)));
    w.m[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(mn)));
    w.m[1] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(mn)));
    w.d = vdupq_n_f32(half_to_float(ld<uint16_t>(b + 80)));
    w.dmin = vdupq_n_f32(half_to_float(ld<uint16_t>(b + 82)));
    const uint8x16_t q0 = vld1q_u8(b + 16 + 32 * h), q1 = vld1q_u8(b + 32 + 32 * h);
    const uint8x16_t m3 = vdupq_n_u8(3);
    w.q[0] = s8(vandq_u8(q0, m3));
    w.q[1] = s8(vandq_u8(q1, m3));
    w.q[2] = s8(vandq_u8(vshrq_n_u8(q0, 2), m3));
    w.q[3] = s8(vandq_u8(vshrq_n_u8(q1, 2), m3));
    w.q[4] = s8(vandq_u8(vshrq_n_u8(q0, 4), m3));
    w.q[5] = s8(vandq_u8(vshrq_n_u8(q1, 4), m3));
    w.q[6] = s8(vshrq_n_u8(q0, 6));
    w.q[7] = s8(vshrq_n_u8(q1, 6));
  }
};

// ---- GEMV: R rows of W per pass over x, each block decoded as it is read ----

template <class T, int R>
void gemv_rows(const uint8_t* W, int64_t row_bytes, int64_t nb, const block_q8* xq, int64_t r, float* y) {
  const int64_t ng = (nb + 3) / 4;
  const uint8_t* rows = W + r * row_bytes;
  float32x4_t acc[R];
  for (int i = 0; i < R; i++) acc[i] = vdupq_n_f32(0.0f);
  for (int64_t g = 0; g < ng; g++) {
    XGroup x;
    load_x<T>(xq, g, nb, x);
    for (int i = 0; i < R; i++) {
      Dec w;
      T::decode(rows + i * row_bytes, g, nb, w);
      acc[i] = group_dot<T>(acc[i], w, x);
    }
  }
  for (int i = 0; i < R; i++) y[r + i] = vaddvq_f32(acc[i]);
}

template <class T>
void gemv(const TypeTraits&, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t r0, int64_t r1,
          float* y) {
  const int64_t nb = K / 32;
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) gemv_rows<T, 4>(W, row_bytes, nb, xq, r, y);
  for (; r < r1; r++) gemv_rows<T, 1>(W, row_bytes, nb, xq, r, y);
}

// ---- GEMM: a panel of R rows decoded once, every row of x (a tile of them) over it ----

constexpr int kPanelRows = 4;
constexpr int64_t kSliceGroups = 24;  // groups of K per decoded slice: 4 rows x 24 x 224 bytes, in L1
constexpr int64_t kTileM = 64;        // rows of x per pass over a panel (their slice of x in L2)

// acc[i] (row i of the panel, one row of x) + groups [g0, g1) of the panel's slice (starting at g0)
template <class T, int R>
inline void panel_dot(const Dec* panel, int64_t S, int64_t g0, int64_t g1, const block_q8* xrow, int64_t nb,
                      float32x4_t* acc) {
  float32x4_t a[R];
  for (int i = 0; i < R; i++) a[i] = acc[i];
  for (int64_t g = g0; g < g1; g++) {
    XGroup x;
    load_x<T>(xrow, g, nb, x);
    for (int i = 0; i < R; i++) a[i] = group_dot<T>(a[i], panel[i * S + (g - g0)], x);
  }
  for (int i = 0; i < R; i++) acc[i] = a[i];
}

// The same for two rows of x (accs a0, a1): each decoded vector is loaded once for both; every
// accumulator sees exactly the operations panel_dot would do.
template <class T, int R>
inline void panel_dot2(const Dec* panel, int64_t S, int64_t g0, int64_t g1, const block_q8* xrow0, const block_q8* xrow1,
                       int64_t nb, float32x4_t* acc0, float32x4_t* acc1) {
  float32x4_t a0[R], a1[R];
  for (int i = 0; i < R; i++) a0[i] = acc0[i], a1[i] = acc1[i];
  for (int64_t g = g0; g < g1; g++) {
    XGroup x0, x1;
    load_x<T>(xrow0, g, nb, x0);
    load_x<T>(xrow1, g, nb, x1);
    for (int i = 0; i < R; i++) {
      const Dec& w = panel[i * S + (g - g0)];
      a0[i] = group_dot<T>(a0[i], w, x0);
      a1[i] = group_dot<T>(a1[i], w, x1);
    }
  }
  for (int i = 0; i < R; i++) acc0[i] = a0[i], acc1[i] = a1[i];
}

template <class T>
void gemm(const TypeTraits&, const uint8_t* W, int64_t row_bytes, int64_t K, const block_q8* xq, int64_t M, int64_t r0,
          int64_t r1, float* y, int64_t ldy) {
  constexpr int R = kPanelRows;
  const int64_t nb = K / 32, ng = (nb + 3) / 4;
  const int64_t S = ng < kSliceGroups ? ng : kSliceGroups;
  if (S == 0) {
    for (int64_t m = 0; m < M; m++)
      for (int64_t r = r0; r < r1; r++) y[m * ldy + r] = 0.0f;
    return;
  }
  std::unique_ptr<Dec[]> panel(new Dec[R * S]);
  std::unique_ptr<float32x4_t[]> acc(new float32x4_t[kTileM * R]);
  for (int64_t m0 = 0; m0 < M; m0 += kTileM) {
    const int64_t m1 = m0 + kTileM < M ? m0 + kTileM : M;
    for (int64_t r = r0; r < r1; r += R) {
      const int n = r1 - r < R ? static_cast<int>(r1 - r) : R;
      for (int64_t j = 0; j < (m1 - m0) * R; j++) acc[j] = vdupq_n_f32(0.0f);
      for (int64_t g0 = 0; g0 < ng; g0 += S) {
        const int64_t g1 = g0 + S < ng ? g0 + S : ng;
        for (int i = 0; i < n; i++)
          for (int64_t g = g0; g < g1; g++) T::decode(W + (r + i) * row_bytes, g, nb, panel[i * S + (g - g0)]);
        int64_t m = m0;
        if (n == R)
          for (; m + 2 <= m1; m += 2) {
            float32x4_t* a = acc.get() + (m - m0) * R;
            panel_dot2<T, R>(panel.get(), S, g0, g1, xq + m * nb, xq + (m + 1) * nb, nb, a, a + R);
          }
        for (; m < m1; m++) {
          float32x4_t* a = acc.get() + (m - m0) * R;
          if (n == R)
            panel_dot<T, R>(panel.get(), S, g0, g1, xq + m * nb, nb, a);
          else
            for (int i = 0; i < n; i++) panel_dot<T, 1>(panel.get() + i * S, S, g0, g1, xq + m * nb, nb, a + i);
        }
      }
      for (int64_t m = m0; m < m1; m++)
        for (int i = 0; i < n; i++) y[m * ldy + r + i] = vaddvq_f32(acc[(m - m0) * R + i]);
    }
  }
}

template <class T>
constexpr BlockKernels row() {
  return BlockKernels{gemv<T>, gemm<T>};
}

}  // namespace

#if defined(INT4_NEON_DOTPROD)
#define INT4_BLOCKS_NEON_TABLE kBlockKernels_neon_dotprod
#else
#define INT4_BLOCKS_NEON_TABLE kBlockKernels_neon
#endif

// indexed by TypeTraits::index (types.cpp)
extern const BlockKernels INT4_BLOCKS_NEON_TABLE[kTypeCount] = {
    row<Q40>(),    // 0 Q4_0
    row<Q41>(),    // 1 Q4_1
    row<Q50>(),    // 2 Q5_0
    row<Q51>(),    // 3 Q5_1
    row<Q80>(),    // 4 Q8_0
    row<Q2K>(),    // 5 Q2_K
    row<Q3K>(),    // 6 Q3_K
    row<Q4K>(),    // 7 Q4_K
    row<Q5K>(),    // 8 Q5_K
    row<Q6K>(),    // 9 Q6_K
    row<Q8K>(),    // 10 Q8_K
    row<IQ4NL>(),  // 11 IQ4_NL
    row<IQ4XS>(),  // 12 IQ4_XS
};

#undef INT4_BLOCKS_NEON_TABLE

}  // namespace ggml
}  // namespace int4
