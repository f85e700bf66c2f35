// Continuous batching, on the model's worker thread: up to `parallel` sequences decode together.
// Generating a token is bound by memory bandwidth (every weight is read once per forward pass), so
// one pass with a row per sequence (Transformer.forwardBatch: the linears on all rows at once, the
// attention per sequence) gives M tokens for little more than the cost of one.
//
// Each slot holds one sequence's KV cache. A request waits in the queue until a slot is free, then
// its prompt runs (in the same steps as the others' decoding, a chunk per step) and it joins the
// decode batch; it leaves the moment it ends (stop token, maxTokens, context, abort), which frees
// the slot for the next request. Between steps the worker's event loop runs (setImmediate), so new
// requests arrive and aborts are seen after at most one step.
//
// A slot remembers the tokens its cache holds: a request whose prompt begins with them (the next
// turn of a conversation) takes that slot and runs only the rest, as the single-sequence path does.
import { Sampler } from "../sampler";
import { ABORT, COUNT, DONE, HEADER, publish, type GenerateStats, type StopReason, type ToWorker } from "./protocol";
import { KVCache, MAX_BATCH, type Segment, type Transformer } from "./transformer";

type Request = Extract<ToWorker, { type: "generate" }>;

/**
 * With `exact`, batches have at least this many rows (cpp/int4/kernels.h kGemmMinRows; most
 * block types' AVX-512 kernels start their GEMM at 2 already): below it the native matmul runs a GEMV
 * per row, from it a GEMM, and the two round their sums differently (~1e-6), which the next
 * layer's int8 activation rounding can now and then turn into a different greedy token. The GEMM
 * gives each row the same bits whatever the other rows hold and however many there are, so
 * padding a small batch with dummy rows makes a sequence's tokens independent of which others
 * share its steps. Not the default: the dummy rows cost compute (a 4-row step of a Q4_K_M model
 * takes ~1.7x a one-row step on 2 cores), paid by 1 to 3 streams.
 */
const EXACT_MIN_ROWS = 4;

/** Prompt rows per step (all prompts together): bounds how long a step stalls the decoding sequences. */
const PROMPT_ROWS = 256;

interface Slot {
  cache: KVCache;
  /** The tokens whose keys and values the cache holds, at positions 0.. */
  cached: Int32Array;
  seq: Sequence | null;
}

interface Sequence {
  req: Request;
  slot: Slot;
  ctrl: Int32Array;
  ids: Int32Array;
  sampler: Sampler;
  stop: Set<number>;
  /** Positions fed so far (the next row's position). */
  pos: number;
  /** The token to feed next: prompt tokens first, then each sampled one. */
  feed: Int32Array;
  feedAt: number;
  n: number;
  cachedTokens: number;
  t0: number;
  t1: number;
  tFirst: number;
}

export type Finish = (id: number, result: { stats: GenerateStats } | { error: Error }) => void;

export class BatchEngine {
  readonly #slots: Slot[];
  readonly #queue: Request[] = [];
  /** The dummy rows' own KV cache (their results are dropped). */
  readonly #padCache: KVCache;
  #scheduled = false;

  readonly #minRows: number;

  constructor(readonly transformer: Transformer, readonly parallel: number, readonly finish: Finish, exact = false) {
    this.#minRows = exact ? EXACT_MIN_ROWS : 1;
    this.#padCache = new KVCache(transformer.config, 16);
    // slot 0 uses the transformer's own cache (unused otherwise)
    this.#slots = Array.from({ length: parallel }, (_, i) => ({ cache: i === 0 ? transformer.cache : new KVCache(transformer.config, transformer.ctx), cached: new Int32Array(0), seq: null }));
  }

  get kvCacheBytes(): number {
    return this.#slots.reduce((n, s) => n + s.cache.bytes, 0);
  }

  submit(req: Request): void {
    this.#queue.push(req);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.step()) this.#schedule();
    });
  }

  /** Takes queued requests into free slots: the slot whose cache shares the longest prefix. */
  #admit(): void {
    while (this.#queue.length > 0) {
      const free = this.#slots.filter((s) => s.seq === null);
      if (free.length === 0) return;
      const req = this.#queue.shift()!;
      const ctrl = new Int32Array(req.shared, 0, HEADER);
      if (Atomics.load(ctrl, ABORT) !== 0) { // aborted while it waited
        this.#end(req, ctrl, { stats: { promptTokens: req.tokens.length, cachedTokens: 0, promptMs: 0, generatedTokens: 0, generateMs: 0, generateForwards: 0, stopReason: "abort" } });
        continue;
      }
      let best = free[0], reuse = -1;
      for (const s of free) {
        let r = 0; // the last prompt token always runs (its logits)
        while (req.reuseCache && r < s.cached.length && r < req.tokens.length - 1 && s.cached[r] === req.tokens[r]) r++;
        if (r > reuse) { reuse = r; best = s; }
      }
      const sampler = new Sampler(this.transformer.config.vocab, req.sampler);
      for (const t of req.tokens) sampler.accept(t);
      best.cached = new Int32Array(0); // until this sequence ends and records what it wrote
      const now = performance.now();
      best.seq = {
        req, slot: best, ctrl, ids: new Int32Array(req.shared, HEADER * 4), sampler, stop: new Set(req.stop),
        pos: reuse, feed: req.tokens, feedAt: reuse, n: 0, cachedTokens: reuse, t0: now, t1: now, tFirst: now,
      };
    }
  }

  #end(req: Request, ctrl: Int32Array, result: { stats: GenerateStats } | { error: Error }): void {
    this.finish(req.id, result);
    Atomics.store(ctrl, DONE, 1);
    publish(ctrl);
  }

  #close(q: Sequence, reason: StopReason): void {
    const t2 = performance.now();
    const fed = q.pos; // the prompt and the generated tokens that went through the forward pass
    const cached = new Int32Array(fed);
    cached.set(q.req.tokens.subarray(0, Math.min(fed, q.req.tokens.length)));
    if (fed > q.req.tokens.length) cached.set(q.ids.subarray(0, fed - q.req.tokens.length), q.req.tokens.length);
    q.slot.cached = cached;
    q.slot.seq = null;
    this.#end(q.req, q.ctrl, {
      stats: {
        promptTokens: q.req.tokens.length, cachedTokens: q.cachedTokens, promptMs: q.t1 - q.t0, generatedTokens: q.n,
        generateMs: q.n > 1 ? t2 - q.tFirst : 0, generateForwards: Math.max(0, q.n - 1), stopReason: reason,
      },
    });
  }

  /** One forward step of every active sequence; returns whether work remains. */
  step(): boolean {
    this.#admit();
    const active: Sequence[] = [];
    for (const s of this.#slots) {
      const q = s.seq;
      if (q === null) continue;
      if (Atomics.load(q.ctrl, ABORT) !== 0) this.#close(q, "abort"); // frees the slot now
      else active.push(q);
    }
    if (active.length === 0) return this.#queue.length > 0;
    // the batch: one row per decoding sequence, then prompt chunks within the budget
    const decoding = active.filter((q) => q.feed.length - q.feedAt === 1);
    const prompting = active.filter((q) => q.feed.length - q.feedAt > 1);
    const segs: (Segment & { q: Sequence })[] = [];
    let rows = 0, budget = Math.min(PROMPT_ROWS, MAX_BATCH - decoding.length);
    for (const q of [...decoding, ...prompting]) {
      const left = q.feed.length - q.feedAt;
      const n = left === 1 ? 1 : Math.min(left, budget);
      if (n < 1) continue;
      if (left > 1) budget -= n;
      segs.push({ cache: q.slot.cache, pos0: q.pos, start: rows, n, q });
      rows += n;
    }
    const pad = Math.max(0, this.#minRows - rows);
    const tokens = new Int32Array(rows + pad); // dummy rows: token 0 at positions 0.. of the pad cache
    for (const g of segs) tokens.set(g.q.feed.subarray(g.q.feedAt, g.q.feedAt + g.n), g.start);
    const all: Segment[] = pad > 0 ? [...segs, { cache: this.#padCache, pos0: 0, start: rows, n: pad }] : segs;
    let logits: Float32Array;
    try {
      logits = this.transformer.forwardBatch(tokens, all);
    } catch (e) {
      for (const g of segs) { g.q.slot.seq = null; this.#end(g.q.req, g.q.ctrl, { error: e as Error }); }
      return true;
    }
    const V = this.transformer.config.vocab;
    segs.forEach((g, i) => {
      const q = g.q;
      q.pos += g.n;
      q.feedAt += g.n;
      if (q.feedAt < q.feed.length) return; // more of its prompt next step
      if (q.n === 0) q.t1 = performance.now();
      const tok = q.sampler.sample(logits.subarray(i * V, (i + 1) * V));
      if (q.stop.has(tok)) return this.#close(q, "eos");
      q.ids[q.n++] = tok;
      Atomics.store(q.ctrl, COUNT, q.n);
      publish(q.ctrl);
      if (q.n === 1) q.tFirst = performance.now();
      if (q.n === q.req.maxTokens) return this.#close(q, "maxTokens");
      if (q.pos >= this.transformer.ctx) return this.#close(q, "context");
      q.sampler.accept(tok);
      q.feed = Int32Array.of(tok);
      q.feedAt = 0;
    });
    return true;
  }
}
