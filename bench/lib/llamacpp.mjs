// llama.cpp as a reference for int4, from tests and scripts: where node-llama-cpp is installed,
// a handle on a llama.cpp child process (bench/lib/llamacpp-child.mjs), and the numbers that
// compare two engines' next-token distributions.
//
// node-llama-cpp is not a dependency of int4: scripts/setup.sh installs it (with its prebuilt
// linux-x64 llama.cpp, optional GPU builds omitted) into build-llamacpp/, outside the project's
// node_modules, so that `npm ci` of the project is unchanged. INT4_NODE_LLAMA_CPP may point at
// another node-llama-cpp package directory.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const projectRoot = path.resolve(here, "..", "..");
export const NODE_LLAMA_CPP_VERSION = "3.22.1";

/** The node-llama-cpp package directory, or null with the reason it is not usable. */
export function findNodeLlamaCpp() {
  const dir = process.env.INT4_NODE_LLAMA_CPP || path.join(projectRoot, "build-llamacpp", "node_modules", "node-llama-cpp");
  const pj = path.join(dir, "package.json");
  if (!fs.existsSync(pj)) return { dir: null, reason: `node-llama-cpp not installed at ${dir} (run: bash scripts/setup.sh)` };
  const binDir = path.join(path.dirname(dir), "@node-llama-cpp", `${process.platform}-${process.arch}`);
  if (!fs.existsSync(binDir)) return { dir: null, reason: `node-llama-cpp has no prebuilt llama.cpp for ${process.platform}-${process.arch} (${binDir} absent)` };
  const version = JSON.parse(fs.readFileSync(pj, "utf8")).version;
  return { dir, version, reason: null };
}

const f32 = (b64) => {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/**
 * llama.cpp in a child process. `await LlamaCpp.start()`, then `load(model, { threads, ctx })`,
 * `logits(tokens)`, `greedy(prompt, n)`, `tokenize(text)`, `bench(pp, tg)`; `close()` at the end.
 */
export class LlamaCpp {
  #child; #lines; #stderr = ""; #exited = null;

  static async start() {
    const found = findNodeLlamaCpp();
    if (!found.dir) throw new Error(found.reason);
    const l = new LlamaCpp();
    l.#child = spawn(process.execPath, [path.join(here, "llamacpp-child.mjs"), found.dir], { stdio: ["pipe", "pipe", "pipe"] });
    l.#child.stderr.on("data", (d) => (l.#stderr = (l.#stderr + d).slice(-4000)));
    l.#exited = new Promise((resolve) => l.#child.on("exit", (code, signal) => resolve({ code, signal })));
    l.#lines = readline.createInterface({ input: l.#child.stdout })[Symbol.asyncIterator]();
    l.version = found.version;
    return l;
  }

  async #call(req) {
    if (!this.#child.stdin.writable) throw new Error("llama.cpp child process is closed");
    this.#child.stdin.write(JSON.stringify(req) + "\n");
    const r = await Promise.race([this.#lines.next(), this.#exited.then((e) => ({ exited: e }))]);
    if (r.exited || r.done) {
      const e = r.exited ?? (await this.#exited);
      throw new Error(`llama.cpp child process ended (code ${e.code}, signal ${e.signal}) during "${req.cmd}": ${this.#stderr.trim().slice(-1000)}`);
    }
    const a = JSON.parse(r.value);
    if (!a.ok) throw new Error(`llama.cpp ${req.cmd}: ${a.error}`);
    return a;
  }

  /** Loads a GGUF file; returns { vocab, bos, eos, ctx, nCtx (llama.cpp's n_ctx after its padding), threads, types: { tensor name: ggml type id } }. */
  async load(model, { threads = 1, ctx = 512, batch = 512, flashAttention = false } = {}) {
    if (typeof model !== "string" || !fs.existsSync(model)) throw new Error(`llama.cpp load: no such file ${JSON.stringify(model)}`);
    const r = await this.#call({ cmd: "load", model: path.resolve(model), threads, ctx, batch, flashAttention });
    this.vocab = r.vocab;
    return r;
  }

  /** Teacher forcing: Float32Array [tokens.length, vocab] of the logits after each token. */
  async logits(tokens) {
    checkTokens(tokens, this.vocab);
    return f32((await this.#call({ cmd: "logits", tokens: [...tokens] })).logits);
  }

  /** Greedy continuation of `prompt` by `n` tokens: { ids, logits: Float32Array [n, vocab] (the distribution each id was chosen from) }. */
  async greedy(prompt, n) {
    checkTokens(prompt, this.vocab);
    const r = await this.#call({ cmd: "greedy", prompt: [...prompt], n });
    return { ids: r.ids, logits: f32(r.logits) };
  }

  /** llama.cpp's tokenization (BOS first when the model adds one). */
  /** Token ids of text (BOS first when the model adds one); special: special-token text becomes its token. */
  async tokenize(text, { special = false } = {}) {
    return (await this.#call({ cmd: "tokenize", text, special })).tokens;
  }

  /** Loads only a GGUF file's vocabulary (a vocabulary-only file has no tensors): for tokenize. */
  async loadVocab(model) {
    if (typeof model !== "string" || !fs.existsSync(model)) throw new Error(`llama.cpp loadVocab: no such file ${JSON.stringify(model)}`);
    return this.#call({ cmd: "loadVocab", model: path.resolve(model) });
  }

  /** One timed run: pp tokens as one batch, then tg tokens one at a time. { ppMs, tgMs } */
  async bench(pp, tg) {
    return this.#call({ cmd: "bench", pp, tg });
  }

  async close() {
    this.#child.stdin.end();
    const t = setTimeout(() => this.#child.kill(), 10_000);
    await this.#exited;
    clearTimeout(t);
  }
}

function checkTokens(tokens, vocab) {
  if (!Array.isArray(tokens) && !ArrayBuffer.isView(tokens)) throw new TypeError("tokens: expected an array of token ids");
  if (tokens.length === 0) throw new RangeError("tokens: expected at least one token");
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new RangeError(`tokens: expected ids in [0, ${vocab}), got ${t}`);
  }
}

// ---- comparing two engines' next-token distributions ----

/** log-softmax of logits[off .. off+n) (f64). */
export function logSoftmax(logits, off, n) {
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[off + i] > max) max = logits[off + i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = logits[off + i] - lse;
  return out;
}

const argmax = (a, off, n) => {
  let b = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + b]) b = i;
  return b;
};

/**
 * KL(P‖Q) of the next-token distributions (P = ref, e.g. llama.cpp; Q = int4) at every position of
 * two [positions, vocab] logit arrays, and how often their top-1 tokens agree.
 */
export function compareLogits(ref, other, vocab) {
  if (ref.length !== other.length || ref.length % vocab !== 0) throw new RangeError(`compareLogits: expected two [positions, ${vocab}] arrays, got lengths ${ref.length} and ${other.length}`);
  const n = ref.length / vocab, kl = [];
  let agree = 0, maxAbs = 0;
  for (let j = 0; j < n; j++) {
    const lp = logSoftmax(ref, j * vocab, vocab), lq = logSoftmax(other, j * vocab, vocab);
    let s = 0;
    for (let i = 0; i < vocab; i++) {
      s += Math.exp(lp[i]) * (lp[i] - lq[i]);
      maxAbs = Math.max(maxAbs, Math.abs(lp[i] - lq[i]));
    }
    kl.push(Math.max(0, s));
    if (argmax(ref, j * vocab, vocab) === argmax(other, j * vocab, vocab)) agree++;
  }
  return {
    positions: n, kl, klMean: kl.reduce((a, b) => a + b, 0) / n, klMax: Math.max(...kl),
    top1Agreement: agree / n, maxLogProbDiff: maxAbs,
  };
}

/** Where two greedy continuations first differ (-1: equal). */
export function firstDifference(a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * What a relative perturbation of the activations does to the next-token distributions, from the
 * reference logits (see test/llamacpp.test.ts for the derivation). With ε² the relative squared
 * difference of the two engines' activations (roundingBudget in bench/lib/int4ref.mjs), the
 * logits move by δ with std ε·σ_z (σ_z²: the variance of the logits across the vocabulary at that
 * position), independently per token; KL(P‖Q) ≈ ½ Var_P(δ) = ½ ε² σ_z² (1 - Σ p²).
 * Returns per position the expected KL and σ_δ = ε·σ_z, and the mean expected KL.
 */
export function expectedDivergence(ref, vocab, eps2) {
  const n = ref.length / vocab, kl = [], sigma = [];
  for (let j = 0; j < n; j++) {
    const lp = logSoftmax(ref, j * vocab, vocab);
    let m = 0, v = 0, p2 = 0;
    for (let i = 0; i < vocab; i++) m += ref[j * vocab + i];
    m /= vocab;
    for (let i = 0; i < vocab; i++) {
      v += (ref[j * vocab + i] - m) ** 2;
      p2 += Math.exp(2 * lp[i]);
    }
    v /= vocab;
    kl.push(0.5 * eps2 * v * (1 - p2));
    sigma.push(Math.sqrt(eps2 * v));
  }
  return { kl, sigma, klMean: kl.reduce((a, b) => a + b, 0) / n };
}

/** The reference's margin between its top token and token t at position j (logit units, >= 0 when t is not its top). */
export function margin(ref, vocab, j, t) {
  return ref[j * vocab + argmax(ref, j * vocab, vocab)] - ref[j * vocab + t];
}

/** The reference's margin between its two best tokens at position j. */
export function topMargin(ref, vocab, j) {
  const off = j * vocab, a = argmax(ref, off, vocab);
  let b = a === 0 ? 1 : 0;
  for (let i = 0; i < vocab; i++) if (i !== a && ref[off + i] > ref[off + b]) b = i;
  return ref[off + a] - ref[off + b];
}

export { argmax };
