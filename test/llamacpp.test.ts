// int4 against llama.cpp (node-llama-cpp's prebuilt CPU build, in a child process) on every file
// of ../shared/models/k256/: one random-weight llama in every tensor type llama-quantize writes.
// Per file: the greedy continuation of "Once upon a time" (BOS first) is llama.cpp's, and over a
// teacher-forced sequence the two engines' next-token distributions differ by no more than the
// rounding of their activations explains.
//
// Why a tolerance, and how large. Both engines compute the same function of the file's weights;
// they differ in how they round a matrix's input x (its activations) and in the order of float
// sums (negligible here). int4 multiplies a matrix it holds as f32 ("stored" keeps F16, BF16 and
// Q8_0 matrices at f32) with x as it is, and a 4-bit one with x quantized to int8 per 32 values
// (f32 scale max|x|/127). llama.cpp rounds x to its weight type's vec_dot_type: F16 -> f16, BF16
// -> bf16, Q4_0/Q4_1/Q5_x/Q8_0/IQ4_NL -> Q8_0 (int8 per 32, fp16 scale), K-quants and IQ4_XS ->
// Q8_K (int8 per 256); its attention also rounds Q, K and V to f16 (F16 KV cache).
//   1. At each input site s (q/k/v share one, gate/up one, then attn_output, ffn_down, output)
//      each engine's rounding error of the input, added as independent: ε_s² = (||R_int4(x) - x||²
//      + ||R_llama(x) - x||²) / ||x||², measured on the actual activations by simulating both
//      roundings (bench/lib/rounding.mjs; ~3e-5 for int8 per 32, ~3e-5 for Q8_0, ~4e-5 for Q8_K,
//      4e-8 for f16, 3e-6 for bf16), plus u²/3 (u = 2^-11) for each of llama.cpp's f16 roundings
//      of Q, K, V per layer. Not ||R_int4(x) - R_llama(x)||², which would be near 0 where both
//      nominally use int8 per 32 (Q8_0 weights): llama.cpp's CPU kernels (repacked, AMX) are
//      chosen by CPU, and on an AVX-512/AMX host its Q8_0 logits were as far from int4's int8
//      run (max |Δlogit| 0.16 at the first position) as from int4's f32 run (0.20), while int4's
//      int8 and f32 runs differ by 0.17: llama.cpp does not round those inputs as its reference does.
//   2. Each site's relative error reaches the final hidden state with a gain taken as 1 (RMSNorm
//      renormalizes, the residual stream adds), errors of different sites independent:
//      ε² = Σ_s ε_s².
//   3. The logits z = W h move by δ = W e: with independent rows, std(δ_i) = ε · σ_z, σ_z² the
//      variance of the logits across the vocabulary at that position.
//   4. For small δ, KL(P‖Q) ≈ ½ Var_P(δ) = ½ ε² σ_z² (1 - Σ p_i²) (bench/lib/llamacpp.mjs
//      expectedDivergence), averaged over the positions: the expected mean KL.
//   The test allows 4x that (SAFETY: a gain of 2 in amplitude for the earlier sites through the
//   network). Measured with quant "native" on all 23 files (AVX-512/AMX host): 0.17x-0.39x the
//   expectation (f16: 0.03x). A real
//   error is far outside it: the same files with every matrix re-quantized to 4 bits ("q4") give a
//   mean KL of 0.2, 80x their expectation.
// Greedy continuations: the two engines may pick differently only where llama.cpp's top two
// tokens are nearer than the rounding can move them: the logit difference of two tokens has std
// √2·σ_δ (σ_δ = ε·σ_z), so a choice is a near tie when llama.cpp's margin is under
// NEAR_TIE·√SAFETY·√2·σ_δ (NEAR_TIE = 4 standard deviations). Up to the first difference the
// continuations are equal; at it the margin must be a near tie, and every teacher-forced position
// where llama.cpp's margin is not a near tie must have the same top-1 token. (llama.cpp against
// itself shows why: llama_cpp_greedy.jsonl, made by the same node-llama-cpp with other settings or
// on another machine, differs from a run here in 15 of the 23 files; k256-Q8_0 at token 12, where
// the top two have probabilities 0.390 and 0.376 here, 0.387 and 0.377 the other way round there.
// Hence llama.cpp runs live here rather than the file being the reference.)
//
// Files with tensor types int4 cannot load yet are listed and skipped, keyed on the GGUFError
// int4 raises for them; once the types load, their tests run. int4 loads each file with quant
// "native" (the file's matrices as stored) where parseQuant has it, else "stored".
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GGUFError, openGGUF } from "../src/index";
import { loadEngine, type Engine } from "../src/model/engine";
import { parseQuant } from "../src/model/quant";
// the harness the scripts use (bench/compare-llamacpp.mjs, bench/e2e.mjs)
import { LlamaCpp, compareLogits, expectedDivergence, findNodeLlamaCpp, firstDifference, margin, topMargin } from "../bench/lib/llamacpp.mjs";
import { fileQuant, int4Greedy, int4Logits, roundingBudget } from "../bench/lib/int4ref.mjs";
import * as rounding from "../bench/lib/rounding.mjs";

const dir = path.resolve(__dirname, "../../shared/models/k256");
const haveShared = fs.existsSync(path.join(dir, "llama_cpp_greedy.jsonl"));
const llamaCpp = findNodeLlamaCpp();
if (!haveShared) console.warn(`skipping llama.cpp comparisons: ${dir} (shared test models) absent`);
else if (!llamaCpp.dir) console.warn(`skipping llama.cpp comparisons: ${llamaCpp.reason}`);

const SAFETY = 4;
const NEAR_TIE = 4;
const GREEDY = 32;
const TEACHER_FORCED = 128;
const quant = fileQuant(parseQuant);

interface Case {
  file: string;
  engine: Engine | null;
  /** the GGUFError of a tensor type int4 cannot load yet */
  notYet: string | null;
}

/** Loads every file now (they are 0.6-3.7 MB), so that the tests can be named by what int4 can load. */
function loadAll(): Case[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".gguf")).sort();
  return files.map((file) => {
    try {
      return { file, engine: loadEngine({ source: { kind: "gguf", path: path.join(dir, file) }, quant, threads: 1 }), notYet: null };
    } catch (e) {
      if (e instanceof GGUFError && /which int4 cannot load/.test(e.message)) return { file, engine: null, notYet: e.message };
      throw e; // any other failure to load is a failure of this test
    }
  });
}

describe.runIf(haveShared && llamaCpp.dir !== null)(`int4 (quant "${quant}") against llama.cpp (node-llama-cpp ${llamaCpp.version ?? "?"}) on ../shared/models/k256`, () => {
  const cases = haveShared && llamaCpp.dir !== null ? loadAll() : [];
  const notYet = cases.filter((c) => c.notYet !== null);
  if (notYet.length > 0) {
    console.warn(`llama.cpp comparison: ${notYet.length} of ${cases.length} k256 files not yet loadable by int4 (skipped):\n` +
      notYet.map((c) => `  ${c.file}: ${c.notYet}`).join("\n"));
  }
  let llama: InstanceType<typeof LlamaCpp>;
  beforeAll(async () => {
    llama = await LlamaCpp.start();
  });
  afterAll(async () => {
    await llama?.close();
  });

  it("the files int4 has always loaded (F16, BF16, Q8_0) are among those compared", () => {
    const loaded = cases.filter((c) => c.engine).map((c) => c.file);
    expect(loaded).toEqual(expect.arrayContaining(["k256-f16.gguf", "k256-BF16.gguf", "k256-Q8_0.gguf"]));
  });

  for (const c of cases) {
    if (c.notYet !== null) {
      it.skip(`${c.file}: not yet loadable by int4 (${c.notYet.replace(/ \(supported:.*$/, "")})`, () => {});
      continue;
    }
    it(`${c.file}: greedy continuation and next-token distributions match llama.cpp's`, async () => {
      const e = c.engine!;
      const file = path.join(dir, c.file);
      const f = openGGUF(file);
      const types = new Map(f.tensors.map((t) => [t.name, t.type.name]));
      f.close();
      const info = await llama.load(file, { threads: 1, ctx: 512 });
      const V = e.transformer.config.vocab;
      expect(info.vocab).toBe(V);
      const prompt = e.tokenizer.encode("Once upon a time"); // BOS first, as llama.cpp's
      expect(await llama.tokenize("Once upon a time")).toEqual(prompt);

      // teacher forcing: the prompt, llama.cpp's greedy continuation, then seeded pseudo-random tokens
      const ref = await llama.greedy(prompt, GREEDY);
      let s = 12345;
      const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % V;
      const seq = [...prompt, ...ref.ids];
      while (seq.length < TEACHER_FORCED) seq.push(rand());
      const lRef = await llama.logits(seq);
      const lInt4 = int4Logits(e, seq);
      const budget = roundingBudget(e, seq, (n: string) => types.get(n)!, rounding);
      const want = expectedDivergence(lRef, V, budget.total);
      const got = compareLogits(lRef, lInt4, V);
      const nearTie = (j: number) => NEAR_TIE * Math.sqrt(SAFETY) * Math.SQRT2 * want.sigma[j];
      const summary = `${c.file}: mean KL ${got.klMean.toExponential(3)} (expected ${want.klMean.toExponential(3)}, allowed ${(SAFETY * want.klMean).toExponential(3)}), max ${got.klMax.toExponential(3)}, top-1 ${(got.top1Agreement * 100).toFixed(1)}%, ε² ${budget.total.toExponential(2)}`;
      console.log(summary);
      expect(got.klMean, summary).toBeLessThanOrEqual(SAFETY * want.klMean);
      for (let j = 0; j < seq.length; j++) {
        if (topMargin(lRef, V, j) > nearTie(j)) {
          const t = lInt4.subarray(j * V, (j + 1) * V).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);
          expect(margin(lRef, V, j, t), `${c.file}: teacher-forced position ${j}: int4's top-1 token ${t} is not llama.cpp's, which leads by more than a near tie`).toBe(0);
        }
      }

      const mine = int4Greedy(e, prompt, GREEDY);
      const d = firstDifference(ref.ids, mine.ids);
      if (d >= 0) {
        // llama.cpp's own distribution at that step (same context as int4's: equal up to d)
        const m = margin(ref.logits, V, d, mine.ids[d]);
        const sigma = expectedDivergence(ref.logits.subarray(d * V, (d + 1) * V), V, budget.total).sigma[0];
        const tie = NEAR_TIE * Math.sqrt(SAFETY) * Math.SQRT2 * sigma;
        console.log(`${c.file}: greedy continuations differ at token ${d} (llama.cpp ${ref.ids[d]}, int4 ${mine.ids[d]}): llama.cpp's margin ${m.toFixed(4)}, near-tie bound ${tie.toFixed(4)}`);
        expect(m, `${c.file}: greedy continuations differ at token ${d} (llama.cpp ${ref.ids[d]}, int4 ${mine.ids[d]}) where llama.cpp's choice leads by ${m.toFixed(4)}, more than a near tie (${tie.toFixed(4)})`).toBeLessThanOrEqual(tie);
      }
    });
  }
});
