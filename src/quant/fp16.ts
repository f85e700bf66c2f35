// IEEE binary16 <-> binary32 in TypeScript, bit-exact with cpp/int4/format.h (round to nearest
// even, what F16C and ggml do). The quantization methods evaluate their error with the scale as
// it will be stored, so they need the same rounding the native quantizer applies.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float (taken as float32) -> fp16 bits. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00; // NaN -> quiet NaN
  if (ax >= 0x47800000) return sign | 0x7c00; // >= 65536 (or inf) -> inf
  if (ax <= 0x33000000) return sign; // <= 2^-25 rounds to zero
  const e = ax >>> 23;
  if (e < 113) {
    // a binary16 subnormal: units of 2^-24, half to even
    const man = (ax & 0x7fffff) | 0x800000;
    const shift = 126 - e; // 14..24
    let q = man >>> shift;
    const rem = man & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (q & 1) !== 0)) q++;
    return sign | q;
  }
  let h = ((e - 112) << 10) | ((ax >>> 13) & 0x3ff);
  const rem = ax & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is right, up to inf
  return sign | h;
}

let table: Float32Array | null = null;

/** fp16 bits -> number (exact), from a 65536-entry table built on first use. */
export function f16ToF32(h: number): number {
  if (table === null) {
    table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = decode(i);
  }
  return table[h & 0xffff];
}

function decode(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
