// An independent JavaScript model of llama.cpp's reference Q4_0 / Q4_1 quantizers
// (quantize_row_q4_0_ref / quantize_row_q4_1_ref), float32 arithmetic emulated with Math.fround,
// used to check that int4's group-32 bytes are llama.cpp's bytes.
const f = Math.fround;

/** IEEE binary32 -> binary16 bits, round to nearest even, in exact double arithmetic. */
export function f32ToF16(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  const roundEven = (u: number) => {
    let q = Math.floor(u);
    const r = u - q;
    if (r > 0.5 || (r === 0.5 && q % 2 === 1)) q++;
    return q;
  };
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = roundEven((a / 2 ** e) * 1024); // 1024..2048; 2048 carries into the exponent below
  return sign | (((e + 15) << 10) + (q - 1024));
}

/** IEEE binary16 bits -> number. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function trunc8(v: number): number {
  // (int8_t) cast of a value known to lie in [0, 16.5]
  return Math.trunc(v);
}

/** Q4_0 blocks (18 bytes each) of x, whose length is a multiple of 32. */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 18);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < nb; i++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[i * 32 + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    dv.setUint16(i * 18, f32ToF16(d), true);
    for (let j = 0; j < 16; j++) {
      const x0 = f(x[i * 32 + j] * id);
      const x1 = f(x[i * 32 + 16 + j] * id);
      const q0 = Math.min(15, trunc8(f(x0 + 8.5)));
      const q1 = Math.min(15, trunc8(f(x1 + 8.5)));
      out[i * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** Q4_1 blocks (20 bytes each) of x, whose length is a multiple of 32. */
export function quantizeQ4_1(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 20);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < nb; i++) {
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < 32; j++) {
      const v = x[i * 32 + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = f((max - min) / 15);
    const id = d ? f(1 / d) : 0;
    dv.setUint16(i * 20, f32ToF16(d), true);
    dv.setUint16(i * 20 + 2, f32ToF16(min), true);
    for (let j = 0; j < 16; j++) {
      const x0 = f(f(x[i * 32 + j] - min) * id);
      const x1 = f(f(x[i * 32 + 16 + j] - min) * id);
      const q0 = Math.min(15, trunc8(f(x0 + 0.5)));
      const q1 = Math.min(15, trunc8(f(x1 + 0.5)));
      out[i * 20 + 4 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** llama.cpp's dequantize_row_q4_0 / q4_1 over block bytes, as float32 values. */
export function dequantizeBlocks(type: "q4_0" | "q4_1", blocks: Uint8Array): Float32Array {
  const bs = type === "q4_0" ? 18 : 20;
  const nb = blocks.length / bs;
  const dv = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  const out = new Float32Array(nb * 32);
  for (let i = 0; i < nb; i++) {
    const d = f16ToF32(dv.getUint16(i * bs, true));
    const m = type === "q4_1" ? f16ToF32(dv.getUint16(i * bs + 2, true)) : 0;
    const qs = i * bs + (type === "q4_0" ? 2 : 4);
    for (let j = 0; j < 16; j++) {
      const lo = blocks[qs + j] & 0x0f;
      const hi = blocks[qs + j] >> 4;
      if (type === "q4_0") {
        out[i * 32 + j] = (lo - 8) * d;
        out[i * 32 + j + 16] = (hi - 8) * d;
      } else {
        out[i * 32 + j] = f(f(lo * d) + m);
        out[i * 32 + j + 16] = f(f(hi * d) + m);
      }
    }
  }
  return out;
}

/** A seeded PRNG (mulberry32) and normal samples, so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}
