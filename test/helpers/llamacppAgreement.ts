// test/llamacpp.test.ts's agreement check of int4 with llama.cpp on one file, for the tests that
// build their own models (test/arch-llamacpp.test.ts, test/phi3-longrope-llamacpp.test.ts): over a
// teacher-forced sequence the next-token distributions differ by no more than the two engines'
// rounding of activations explains (mean KL within SAFETY x the expectation), every position where
// llama.cpp's top token leads by more than a near tie is int4's top token too, and the greedy
// continuations agree up to a near tie. See test/llamacpp.test.ts for the derivation.
// measure() only measures (a control that must disagree uses it too); expectAgreement() checks.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import type { Engine } from "../../src/model/engine";
import { LlamaCpp, compareLogits, expectedDivergence, firstDifference, margin, topMargin } from "../../bench/lib/llamacpp.mjs";
import { int4Greedy, int4Logits, roundingBudget } from "../../bench/lib/int4ref.mjs";
import * as rounding from "../../bench/lib/rounding.mjs";

export const SAFETY = 4;
export const NEAR_TIE = 4;
const F16_REL2 = 2 ** -22 / 3;

export interface Sequences {
  /** The greedy prompt (BOS first); the teacher-forced sequence starts with it. */
  prompt: number[];
  /** Tokens of greedy continuation compared. */
  greedy: number;
  /** Length of the teacher-forced sequence: the prompt, llama.cpp's greedy continuation, then seeded pseudo-random tokens. */
  teacherForced: number;
}

/** Seeded pseudo-random token ids in [3, vocab) (no BOS/EOS/unknown). */
export function randomTokens(vocab: number, n: number, seed = 12345): number[] {
  let s = seed;
  return Array.from({ length: n }, () => 3 + ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % (vocab - 3)));
}

/** What llama.cpp gave for one file (loaded in `llama`): reused for several int4 engines. */
export interface Reference {
  seq: number[];
  logits: Float32Array;
  greedy: { ids: number[]; logits: Float32Array };
  prompt: number[];
}

export async function reference(llama: InstanceType<typeof LlamaCpp>, s: Sequences): Promise<Reference> {
  const greedy = await llama.greedy(s.prompt, s.greedy);
  const seq = [...s.prompt, ...greedy.ids];
  if (seq.length < s.teacherForced) seq.push(...randomTokens(llama.vocab, s.teacherForced - seq.length));
  return { seq, logits: await llama.logits(seq), greedy, prompt: s.prompt };
}

export interface Agreement {
  summary: string;
  klMean: number;
  /** SAFETY x the expected mean KL */
  klAllowed: number;
  /** Teacher-forced positions where llama.cpp's top token leads by more than a near tie and is not int4's: [position, int4's token]. */
  topMisses: [number, number][];
  /** The first difference of the greedy continuations, if any, with llama.cpp's margin there and the near-tie bound. */
  greedyDiff: { at: number; llama: number; int4: number; margin: number; tie: number } | null;
}

/**
 * int4 (engine, fresh: its KV cache is overwritten) against llama.cpp's reference on the same
 * file. `typeOf(name)`: a tensor's GGUF type name (for the rounding budget).
 */
export function measure(e: Pick<Engine, "transformer" | "weights">, ref: Reference, typeOf: (name: string) => string, label: string): Agreement {
  const V = e.transformer.config.vocab, c = e.transformer.config;
  const lInt4 = int4Logits(e, ref.seq);
  const budget = roundingBudget(e, ref.seq, typeOf, rounding);
  // llama.cpp's CPU GELU reads a table indexed by the f16 of its input and holds f16 results
  // (ggml_vec_gelu_f32 / geglu with GGML_GELU_FP16): two f16 roundings of the FFN's hidden
  // activations per layer that int4's exact tanh GELU does not make
  const eps2 = budget.total + (c.act === "gelu" ? 2 * F16_REL2 * c.nLayers : 0);
  const want = expectedDivergence(ref.logits, V, eps2);
  const got = compareLogits(ref.logits, lInt4, V);
  const nearTie = (sigma: number) => NEAR_TIE * Math.sqrt(SAFETY) * Math.SQRT2 * sigma;
  const topMisses: [number, number][] = [];
  for (let j = 0; j < ref.seq.length; j++) {
    if (topMargin(ref.logits, V, j) <= nearTie(want.sigma[j])) continue;
    const row = lInt4.subarray(j * V, (j + 1) * V);
    const t = row.reduce((b: number, v: number, i: number, a: Float32Array) => (v > a[b] ? i : b), 0);
    if (margin(ref.logits, V, j, t) !== 0) topMisses.push([j, t]);
  }
  const mine = int4Greedy(e, ref.prompt, ref.greedy.ids.length);
  const d = firstDifference(ref.greedy.ids, mine.ids);
  let greedyDiff: Agreement["greedyDiff"] = null;
  if (d >= 0) {
    const sigma = expectedDivergence(ref.greedy.logits.subarray(d * V, (d + 1) * V), V, eps2).sigma[0];
    greedyDiff = { at: d, llama: ref.greedy.ids[d], int4: mine.ids[d], margin: margin(ref.greedy.logits, V, d, mine.ids[d]), tie: nearTie(sigma) };
  }
  const summary = `${label}: mean KL ${got.klMean.toExponential(3)} (expected ${want.klMean.toExponential(3)}, allowed ${(SAFETY * want.klMean).toExponential(3)}), ` +
    `max ${got.klMax.toExponential(3)}, top-1 ${(got.top1Agreement * 100).toFixed(1)}% over ${ref.seq.length} positions, ` +
    `greedy ${greedyDiff ? `differs at token ${d} of ${ref.greedy.ids.length} (margin ${greedyDiff.margin.toFixed(4)}, near-tie bound ${greedyDiff.tie.toFixed(4)})` : `equal (${ref.greedy.ids.length} tokens)`}, ε² ${eps2.toExponential(2)}`;
  return { summary, klMean: got.klMean, klAllowed: SAFETY * want.klMean, topMisses, greedyDiff };
}

/** The checks of the file comment on a measure() result. */
export function expectAgreement(a: Agreement, label: string): void {
  expect(a.klMean, a.summary).toBeLessThanOrEqual(a.klAllowed);
  for (const [j, t] of a.topMisses) {
    expect.fail(`${label}: teacher-forced position ${j}: int4's top-1 token ${t} is not llama.cpp's, which leads by more than a near tie`);
  }
  if (a.greedyDiff) {
    const g = a.greedyDiff;
    expect(g.margin, `${label}: greedy continuations differ at token ${g.at} (llama.cpp ${g.llama}, int4 ${g.int4})`).toBeLessThanOrEqual(g.tie);
  }
}

/**
 * For the enclosing describe block: a temporary directory for its model files and a llama.cpp
 * child, started before its tests (then `setup`, e.g. writing models) and closed after them.
 */
export function llamaCppSession(prefix: string, setup?: (dir: string) => Promise<void>): { dir: string; llama: () => InstanceType<typeof LlamaCpp> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let llama: InstanceType<typeof LlamaCpp> | undefined;
  beforeAll(async () => {
    llama = await LlamaCpp.start();
    await setup?.(dir);
  }, 60_000);
  afterAll(async () => {
    await llama?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, llama: () => llama! };
}
