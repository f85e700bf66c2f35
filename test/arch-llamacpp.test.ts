// Every architecture int4 runs against llama.cpp (node-llama-cpp's prebuilt CPU build, in a child
// process) on the same file: small random-weight models of each (test/helpers/archModels.ts), F16
// and quantized with `int4 quantize --format q4_k_m` (llama-quantize's types and bytes). The
// check is test/llamacpp.test.ts's: over a teacher-forced sequence longer than the sliding
// windows, the next-token distributions differ by no more than the two engines' rounding of
// activations explains (KL within SAFETY x the expectation; see that file for the derivation),
// every position where llama.cpp's top token leads by more than a near tie is int4's top token
// too, and the greedy continuations agree up to a near tie.
// One addition to the rounding budget: llama.cpp's CPU GELU reads a table indexed by the f16 of
// its input and holds f16 results (ggml_vec_gelu_f32 / geglu with GGML_GELU_FP16), two f16
// roundings of the FFN's hidden activations per layer, which int4's exact tanh GELU does not make.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGGUF } from "../src/index";
import { loadEngine } from "../src/model/engine";
import { LlamaCpp, compareLogits, expectedDivergence, findNodeLlamaCpp, firstDifference, margin, topMargin } from "../bench/lib/llamacpp.mjs";
import { int4Greedy, int4Logits, roundingBudget } from "../bench/lib/int4ref.mjs";
import * as rounding from "../bench/lib/rounding.mjs";
import { ARCH_MODELS, writeArchModel } from "./helpers/archModels";

const llamaCpp = findNodeLlamaCpp();
const cli = path.resolve(__dirname, "..", "dist", "cli.js");
if (!llamaCpp.dir) console.warn(`skipping architecture comparisons with llama.cpp: ${llamaCpp.reason}`);

const SAFETY = 4;
const NEAR_TIE = 4;
const GREEDY = 16;
const TEACHER_FORCED = 96;
const F16_REL2 = 2 ** -22 / 3;

describe.runIf(llamaCpp.dir !== null)(`every architecture against llama.cpp (node-llama-cpp ${llamaCpp.version ?? "?"})`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-arch-"));
  let llama: InstanceType<typeof LlamaCpp>;
  beforeAll(async () => {
    llama = await LlamaCpp.start();
  }, 60_000);
  afterAll(async () => {
    await llama?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const which of ARCH_MODELS) {
    for (const format of ["f16", "q4_k_m"] as const) {
      it(`${which} (${format}): next-token distributions and greedy continuation match llama.cpp's`, async () => {
        const f16 = path.join(dir, `${which}-f16.gguf`);
        if (!fs.existsSync(f16)) await writeArchModel(f16, which);
        let file = f16;
        if (format !== "f16") {
          file = path.join(dir, `${which}-${format}.gguf`);
          const r = spawnSync(process.execPath, [cli, "quantize", "--model", f16, "--out", file, "--format", format], { encoding: "utf8" });
          expect(r.status, r.stderr).toBe(0);
        }
        const f = openGGUF(file);
        const types = new Map(f.tensors.map((t) => [t.name, t.type.name]));
        f.close();
        const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "native", threads: 1 });
        const info = await llama.load(file, { threads: 1, ctx: 512 });
        const V = e.transformer.config.vocab;
        expect(info.vocab).toBe(V);

        // teacher forcing: BOS, a few tokens, llama.cpp's greedy continuation, then seeded pseudo-random tokens
        const prompt = [1, 300, 301, 302, 303];
        const ref = await llama.greedy(prompt, GREEDY);
        let s = 12345;
        const rand = () => 3 + ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % (V - 3));
        const seq = [...prompt, ...ref.ids];
        while (seq.length < TEACHER_FORCED) seq.push(rand());
        const lRef = await llama.logits(seq);
        const lInt4 = int4Logits(e, seq);
        const budget = roundingBudget(e, seq, (n: string) => types.get(n)!, rounding);
        const c = e.transformer.config;
        const eps2 = budget.total + (c.act === "gelu" ? 2 * F16_REL2 * c.nLayers : 0);
        const want = expectedDivergence(lRef, V, eps2);
        const got = compareLogits(lRef, lInt4, V);
        const nearTie = (j: number) => NEAR_TIE * Math.sqrt(SAFETY) * Math.SQRT2 * want.sigma[j];
        const summary = `${which} ${format}: mean KL ${got.klMean.toExponential(3)} (expected ${want.klMean.toExponential(3)}, allowed ${(SAFETY * want.klMean).toExponential(3)}), max ${got.klMax.toExponential(3)}, top-1 ${(got.top1Agreement * 100).toFixed(1)}%, ε² ${eps2.toExponential(2)}`;
        console.log(summary);
        expect(got.klMean, summary).toBeLessThanOrEqual(SAFETY * want.klMean);
        for (let j = 0; j < seq.length; j++) {
          if (topMargin(lRef, V, j) > nearTie(j)) {
            const t = lInt4.subarray(j * V, (j + 1) * V).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);
            expect(margin(lRef, V, j, t), `${which} ${format}: teacher-forced position ${j}: int4's top-1 token ${t} is not llama.cpp's, which leads by more than a near tie`).toBe(0);
          }
        }
        const mine = int4Greedy(e, prompt, GREEDY);
        const d = firstDifference(ref.ids, mine.ids);
        if (d >= 0) {
          const m = margin(ref.logits, V, d, mine.ids[d]);
          const sigma = expectedDivergence(ref.logits.subarray(d * V, (d + 1) * V), V, eps2).sigma[0];
          const tie = NEAR_TIE * Math.sqrt(SAFETY) * Math.SQRT2 * sigma;
          console.log(`${which} ${format}: greedy continuations differ at token ${d}: llama.cpp's margin ${m.toFixed(4)}, near-tie bound ${tie.toFixed(4)}`);
          expect(m, `${which} ${format}: greedy continuations differ at token ${d} (llama.cpp ${ref.ids[d]}, int4 ${mine.ids[d]})`).toBeLessThanOrEqual(tie);
        }
        e.dispose?.();
      }, 120_000);
    }
  }
});
