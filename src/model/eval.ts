// Quantization error of a model, measured as llama.cpp's perplexity tool does: the token stream
// is cut into contexts of `ctx` tokens, each starts with BOS, and the second half of each context
// is scored. Both models (full precision and quantized) see the same tokens; per scored position:
// the negative log-likelihood of the actual next token (-> perplexity), the KL divergence of the
// quantized next-token distribution from the full-precision one, and whether their top-1 agree.
import type { Transformer } from "./transformer";
import { Sampler } from "../sampler";

export interface EvalResult {
  ctx: number;
  chunks: number;
  scoredTokens: number;
  pplRef: number;
  pplQuant: number;
  klMean: number;
  klP99: number;
  klMax: number;
  top1Agreement: number;
  // uncertainty and more statistics (what `int4 eval base` prints)
  /** Standard error of klMean (sample standard deviation / sqrt(n)). */
  klStdErr: number;
  klMedian: number;
  /** RMS over scored positions of p_quant(correct token) - p_ref(correct token). */
  dpRms: number;
  /** Standard errors of the perplexities (PPL · SE of the mean negative log-likelihood, as llama.cpp). */
  pplRefErr: number;
  pplQuantErr: number;
  /** PPL(quant) / PPL(ref) and its standard error (from the per-token differences of the log-likelihoods). */
  pplRatio: number;
  pplRatioErr: number;
}

/** log-softmax of logits[off .. off+n) into out (f64). */
function logSoftmax(logits: Float32Array, off: number, n: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[off + i] > max) max = logits[off + i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = logits[off + i] - lse;
}

export function evaluate(ref: Transformer, quant: Transformer, tokens: ArrayLike<number>, ctx: number, bos: number): EvalResult {
  const V = ref.config.vocab;
  const chunks = Math.floor(tokens.length / ctx);
  if (chunks < 1) throw new RangeError(`eval: expected at least ${ctx} tokens (one context), got ${tokens.length}`);
  if (ctx < 4) throw new RangeError(`eval ctx: expected at least 4, got ${ctx}`);
  const lr = new Float64Array(V), lq = new Float64Array(V);
  const kls: number[] = [];
  let nllRef = 0, nllQ = 0, agree = 0;
  const nr: number[] = [], nq: number[] = [], dp: number[] = [];
  const first = ctx >> 1;
  for (let c = 0; c < chunks; c++) {
    const chunk = Array.from({ length: ctx }, (_, i) => tokens[c * ctx + i]);
    chunk[0] = bos;
    const a = ref.forwardAll(chunk, 0);
    const b = quant.forwardAll(chunk, 0);
    for (let j = first; j < ctx - 1; j++) {
      logSoftmax(a, j * V, V, lr);
      logSoftmax(b, j * V, V, lq);
      const next = chunk[j + 1];
      nllRef -= lr[next];
      nllQ -= lq[next];
      nr.push(-lr[next]); nq.push(-lq[next]); dp.push(Math.exp(lq[next]) - Math.exp(lr[next]));
      let kl = 0, ar = 0, aq = 0;
      for (let i = 0; i < V; i++) {
        const p = Math.exp(lr[i]);
        if (p > 0) kl += p * (lr[i] - lq[i]);
        if (lr[i] > lr[ar]) ar = i;
        if (lq[i] > lq[aq]) aq = i;
      }
      kls.push(Math.max(0, kl));
      if (ar === aq) agree++;
    }
  }
  const n = kls.length;
  const sorted = Float64Array.from(kls).sort();
  const se = (a: number[]) => {
    const m = a.reduce((x, y) => x + y, 0) / a.length;
    const v = a.reduce((x, y) => x + (y - m) * (y - m), 0) / Math.max(1, a.length - 1);
    return Math.sqrt(v / a.length);
  };
  const pplRef = Math.exp(nllRef / n), pplQuant = Math.exp(nllQ / n);
  const extra = {
    klStdErr: se(kls), klMedian: n % 2 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    dpRms: Math.sqrt(dp.reduce((x, y) => x + y * y, 0) / n),
    pplRefErr: pplRef * se(nr), pplQuantErr: pplQuant * se(nq),
    pplRatio: pplQuant / pplRef, pplRatioErr: (pplQuant / pplRef) * se(nq.map((x, i) => x - nr[i])),
  };
  return {
    ...extra,
    ctx, chunks, scoredTokens: n,
    pplRef: Math.exp(nllRef / n), pplQuant: Math.exp(nllQ / n),
    klMean: kls.reduce((s, x) => s + x, 0) / n,
    klP99: sorted[Math.min(n - 1, Math.ceil(0.99 * n) - 1)],
    klMax: sorted[n - 1],
    top1Agreement: agree / n,
  };
}

/** Text the model writes itself (fixed seed): `count` tokens, BOS first; an EOS becomes BOS (a new story). */
export function selfSample(model: Transformer, count: number, bos: number, eos: number, seed: number, temperature = 0.8): number[] {
  const sampler = new Sampler(model.config.vocab, { temperature, seed, topK: 0, topP: 1, minP: 0 });
  const out = [bos];
  const one = new Int32Array(1);
  let pos = 0;
  while (out.length < count) {
    if (pos >= model.ctx) pos = 0; // context full: start over (the cache is simply overwritten)
    one[0] = out[out.length - 1];
    if (pos === 0) one[0] = bos;
    let tok = sampler.sample(model.forward(one, pos++));
    if (tok === eos) {
      tok = bos;
      pos = 0;
    }
    out.push(tok);
  }
  return out;
}
