// Next-token sampling: repetition penalty, then top-k, top-p, min-p, temperature (llama.cpp's
// order), and a seeded generator: the same seed gives the same tokens. Temperature 0 is greedy.
// All buffers are allocated once per sampler: sampling a token allocates nothing.
import { checkOptions, checkPositiveInt, rangeError, typeError } from "./errors";

export interface SamplerOptions {
  /** 0: greedy (argmax). Default 0.8. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 disables. Default 40. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 disables. Default 0.95. */
  topP?: number;
  /** Drop tokens less likely than minP times the most likely one; 0 disables. Default 0.05. */
  minP?: number;
  /** Divides positive logits (multiplies negative ones) of tokens among the last repeatLastN; 1 disables. Default 1. */
  repeatPenalty?: number;
  /** How many recent tokens the penalty looks at. Default 64. */
  repeatLastN?: number;
  /** Seed of the random generator (an integer); default: random. */
  seed?: number;
}

export const SAMPLER_OPTION_NAMES = ["temperature", "topK", "topP", "minP", "repeatPenalty", "repeatLastN", "seed"];

export type ResolvedSamplerOptions = Required<SamplerOptions>;

function numIn(name: string, v: unknown, lo: number, hi: number, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number") throw typeError(name, `a number in [${lo}, ${hi}]`, v);
  if (!(v >= lo && v <= hi) || (integer && !Number.isInteger(v))) throw rangeError(name, `${integer ? "an integer" : "a number"} in [${lo}, ${hi}]`, v);
  return v;
}

export function resolveSamplerOptions(options: unknown): ResolvedSamplerOptions {
  const o = checkOptions("sampler options", options);
  return {
    temperature: numIn("temperature", o.temperature, 0, 100, 0.8),
    topK: numIn("topK", o.topK, 0, 2 ** 31, 40, true),
    topP: numIn("topP", o.topP, 0, 1, 0.95),
    minP: numIn("minP", o.minP, 0, 1, 0.05),
    repeatPenalty: numIn("repeatPenalty", o.repeatPenalty, 0.01, 100, 1),
    repeatLastN: numIn("repeatLastN", o.repeatLastN, 0, 1 << 20, 64, true),
    seed: numIn("seed", o.seed, 0, Number.MAX_SAFE_INTEGER, Math.floor(Math.random() * 2 ** 32), true),
  };
}

/** xoshiro128** seeded by splitmix32: small, fast, and the same everywhere. */
export class Rng {
  #s = new Uint32Array(4);
  constructor(seed: number) {
    let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  /** Uniform in [0, 1). */
  next(): number {
    const s = this.#s;
    const r = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return r / 4294967296;
  }
}

export class Sampler {
  readonly options: ResolvedSamplerOptions;
  readonly #rng: Rng;
  readonly #idx: Int32Array;
  readonly #p: Float64Array;
  readonly #seen: Uint8Array;
  readonly #history: Int32Array;
  #hLen = 0;
  #hPos = 0;
  #logits: Float32Array = new Float32Array(0);

  constructor(readonly vocab: number, options?: SamplerOptions) {
    checkPositiveInt("Sampler vocab", vocab, 2 ** 31 - 1);
    this.options = resolveSamplerOptions(options);
    this.#rng = new Rng(this.options.seed);
    this.#idx = new Int32Array(vocab);
    this.#p = new Float64Array(vocab);
    this.#seen = new Uint8Array(vocab);
    this.#history = new Int32Array(Math.max(1, this.options.repeatLastN));
  }

  /** Records a token (prompt or generated) for the repetition penalty. */
  accept(token: number): void {
    if (this.options.repeatLastN === 0) return;
    this.#history[this.#hPos] = token;
    this.#hPos = (this.#hPos + 1) % this.#history.length;
    if (this.#hLen < this.#history.length) this.#hLen++;
  }

  /** Picks the next token from logits (vocab,). The logits may be modified (penalties). */
  sample(logits: Float32Array): number {
    const o = this.options, V = this.vocab;
    if (!(logits instanceof Float32Array)) throw typeError("logits", "a Float32Array", logits);
    if (logits.length < V) throw rangeError("logits", `at least ${V} values`, logits.length);
    this.#logits = logits;
    if (o.repeatPenalty !== 1) {
      for (let i = 0; i < this.#hLen; i++) {
        const t = this.#history[i];
        if (t < 0 || t >= V || this.#seen[t]) continue;
        this.#seen[t] = 1;
        logits[t] = logits[t] > 0 ? logits[t] / o.repeatPenalty : logits[t] * o.repeatPenalty;
      }
      for (let i = 0; i < this.#hLen; i++) {
        const t = this.#history[i];
        if (t >= 0 && t < V) this.#seen[t] = 0;
      }
    }
    // NaN logits are never chosen (every comparison with NaN is false); a +Infinity is the
    // certain token; without one finite or infinite logit there is nothing to sample from
    let best = -1;
    for (let i = 0; i < V; i++) if (logits[i] === logits[i] && (best < 0 || logits[i] > logits[best])) best = i;
    if (best < 0 || logits[best] === -Infinity) {
      throw rangeError("logits", "at least one value that is not NaN or -Infinity", best < 0 ? "only NaN" : "only -Infinity and NaN");
    }
    if (o.temperature === 0 || logits[best] === Infinity) return best;

    const idx = this.#idx, p = this.#p, max = logits[best];
    // candidates: tokens with a probability above e^-40 of the best one (the rest cannot matter)
    let n = 0;
    for (let i = 0; i < V; i++) if (logits[i] > max - 40) idx[n++] = i;
    if (o.topK > 0 && n > o.topK) {
      this.#select(0, n - 1, o.topK);
      n = o.topK;
    }
    this.#sort(0, n - 1);
    // top-p over the softmax at temperature 1
    let sum = 0;
    for (let i = 0; i < n; i++) sum += p[i] = Math.exp(logits[idx[i]] - max);
    if (o.topP < 1) {
      let cum = 0;
      for (let i = 0; i < n; i++) {
        cum += p[i] / sum;
        if (cum >= o.topP) {
          n = i + 1;
          break;
        }
      }
    }
    // min-p: relative to the most likely token
    if (o.minP > 0) {
      let m = 1;
      while (m < n && p[m] >= o.minP * p[0]) m++;
      n = m;
    }
    // temperature, then draw
    sum = 0;
    for (let i = 0; i < n; i++) sum += p[i] = Math.exp((logits[idx[i]] - max) / o.temperature);
    let r = this.#rng.next() * sum;
    for (let i = 0; i < n; i++) {
      r -= p[i];
      if (r < 0) return idx[i];
    }
    return idx[n - 1];
  }

  // idx[lo..hi] so that the k largest (by logit) come first (quickselect, no allocation)
  #select(lo: number, hi: number, k: number): void {
    const idx = this.#idx, l = this.#logits;
    while (hi > lo) {
      const pivot = l[idx[(lo + hi) >> 1]];
      let i = lo, j = hi;
      while (i <= j) {
        while (l[idx[i]] > pivot) i++;
        while (l[idx[j]] < pivot) j--;
        if (i <= j) {
          const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
          i++; j--;
        }
      }
      if (k - 1 <= j) hi = j;
      else if (k - 1 >= i) lo = i;
      else return;
    }
  }

  #before(a: number, b: number): boolean {
    const l = this.#logits;
    return l[a] > l[b] || (l[a] === l[b] && a < b);
  }

  // idx[lo..hi] by logit, descending; ties by id (quicksort + insertion sort, no allocation)
  #sort(lo: number, hi: number): void {
    const idx = this.#idx;
    while (hi - lo > 16) {
      const pivot = idx[(lo + hi) >> 1];
      let i = lo, j = hi;
      while (i <= j) {
        while (this.#before(idx[i], pivot)) i++;
        while (this.#before(pivot, idx[j])) j--;
        if (i <= j) {
          const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
          i++; j--;
        }
      }
      if (j - lo < hi - i) {
        this.#sort(lo, j);
        lo = i;
      } else {
        this.#sort(i, hi);
        hi = j;
      }
    }
    for (let i = lo + 1; i <= hi; i++) {
      const v = idx[i];
      let j = i - 1;
      while (j >= lo && this.#before(v, idx[j])) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
  }
}
