// The architecture registry (src/model/arch): each architecture's hyperparameters as its file
// declares them, and the errors a file of an unknown architecture or one missing a tensor gives.
// Numerical agreement with llama.cpp is test/arch-llamacpp.test.ts.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GGUFError, openGGUF } from "../src/index";
import { configFromGGUF } from "../src/model/config";
import { loadEngine } from "../src/model/engine";
import { ARCH_MODELS, writeArchModel } from "./helpers/archModels";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-arch-unit-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function configOf(which: (typeof ARCH_MODELS)[number], opts = {}) {
  const file = path.join(dir, `${which}-${JSON.stringify(opts).replace(/\W/g, "")}.gguf`);
  await writeArchModel(file, which, 7, opts);
  const f = openGGUF(file);
  try {
    return configFromGGUF(f);
  } finally {
    f.close();
  }
}

describe("architectures", () => {
  it("each declares its differences from llama", async () => {
    expect((await configOf("llama3")).ropeMode).toBe(0);
    expect((await configOf("qwen2")).ropeMode).toBe(2);
    const g2 = await configOf("gemma2");
    expect(g2).toMatchObject({ act: "gelu", attnSoftcap: 2, finalSoftcap: 12, window: 24, swaLayers: [true, false] });
    expect(g2.embedScale).toBeCloseTo(16, 5);
    expect(g2.attnScale).toBeCloseTo(1 / 8, 7);
    const g3 = await configOf("gemma3");
    expect(g3).toMatchObject({ window: 24, swaLayers: [true, true, true, true, true, false], ropeBaseSwa: 10000, ropeFreqScaleSwa: 1, ropeFreqScale: 0.5 });
    expect(g3.attnSoftcap).toBeUndefined();
  });

  it("a model of each loads and generates", async () => {
    for (const which of ARCH_MODELS) {
      const file = path.join(dir, `${which}-run.gguf`);
      await writeArchModel(file, which);
      const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "q4", threads: 1 });
      const logits = e.transformer.forward([1, 300, 301], 0);
      expect(logits.every(Number.isFinite), which).toBe(true);
    }
  });

  it("an unknown architecture is a GGUFError naming it and the supported ones", async () => {
    await expect(configOf("qwen2", { arch: "mamba" })).rejects.toThrow(GGUFError);
    await expect(configOf("qwen2", { arch: "mamba" })).rejects.toThrow(/unsupported architecture "mamba" \(supported: llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3\)/);
  });

  it("a known architecture missing one of its tensors is a GGUFError naming the tensor", async () => {
    await expect(configOf("qwen3", { omit: "blk.1.attn_k_norm.weight" })).rejects.toThrow(/missing tensor "blk\.1\.attn_k_norm\.weight" for qwen3/);
    await expect(configOf("qwen2", { omit: "blk.0.attn_v.bias" })).rejects.toThrow(/missing tensor "blk\.0\.attn_v\.bias" for qwen2/);
    await expect(configOf("phi3", { omit: "blk.0.attn_qkv.weight" })).rejects.toThrow(GGUFError);
    await expect(configOf("gemma2", { omit: "blk.0.post_ffw_norm.weight" })).rejects.toThrow(/post_ffw_norm/);
  });
});
