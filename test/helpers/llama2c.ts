// A plain float64 Transformer forward pass over llama2.c's checkpoint format (run.c's arithmetic), for the
// quantization-method tests: it exposes the input of every linear layer (the calibration
// activations) and runs with any replacement weights. Test-only: the package's own model code
// (src/model/) is what users run; at merge the tests can switch to it.
import * as fs from "node:fs";

export interface Layer {
  rmsAtt: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array;
  rmsFfn: Float32Array; w1: Float32Array; w2: Float32Array; w3: Float32Array;
}

export interface Llama2c {
  dim: number; hidden: number; nLayers: number; nHeads: number; nKv: number; vocab: number; seqLen: number;
  tok: Float32Array;
  layers: Layer[];
  rmsFinal: Float32Array;
  wcls: Float32Array;
}

export const MATRICES = ["wq", "wk", "wv", "wo", "w1", "w2", "w3"] as const;
export type MatrixName = (typeof MATRICES)[number];

/** [N, K] of a layer matrix (W (N,K) @ x (K,) -> (N,)). */
export function matrixDims(m: Llama2c, name: MatrixName): [number, number] {
  const kvDim = (m.dim / m.nHeads) * m.nKv;
  switch (name) {
    case "wq": case "wo": return [m.dim, m.dim];
    case "wk": case "wv": return [kvDim, m.dim];
    case "w1": case "w3": return [m.hidden, m.dim];
    case "w2": return [m.dim, m.hidden];
  }
}

export function loadLlama2c(file: string): Llama2c {
  const buf = fs.readFileSync(file);
  const h = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 28));
  const [dim, hidden, nLayers, nHeads, nKv, vocabSigned, seqLen] = Array.from(h);
  const vocab = Math.abs(vocabSigned);
  const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 28, buf.byteOffset + buf.length - ((buf.length - 28) % 4)));
  let p = 0;
  const take = (n: number) => { const v = f.subarray(p, p + n); p += n; return v; };
  const hs = dim / nHeads;
  const kvDim = hs * nKv;
  const tok = take(vocab * dim);
  const rmsAtt = take(nLayers * dim), wq = take(nLayers * dim * dim), wk = take(nLayers * dim * kvDim), wv = take(nLayers * dim * kvDim);
  const wo = take(nLayers * dim * dim), rmsFfn = take(nLayers * dim), w1 = take(nLayers * dim * hidden), w2 = take(nLayers * hidden * dim);
  const w3 = take(nLayers * dim * hidden), rmsFinal = take(dim);
  take(seqLen * hs); // freq_cis_real, freq_cis_imag (unused)
  const wcls = vocabSigned > 0 ? tok : take(vocab * dim);
  const layers: Layer[] = [];
  for (let l = 0; l < nLayers; l++) {
    const s = (a: Float32Array, n: number) => a.slice(l * n, (l + 1) * n);
    layers.push({
      rmsAtt: s(rmsAtt, dim), wq: s(wq, dim * dim), wk: s(wk, dim * kvDim), wv: s(wv, dim * kvDim), wo: s(wo, dim * dim),
      rmsFfn: s(rmsFfn, dim), w1: s(w1, dim * hidden), w2: s(w2, hidden * dim), w3: s(w3, dim * hidden),
    });
  }
  return { dim, hidden, nLayers, nHeads, nKv, vocab, seqLen, tok: tok.slice(), layers, rmsFinal: rmsFinal.slice(), wcls: wcls.slice() };
}

/** Where a linear layer's input is observed: attn (wq, wk, wv), wo, ffn (w1, w3), w2, final (wcls). */
export type Site = "attn" | "wo" | "ffn" | "w2" | "final";
export type Hook = (site: Site, layer: number, x: Float64Array) => void;

function matvec(out: Float64Array, w: Float32Array, x: Float64Array, N: number, K: number) {
  for (let n = 0; n < N; n++) {
    let s = 0;
    const r = n * K;
    for (let k = 0; k < K; k++) s += w[r + k] * x[k];
    out[n] = s;
  }
}

function rmsnorm(out: Float64Array, x: Float64Array, g: Float32Array) {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const inv = 1 / Math.sqrt(ss / x.length + 1e-5);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * inv * g[i];
}

/** A decoder with a KV cache for up to maxT positions: step(token) -> next-token logits (a reused array). */
export function runner(m: Llama2c, maxT: number, hook?: Hook): (token: number) => Float64Array {
  const { dim, hidden, nHeads, nKv, vocab } = m;
  const hs = dim / nHeads;
  const kvDim = hs * nKv;
  const kvMul = nHeads / nKv;
  const kc = m.layers.map(() => new Float64Array(maxT * kvDim));
  const vc = m.layers.map(() => new Float64Array(maxT * kvDim));
  const x = new Float64Array(dim), xb = new Float64Array(dim), xb2 = new Float64Array(dim);
  const q = new Float64Array(dim), k = new Float64Array(kvDim), v = new Float64Array(kvDim);
  const hb = new Float64Array(hidden), hb2 = new Float64Array(hidden), att = new Float64Array(maxT);
  const out = new Float64Array(vocab);
  let pos = 0;
  return (token: number) => {
    if (pos >= maxT) throw new Error("runner: context full");
    for (let i = 0; i < dim; i++) x[i] = m.tok[token * dim + i];
    m.layers.forEach((L, l) => {
      rmsnorm(xb, x, L.rmsAtt);
      hook?.("attn", l, xb);
      matvec(q, L.wq, xb, dim, dim);
      matvec(k, L.wk, xb, kvDim, dim);
      matvec(v, L.wv, xb, kvDim, dim);
      for (let i = 0; i < dim; i += 2) {
        const freq = 1 / Math.pow(10000, (i % hs) / hs);
        const fcr = Math.cos(pos * freq), fci = Math.sin(pos * freq);
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      kc[l].set(k, pos * kvDim);
      vc[l].set(v, pos * kvDim);
      for (let h = 0; h < nHeads; h++) {
        const kvOff = Math.floor(h / kvMul) * hs;
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i] * kc[l][t * kvDim + kvOff + i];
          att[t] = s / Math.sqrt(hs);
          max = Math.max(max, att[t]);
        }
        let sum = 0;
        for (let t = 0; t <= pos; t++) { att[t] = Math.exp(att[t] - max); sum += att[t]; }
        for (let i = 0; i < hs; i++) {
          let s = 0;
          for (let t = 0; t <= pos; t++) s += (att[t] / sum) * vc[l][t * kvDim + kvOff + i];
          xb[h * hs + i] = s;
        }
      }
      hook?.("wo", l, xb);
      matvec(xb2, L.wo, xb, dim, dim);
      for (let i = 0; i < dim; i++) x[i] += xb2[i];
      rmsnorm(xb, x, L.rmsFfn);
      hook?.("ffn", l, xb);
      matvec(hb, L.w1, xb, hidden, dim);
      matvec(hb2, L.w3, xb, hidden, dim);
      for (let i = 0; i < hidden; i++) hb[i] = (hb[i] / (1 + Math.exp(-hb[i]))) * hb2[i];
      hook?.("w2", l, hb);
      matvec(xb, L.w2, hb, dim, hidden);
      for (let i = 0; i < dim; i++) x[i] += xb[i];
    });
    rmsnorm(xb, x, m.rmsFinal);
    hook?.("final", -1, xb);
    matvec(out, m.wcls, xb, vocab, dim);
    pos++;
    return out;
  };
}

/** Logits [T, vocab] for a token sequence (position t predicts token t+1), calling hook with each linear input. */
export function forward(m: Llama2c, tokens: readonly number[], hook?: Hook): Float64Array {
  const step = runner(m, tokens.length, hook);
  const logits = new Float64Array(tokens.length * m.vocab);
  tokens.forEach((t, i) => logits.set(step(t), i * m.vocab));
  return logits;
}

/** Samples `count` sequences of `len` tokens from the model (BOS = 1 first, temperature 1, seeded). */
export function sample(m: Llama2c, count: number, len: number, rand: () => number): number[][] {
  const seqs: number[][] = [];
  for (let s = 0; s < count; s++) {
    const toks = [1];
    const step = runner(m, len);
    while (toks.length < len) {
      const lg = step(toks[toks.length - 1]);
      let max = -Infinity;
      for (const v of lg) max = Math.max(max, v);
      let sum = 0;
      const p = Array.from(lg, (v) => { const e = Math.exp(v - max); sum += e; return e; });
      let u = rand() * sum;
      let next = 0;
      while (next < p.length - 1 && (u -= p[next]) > 0) next++;
      toks.push(next);
    }
    seqs.push(toks);
  }
  return seqs;
}

/** Mean KL(P_base || P_q) and top-1 agreement over the positions from `from` on. */
export function klStats(base: Float64Array, quant: Float64Array, vocab: number, from = 0): { kl: number; top1: number; n: number } {
  const T = base.length / vocab;
  let kl = 0, agree = 0, n = 0;
  for (let t = from; t < T; t++) {
    const a = base.subarray(t * vocab, (t + 1) * vocab), b = quant.subarray(t * vocab, (t + 1) * vocab);
    const lse = (v: Float64Array) => { let m = -Infinity; for (const x of v) m = Math.max(m, x); let s = 0; for (const x of v) s += Math.exp(x - m); return m + Math.log(s); };
    const la = lse(a), lb = lse(b);
    let s = 0, ia = 0, ib = 0;
    for (let i = 0; i < vocab; i++) {
      const pa = a[i] - la;
      s += Math.exp(pa) * (pa - (b[i] - lb));
      if (a[i] > a[ia]) ia = i;
      if (b[i] > b[ib]) ib = i;
    }
    kl += s; agree += ia === ib ? 1 : 0; n++;
  }
  return { kl: kl / n, top1: agree / n, n };
}
