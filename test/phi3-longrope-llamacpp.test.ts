// Phi-3 LongRoPE (Phi-3-mini-128k, Phi-3.5-mini) against llama.cpp in both of its regimes, on the
// random-weight phi3 model of test/helpers/archModels.ts: rope_factors_short in [1, 2),
// rope_factors_long in [2, 8), original context PHI3_ORIG_CTX (512), context 2048 and the
// converter's attn_factor. What llama.cpp does:
//   - get_rope_factors (src/llama-model.cpp): rope_freqs if any, else rope_long when
//     cparams.n_ctx_seq > hparams.n_ctx_orig_yarn, else rope_short. n_ctx_orig_yarn is
//     `phi3.rope.scaling.original_context_length` (else the training context); n_ctx_seq is the
//     context per sequence after llama_context pads n_ctx to a multiple of 256.
//   - the phi3 graph (src/models/phi3.cpp) rotates Q and K with ggml_rope_ext(rope_factors, ...,
//     ext_factor, attn_factor): ext_factor 0 (the file has no rope.scaling.type, which reads as
//     "linear": no YaRN) and attn_factor = cparams.yarn_attn_factor = 1 x hparams.rope_attn_factor
//     (`phi3.rope.scaling.attn_factor`, 1 when absent; the loader does not compute it: the
//     converter writes sqrt(1 + ln(ctx/orig) / ln(orig))), which multiplies cos and sin in both
//     regimes.
// Each regime gets the same context in both engines, chosen a multiple of 256 so that llama.cpp's
// padding leaves it as it is (checked: its n_ctx): 512 (= the original context: short factors) and
// 768 (the smallest padded context above it: long factors), over sequences long enough that the
// rotation matters (the long one's greedy continuation runs past the original context), F16 and
// Q4_K_M; and F16 with RoPE on 3/4 of each head (Phi-4-mini's partial_rotary_factor 0.75: nRot/2
// factors, the last quarter of each head not rotated). Controls
// show the check would see a wrong choice: int4 with the other regime's factors, or without the
// attn_factor, is far outside the tolerance llama.cpp's reference allows.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openGGUF } from "../src/index";
import { loadEngine, type Engine } from "../src/model/engine";
import { Transformer } from "../src/model/transformer";
import type { ModelConfig } from "../src/model/config";
import type { ModelWeights } from "../src/model/weights";
import { findNodeLlamaCpp } from "../bench/lib/llamacpp.mjs";
import { PHI3_ORIG_CTX, longRopeAttnFactor, writeArchModel } from "./helpers/archModels";
import { expectAgreement, llamaCppSession, measure, randomTokens, reference, type Reference } from "./helpers/llamacppAgreement";

const llamaCpp = findNodeLlamaCpp();
const cli = path.resolve(__dirname, "..", "dist", "cli.js");
if (!llamaCpp.dir) console.warn(`skipping Phi-3 LongRoPE comparisons with llama.cpp: ${llamaCpp.reason}`);

const GREEDY = 16;
/**
 * A control must be at least this many times the allowed mean KL away. Measured (f16): the other
 * regime's factors 1100-1600x, no attn_factor 70-140x; int4 itself about 0.001x.
 */
const CONTROL_FACTOR = 10;

interface Regime {
  name: "short" | "long";
  ctx: number;
  /** greedy prompt length (BOS + seeded tokens) and teacher-forced length, both within ctx */
  prompt: number;
  teacherForced: number;
}
const REGIMES: Regime[] = [
  { name: "short", ctx: PHI3_ORIG_CTX, prompt: 300, teacherForced: PHI3_ORIG_CTX - 32 },
  { name: "long", ctx: PHI3_ORIG_CTX + 256, prompt: PHI3_ORIG_CTX + 88, teacherForced: PHI3_ORIG_CTX + 228 },
];

/** The same model with other weights or config in a Transformer of context ctx (a control). */
function variant(ctx: number, config: ModelConfig, weights: ModelWeights): Pick<Engine, "transformer" | "weights"> {
  return { transformer: new Transformer(config, weights, { ctx, threads: 1 }), weights };
}

/** The phi3 model's head dimension, and the rotated part of it in the partial-rotary files. */
const HEAD_DIM = 32, PARTIAL_NROT = 24;

interface Case {
  regime: Regime;
  format: "f16" | "q4_k_m";
  /** RoPE dimensions per head: all of them, or Phi-4-mini's 3/4 */
  nRot: number;
}
const CASES: Case[] = REGIMES.flatMap((regime) => [
  { regime, format: "f16", nRot: HEAD_DIM },
  { regime, format: "q4_k_m", nRot: HEAD_DIM },
  { regime, format: "f16", nRot: PARTIAL_NROT },
]);

describe.runIf(llamaCpp.dir !== null)(`Phi-3 LongRoPE against llama.cpp (node-llama-cpp ${llamaCpp.version ?? "?"})`, () => {
  const { dir, llama } = llamaCppSession("int4-phi3-", async () => {
    await writeArchModel(f16(HEAD_DIM), "phi3");
    await writeArchModel(f16(PARTIAL_NROT), "phi3", 7, { nRot: PARTIAL_NROT });
  });
  const f16 = (nRot: number) => path.join(dir, `phi3-rot${nRot}-f16.gguf`);

  for (const { regime: r, format, nRot } of CASES) {
    const rot = nRot === HEAD_DIM ? "" : `, RoPE on ${nRot} of ${HEAD_DIM} dimensions`;
    it(`${r.name} factors at context ${r.ctx} (${format}${rot}): next-token distributions and greedy continuation match llama.cpp's`, async () => {
      let file = f16(nRot);
      if (format !== "f16") {
        file = path.join(dir, `phi3-rot${nRot}-${format}.gguf`);
        if (!fs.existsSync(file)) {
          const q = spawnSync(process.execPath, [cli, "quantize", "--model", f16(nRot), "--out", file, "--format", format], { encoding: "utf8" });
          expect(q.status, q.stderr).toBe(0);
        }
      }
      const f = openGGUF(file);
      const types = new Map(f.tensors.map((t) => [t.name, t.type.name]));
      f.close();
      const typeOf = (n: string) => types.get(n)!;
      const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "native", threads: 1, ctx: r.ctx });
      const c = e.transformer.config;
      // as read (the q4_k_m file's tolerance alone would not see a missing attn_factor)
      expect(c.ropeOrigCtx).toBe(PHI3_ORIG_CTX);
      expect(c.ropeAttnFactor).toBe(Math.fround(longRopeAttnFactor(c.ctx, PHI3_ORIG_CTX)));
      expect(c.nRot).toBe(nRot);
      expect(e.weights.ropeFactorsShort?.length).toBe(nRot / 2);
      expect(e.weights.ropeFactorsLong?.length).toBe(nRot / 2);
      const info = await llama().load(file, { threads: 1, ctx: r.ctx });
      expect(info.vocab).toBe(c.vocab);
      // llama.cpp's n_ctx (= n_ctx_seq with one sequence) is on the regime's side of the original context
      expect(info.nCtx).toBe(r.ctx);
      expect(info.nCtx > PHI3_ORIG_CTX).toBe(r.name === "long");

      const ref: Reference = await reference(llama(), { prompt: [1, ...randomTokens(c.vocab, r.prompt - 1, 777)], greedy: GREEDY, teacherForced: r.teacherForced });
      const label = `phi3 ${format} ${r.name} (ctx ${r.ctx}${rot})`;
      const a = measure(e, ref, typeOf, label);
      console.log(a.summary);
      expectAgreement(a, label);
      if (format !== "f16") return;

      // controls: the other regime's factors; no attn_factor
      const w = e.weights;
      const swapped = variant(r.ctx, c, { ...w, ropeFactorsShort: w.ropeFactorsLong, ropeFactorsLong: w.ropeFactorsShort });
      const noMscale = variant(r.ctx, { ...c, ropeAttnFactor: undefined }, w);
      for (const [what, v] of [["the other regime's factors", swapped], ["no attn_factor", noMscale]] as const) {
        const m = measure(v, ref, typeOf, `${label}, control with ${what}`);
        console.log(m.summary);
        expect(m.klMean, `control with ${what} must disagree with llama.cpp: ${m.summary}`).toBeGreaterThan(CONTROL_FACTOR * m.klAllowed);
      }
    }, 180_000);
  }
});
