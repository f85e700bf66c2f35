// Modern families with their real vocabularies (../shared/vocab: Qwen2's and Llama 3's byte-level
// BPE): a random-weight qwen2 / llama (Llama 3) model carrying the vocabulary, quantized with
// `int4 quantize --format q4_k_m`, runs in int4 as in llama.cpp on the same file: text tokenizes to
// llama.cpp's ids (with its BOS rule, special tokens parsed), and the next-token distributions
// agree within the activation-rounding budget of test/llamacpp.test.ts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openGGUF } from "../src/index";
import { loadEngine } from "../src/model/engine";
// @ts-expect-error: .mjs modules of the benchmarks without types
import { compareLogits, expectedDivergence, findNodeLlamaCpp } from "../bench/lib/llamacpp.mjs";
// @ts-expect-error: see above
import { int4Logits, roundingBudget } from "../bench/lib/int4ref.mjs";
// @ts-expect-error: see above
import * as rounding from "../bench/lib/rounding.mjs";
import { writeArchModel, type ArchModel } from "./helpers/archModels";
import { SAFETY, llamaCppSession } from "./helpers/llamacppAgreement";

const root = path.resolve(__dirname, "..");
const vocabDir = path.resolve(root, "..", "shared", "vocab");
const cli = path.join(root, "dist", "cli.js");
const have = fs.existsSync(vocabDir) && (findNodeLlamaCpp() as { dir: string | null }).dir !== null;

describe.runIf(have)("qwen2 and Llama 3 models with their own vocabularies, against llama.cpp", () => {
  const { dir, llama } = llamaCppSession("int4-vocab-");
  const cases: [ArchModel, string][] = [["qwen2", "qwen2"], ["llama3", "llama-bpe"]];
  for (const [which, vocab] of cases) {
    it(`${which} with ggml-vocab-${vocab} (Q4_K_M): tokens and next-token distributions`, async () => {
      const f16 = path.join(dir, `${which}-f16.gguf`), file = path.join(dir, `${which}-q4_k_m.gguf`);
      await writeArchModel(f16, which, 11, { vocabFile: path.join(vocabDir, `ggml-vocab-${vocab}.gguf`) });
      const r = spawnSync(process.execPath, [cli, "quantize", "--model", f16, "--out", file, "--format", "q4_k_m"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const f = openGGUF(file);
      const types = new Map(f.tensors.map((t) => [t.name, t.type.name]));
      f.close();
      const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "native", threads: 1 });
      await llama().load(file, { threads: 1, ctx: 256 });
      const text = "Hello, world! Once upon a time<|im_end|> there were 3 cats — «très» bien. 你好";
      const ids = e.tokenizer.encode(text, { special: true });
      expect(ids).toEqual(await llama().tokenize(text, { special: true }));
      const V = e.transformer.config.vocab;
      const seq = ids.slice(0, 24);
      const lRef = await llama().logits(seq);
      const lInt4 = int4Logits(e, seq);
      const budget = roundingBudget(e, seq, (n: string) => types.get(n)!, rounding);
      const want = expectedDivergence(lRef, V, budget.total);
      const got = compareLogits(lRef, lInt4, V);
      const summary = `${which}: mean KL ${got.klMean.toExponential(3)} (expected ${want.klMean.toExponential(3)}), top-1 ${(got.top1Agreement * 100).toFixed(1)}%`;
      console.log(summary);
      expect(got.klMean, summary).toBeLessThanOrEqual(SAFETY * want.klMean);
    }, 180_000);
  }
});
if (!have) describe("real vocabularies against llama.cpp", () => it.skip("../shared/vocab or node-llama-cpp is absent", () => {}));
