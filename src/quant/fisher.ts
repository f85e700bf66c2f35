// Output-aware calibration: how much each output channel of each linear layer matters to the
// model's next-token distribution. A float64 forward and backward pass of the Llama over one
// context, with the loss Σ_t -log p(y_t) for labels y_t sampled from the model itself (so the
// squared gradients estimate the Fisher information, the Hessian of the KL divergence from the
// model, without a reference text's labels). For every linear layer W (N, K) it yields its inputs
// x_t (M, K) and the gradient of the loss at its outputs g_t (M, N); calibrate.ts turns them into
// per-row Hessians H_n = Σ_t g_tn² x_t x_tᵀ: row n's error δ_n costs about Σ_t g_tn² (δ_n·x_t)²
// of KL divergence, where the plain layer Hessian XᵀX counts every output channel alike.
//
// The same computation as src/model/llama.ts (RMSNorm, interleaved or NeoX RoPE, causal GQA
// attention, SwiGLU, residuals), written plainly in float64: it runs once per calibration context.
import type { LlamaConfig } from "../model/config";
import type { Linear, ModelWeights } from "../model/weights";

/** Called once per linear layer and context: x (M, K) its inputs, g (M, N) the loss gradient at its outputs. */
export type FisherSink = (l: Linear, x: Float64Array, g: Float64Array, M: number) => void;

/** Row-major f32 values of a Linear (dequantized when 4-bit). */
export function linearValues(l: Linear): Float32Array {
  return l.kind === "f32" ? l.w : l.q.dequantize().data;
}

/** y (M, N) = x (M, K) @ Wᵀ, W (N, K). */
function mm(x: Float64Array, M: number, K: number, w: Float32Array, N: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const xo = m * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += x[xo + k] * w[wo + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

/** dx (M, K) = dy (M, N) @ W, W (N, K); added into `into` when given. */
function mmT(dy: Float64Array, M: number, N: number, w: Float32Array, K: number, into?: Float64Array): Float64Array {
  const dx = into ?? new Float64Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = dy[m * N + n];
      if (g === 0) continue;
      const wo = n * K, xo = m * K;
      for (let k = 0; k < K; k++) dx[xo + k] += g * w[wo + k];
    }
  }
  return dx;
}

/** RMSNorm y = w ⊙ x·r, r = 1/sqrt(mean(x²) + eps), per row; returns y and r. */
function rmsnorm(x: Float64Array, M: number, n: number, w: Float32Array, eps: number): { y: Float64Array; r: Float64Array } {
  const y = new Float64Array(M * n), r = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[m * n + j] ** 2;
    const rm = 1 / Math.sqrt(ss / n + eps);
    r[m] = rm;
    for (let j = 0; j < n; j++) y[m * n + j] = w[j] * x[m * n + j] * rm;
  }
  return { y, r };
}

/** Adds the gradient at x of the RMSNorm into dx: r·(w⊙dy) - r³/n · x · Σ_j w_j dy_j x_j. */
function rmsnormBack(x: Float64Array, r: Float64Array, M: number, n: number, w: Float32Array, dy: Float64Array, dx: Float64Array): void {
  for (let m = 0; m < M; m++) {
    let dot = 0;
    for (let j = 0; j < n; j++) dot += w[j] * dy[m * n + j] * x[m * n + j];
    const rm = r[m], c = (rm * rm * rm * dot) / n;
    for (let j = 0; j < n; j++) dx[m * n + j] += rm * w[j] * dy[m * n + j] - c * x[m * n + j];
  }
}

/** cos, sin per (position, pair) as the native rope_f32 computes them. */
function ropeTable(c: LlamaConfig, M: number): Float64Array {
  const t = new Float64Array(M * c.nRot);
  for (let p = 0; p < M; p++) {
    for (let i = 0; i < c.nRot; i += 2) {
      const v = p / Math.pow(c.ropeBase, i / c.nRot);
      t[p * c.nRot + i] = Math.fround(Math.cos(v));
      t[p * c.nRot + i + 1] = Math.fround(Math.sin(v));
    }
  }
  return t;
}

/** Rotates (sign +1) or rotates back (sign -1, the transpose: the backward of the rotation) in place. */
function rope(x: Float64Array, M: number, heads: number, c: LlamaConfig, table: Float64Array, sign: 1 | -1): void {
  const hd = c.headDim;
  for (let m = 0; m < M; m++) {
    for (let h = 0; h < heads; h++) {
      const o = (m * heads + h) * hd;
      for (let i = 0; i < c.nRot; i += 2) {
        const a = o + (c.ropeMode === 2 ? i / 2 : i);
        const b = o + (c.ropeMode === 2 ? i / 2 + c.nRot / 2 : i + 1);
        const co = table[m * c.nRot + i], si = sign * table[m * c.nRot + i + 1];
        const v0 = x[a], v1 = x[b];
        x[a] = v0 * co - v1 * si;
        x[b] = v0 * si + v1 * co;
      }
    }
  }
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** A small deterministic generator (mulberry32) for the sampled labels. */
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

/** The values the forward pass keeps for the backward pass, per layer. */
interface LayerCache {
  x: Float64Array; r1: Float64Array; xn1: Float64Array;
  q: Float64Array; k: Float64Array; v: Float64Array; // q, k after RoPE
  P: Float64Array; // (nHeads, M, M) attention probabilities
  att: Float64Array; x1: Float64Array; r2: Float64Array; xn2: Float64Array;
  g: Float64Array; u: Float64Array; h: Float64Array;
}

/** f32 values of every matrix of `w`, once per model (dequantized where 4-bit). */
export interface DenseWeights {
  embed: Float32Array;
  layers: { wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array; gate: Float32Array; up: Float32Array; down: Float32Array }[];
  output: Float32Array;
}

export function denseWeights(w: ModelWeights): DenseWeights {
  return {
    embed: linearValues(w.embed),
    layers: w.layers.map((L) => ({
      wq: linearValues(L.wq), wk: linearValues(L.wk), wv: linearValues(L.wv), wo: linearValues(L.wo),
      gate: linearValues(L.gate), up: linearValues(L.up), down: linearValues(L.down),
    })),
    output: linearValues(w.output),
  };
}

/**
 * Forward pass over `tokens` (one context from position 0) and, for each of `samples` label
 * draws, the backward pass of Σ_t -log p(y_t), y_t ~ p(· | tokens[..t]); `sink` receives every
 * linear layer's inputs and output gradients per draw. Returns the logits (M, vocab) of the forward pass.
 */
export function fisherPass(c: LlamaConfig, w: ModelWeights, dw: DenseWeights, tokens: ArrayLike<number>, samples: number,
                           random: () => number, sink: FisherSink): Float64Array {
  const M = tokens.length, D = c.dim, hd = c.headDim, H = c.nHeads, KV = c.nKvHeads, F = c.hidden, V = c.vocab;
  const qd = H * hd, kvd = KV * hd, group = H / KV, scale = 1 / Math.sqrt(hd);
  const table = ropeTable(c, M);
  let x: Float64Array = new Float64Array(M * D);
  for (let m = 0; m < M; m++) for (let j = 0; j < D; j++) x[m * D + j] = dw.embed[tokens[m] * D + j];
  const caches: LayerCache[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l], Wl = dw.layers[l];
    const { y: xn1, r: r1 } = rmsnorm(x, M, D, L.attnNorm, c.eps);
    const q = mm(xn1, M, D, Wl.wq, qd), k = mm(xn1, M, D, Wl.wk, kvd), v = mm(xn1, M, D, Wl.wv, kvd);
    rope(q, M, H, c, table, 1);
    rope(k, M, KV, c, table, 1);
    const P = new Float64Array(H * M * M);
    const att = new Float64Array(M * qd);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < M; i++) {
        const po = (h * M + i) * M;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[i * qd + h * hd + d] * k[j * kvd + g * hd + d];
          P[po + j] = s * scale;
          if (P[po + j] > max) max = P[po + j];
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += P[po + j] = Math.exp(P[po + j] - max);
        for (let j = 0; j <= i; j++) {
          const p = (P[po + j] /= sum);
          for (let d = 0; d < hd; d++) att[i * qd + h * hd + d] += p * v[j * kvd + g * hd + d];
        }
      }
    }
    const x1 = mm(att, M, qd, Wl.wo, D);
    for (let i = 0; i < M * D; i++) x1[i] += x[i];
    const { y: xn2, r: r2 } = rmsnorm(x1, M, D, L.ffnNorm, c.eps);
    const g = mm(xn2, M, D, Wl.gate, F), u = mm(xn2, M, D, Wl.up, F);
    const h = new Float64Array(M * F);
    for (let i = 0; i < M * F; i++) h[i] = g[i] * sigmoid(g[i]) * u[i];
    const x2 = mm(h, M, F, Wl.down, D);
    for (let i = 0; i < M * D; i++) x2[i] += x1[i];
    caches.push({ x, r1, xn1, q, k, v, P, att, x1, r2, xn2, g, u, h });
    x = x2;
  }
  const { y: xn, r: rf } = rmsnorm(x, M, D, w.outputNorm, c.eps);
  const logits = mm(xn, M, D, dw.output, V);
  const prob = new Float64Array(M * V);
  for (let m = 0; m < M; m++) {
    let max = -Infinity, sum = 0;
    for (let n = 0; n < V; n++) max = Math.max(max, logits[m * V + n]);
    for (let n = 0; n < V; n++) sum += prob[m * V + n] = Math.exp(logits[m * V + n] - max);
    for (let n = 0; n < V; n++) prob[m * V + n] /= sum;
  }

  for (let s = 0; s < samples; s++) {
    // dlogits = p - onehot(y), y drawn from p
    const dz = prob.slice();
    for (let m = 0; m < M; m++) {
      let u = random(), y = V - 1;
      for (let n = 0; n < V; n++) {
        u -= prob[m * V + n];
        if (u < 0) { y = n; break; }
      }
      dz[m * V + y] -= 1;
    }
    sink(w.output, xn, dz, M);
    const dxn = mmT(dz, M, V, dw.output, D);
    let dx: Float64Array = new Float64Array(M * D);
    rmsnormBack(x, rf, M, D, w.outputNorm, dxn, dx);
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const L = w.layers[l], Wl = dw.layers[l], C = caches[l];
      // feed-forward block
      sink(L.down, C.h, dx, M);
      const dh = mmT(dx, M, D, Wl.down, F);
      const dg = new Float64Array(M * F), du = new Float64Array(M * F);
      for (let i = 0; i < M * F; i++) {
        const sg = sigmoid(C.g[i]);
        du[i] = dh[i] * C.g[i] * sg;
        dg[i] = dh[i] * C.u[i] * sg * (1 + C.g[i] * (1 - sg));
      }
      sink(L.gate, C.xn2, dg, M);
      sink(L.up, C.xn2, du, M);
      const dxn2 = mmT(dg, M, F, Wl.gate, D);
      mmT(du, M, F, Wl.up, D, dxn2);
      const dx1 = dx.slice();
      rmsnormBack(C.x1, C.r2, M, D, L.ffnNorm, dxn2, dx1);
      // attention block
      sink(L.wo, C.att, dx1, M);
      const datt = mmT(dx1, M, D, Wl.wo, qd);
      const dq = new Float64Array(M * qd), dk = new Float64Array(M * kvd), dv = new Float64Array(M * kvd);
      const dP = new Float64Array(M);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / group);
        for (let i = 0; i < M; i++) {
          const po = (h * M + i) * M;
          let dot = 0;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let d = 0; d < hd; d++) {
              s += datt[i * qd + h * hd + d] * C.v[j * kvd + g * hd + d];
              dv[j * kvd + g * hd + d] += C.P[po + j] * datt[i * qd + h * hd + d];
            }
            dP[j] = s;
            dot += C.P[po + j] * s;
          }
          for (let j = 0; j <= i; j++) {
            const dS = C.P[po + j] * (dP[j] - dot) * scale;
            if (dS === 0) continue;
            for (let d = 0; d < hd; d++) {
              dq[i * qd + h * hd + d] += dS * C.k[j * kvd + g * hd + d];
              dk[j * kvd + g * hd + d] += dS * C.q[i * qd + h * hd + d];
            }
          }
        }
      }
      rope(dq, M, H, c, table, -1);
      rope(dk, M, KV, c, table, -1);
      sink(L.wq, C.xn1, dq, M);
      sink(L.wk, C.xn1, dk, M);
      sink(L.wv, C.xn1, dv, M);
      const dxn1 = mmT(dq, M, qd, Wl.wq, D);
      mmT(dk, M, kvd, Wl.wk, D, dxn1);
      mmT(dv, M, kvd, Wl.wv, D, dxn1);
      rmsnormBack(C.x, C.r1, M, D, L.attnNorm, dxn1, dx1);
      dx = dx1;
    }
  }
  return logits;
}
