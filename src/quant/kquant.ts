// Calibrated methods for llama.cpp's super-block types (Q4_K, Q5_K, Q6_K, IQ4_XS) at their exact
// block bytes, so that `int4 quantize --format q4_k_m --method gptq` writes llama-quantize's tensor
// types and sizes with a lower output error (README "Quantization methods").
//
//   mse:  llama.cpp's own importance-weighted search (make_qkx3_quants & co., through
//         native.quantizeRowsGGML with an importance matrix) with importance = diag(H), H = XᵀX of
//         the layer's calibration inputs: what llama-quantize does with an imatrix.
//   gptq: the columns of W in order with gptq's inverse-Hessian (Cholesky) error compensation. At each
//         super-block (256 columns) its parameters (fp16 d / dmin, the 6-bit or int8 sub-block
//         scales and mins) are chosen jointly with provisional codes by the same importance-weighted
//         search on the current, error-compensated weights; then each column's codes are assigned
//         with those parameters fixed (nearest representable value) and its error is propagated to
//         the later columns, across the super-block's sub-blocks and into the next super-blocks.
//         Finally a few rounds of coordinate descent on the codes (parameters fixed) for Σ δᵀHδ.
// The parameters stay those the search wrote into the block; only the codes are rewritten in
// place (setBlockCodes), so the bytes are valid blocks of the type by construction.
import { native } from "../native";
import { gptqInverseFactor } from "./gptq";
import { f16ToF32 } from "./fp16";

const QK_K = 256;
const KVALUES_IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** The super-block types whose codes int4 can reassign (gptq); others get mse. */
export const GPTQ_BLOCK_TYPES = ["q4_k", "q5_k", "q6_k", "iq4_xs"] as const;
export type GptqBlockType = (typeof GPTQ_BLOCK_TYPES)[number];
export function isGptqBlockType(t: string): t is GptqBlockType {
  return (GPTQ_BLOCK_TYPES as readonly string[]).includes(t);
}

interface Layout {
  ggufName: string;
  bytes: number;
  /** Weights per sub-block (one scale each). */
  sub: number;
  /** Code values: weight = a_j · cb[q] + b_j in sub-block j. */
  cb: readonly number[];
  /** cb is 0, 1, 2, ... shifted by cb[0] (nearest code by rounding). */
  linear: boolean;
}

const LAYOUTS: Record<GptqBlockType, Layout> = {
  q4_k: { ggufName: "Q4_K", bytes: 144, sub: 32, cb: Array.from({ length: 16 }, (_, i) => i), linear: true },
  q5_k: { ggufName: "Q5_K", bytes: 176, sub: 32, cb: Array.from({ length: 32 }, (_, i) => i), linear: true },
  q6_k: { ggufName: "Q6_K", bytes: 210, sub: 16, cb: Array.from({ length: 64 }, (_, i) => i - 32), linear: true },
  iq4_xs: { ggufName: "IQ4_XS", bytes: 136, sub: 32, cb: KVALUES_IQ4NL, linear: false },
};

export function blockLayout(t: GptqBlockType): Layout {
  return LAYOUTS[t];
}

const h = (b: Uint8Array, o: number) => f16ToF32(b[o] | (b[o + 1] << 8));

function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j] & 63, q[o + j + 4] & 63];
  return [(q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4), (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4)];
}

/** The per-sub-block (a, b) of one block at byte offset o: weight = a · cb[q] + b (the dequantizer's arithmetic, f32). */
export function blockParams(t: GptqBlockType, blk: Uint8Array, o: number, a: Float64Array, b: Float64Array): void {
  if (t === "q4_k" || t === "q5_k") {
    const d = h(blk, o), dmin = h(blk, o + 2);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(j, blk, o + 4);
      a[j] = Math.fround(d * sc);
      b[j] = -Math.fround(dmin * m);
    }
  } else if (t === "q6_k") {
    const d = h(blk, o + 208);
    for (let j = 0; j < 16; j++) {
      const sc = (blk[o + 192 + j] << 24) >> 24;
      a[j] = Math.fround(d * sc);
      b[j] = 0;
    }
  } else {
    const d = h(blk, o);
    const sh = blk[o + 2] | (blk[o + 3] << 8);
    for (let j = 0; j < 8; j++) {
      const ls = ((blk[o + 4 + (j >> 1)] >> (4 * (j & 1))) & 0xf) | (((sh >> (2 * j)) & 3) << 4);
      a[j] = Math.fround(d * (ls - 32));
      b[j] = 0;
    }
  }
}

/** Writes the 256 codes (indices into the layout's cb) of one block at byte offset o, leaving its parameters. */
export function setBlockCodes(t: GptqBlockType, blk: Uint8Array, o: number, q: Uint8Array): void {
  if (t === "q4_k") {
    for (let j = 0; j < 4; j++) for (let l = 0; l < 32; l++) blk[o + 16 + 32 * j + l] = q[64 * j + l] | (q[64 * j + 32 + l] << 4);
  } else if (t === "q5_k") {
    const qh = o + 16, qs = o + 48;
    for (let l = 0; l < 32; l++) blk[qh + l] = 0;
    for (let j = 0; j < 4; j++) {
      for (let l = 0; l < 32; l++) {
        const lo = q[64 * j + l], hi = q[64 * j + 32 + l];
        blk[qs + 32 * j + l] = (lo & 0xf) | ((hi & 0xf) << 4);
        blk[qh + l] |= ((lo >> 4) << (2 * j)) | ((hi >> 4) << (2 * j + 1));
      }
    }
  } else if (t === "q6_k") {
    for (let n = 0; n < 2; n++) {
      const ql = o + 64 * n, qh = o + 128 + 32 * n, y = 128 * n;
      for (let l = 0; l < 32; l++) {
        const q1 = q[y + l], q2 = q[y + l + 32], q3 = q[y + l + 64], q4 = q[y + l + 96];
        blk[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        blk[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        blk[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  } else {
    for (let j = 0; j < 8; j++) for (let l = 0; l < 16; l++) blk[o + 8 + 16 * j + l] = q[32 * j + l] | (q[32 * j + 16 + l] << 4);
  }
}


/** The integer sub-block scales (and mins) of one block and its fp16 super-scales. */
interface BlockScales { d: number; dmin: number; sc: Int32Array; m: Int32Array }

function getBlockScales(t: GptqBlockType, blk: Uint8Array, o: number, out: BlockScales): void {
  if (t === "q4_k" || t === "q5_k") {
    out.d = h(blk, o); out.dmin = h(blk, o + 2);
    for (let j = 0; j < 8; j++) [out.sc[j], out.m[j]] = scaleMinK4(j, blk, o + 4);
  } else if (t === "q6_k") {
    out.d = h(blk, o + 208); out.dmin = 0;
    for (let j = 0; j < 16; j++) { out.sc[j] = (blk[o + 192 + j] << 24) >> 24; out.m[j] = 0; }
  } else {
    out.d = h(blk, o); out.dmin = 0;
    const sh = blk[o + 2] | (blk[o + 3] << 8);
    for (let j = 0; j < 8; j++) { out.sc[j] = ((blk[o + 4 + (j >> 1)] >> (4 * (j & 1))) & 0xf) | (((sh >> (2 * j)) & 3) << 4); out.m[j] = 0; }
  }
}

/** Writes the integer sub-block scales (and mins) of one block (d, dmin unchanged). */
function setBlockScales(t: GptqBlockType, blk: Uint8Array, o: number, sc: Int32Array, m: Int32Array): void {
  if (t === "q4_k" || t === "q5_k") {
    const q = o + 4;
    for (let j = 0; j < 4; j++) { blk[q + j] = sc[j]; blk[q + j + 4] = m[j]; }
    for (let j = 4; j < 8; j++) {
      blk[q + j + 4] = (sc[j] & 0xf) | ((m[j] & 0xf) << 4);
      blk[q + j - 4] |= (sc[j] >> 4) << 6;
      blk[q + j] |= (m[j] >> 4) << 6;
    }
  } else if (t === "q6_k") {
    for (let j = 0; j < 16; j++) blk[o + 192 + j] = sc[j] & 0xff;
  } else {
    let sh = 0;
    for (let j = 0; j < 4; j++) blk[o + 4 + j] = (sc[2 * j] & 0xf) | ((sc[2 * j + 1] & 0xf) << 4);
    for (let j = 0; j < 8; j++) sh |= (sc[j] >> 4) << (2 * j);
    blk[o + 2] = sh & 0xff; blk[o + 3] = sh >> 8;
  }
}

/** The range of the integer sub-block scales. */
function scaleRange(t: GptqBlockType): [number, number] {
  return t === "q6_k" ? [-128, 127] : [0, 63];
}

/** The code of x nearest in a · cb + b. */
function nearest(L: Layout, x: number, a: number, b: number): number {
  const cb = L.cb;
  if (L.linear) {
    if (a === 0) return -cb[0];
    const q = Math.round((x - b) / a) - cb[0];
    return q < 0 ? 0 : q >= cb.length ? cb.length - 1 : q;
  }
  let best = 0, be = Infinity;
  for (let q = 0; q < cb.length; q++) {
    const e = Math.abs(a * cb[q] + b - x);
    if (e < be) { be = e; best = q; }
  }
  return best;
}

/** llama.cpp's importance weights from a Hessian diagonal: mean 1 (its search is invariant to their scale). */
export function importanceOf(diag: ArrayLike<number>, off: number, n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) s += out[i] = Math.max(0, diag[off + i]);
  const m = s > 0 ? n / s : 1;
  for (let i = 0; i < n; i++) out[i] = s > 0 ? out[i] * m + 1e-6 : 1;
  return out;
}

/** mse: llama.cpp's importance-weighted search with importance diag(H) (null: its unweighted rtn). */
export function quantizeBlocksMse(t: string, w: Float32Array, N: number, K: number, diag: ArrayLike<number> | null, out: Uint8Array): void {
  native.quantizeRowsGGML(t.toUpperCase(), w, N, K, diag ? importanceOf(diag, 0, K) : null, out);
}

export interface BlockGptqOptions {
  dampRatio?: number;
  /** Coordinate-descent rounds on the codes after gptq (default 2). */
  polishRounds?: number;
}

/**
 * gptq for a super-block type: W [N, K] (K a multiple of 256) with input Hessian H [K, K]; writes
 * N·K/256 blocks into out.
 */
export function quantizeBlocksGptq(t: GptqBlockType, w: Float32Array, N: number, K: number, H: Float64Array,
                                   out: Uint8Array, opts: BlockGptqOptions = {}): void {
  const L = LAYOUTS[t];
  if (K % QK_K !== 0) throw new RangeError(`gptq ${t}: expected a row length that is a multiple of ${QK_K}, got ${K}`);
  const nb = K / QK_K, ns = QK_K / L.sub;
  if (out.length !== N * nb * L.bytes) throw new RangeError(`gptq ${t}: expected ${N * nb * L.bytes} output bytes, got ${out.length}`);
  const { U, diag } = gptqInverseFactor(H, K, opts.dampRatio ?? 0.01);
  const W = Float64Array.from(w);
  const S = nb * ns; // sub-blocks per row
  const A = new Float64Array(N * S), B = new Float64Array(N * S);
  const codes = new Uint8Array(N * K);
  const src = new Float32Array(N * QK_K);
  const blk = new Uint8Array(N * L.bytes);
  const a = new Float64Array(ns), b = new Float64Array(ns);
  const Err = new Float64Array(N * QK_K);
  for (let s = 0; s < nb; s++) {
    const c0 = s * QK_K;
    // this super-block's parameters, from the compensated weights, by llama.cpp's weighted search
    for (let r = 0; r < N; r++) for (let i = 0; i < QK_K; i++) src[r * QK_K + i] = W[r * K + c0 + i];
    native.quantizeRowsGGML(L.ggufName, src, N, QK_K, importanceOf(diag, c0, QK_K), blk);
    for (let r = 0; r < N; r++) {
      blockParams(t, blk, r * L.bytes, a, b);
      A.set(a, r * S + s * ns);
      B.set(b, r * S + s * ns);
    }
    for (let i = c0; i < c0 + QK_K; i++) {
      const j = ((i - c0) / L.sub) | 0;
      const uii = U[i * K + i], ui = i * K;
      for (let r = 0; r < N; r++) {
        const x = W[r * K + i];
        const aj = A[r * S + s * ns + j], bj = B[r * S + s * ns + j];
        const q = nearest(L, x, aj, bj);
        codes[r * K + i] = q;
        const e = (x - (aj * L.cb[q] + bj)) / uii;
        Err[r * QK_K + (i - c0)] = e;
        if (e === 0) continue;
        const row = r * K;
        for (let c = i + 1; c < c0 + QK_K; c++) W[row + c] -= e * U[ui + c];
      }
    }
    // lazy update of the columns right of the super-block
    if (c0 + QK_K < K) {
      for (let r = 0; r < N; r++) {
        const row = r * K;
        for (let i = c0; i < c0 + QK_K; i++) {
          const e = Err[r * QK_K + (i - c0)];
          if (e === 0) continue;
          const ui = i * K;
          for (let c = c0 + QK_K; c < K; c++) W[row + c] -= e * U[ui + c];
        }
      }
    }
    for (let r = 0; r < N; r++) {
      const o = (r * nb + s) * L.bytes;
      out.set(blk.subarray(r * L.bytes, (r + 1) * L.bytes), o);
    }
  }
  polishBlocks(t, w, N, K, H, out, codes, opts.polishRounds ?? (Number(process.env.INT4_KQ_POLISH) || 4));
  const q = new Uint8Array(QK_K);
  for (let r = 0; r < N; r++) {
    for (let s = 0; s < nb; s++) {
      for (let i = 0; i < QK_K; i++) q[i] = codes[r * K + s * QK_K + i];
      setBlockCodes(t, out, (r * nb + s) * L.bytes, q);
    }
  }
}

/**
 * Coordinate descent on the codes and the integer sub-block scales (and mins), fp16 super-scales
 * fixed: each code moves to a neighbour (±1 in the codebook) and each sub-block scale / min by ±1
 * when that lowers δᵀHδ (δ = W - Ŵ of the row), in rounds until nothing moves. The scales are
 * written into `out`'s blocks; the codes into `codes`. Returns the moves made.
 */
function polishBlocks(t: GptqBlockType, w: Float32Array, N: number, K: number, H: Float64Array,
                      out: Uint8Array, codes: Uint8Array, rounds: number): number {
  if (rounds <= 0) return 0;
  const L = LAYOUTS[t], sub = L.sub, ns = QK_K / sub, nb = K / QK_K, S = nb * ns, cb = L.cb;
  const [lo, hi] = scaleRange(t);
  const hasMin = t === "q4_k" || t === "q5_k";
  const SC = new Int32Array(S), M = new Int32Array(S), D = new Float64Array(nb), DM = new Float64Array(nb);
  const bs: BlockScales = { d: 0, dmin: 0, sc: new Int32Array(ns), m: new Int32Array(ns) };
  const d = new Float64Array(K), g = new Float64Array(K), dv = new Float64Array(sub);
  const aOf = (j: number, sc: number) => t === "iq4_xs" ? Math.fround(D[(j / ns) | 0] * (sc - 32)) : Math.fround(D[(j / ns) | 0] * sc);
  const bOf = (j: number, m: number) => hasMin ? -Math.fround(DM[(j / ns) | 0] * m) : 0;
  let moves = 0;
  for (let r = 0; r < N; r++) {
    for (let s = 0; s < nb; s++) {
      getBlockScales(t, out, (r * nb + s) * L.bytes, bs);
      D[s] = bs.d; DM[s] = bs.dmin;
      SC.set(bs.sc, s * ns); M.set(bs.m, s * ns);
    }
    const val = (k: number, q: number) => {
      const j = (k / sub) | 0;
      return aOf(j, SC[j]) * cb[q] + bOf(j, M[j]);
    };
    for (let k = 0; k < K; k++) d[k] = w[r * K + k] - val(k, codes[r * K + k]);
    for (let i = 0; i < K; i++) {
      let x = 0;
      const hi_ = i * K;
      for (let j = 0; j < K; j++) x += H[hi_ + j] * d[j];
      g[i] = x;
    }
    // δ_k -= step for k in [k0, k0 + n): g -= H[:, k] step
    const apply = (k0: number, n: number, step: ArrayLike<number>) => {
      for (let k = 0; k < n; k++) {
        const st = step[k];
        if (st === 0) continue;
        d[k0 + k] -= st;
        const hk = (k0 + k) * K;
        for (let i = 0; i < K; i++) g[i] -= H[hk + i] * st;
      }
    };
    for (let round = 0; round < rounds; round++) {
      let moved = 0;
      // codes
      for (let k = 0; k < K; k++) {
        const q0 = codes[r * K + k], v0 = val(k, q0), hkk = H[k * K + k];
        let bestQ = q0, bestGain = 0;
        for (const q of [q0 - 1, q0 + 1]) {
          if (q < 0 || q >= cb.length) continue;
          const st = val(k, q) - v0; // δ_k -= st
          const delta = -2 * st * g[k] + st * st * hkk;
          if (delta < bestGain) { bestGain = delta; bestQ = q; }
        }
        if (bestQ !== q0) {
          codes[r * K + k] = bestQ;
          apply(k, 1, [val(k, bestQ) - v0]);
          moved++;
        }
      }
      // sub-block scales and mins
      for (let j = 0; j < S; j++) {
        const k0 = j * sub;
        for (const which of hasMin ? [0, 1] : [0]) {
          let best = 0, bestGain = 0;
          for (const step of [-1, 1]) {
            const cur = which === 0 ? SC[j] : M[j], nxt = cur + step;
            if (nxt < (which === 0 ? lo : 0) || nxt > (which === 0 ? hi : 63)) continue;
            if (which === 0) { const da = aOf(j, nxt) - aOf(j, SC[j]); for (let k = 0; k < sub; k++) dv[k] = da * cb[codes[r * K + k0 + k]]; }
            else { const db = bOf(j, nxt) - bOf(j, M[j]); dv.fill(db); }
            let lin = 0, quad = 0;
            for (let k = 0; k < sub; k++) {
              if (dv[k] === 0) continue;
              lin += dv[k] * g[k0 + k];
              const hk = (k0 + k) * K + k0;
              let x = 0;
              for (let l = 0; l < sub; l++) x += H[hk + l] * dv[l];
              quad += dv[k] * x;
            }
            const delta = -2 * lin + quad;
            if (delta < bestGain) { bestGain = delta; best = step; }
          }
          if (best !== 0) {
            if (which === 0) { const da = aOf(j, SC[j] + best) - aOf(j, SC[j]); for (let k = 0; k < sub; k++) dv[k] = da * cb[codes[r * K + k0 + k]]; SC[j] += best; }
            else { const db = bOf(j, M[j] + best) - bOf(j, M[j]); dv.fill(db); M[j] += best; }
            apply(k0, sub, dv);
            moved++;
          }
        }
      }
      moves += moved;
      if (moved === 0) break;
    }
    for (let s = 0; s < nb; s++) setBlockScales(t, out, (r * nb + s) * L.bytes, SC.subarray(s * ns, (s + 1) * ns), M.subarray(s * ns, (s + 1) * ns));
  }
  return moves;
}

/**
 * A Hessian for token_embd's columns, which have no input statistics (a lookup table): an error δ
 * in an embedding row stays in the residual stream, where each RMSNorm (gains g) feeds it to the
 * matrices after it, so their output error is W (g ⊙ δ) / rms. Σ over the consumers given of
 * diag(g) WᵀW diag(g), normalized to mean diagonal 1 (rms taken as equal for every norm).
 */
export function embeddingHessian(consumers: { gain: Float32Array; w: Float32Array; N: number }[], K: number): Float64Array {
  const H = new Float64Array(K * K);
  for (const { gain, w, N } of consumers) {
    const G = new Float64Array(K * K);
    for (let n = 0; n < N; n++) {
      const row = n * K;
      for (let i = 0; i < K; i++) {
        const wi = w[row + i];
        if (wi === 0) continue;
        const gi = i * K;
        for (let j = i; j < K; j++) G[gi + j] += wi * w[row + j];
      }
    }
    let tr = 0;
    for (let i = 0; i < K; i++) tr += G[i * K + i] * gain[i] * gain[i];
    const c = tr > 0 ? K / tr : 0; // each consumer weighs the same
    for (let i = 0; i < K; i++) for (let j = i; j < K; j++) H[i * K + j] += G[i * K + j] * gain[i] * gain[j] * c;
  }
  for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) H[i * K + j] = H[j * K + i];
  return H;
}
