// Scale (and offset) choice for one group of weights, shared by mse and gptq.
//
// A group is n values x[0..n) with non-negative weights wt[0..n) (per-input importance; all ones
// when there is none). Every error here is Σ wt·(x - v)² where v is exactly the float the native
// dequantizer will produce: the scale and offset are rounded to fp16 first, symmetric values are
// (q - 8)·d (exact in float32) and asymmetric ones fround(q·d + m), as cpp/int4/quant_generic.cpp.
import { f32ToF16, f16ToF32 } from "./fp16";

const fround = Math.fround;

/** Longest chain of least-squares refits after one grid candidate (they converge in a few steps). */
const MAX_REFITS = 4;

/** A group's stored parameters: fp16 bits of the scale (and offset) and the weighted squared error. */
export interface GroupParams {
  dBits: number;
  mBits: number;
  err: number;
}

/** Nearest symmetric code (0..15, standing for -8..7) for x at scale d (d != 0). */
export function symCode(x: number, d: number): number {
  const q = Math.round(x / d);
  return q < -8 ? 0 : q > 7 ? 15 : q + 8;
}

/** Nearest asymmetric code (0..15) for x at scale d > 0 and offset m. */
export function asymCode(x: number, d: number, m: number): number {
  const q = Math.round((x - m) / d);
  return q < 0 ? 0 : q > 15 ? 15 : q;
}

export function symValue(q: number, d: number): number {
  return (q - 8) * d;
}

export function asymValue(q: number, d: number, m: number): number {
  return fround(q * d + m);
}

function symErr(x: Float64Array, wt: Float64Array, n: number, d: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) {
    const t = x[i] - symValue(symCode(x[i], d), d);
    e += wt[i] * t * t;
  }
  return e;
}

function asymErr(x: Float64Array, wt: Float64Array, n: number, d: number, m: number): number {
  let e = 0;
  if (d === 0) {
    for (let i = 0; i < n; i++) e += wt[i] * (x[i] - m) * (x[i] - m);
    return e;
  }
  for (let i = 0; i < n; i++) {
    const t = x[i] - asymValue(asymCode(x[i], d, m), d, m);
    e += wt[i] * t * t;
  }
  return e;
}

/** Round to nearest's parameters (the README's rule: d = max/-8 symmetric; d = (max-min)/15, m = min asymmetric). */
export function rtnParams(x: Float64Array, wt: Float64Array, n: number, symmetric: boolean): GroupParams {
  if (symmetric) {
    let amax = 0;
    let max = 0;
    for (let i = 0; i < n; i++) {
      if (amax < Math.abs(x[i])) {
        amax = Math.abs(x[i]);
        max = x[i];
      }
    }
    const dBits = f32ToF16(fround(max) / -8);
    const d = f16ToF32(dBits);
    return { dBits, mBits: 0, err: d === 0 || !Number.isFinite(d) ? weightedSq(x, wt, n) : symErr(x, wt, n, d) };
  }
  let min = x[0];
  let max = x[0];
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
  const dBits = f32ToF16((fround(max) - fround(min)) / 15);
  const mBits = f32ToF16(min);
  return { dBits, mBits, err: asymErr(x, wt, n, f16ToF32(dBits), f16ToF32(mBits)) };
}

function weightedSq(x: Float64Array, wt: Float64Array, n: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) e += wt[i] * x[i] * x[i];
  return e;
}

/**
 * Searches the symmetric scale minimizing the weighted error: a grid of candidates around the
 * extreme mapped to -8 (d = max / -(8 + 0.1 i), as llama.cpp's make_qx_quants) and to +7
 * (d = max / (7 + 0.1 i)), each followed by closed-form least-squares refits of d for the codes it
 * chose (repeated while the error falls), d* = Σ wt·x·q / Σ wt·q². Every candidate is judged with its fp16-rounded scale. The
 * all-zero group (d = 0) is a candidate too. Returns the best; start is a known candidate to beat.
 */
export function mseSymParams(x: Float64Array, wt: Float64Array, n: number, start?: GroupParams): GroupParams {
  let best: GroupParams = start ?? { dBits: 0, mBits: 0, err: weightedSq(x, wt, n) };
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    if (amax < Math.abs(x[i])) {
      amax = Math.abs(x[i]);
      max = x[i];
    }
  }
  if (amax === 0) return best;
  // each candidate starts a chain of refits: codes -> least-squares d -> codes ..., while it improves
  const tryScale = (raw: number, refits: number, prevErr = Infinity) => {
    const dBits = f32ToF16(raw);
    const d = f16ToF32(dBits);
    if (d === 0 || !Number.isFinite(d)) return;
    let e = 0;
    let sxq = 0;
    let sqq = 0;
    for (let i = 0; i < n; i++) {
      const q = symCode(x[i], d) - 8;
      const t = x[i] - q * d;
      e += wt[i] * t * t;
      sxq += wt[i] * x[i] * q;
      sqq += wt[i] * q * q;
    }
    if (e < best.err) best = { dBits, mBits: 0, err: e };
    if (refits > 0 && sqq > 0 && e < prevErr) tryScale(sxq / sqq, refits - 1, e);
  };
  if (start) tryScale(f16ToF32(start.dBits), MAX_REFITS);
  for (let i = -10; i <= 10; i++) {
    tryScale(max / -(8 + 0.1 * i), MAX_REFITS);
    tryScale(max / (7 + 0.1 * i), MAX_REFITS);
  }
  return best;
}

/**
 * Searches the asymmetric scale and offset: d = (max - min) / (14 + 0.1 i), i = 0..20, m = min
 * (llama.cpp's make_qkx2_quants grid), each followed by the least-squares refit of (d, m) for the
 * codes it chose (2x2 normal equations), judged with fp16-rounded d and m.
 */
export function mseAsymParams(x: Float64Array, wt: Float64Array, n: number, start?: GroupParams): GroupParams {
  let min = x[0];
  let max = x[0];
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
  let best: GroupParams = start ?? { dBits: 0, mBits: f32ToF16(min), err: Infinity };
  if (!start) best.err = asymErr(x, wt, n, 0, f16ToF32(best.mBits));
  if (max === min) return best;
  const tryParams = (rawD: number, rawM: number, refits: number, prevErr = Infinity) => {
    const dBits = f32ToF16(rawD);
    const mBits = f32ToF16(rawM);
    const d = f16ToF32(dBits);
    const m = f16ToF32(mBits);
    if (!(d > 0) || !Number.isFinite(d) || !Number.isFinite(m)) return;
    let e = 0;
    let sqq = 0, sq = 0, sw = 0, sqx = 0, sx = 0;
    for (let i = 0; i < n; i++) {
      const q = asymCode(x[i], d, m);
      const t = x[i] - asymValue(q, d, m);
      const w = wt[i];
      e += w * t * t;
      sqq += w * q * q;
      sq += w * q;
      sw += w;
      sqx += w * q * x[i];
      sx += w * x[i];
    }
    if (e < best.err) best = { dBits, mBits, err: e };
    if (refits === 0 || !(e < prevErr)) return;
    const det = sqq * sw - sq * sq;
    if (!(det > 0)) return;
    tryParams((sw * sqx - sq * sx) / det, (sqq * sx - sq * sqx) / det, refits - 1, e);
  };
  if (start) tryParams(f16ToF32(start.dBits), f16ToF32(start.mBits), MAX_REFITS);
  for (let i = 0; i <= 20; i++) tryParams((max - min) / (14 + 0.1 * i), min, MAX_REFITS);
  return best;
}

/** Writes the codes for stored parameters p into out[0..n) (0..15). */
export function groupCodes(x: Float64Array, n: number, p: GroupParams, symmetric: boolean, out: Uint8Array): void {
  const d = f16ToF32(p.dBits);
  if (symmetric) {
    for (let i = 0; i < n; i++) out[i] = d === 0 || !Number.isFinite(d) ? 8 : symCode(x[i], d);
  } else {
    const m = f16ToF32(p.mBits);
    for (let i = 0; i < n; i++) out[i] = d > 0 && Number.isFinite(d) ? asymCode(x[i], d, m) : 0;
  }
}
