// Every architecture int4 runs against llama.cpp (node-llama-cpp's prebuilt CPU build, in a child
// process) on the same file: small random-weight models of each (test/helpers/archModels.ts), F16
// and quantized with `int4 quantize --format q4_k_m` (llama-quantize's types and bytes). The
// check is test/llamacpp.test.ts's: over a teacher-forced sequence longer than the sliding
// windows, the next-token distributions differ by no more than the two engines' rounding of
// activations explains (KL within SAFETY x the expectation; see that file for the derivation),
// every position where llama.cpp's top token leads by more than a near tie is int4's top token
// too, and the greedy continuations agree up to a near tie (test/helpers/llamacppAgreement.ts;
// it adds to the rounding budget llama.cpp's f16 GELU table, ggml_vec_gelu_f32 / geglu with
// GGML_GELU_FP16: two f16 roundings of the FFN's hidden activations per layer, which int4's
// exact tanh GELU does not make).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openGGUF } from "../src/index";
import { loadEngine } from "../src/model/engine";
import { findNodeLlamaCpp } from "../bench/lib/llamacpp.mjs";
import { ARCH_MODELS, writeArchModel } from "./helpers/archModels";
import { expectAgreement, llamaCppSession, measure, reference } from "./helpers/llamacppAgreement";

const llamaCpp = findNodeLlamaCpp();
const cli = path.resolve(__dirname, "..", "dist", "cli.js");
if (!llamaCpp.dir) console.warn(`skipping architecture comparisons with llama.cpp: ${llamaCpp.reason}`);

const GREEDY = 16;
const TEACHER_FORCED = 96;
// The same context in both engines (a multiple of 256, which llama.cpp pads to): phi3's LongRoPE
// factors depend on it (its original context, 512: the short ones; test/phi3-longrope-llamacpp.test.ts
// compares both regimes).
const CTX = 512;

describe.runIf(llamaCpp.dir !== null)(`every architecture against llama.cpp (node-llama-cpp ${llamaCpp.version ?? "?"})`, () => {
  const { dir, llama } = llamaCppSession("int4-arch-");

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
        const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "native", threads: 1, ctx: CTX });
        const info = await llama().load(file, { threads: 1, ctx: CTX });
        expect(info.vocab).toBe(e.transformer.config.vocab);
        // teacher forcing: BOS, a few tokens, llama.cpp's greedy continuation, then seeded pseudo-random tokens
        const ref = await reference(llama(), { prompt: [1, 300, 301, 302, 303], greedy: GREEDY, teacherForced: TEACHER_FORCED });
        const label = `${which} ${format}`;
        const a = measure(e, ref, (n: string) => types.get(n)!, label);
        console.log(a.summary);
        expectAgreement(a, label);
      }, 120_000);
    }
  }
});
