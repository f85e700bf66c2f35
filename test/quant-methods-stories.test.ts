// Quantization methods on the shared real model (stories260K, ../shared/models): a test-only
// float64 forward pass (checked against llama2.c's logits) gives each linear layer's calibration
// inputs; every layer matrix is quantized (weight only) and the model's next-token distributions
// compared with the f32 model's on text the f32 model sampled (fixed seeds). Skipped without the model.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { rng } from "./helpers/ggmlRef";
import { forward, klStats, loadLlama2c, sample, type Llama2c } from "./helpers/llama2c";
import { calibrate, quantizeModel, type Method } from "./helpers/llama2cQuant";

const models = path.resolve(__dirname, "..", "../shared/models");
const bin = path.join(models, "stories260K.bin");
const have = fs.existsSync(bin);
if (!have) console.warn(`quant-methods-stories tests skipped: ${bin} not found`);

describe.skipIf(!have)("quantization methods on stories260K", () => {
  let m: Llama2c;

  it("the test forward pass reproduces llama2.c's logits (1e-4)", () => {
    m = loadLlama2c(bin);
    const ref = JSON.parse(fs.readFileSync(path.join(models, "stories260K_logits.json"), "utf8"));
    const raw = fs.readFileSync(path.join(models, "stories260K_logits.f32"));
    const want = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const got = forward(m, ref.token_ids);
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it("q4 group 32: mse with importance and gptq lower the mean KL divergence from the f32 model below rtn's", () => {
    m ??= loadLlama2c(bin);
    const calib = calibrate(m, sample(m, 8, 64, rng(1)));
    const evalSeqs = sample(m, 8, 64, rng(2));
    const base = evalSeqs.map((s) => forward(m, s));
    const kl = (method: Method, scheme: "symmetric" | "asymmetric") => {
      const qm = quantizeModel(m, method, 32, scheme, calib);
      return evalSeqs.reduce((s, seq, i) => s + klStats(base[i], forward(qm, seq), m.vocab, 32).kl, 0) / evalSeqs.length;
    };
    for (const scheme of ["symmetric", "asymmetric"] as const) {
      const rtn = kl("rtn", scheme);
      const mse = kl("mse", scheme);
      const gptq = kl("gptq", scheme);
      expect(rtn).toBeGreaterThan(0.01); // 4 bits cost something on this model
      expect(mse).toBeLessThan(rtn);
      expect(gptq).toBeLessThan(0.8 * rtn);
    }
  });
});
