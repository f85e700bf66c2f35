// loadModel(): a GGUF model (or the built-in demo) on a worker thread, with a streaming generate().
//
//   const model = await loadModel("./model.gguf", { quant: "q4", threads: 2 });
//   for await (const piece of model.generate("Once upon a time", { maxTokens: 64 })) process.stdout.write(piece);
//   model.dispose();
//
// The tokenizer runs here (it needs only the file's metadata); weights, forward pass and sampling
// run on the worker, which hands token ids back through shared memory (see protocol.ts).
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { checkOptions, checkPositiveInt, rangeError, typeError } from "../errors";
import { GGUFError, openGGUF } from "../gguf/reader";
import { packageRoot } from "../native";
import { SAMPLER_OPTION_NAMES, resolveSamplerOptions, type SamplerOptions } from "../sampler";
import { ChatSession, type ChatOptions } from "../chat/session";
import { Tokenizer, demoVocabulary } from "../tokenizer";
import { configFromGGUF } from "./config";
import type { LoadSpec, ModelInfo, ModelSource } from "./engine";
import { ABORT, COUNT, DONE, HEADER, SEQ, publish, type FromWorker, type GenerateStats, type ToWorker } from "./protocol";
import { parseQuant, type QuantName } from "./quant";
import { checkLoadFits, defaultQuant } from "./weights";

export interface LoadModelOptions {
  /** "q4" (default), "q4_g{32,64,128}_{sym,asym}" or "f32". */
  quant?: QuantName;
  /** Threads for the forward pass (default: the machine's available parallelism). */
  threads?: number;
  /** KV cache length in positions (default: min(model context, 2048)). */
  ctx?: number;
  /**
   * Generations that decode together (continuous batching: one pass of the weights gives a token
   * to each; default 1). Each has its own KV cache of `ctx` positions; more wait their turn.
   */
  parallel?: number;
  /**
   * With parallel > 1: batches of 1 to 3 sequences are padded to 4 rows, so that every row runs
   * the native GEMM and a sequence's tokens (temperature 0) never depend on which others share
   * its steps. Default false: 1 to 3 rows run the GEMV, whose sums round differently (~1e-6 in
   * the logits, now and then a different token at a near-tie), and which is much cheaper.
   */
  exactBatches?: boolean;
}

/** What generateTokens() yields: decoded text (may be empty mid-character) and the tokens generated so far. */
export interface GenerateChunk {
  text: string;
  tokens: number;
}

export interface GenerateOptions extends SamplerOptions {
  /** Most tokens to generate (default 128). */
  maxTokens?: number;
  /** Stops generation (the iterator then ends normally). */
  signal?: AbortSignal;
  /**
   * Control-token text in the prompt ("<|eot_id|>", "<|im_start|>") becomes those tokens
   * (llama.cpp's parse_special); default false: it is tokenized as plain text.
   */
  special?: boolean;
  /** BOS first (default: the model's add_bos_token); false for a prompt that already holds it. */
  bos?: boolean;
  /**
   * Reuse the KV cache's keys and values for the prompt's prefix the last generation left there
   * (default true: only the new tokens run); false runs the whole prompt (benchmarks).
   */
  reuseCache?: boolean;
}

/** The built-in demo model: `loadModel(DEMO_MODEL)` (random weights, TinyLlama-1.1B's shape). */
export const DEMO_MODEL = "demo";

const LOAD_OPTIONS = ["quant", "threads", "ctx", "parallel", "exactBatches"];
/** Prompts longer than this (characters) are tokenized on the worker thread. */
const LONG_PROMPT = 16384;
const GENERATE_OPTIONS = ["maxTokens", "signal", "special", "bos", "reuseCache", ...SAMPLER_OPTION_NAMES];

/** The worker script (compiled; tests running from src/ use the build in dist/). */
function workerPath(): string {
  return path.join(packageRoot, "dist", "model", "worker.js");
}

/**
 * The public handle of a loaded model, on the caller's thread: it tokenizes, and streams
 * generate() from its worker thread, which holds the Engine (./engine.ts) and with it the
 * Transformer (./transformer.ts, the forward pass).
 */
export class Model {
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  /** Statistics of the last finished generate(). */
  lastStats: GenerateStats | null = null;
  #worker: Worker | null;
  #disposed = false;
  /** Generations running (one at a time unless info.parallel > 1). */
  #running = 0;
  /** The control words of the generations in flight (to wake their readers if the worker dies). */
  #activeCtrl = new Set<Int32Array>();
  #nextId = 1;
  #pending = new Map<number, { resolve: (s: never) => void; reject: (e: Error) => void }>();

  /** The file's chat template (tokenizer.chat_template, Jinja), or null. */
  readonly chatTemplate: string | null;

  /** @internal use loadModel() */
  constructor(worker: Worker, info: ModelInfo, tokenizer: Tokenizer, chatTemplate: string | null = null) {
    this.#worker = worker;
    this.info = info;
    this.tokenizer = tokenizer;
    this.chatTemplate = chatTemplate;
    worker.on("message", (m: FromWorker) => {
      if (m.type === "done") this.#settle(m.id, null, m.stats);
      else if (m.type === "tokens") this.#settle(m.id, null, m.tokens);
      else if (m.type === "error" && m.id !== null) this.#settle(m.id, makeError(m.name, m.message));
    });
    worker.on("error", (e) => this.#failAll(e));
    worker.on("exit", () => this.#failAll(new Error("model worker exited")));
  }

  #settle(id: number, err: Error | null, value?: GenerateStats | Int32Array): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(value as never);
  }

  /** Sends a request to the worker; its answer (or error) settles the promise. */
  #request<T>(id: number): Promise<T> {
    return new Promise<T>((resolve, reject) => this.#pending.set(id, { resolve: resolve as (v: never) => void, reject }));
  }

  #failAll(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    for (const ctrl of this.#activeCtrl) {
      Atomics.store(ctrl, DONE, 1);
      publish(ctrl);
    }
  }

  /**
   * A chat session: a conversation in the model's chat template (or options.template). Its turns
   * reuse the KV cache of the ones before (only new tokens run), as every generate() does with a
   * prompt that begins with the tokens the cache holds.
   */
  chat(options?: ChatOptions): ChatSession {
    if (this.#disposed) throw new Error("Model: used after dispose()");
    return new ChatSession(this, this.chatTemplate, options);
  }

  /** Checks generate options: the token budget, the abort signal and the sampler's options. */
  #generateOptions(options: unknown, names: string[]): { o: Record<string, unknown>; maxTokens: number; signal?: AbortSignal; sampler: SamplerOptions } {
    const o = checkOptions("generate options", options);
    for (const k of Object.keys(o)) if (!names.includes(k)) throw rangeError("generate options", names.join(", "), `option "${k}"`);
    const maxTokens = o.maxTokens === undefined ? 128 : checkPositiveInt("maxTokens", o.maxTokens, 1 << 24);
    const signal = o.signal as AbortSignal | undefined;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError("signal", "an AbortSignal", signal);
    const sampler: SamplerOptions = {};
    for (const k of SAMPLER_OPTION_NAMES) if (o[k] !== undefined) (sampler as Record<string, unknown>)[k] = o[k];
    resolveSamplerOptions(sampler); // validate here, where the caller can catch it
    return { o, maxTokens, signal, sampler };
  }

  /** Refuses a generation while another runs, unless the model was loaded with parallel > 1. */
  #claim(): Worker {
    const worker = this.#worker;
    if (!worker) throw new Error("Model: used after dispose()");
    if (this.#running > 0 && this.info.parallel <= 1) throw new Error("Model: generate() is already running; one at a time (load with { parallel } for several)");
    this.#running++;
    return worker;
  }

  #release(): void {
    this.#running--;
  }

  /**
   * Streams the continuation of `prompt` as text pieces (each piece complete UTF-8). Stops at any
   * of the tokenizer's stopTokens (EOS, end of turn), after maxTokens, at the end of the context,
   * or when `signal` aborts. One generate() at a time, or up to `parallel` (loadModel's option)
   * decoding together, more waiting their turn.
   */
  async *generate(prompt: string, options?: GenerateOptions): AsyncGenerator<string, void, undefined> {
    if (typeof prompt !== "string") throw typeError("generate prompt", "a string", prompt);
    const { o, maxTokens, signal, sampler } = this.#generateOptions(options, GENERATE_OPTIONS);
    const special = o.special ?? false;
    if (typeof special !== "boolean") throw typeError("special", "a boolean", special);
    const bos = o.bos as boolean | undefined;
    if (bos !== undefined && typeof bos !== "boolean") throw typeError("bos", "a boolean", bos);
    const reuseCache = o.reuseCache ?? true;
    if (typeof reuseCache !== "boolean") throw typeError("reuseCache", "a boolean", reuseCache);
    // a prompt that cannot fit is refused before the work of tokenizing it
    const least = this.tokenizer.minTokens(prompt);
    if (least >= this.info.ctx) throw rangeError("prompt", `fewer than ${this.info.ctx} tokens (the context)`, `at least ${least} tokens (${prompt.length} characters)`);
    const worker = this.#claim();
    let tokens: Int32Array;
    try {
      if (prompt.length > LONG_PROMPT) {
        // long text is tokenized on the worker: the caller's event loop stays free
        const id = this.#nextId++;
        const req = this.#request<Int32Array>(id);
        const msg: ToWorker = { type: "tokenize", id, text: prompt, special, bos };
        worker.ref(); // the answer keeps the process alive
        worker.postMessage(msg);
        try {
          tokens = await req;
        } finally {
          worker.unref();
        }
      } else {
        tokens = Int32Array.from(this.tokenizer.encode(prompt, { special, bos }));
      }
    } catch (e) {
      this.#release();
      if (this.#disposed) return;
      throw e;
    }
    if (this.#disposed || tokens.length === 0 || tokens.length >= this.info.ctx) {
      this.#release();
      if (this.#disposed) return; // disposed while the worker tokenized
      if (tokens.length === 0) throw rangeError("prompt", "text that encodes to at least one token (this tokenizer adds no BOS)", "an empty prompt");
      throw rangeError("prompt", `fewer than ${this.info.ctx} tokens (the context)`, `${tokens.length} tokens`);
    }
    try {
      // for-await: a consumer that stops early returns #run too, which stops the worker
      for await (const c of this.#run(worker, tokens, maxTokens, sampler, signal, reuseCache)) if (c.text) yield c.text;
    } finally {
      this.#release();
    }
  }

  /**
   * generate() from token ids (a prompt already tokenized, e.g. a chat template's text with its
   * special tokens): yields { text, tokens } (tokens: how many have been generated so far, for
   * exact counts) and returns this generation's statistics (null if the model was disposed).
   * With `parallel` > 1 several run at once, each with its own statistics.
   */
  async *generateTokens(prompt: ArrayLike<number>, options?: Omit<GenerateOptions, "special" | "bos">): AsyncGenerator<GenerateChunk, GenerateStats | null, undefined> {
    if (prompt === null || typeof prompt !== "object" || typeof (prompt as ArrayLike<number>).length !== "number") throw typeError("prompt tokens", "an array of token ids", prompt);
    const tokens = Int32Array.from(prompt);
    const V = this.info.config.vocab;
    if (tokens.length === 0 || tokens.length >= this.info.ctx) throw rangeError("prompt tokens", `1 to ${this.info.ctx - 1} tokens (the context)`, `${tokens.length} tokens`);
    for (let i = 0; i < tokens.length; i++) if (tokens[i] < 0 || tokens[i] >= V || tokens[i] !== prompt[i]) throw rangeError(`prompt tokens[${i}]`, `an id in [0, ${V})`, prompt[i]);
    const { o, maxTokens, signal, sampler } = this.#generateOptions(options, GENERATE_OPTIONS.filter((k) => k !== "special" && k !== "bos"));
    const reuseCache = o.reuseCache ?? true;
    if (typeof reuseCache !== "boolean") throw typeError("reuseCache", "a boolean", reuseCache);
    const worker = this.#claim();
    try {
      return yield* this.#run(worker, tokens, maxTokens, sampler, signal, reuseCache);
    } finally {
      this.#release();
    }
  }

  /** Runs one generation on the worker and streams its tokens as text; returns its statistics. */
  async *#run(worker: Worker, tokens: Int32Array, maxTokens: number, sampler: SamplerOptions, signal: AbortSignal | undefined,
              reuseCache: boolean): AsyncGenerator<GenerateChunk, GenerateStats | null, undefined> {
    const shared = new SharedArrayBuffer((HEADER + maxTokens) * 4);
    const ctrl = new Int32Array(shared, 0, HEADER);
    const ids = new Int32Array(shared, HEADER * 4);
    const id = this.#nextId++;
    this.#activeCtrl.add(ctrl);
    const done = this.#request<GenerateStats>(id);
    done.catch(() => {}); // observed below
    const onAbort = () => {
      Atomics.store(ctrl, ABORT, 1);
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort);
    worker.ref();
    const msg: ToWorker = { type: "generate", id, tokens, maxTokens, sampler, shared, stop: Int32Array.from(this.tokenizer.stopTokens), reuseCache };
    worker.postMessage(msg);
    const dec = this.tokenizer.decoder();
    for (const t of tokens) dec.push(t);
    let seen = 0;
    let finished = false;
    let stats: GenerateStats | null = null;
    try {
      for (;;) {
        const seq = Atomics.load(ctrl, SEQ); // before looking: any later event changes it
        const count = Atomics.load(ctrl, COUNT);
        while (seen < count) {
          const piece = dec.push(ids[seen++]);
          yield { text: piece, tokens: seen };
        }
        if (Atomics.load(ctrl, DONE) !== 0 && Atomics.load(ctrl, COUNT) === seen) break;
        if (Atomics.load(ctrl, COUNT) === seen) {
          const w = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } })
            .waitAsync(ctrl, SEQ, seq);
          if (w.async) await w.value; // the worker signals every token and the end
        }
      }
      const tail = dec.flush();
      try {
        stats = this.lastStats = await done;
      } catch (e) {
        if (this.#disposed) return null; // dispose() ended the generation: the tokens so far were the output
        throw e;
      }
      finished = true;
      if (tail) yield { text: tail, tokens: seen };
      return stats;
    } finally {
      if (!finished) {
        // the consumer stopped early (break/return/throw): stop the worker and wait for it
        Atomics.store(ctrl, ABORT, 1);
        try {
          this.lastStats = await done;
        } catch {
          /* the error, if any, already reached the consumer */
        }
      }
      signal?.removeEventListener("abort", onAbort);
      this.#activeCtrl.delete(ctrl);
      if (this.#activeCtrl.size === 0) this.#worker?.unref();
    }
  }

  /**
   * Stops the worker and frees the weights. A generate() in flight ends: its iterator finishes
   * after the pieces already produced, with `lastStats` null.
   */
  dispose(): void {
    const w = this.#worker;
    this.#worker = null;
    if (!w) return;
    this.#disposed = true;
    for (const ctrl of this.#activeCtrl) Atomics.store(ctrl, ABORT, 1);
    this.lastStats = null;
    this.#failAll(new Error("Model: disposed"));
    void w.terminate();
  }
}

function makeError(name: string, message: string): Error {
  // the worker's error, as the class it was (a GGUFError stays one: callers test instanceof)
  const E = name === "RangeError" ? RangeError : name === "TypeError" ? TypeError : name === "GGUFError" ? GGUFError : Error;
  const e = new E(message);
  if (E === Error && name !== "Error") e.name = name;
  return e;
}

/**
 * Loads a GGUF model (llama architecture; F32/F16/BF16/Q8_0/Q4_0/Q4_1 tensors) or, for
 * `DEMO_MODEL`, the built-in demo, and starts its worker thread.
 */
export async function loadModel(file: string, options?: LoadModelOptions): Promise<Model> {
  if (typeof file !== "string" || file.length === 0) throw typeError("loadModel path", "a file path (or DEMO_MODEL)", file);
  const o = checkOptions("loadModel options", options);
  for (const k of Object.keys(o)) if (!LOAD_OPTIONS.includes(k)) throw rangeError("loadModel options", LOAD_OPTIONS.join(", "), `option "${k}"`);
  let quant = o.quant === undefined ? undefined : parseQuant(o.quant).name;
  const threads = o.threads === undefined ? Math.max(1, os.availableParallelism()) : checkPositiveInt("threads", o.threads, 256);
  const ctx = o.ctx === undefined ? undefined : checkPositiveInt("ctx", o.ctx, 1 << 22);
  const parallel = o.parallel === undefined ? undefined : checkPositiveInt("parallel", o.parallel, 256);
  const exactBatches = o.exactBatches ?? false;
  if (typeof exactBatches !== "boolean") throw typeError("exactBatches", "a boolean", exactBatches);
  let source: ModelSource, tokenizer: Tokenizer;
  let chatTemplate: string | null = null;
  if (file === DEMO_MODEL) {
    source = { kind: "demo" };
    quant ??= "q4";
    tokenizer = new Tokenizer(demoVocabulary());
  } else {
    const f = openGGUF(file);
    try {
      const config = configFromGGUF(f); // architecture and shapes: fail here, before starting a worker
      quant ??= defaultQuant(f);
      checkLoadFits(f, parseQuant(quant), os.totalmem());
      tokenizer = Tokenizer.fromGGUF(f);
      chatTemplate = f.string("tokenizer.chat_template") ?? null;
      if (tokenizer.vocabSize !== config.vocab) {
        throw new GGUFError(`GGUF ${file}: the tokenizer has ${tokenizer.vocabSize} tokens, the model's vocabulary ${config.vocab}`);
      }
    } finally {
      f.close();
    }
    source = { kind: "gguf", path: path.resolve(file) };
  }
  const spec: LoadSpec = { source, quant, threads, ctx, parallel, exactBatches };
  const worker = new Worker(workerPath());
  try {
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === "loaded") resolve(m.info);
        else if (m.type === "error" && m.id === null) reject(makeError(m.name, m.message));
        else return;
        worker.off("message", onMsg);
      };
      worker.on("message", onMsg);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`model worker exited with code ${code} while loading`)));
      const msg: ToWorker = { type: "load", spec };
      worker.postMessage(msg);
    });
    worker.removeAllListeners("error");
    worker.removeAllListeners("exit");
    worker.unref();
    return new Model(worker, info, tokenizer, chatTemplate);
  } catch (e) {
    void worker.terminate();
    throw e;
  }
}
