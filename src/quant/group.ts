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

/** The value of largest magnitude among x[0..n), sign kept (the first one on ties, as llama.cpp). */
export function signedAbsMax(x: Float64Array, n: number): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    if (amax < Math.abs(x[i])) {
      amax = Math.abs(x[i]);
      max = x[i];
    }
  }
  return max;
}

/** Round to nearest's parameters (the README's rule: d = max/-8 symmetric; d = (max-min)/15, m = min asymmetric). */
export function rtnParams(x: Float64Array, wt: Float64Array, n: number, symmetric: boolean): GroupParams {
  if (symmetric) {
    const max = signedAbsMax(x, n);
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

// Sums of the last evaluation, for the least-squares refit (module state: no allocation per candidate).
let sQQ = 0, sQ = 0, sW = 0, sQX = 0, sX = 0;

/** Σ wt·(x - (q-8)·d)² with nearest codes at fp16 scale d (d != 0, finite); leaves Σwxq, Σwq² in sQX, sQQ. */
function evalSym(x: Float64Array, wt: Float64Array, n: number, d: number): number {
  const id = 1 / d;
  let e = 0, sqq = 0, sxq = 0;
  for (let i = 0; i < n; i++) {
    let q = Math.round(x[i] * id);
    q = q < -8 ? -8 : q > 7 ? 7 : q;
    const t = x[i] - q * d;
    const w = wt[i];
    e += w * t * t;
    sxq += w * x[i] * q;
    sqq += w * q * q;
  }
  sQQ = sqq;
  sQX = sxq;
  return e;
}

/** Σ wt·(x - fround(q·d + m))² with nearest codes at fp16 d > 0 and m; leaves the normal-equation sums. */
function evalAsym(x: Float64Array, wt: Float64Array, n: number, d: number, m: number): number {
  const id = 1 / d;
  let e = 0, sqq = 0, sq = 0, sw = 0, sqx = 0, sx = 0;
  for (let i = 0; i < n; i++) {
    let q = Math.round((x[i] - m) * id);
    q = q < 0 ? 0 : q > 15 ? 15 : q;
    const t = x[i] - fround(q * d + m);
    const w = wt[i];
    e += w * t * t;
    sqq += w * q * q;
    sq += w * q;
    sw += w;
    sqx += w * q * x[i];
    sx += w * x[i];
  }
  sQQ = sqq; sQ = sq; sW = sw; sQX = sqx; sX = sx;
  return e;
}

/** How many of the best grid candidates start a chain of least-squares refits. */
const REFIT_FROM = 3;

/**
 * Searches the symmetric scale minimizing the weighted error: a grid of candidates around the
 * extreme mapped to -8 (d = max / -(8 + 0.1 i), i = -10..10, as llama.cpp's make_qx_quants) and to
 * +7 (d = max / (7 + 0.1 i)); then, from the best few of them and from `start`, chains of
 * closed-form least-squares refits d* = Σ wt·x·q / Σ wt·q² for the codes chosen (codes -> d* ->
 * codes ..., while the error falls). Every candidate is judged with its fp16-rounded scale and
 * nearest codes. Returns the best; `start` (a known result, e.g. rtn's) is returned unless beaten.
 */
export function mseSymParams(x: Float64Array, wt: Float64Array, n: number, start?: GroupParams): GroupParams {
  let best: GroupParams = start ?? { dBits: 0, mBits: 0, err: weightedSq(x, wt, n) };
  const max = signedAbsMax(x, n);
  if (max === 0) return best;
  const top = new Float64Array(REFIT_FROM).fill(Infinity); // errors of the best grid candidates
  const topD = new Float64Array(REFIT_FROM);
  const grid = (raw: number) => {
    const dBits = f32ToF16(raw);
    const d = f16ToF32(dBits);
    if (d === 0 || !Number.isFinite(d)) return;
    const e = evalSym(x, wt, n, d);
    if (e < best.err) best = { dBits, mBits: 0, err: e };
    for (let j = 0; j < REFIT_FROM; j++) {
      if (e < top[j]) {
        for (let k = REFIT_FROM - 1; k > j; k--) { top[k] = top[k - 1]; topD[k] = topD[k - 1]; }
        top[j] = e;
        topD[j] = d;
        break;
      }
    }
  };
  const chain = (d0: number) => {
    let d = d0;
    let prev = evalSym(x, wt, n, d);
    for (let step = 0; step < MAX_REFITS && sQQ > 0; step++) {
      const dBits = f32ToF16(sQX / sQQ);
      d = f16ToF32(dBits);
      if (d === 0 || !Number.isFinite(d)) return;
      const e = evalSym(x, wt, n, d);
      if (e < best.err) best = { dBits, mBits: 0, err: e };
      if (!(e < prev)) return;
      prev = e;
    }
  };
  for (let i = -10; i <= 10; i++) {
    grid(max / -(8 + 0.1 * i));
    grid(max / (7 + 0.1 * i));
  }
  if (start) {
    const d = f16ToF32(start.dBits);
    if (d !== 0 && Number.isFinite(d)) chain(d);
  }
  for (let j = 0; j < REFIT_FROM; j++) if (top[j] < Infinity) chain(topD[j]);
  return best;
}

/**
 * Searches the asymmetric scale and offset: d = (max - min) / (14 + 0.1 i), i = 0..20, m = min
 * (llama.cpp's make_qkx2_quants grid); then, from the best few and from `start`, chains of
 * least-squares refits of (d, m) for the codes chosen (2x2 normal equations), judged with
 * fp16-rounded d and m and nearest codes.
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
  const top = new Float64Array(REFIT_FROM).fill(Infinity);
  const topD = new Float64Array(REFIT_FROM);
  const topM = new Float64Array(REFIT_FROM);
  const mBits0 = f32ToF16(min);
  const m0 = f16ToF32(mBits0);
  for (let i = 0; i <= 20; i++) {
    const dBits = f32ToF16((max - min) / (14 + 0.1 * i));
    const d = f16ToF32(dBits);
    if (!(d > 0) || !Number.isFinite(d) || !Number.isFinite(m0)) continue;
    const e = evalAsym(x, wt, n, d, m0);
    if (e < best.err) best = { dBits, mBits: mBits0, err: e };
    for (let j = 0; j < REFIT_FROM; j++) {
      if (e < top[j]) {
        for (let k = REFIT_FROM - 1; k > j; k--) { top[k] = top[k - 1]; topD[k] = topD[k - 1]; topM[k] = topM[k - 1]; }
        top[j] = e;
        topD[j] = d;
        topM[j] = m0;
        break;
      }
    }
  }
  const chain = (d0: number, m0: number) => {
    let prev = evalAsym(x, wt, n, d0, m0);
    for (let step = 0; step < MAX_REFITS; step++) {
      const det = sQQ * sW - sQ * sQ;
      if (!(det > 0)) return;
      const dBits = f32ToF16((sW * sQX - sQ * sX) / det);
      const mBits = f32ToF16((sQQ * sX - sQ * sQX) / det);
      const d = f16ToF32(dBits);
      const m = f16ToF32(mBits);
      if (!(d > 0) || !Number.isFinite(d) || !Number.isFinite(m)) return;
      const e = evalAsym(x, wt, n, d, m);
      if (e < best.err) best = { dBits, mBits, err: e };
      if (!(e < prev)) return;
      prev = e;
    }
  };
  if (start) {
    const d = f16ToF32(start.dBits);
    const m = f16ToF32(start.mBits);
    if (d > 0 && Number.isFinite(d) && Number.isFinite(m)) chain(d, m);
  }
  for (let j = 0; j < REFIT_FROM; j++) if (top[j] < Infinity) chain(topD[j], topM[j]);
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
