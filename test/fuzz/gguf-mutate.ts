// A GGUF mutation fuzzer: valid small model files, mutated (bit flips, interesting values at
// random places and at the header's counts and lengths, truncation, removed and duplicated
// ranges), each read the way loadModel reads one. The only acceptable outcomes are success or a
// GGUFError / RangeError / TypeError whose message is short and free of control characters;
// anything else (another error, a crash, a hang) is a finding, reproducible from its seed.
import { GGUFError, openGGUF } from "../../src/gguf/reader";
import { configFromGGUF } from "../../src/model/config";
import { parseQuant } from "../../src/model/quant";
import { Transformer } from "../../src/model/transformer";
import { checkLoadFits, loadWeights } from "../../src/model/weights";
import { Tokenizer } from "../../src/tokenizer";
import { rng } from "../helpers/ggmlRef";
import { tinyModel, type StoredType } from "../modelFixture";

export { rng };

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x20];
const INTERESTING_U64 = [0n, 1n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0xffffffffffffffffn, 1n << 53n, 31n, 64n];

/** The seed files: a tiny llama model in each stored type the loader reads; llama.cpp's block
 * types at dim 256 (one layer), so that the K types' 256-value blocks fit every row. */
export function seeds(): Uint8Array[] {
  const types: StoredType[] = ["F32", "F16", "Q8_0", "Q4_0", "Q4_1"];
  const blockTypes: StoredType[] = ["Q4_K", "Q6_K", "IQ4_XS", "Q2_K", "Q5_0", "Q8_K"];
  const big = { dim: 256, hidden: 256, layers: 1 };
  return [
    ...types.map((type, i) => tinyModel({ type, seed: i + 1 }).bytes),
    ...blockTypes.map((type, i) => tinyModel({ type, seed: 10 + i, config: big }).bytes),
  ];
}

const HALF_SPECIALS = [0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001, 0x8000];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** One mutation of `src` (a fresh copy), chosen by `r`. */
export function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const rounds = 1 + Math.floor(r() * 4);
  for (let k = 0; k < rounds; k++) {
    const at = (limit = b.length) => Math.floor(r() * Math.max(1, limit));
    // most of the structure is in the header: aim there half of the time
    const pos = r() < 0.5 ? at(Math.min(b.length, 4096)) : at();
    switch (Math.floor(r() * 8)) {
      case 0: b[pos] ^= 1 << Math.floor(r() * 8); break;
      case 1: b[pos] = INTERESTING[Math.floor(r() * INTERESTING.length)]; break;
      case 2: { // a u64 at an 8-aligned or any position: counts, lengths, dims, offsets
        const p = r() < 0.5 ? pos & ~7 : pos;
        if (p + 8 <= b.length) new DataView(b.buffer).setBigUint64(p, INTERESTING_U64[Math.floor(r() * INTERESTING_U64.length)], true);
        break;
      }
      case 3: { // a u32: types, dimension counts, array element types
        if (pos + 4 <= b.length) new DataView(b.buffer).setUint32(pos, Math.floor(r() * 40) - 2 >>> 0, true);
        break;
      }
      case 4: b = b.slice(0, at()); break; // truncation
      case 5: { // remove a range
        const len = Math.floor(r() * 64);
        b = concat(b.subarray(0, pos), b.subarray(pos + len));
        break;
      }
      case 6: { // an fp16 inf / NaN / max / subnormal / -0 anywhere: block scales (d, dmin) in the data
        const p = at() & ~1;
        if (p + 2 <= b.length) new DataView(b.buffer).setUint16(p, HALF_SPECIALS[Math.floor(r() * HALF_SPECIALS.length)], true);
        break;
      }
      default: { // duplicate a range
        const len = Math.floor(r() * 64);
        b = concat(b.subarray(0, pos + len), b.subarray(pos, pos + len), b.subarray(pos + len));
      }
    }
  }
  return b;
}

export interface Finding {
  seed: number;
  problem: string;
  bytes: Uint8Array;
}

const ACCEPTED = [GGUFError, RangeError, TypeError];

/** Whether an error is one a user may get: its class and its message. Returns the problem, or null. */
export function judge(e: unknown): string | null {
  if (!ACCEPTED.some((E) => e instanceof E)) return `unexpected ${(e as Error)?.constructor?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 300)}`;
  const msg = (e as Error).message;
  if (msg.length === 0) return "an empty message";
  if (msg.length > 2000) return `a message of ${msg.length} characters`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(msg)) return `a control character in the message: ${JSON.stringify(msg.slice(0, 200))}`;
  return null;
}

/** Reads a file as loadModel does (header, config, tokenizer, every weight), in this thread. */
export type FuzzQuant = "f32" | "q4" | "native";
export const FUZZ_QUANTS: readonly FuzzQuant[] = ["f32", "q4", "native"];

export function readLikeLoadModel(bytes: Uint8Array, quant: FuzzQuant): void {
  const f = openGGUF(bytes);
  for (const t of f.tensors) f.readTensorBytes(t);
  const c = configFromGGUF(f);
  const tok = Tokenizer.fromGGUF(f);
  tok.decode(tok.encode("hello world"));
  const spec = parseQuant(quant);
  checkLoadFits(f, spec, 2 ** 30);
  const w = loadWeights(f, c, spec);
  // and runs it: a batch of tokens (the GEMM kernels) and one token (GEMV) over the loaded blocks
  const t = new Transformer(c, w, { ctx: 8, threads: 1 });
  t.forward([1, 5, 100].map((x) => x % c.vocab), 0);
  t.forward([7 % c.vocab], 3);
}

/** Runs `count` cases from `seed`; returns the findings (inputs that broke the contract). */
export function fuzzGGUF(seed: number, count: number): Finding[] {
  const base = seeds();
  const findings: Finding[] = [];
  for (let i = 0; i < count; i++) {
    const s = seed + i;
    const r = rng(s);
    const bytes = mutate(base[Math.floor(r() * base.length)], r);
    const problem = runOne(bytes, FUZZ_QUANTS[Math.floor(r() * FUZZ_QUANTS.length)]);
    if (problem) findings.push({ seed: s, problem, bytes });
  }
  return findings;
}

export function runOne(bytes: Uint8Array, quant: FuzzQuant): string | null {
  try {
    readLikeLoadModel(bytes, quant);
    return null;
  } catch (e) {
    return judge(e);
  }
}
