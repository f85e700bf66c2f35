// The forward pass (Transformer), llama2.c-style, of the graph the architectures of ./arch describe:
// embedding -> per layer (RMSNorm, Q/K/V, RoPE, KV cache, causal GQA attention, output projection,
// residual; RMSNorm, gated MLP, residual) -> final RMSNorm -> logits. Where an architecture's layer
// differs from llama's it says so in its declaration (ModelConfig's optional fields, the optional
// fields of LayerWeights), and the one pass below reads those: biases on Q, K, V (qwen2), per-head
// Q/K norms (qwen3, gemma3), post-norms (gemma), GELU gate, soft-capping, sliding windows, RoPE
// frequency factors and per-layer RoPE bases. A batch of M tokens runs as one pass (M = prompt
// length: the GEMM path; M = 1 while generating). A batch may also hold several sequences
// (forwardBatch, continuous batching in ./batch.ts): its rows are split in segments, each a run of
// consecutive positions of one sequence with its own KV cache; the linears run on all M rows at once
// (the weights are read once for all), RoPE, the KV store and attention per segment. Every linear layer runs on the native INT4 matmul: the public matmul, or
// for Q, K, V and gate, up (linears of one input) the binding's matmulShared, one pass of the
// thread pool per group; the native f32 sgemm with quant "f32". The other operators are native
// (cpp/ops). Buffers for M = 1 are allocated once, so a generated token allocates nothing in
// JavaScript.
import { BLOCK_TYPES } from "../blockTypes";
import { matmul, type MatmulOptions } from "../matmul";
import type { NativeQMatrix } from "../native";
import { Tensor } from "../tensor";
import type { ModelConfig } from "./config";
import { ops } from "./nativeOps";
import type { Linear, ModelWeights } from "./weights";

/** What differs between layers: the sliding window (0: none) and the RoPE base and scale. */
interface LayerPlan {
  window: number;
  ropeBase: number;
  ropeFreqScale: number;
}

function layerPlans(c: ModelConfig): LayerPlan[] {
  return Array.from({ length: c.nLayers }, (_, l) => {
    const swa = (c.window ?? 0) > 0 && (c.swaLayers?.[l] ?? true);
    return {
      window: swa ? c.window! : 0,
      ropeBase: swa ? c.ropeBaseSwa ?? c.ropeBase : c.ropeBase,
      ropeFreqScale: swa ? c.ropeFreqScaleSwa ?? c.ropeFreqScale ?? 1 : c.ropeFreqScale ?? 1,
    };
  });
}

/**
 * The RoPE frequency factors (nRot/2) a context of `ctx` positions gets, or null: llama.cpp's
 * choice (llama_model::get_rope_factors): rope_freqs (Llama 3) when the model has them, else
 * Phi-3's LongRoPE rope_factors_long when the context exceeds the original one
 * (`rope.scaling.original_context_length`, else the training context), else rope_factors_short.
 * llama.cpp compares its n_ctx_seq, the context rounded up to a multiple of 256: the same choice
 * whenever the original context is a multiple of 256, as every Phi-3's 4096 is.
 */
export function ropeFactorsFor(config: ModelConfig, weights: Pick<ModelWeights, "ropeFreqs" | "ropeFactorsLong" | "ropeFactorsShort">, ctx: number): Float32Array | null {
  if (weights.ropeFreqs) return weights.ropeFreqs;
  const long = ctx > (config.ropeOrigCtx ?? config.ctx);
  return (long ? weights.ropeFactorsLong : weights.ropeFactorsShort) ?? null;
}

/** Activation buffers for a batch of M tokens, with Tensor views and matmul options made once. */
class Scratch {
  readonly x: Tensor;   // (M, dim) residual stream
  readonly xb: Tensor;  // (M, dim) normed input
  readonly xb2: Tensor; // (M, dim) branch output
  readonly q: Tensor;   // (M, nHeads*hd)
  readonly k: Tensor;   // (M, nKv*hd)
  readonly v: Tensor;   // (M, nKv*hd)
  readonly att: Tensor; // (M, nHeads*hd) attention output
  readonly hb: Tensor;  // (M, hidden) gate
  readonly hb2: Tensor; // (M, hidden) up
  readonly opts = new Map<Tensor, MatmulOptions>();
  // the outputs of Q, K, V and of gate, up as lists (one shared matmul each), made once
  readonly qkv: Tensor[];
  readonly qkvOut: Float32Array[];
  readonly gateUp: Tensor[];
  readonly gateUpOut: Float32Array[];

  constructor(readonly M: number, c: ModelConfig, threads: number) {
    const t = (n: number) => new Tensor(new Float32Array(M * n), [M, n]);
    const qd = c.nHeads * c.headDim, kvd = c.nKvHeads * c.headDim;
    this.x = t(c.dim); this.xb = t(c.dim); this.xb2 = t(c.dim);
    this.q = t(qd); this.k = t(kvd); this.v = t(kvd); this.att = t(qd);
    this.hb = t(c.hidden); this.hb2 = t(c.hidden);
    for (const out of [this.xb2, this.q, this.k, this.v, this.hb, this.hb2]) this.opts.set(out, { out, threads });
    this.qkv = [this.q, this.k, this.v];
    this.qkvOut = this.qkv.map((t) => t.data);
    this.gateUp = [this.hb, this.hb2];
    this.gateUpOut = this.gateUp.map((t) => t.data);
  }
}

/**
 * Linears that multiply the same input. When all are INT4, `mats` holds their native matrices and
 * one matmulShared runs them: x is quantized once and their rows share one pass of the thread
 * pool (a token saves a start and an end per group; each output is what matmul alone gives).
 */
interface LinearGroup {
  ls: Linear[];
  mats: NativeQMatrix[] | null;
}

function linearGroup(ls: Linear[]): LinearGroup {
  const mats: NativeQMatrix[] = [];
  for (const l of ls) {
    if (l.kind !== "q4") return { ls, mats: null };
    mats.push(l.q.nativeMatrix());
  }
  return { ls, mats };
}

/**
 * One sequence's keys and values. keys (nLayers, nKv, ctx/16, hd, 16), in blocks of 16 positions
 * (cpp/ops/ops.h); values (nLayers, nKv, ctx, hd). ctx is rounded up to a multiple of 16.
 */
export class KVCache {
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly ctx: number;
  constructor(config: ModelConfig, ctx: number) {
    // the native cache keeps keys in blocks of 16 positions: room for a whole block
    this.ctx = Math.ceil(ctx / 16) * 16;
    const n = config.nLayers * this.ctx * config.nKvHeads * config.headDim;
    this.k = new Float32Array(n);
    this.v = new Float32Array(n);
  }
  get bytes(): number {
    return this.k.byteLength + this.v.byteLength;
  }
}

/** Rows start..start+n of a batch: tokens of one sequence at positions pos0.., with its cache. */
export interface Segment {
  cache: KVCache;
  pos0: number;
  start: number;
  n: number;
}

export interface TransformerOptions {
  /** KV cache length (positions); default min(model context, 2048). */
  ctx?: number;
  threads?: number;
}

/** Longest batch run at once; longer prompts run in chunks of this many tokens. */
export const MAX_BATCH = 512;

/**
 * The forward pass of one model: its weights, a KV cache for one sequence and the activation
 * buffers. forward() feeds tokens at given positions and returns the next-token logits. The
 * innermost of three layers: Model (./model.ts, the public handle on the caller's thread) ->
 * Engine (./engine.ts, what the thread that runs the model holds) -> Transformer.
 */
export class Transformer {
  readonly ctx: number;
  readonly threads: number;
  /** The KV cache of forward()'s sequence (forwardBatch's sequences bring their own). */
  readonly cache: KVCache;
  readonly #one: Scratch;
  readonly #logits1: Tensor; // (1, vocab)
  readonly #logits1Opts: MatmulOptions;
  // Per layer, Q, K, V and gate, up: linears of one input, multiplied together (LinearGroup).
  readonly #qkv: LinearGroup[];
  readonly #gateUp: LinearGroup[];
  #batch: Scratch | null = null;
  // forwardBatch: scratches of the small batch sizes it cycles through, and its logits buffers
  readonly #small = new Map<number, Scratch>();
  #rows: { S: number; xb: Tensor; logits: Tensor; opts: MatmulOptions } | null = null;
  readonly #plan: LayerPlan[];
  /** RoPE frequency factors (nRot/2) or null: Llama 3's, or Phi-3's long or short ones for this context. */
  readonly #ropeFactors: Float32Array | null;
  /**
   * When set, called before every linear layer with the Linear and its input rows x (M, K) (a
   * scratch buffer: copy or reduce it before returning). Null (the default) costs one check.
   */
  onLinearInput: ((l: Linear, x: Tensor) => void) | null = null; // calibration (src/quant/calibrate.ts)

  constructor(readonly config: ModelConfig, readonly weights: ModelWeights, options: TransformerOptions = {}) {
    this.ctx = options.ctx ?? Math.min(config.ctx, 2048);
    this.threads = options.threads ?? 1;
    this.cache = new KVCache(config, this.ctx);
    this.#one = new Scratch(1, config, this.threads);
    this.#logits1 = new Tensor(new Float32Array(config.vocab), [1, config.vocab]);
    this.#logits1Opts = { out: this.#logits1, threads: this.threads };
    this.#qkv = weights.layers.map((w) => linearGroup([w.wq, w.wk, w.wv]));
    this.#gateUp = weights.layers.map((w) => linearGroup([w.gate, w.up]));
    this.#plan = layerPlans(config);
    this.#ropeFactors = ropeFactorsFor(config, weights, this.ctx);
  }

  get kvCacheBytes(): number {
    return this.cache.bytes;
  }

  #linear(l: Linear, x: Tensor, out: Tensor, opts: MatmulOptions): void {
    // W (N,K) @ x (M,K) -> out (M,N)
    if (this.onLinearInput !== null) this.onLinearInput(l, x);
    if (l.kind === "q4") matmul(x, l.q, opts);
    else ops.sgemm(x.data, x.dims[0], l.K, l.w, l.N, out.data, this.threads);
  }

  /** The linears of a group on one input: W_i (N_i,K) @ x (M,K) -> outs[i] (M,N_i). */
  #linears(g: LinearGroup, x: Tensor, outs: Tensor[], outData: Float32Array[], s: Scratch): void {
    if (g.mats === null || this.onLinearInput !== null) {
      for (let i = 0; i < g.ls.length; i++) this.#linear(g.ls[i], x, outs[i], s.opts.get(outs[i])!);
      return;
    }
    ops.matmulShared(g.mats, x.data, s.M, outData, 0, this.threads);
  }

  #embed(token: number, out: Float32Array, offset: number): void {
    const e = this.weights.embed;
    if (!Number.isInteger(token) || token < 0 || token >= this.config.vocab) {
      throw new RangeError(`token: expected an id in [0, ${this.config.vocab}), got ${token}`);
    }
    if (e.kind === "f32") ops.copyF32(e.w, token * e.K, out, offset, e.K);
    else if (e.q.type !== "int4") {
      const t = BLOCK_TYPES.get(e.q.type)!;
      ops.getRowGGML(t.id, e.q.blocks, e.N, e.K, token, out, offset);
    } else {
      const q = e.q;
      ops.getRowQ4(q.codes, q.scales, q.offsets, e.N, e.K, q.groupSize, q.scheme === "symmetric" ? 0 : 1, token, out, offset);
    }
  }

  /**
   * Runs M tokens (tokens[start..start+M]) through the layers, leaving the final hidden states in
   * s.x; segs split the rows into sequences (their positions and KV caches).
   */
  #layers(tokens: ArrayLike<number>, start: number, s: Scratch, segs: readonly Segment[]): void {
    const c = this.config, M = s.M;
    const kvd = c.nKvHeads * c.headDim, qd = c.nHeads * c.headDim;
    const mscale = c.ropeAttnFactor ?? 1, scale = c.attnScale ?? Math.fround(1 / Math.sqrt(c.headDim));
    for (let m = 0; m < M; m++) this.#embed(tokens[start + m], s.x.data, m * c.dim);
    if (c.embedScale !== undefined) ops.scaleInPlace(s.x.data, M * c.dim, c.embedScale); // x (M,dim) *= sqrt(dim) (gemma)
    for (let l = 0; l < c.nLayers; l++) {
      const w = this.weights.layers[l], p = this.#plan[l];
      // attention block
      ops.rmsnorm(s.x.data, w.attnNorm, s.xb.data, M, c.dim, c.eps, this.threads);
      // Wq (qd,dim), Wk (kvd,dim), Wv (kvd,dim) @ xb -> q (M,qd), k (M,kvd), v (M,kvd)
      this.#linears(this.#qkv[l], s.xb, s.qkv, s.qkvOut, s);
      if (w.bq) ops.addBias(s.q.data, w.bq, M, qd); // + bq (qd,), bk (kvd,), bv (kvd,) (qwen2)
      if (w.bk) ops.addBias(s.k.data, w.bk, M, kvd);
      if (w.bv) ops.addBias(s.v.data, w.bv, M, kvd);
      // RMSNorm of each head: q as (M*nHeads, hd), k as (M*nKv, hd), one weight (hd,) for all heads (qwen3, gemma3)
      if (w.qNorm) ops.rmsnorm(s.q.data, w.qNorm, s.q.data, M * c.nHeads, c.headDim, c.eps);
      if (w.kNorm) ops.rmsnorm(s.k.data, w.kNorm, s.k.data, M * c.nKvHeads, c.headDim, c.eps);
      // per sequence: its positions, its KV cache (one segment, all M rows, in forward())
      for (const g of segs) {
        const one = segs.length === 1;
        const q = one ? s.q.data : s.q.data.subarray(g.start * qd, (g.start + g.n) * qd);
        const k = one ? s.k.data : s.k.data.subarray(g.start * kvd, (g.start + g.n) * kvd);
        const v = one ? s.v.data : s.v.data.subarray(g.start * kvd, (g.start + g.n) * kvd);
        const att = one ? s.att.data : s.att.data.subarray(g.start * qd, (g.start + g.n) * qd);
        const kc = g.cache, cacheOff = l * kc.ctx * kvd;
        ops.rope(q, g.n, c.nHeads, c.headDim, g.pos0, c.nRot, p.ropeBase, c.ropeMode, this.#ropeFactors, p.ropeFreqScale, mscale);
        ops.rope(k, g.n, c.nKvHeads, c.headDim, g.pos0, c.nRot, p.ropeBase, c.ropeMode, this.#ropeFactors, p.ropeFreqScale, mscale);
        ops.storeKV(k, v, g.n, g.pos0, c.nKvHeads, c.headDim, kc.ctx, kc.k, kc.v, cacheOff);
        // softmax(q k^T * scale, soft-capped, within the window) v -> att (n,qd)
        ops.attention(q, kc.k, kc.v, cacheOff, att, g.n, g.pos0, c.nHeads, c.nKvHeads, c.headDim, kc.ctx, this.threads,
          scale, c.attnSoftcap ?? 0, p.window);
      }
      this.#linear(w.wo, s.att, s.xb2, s.opts.get(s.xb2)!); // Wo (dim,qd) @ att -> xb2 (M,dim)
      if (w.postAttnNorm) ops.rmsnorm(s.xb2.data, w.postAttnNorm, s.xb2.data, M, c.dim, c.eps, this.threads); // (gemma)
      ops.addInPlace(s.x.data, s.xb2.data, M * c.dim, this.threads);
      // feed-forward block: down(act(gate(x)) * up(x)), act SiLU (SwiGLU) or GELU (GeGLU)
      ops.rmsnorm(s.x.data, w.ffnNorm, s.xb.data, M, c.dim, c.eps, this.threads);
      // W1 (hidden,dim), W3 (hidden,dim) @ xb -> hb (M,hidden), hb2 (M,hidden)
      this.#linears(this.#gateUp[l], s.xb, s.gateUp, s.gateUpOut, s);
      if (c.act === "gelu") ops.geluMul(s.hb.data, s.hb2.data, M * c.hidden, this.threads);
      else ops.siluMul(s.hb.data, s.hb2.data, M * c.hidden, this.threads);
      this.#linear(w.down, s.hb, s.xb2, s.opts.get(s.xb2)!); // W2 (dim,hidden) @ hb -> xb2 (M,dim)
      if (w.postFfnNorm) ops.rmsnorm(s.xb2.data, w.postFfnNorm, s.xb2.data, M, c.dim, c.eps, this.threads); // (gemma)
      ops.addInPlace(s.x.data, s.xb2.data, M * c.dim, this.threads);
    }
  }

  #checkPositions(pos0: number, n: number): void {
    if (!Number.isInteger(pos0) || pos0 < 0) throw new RangeError(`pos0: expected a non-negative integer, got ${pos0}`);
    if (pos0 + n > this.ctx) throw new RangeError(`context: ${pos0 + n} positions needed, the KV cache holds ${this.ctx} (see the ctx option)`);
  }

  #scratch(M: number): Scratch {
    if (M === 1) return this.#one;
    if (this.#batch?.M !== M) this.#batch = new Scratch(M, this.config, this.threads);
    return this.#batch;
  }

  /**
   * Feeds tokens at positions pos0.. and returns the next-token logits after the last one
   * (vocab,). The returned array is reused by the next call.
   */
  forward(tokens: ArrayLike<number>, pos0: number): Float32Array {
    const n = tokens.length;
    if (n < 1) throw new RangeError("tokens: expected at least one token");
    this.#checkPositions(pos0, n);
    const c = this.config;
    let s: Scratch = this.#one;
    for (let start = 0; start < n; start += MAX_BATCH) {
      const M = Math.min(MAX_BATCH, n - start);
      s = this.#scratch(M);
      this.#layers(tokens, start, s, [{ cache: this.cache, pos0: pos0 + start, start: 0, n: M }]);
    }
    // final norm of the last row only, then the output projection (vocab,dim) @ x -> logits
    ops.rmsnorm(s.M === 1 ? s.x.data : s.x.data.subarray((s.M - 1) * c.dim), this.weights.outputNorm, this.#one.xb.data, 1, c.dim, c.eps);
    this.#linear(this.weights.output, this.#one.xb, this.#logits1, this.#logits1Opts);
    if (c.finalSoftcap) ops.softcap(this.#logits1.data, c.vocab, c.finalSoftcap); // logits = cap * tanh(logits / cap) (gemma2)
    return this.#logits1.data;
  }

  /** Logits at every position, (n, vocab): feeds tokens at pos0.. (for evaluation and tests). */
  forwardAll(tokens: ArrayLike<number>, pos0: number): Float32Array {
    const n = tokens.length;
    if (n < 1) throw new RangeError("tokens: expected at least one token");
    this.#checkPositions(pos0, n);
    const c = this.config;
    const out = new Float32Array(n * c.vocab);
    for (let start = 0; start < n; start += MAX_BATCH) {
      const M = Math.min(MAX_BATCH, n - start);
      const s = this.#scratch(M);
      this.#layers(tokens, start, s, [{ cache: this.cache, pos0: pos0 + start, start: 0, n: M }]);
      ops.rmsnorm(s.x.data, this.weights.outputNorm, s.xb.data, M, c.dim, c.eps);
      const logits = new Tensor(out.subarray(start * c.vocab, (start + M) * c.vocab), [M, c.vocab]);
      this.#linear(this.weights.output, s.xb, logits, { out: logits, threads: this.threads });
      if (c.finalSoftcap) ops.softcap(logits.data, M * c.vocab, c.finalSoftcap);
    }
    return out;
  }

  /**
   * One step of several sequences: tokens (M,) split by segs into runs of consecutive positions
   * of one sequence each (a decoding sequence gives one row, a prompt several), each with its own
   * KV cache. Returns the next-token logits after the last row of each segment, (segs.length,
   * vocab), a buffer reused by the next call. A row's result depends only on its own sequence
   * (the linears compute each row alone), not on which others share the batch.
   */
  forwardBatch(tokens: Int32Array, segs: readonly Segment[]): Float32Array {
    const c = this.config, M = tokens.length, S = segs.length;
    if (M < 1 || M > MAX_BATCH) throw new RangeError(`tokens: expected 1 to ${MAX_BATCH} rows, got ${M}`);
    let row = 0;
    for (const g of segs) {
      if (g.start !== row || g.n < 1) throw new RangeError(`segments: expected consecutive runs of rows from 0, got one at row ${g.start} of ${g.n} rows (expected row ${row})`);
      if (!Number.isInteger(g.pos0) || g.pos0 < 0 || g.pos0 + g.n > g.cache.ctx) throw new RangeError(`context: positions ${g.pos0}..${g.pos0 + g.n} do not fit a KV cache of ${g.cache.ctx}`);
      row += g.n;
    }
    if (row !== M) throw new RangeError(`segments: expected them to cover the ${M} rows, they cover ${row}`);
    let s = M === 1 ? this.#one : this.#small.get(M);
    if (!s) {
      if (M <= 64) this.#small.set(M, (s = new Scratch(M, c, this.threads)));
      else s = this.#scratch(M);
    }
    this.#layers(tokens, 0, s, segs);
    if (this.#rows?.S !== S) {
      const xb = new Tensor(new Float32Array(S * c.dim), [S, c.dim]);
      const logits = new Tensor(new Float32Array(S * c.vocab), [S, c.vocab]);
      this.#rows = { S, xb, logits, opts: { out: logits, threads: this.threads } };
    }
    const r = this.#rows;
    // final norm of each segment's last row, then one output projection for all of them
    segs.forEach((g, i) => {
      const last = g.start + g.n - 1;
      ops.rmsnorm(s!.x.data.subarray(last * c.dim, (last + 1) * c.dim), this.weights.outputNorm, r.xb.data.subarray(i * c.dim, (i + 1) * c.dim), 1, c.dim, c.eps);
    });
    this.#linear(this.weights.output, r.xb, r.logits, r.opts);
    if (c.finalSoftcap) ops.softcap(r.logits.data, S * c.vocab, c.finalSoftcap);
    return r.logits.data;
  }
}
