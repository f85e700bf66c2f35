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
import { ropeFactorsFor } from "../src/model/transformer";
import { ARCH_MODELS, PHI3_ORIG_CTX, longRopeAttnFactor, phi3LongRopeFactors, writeArchModel, type ArchModelOptions } from "./helpers/archModels";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-arch-unit-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function configOf(which: (typeof ARCH_MODELS)[number], opts: ArchModelOptions = {}) {
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

describe("Phi-3 LongRoPE as llama.cpp reads it", () => {
  // llama.cpp: llama_model::get_rope_factors compares n_ctx_seq (the context padded to a multiple of 256) with n_ctx_orig_yarn
  const llamaCppLong = (ctx: number, orig: number) => Math.ceil(ctx / 256) * 256 > orig;

  it("reads the original context, the attn_factor and both factor tensors", async () => {
    const file = path.join(dir, "phi3-longrope.gguf");
    await writeArchModel(file, "phi3");
    const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "q4", threads: 1 });
    const c = e.transformer.config;
    expect(c.ctx).toBe(4 * PHI3_ORIG_CTX);
    expect(c.ropeOrigCtx).toBe(PHI3_ORIG_CTX);
    expect(c.ropeAttnFactor).toBe(Math.fround(longRopeAttnFactor(c.ctx, PHI3_ORIG_CTX))); // stored as f32
    expect(c.ropeFreqScale ?? 1).toBe(1);
    const want = phi3LongRopeFactors(c.nRot);
    expect(e.weights.ropeFactorsShort).toEqual(want.short);
    expect(e.weights.ropeFactorsLong).toEqual(want.long);
  });

  it("a context up to the original one gets the short factors, a longer one the long ones, as in llama.cpp", () => {
    const short = new Float32Array(16).fill(1.5), long = new Float32Array(16).fill(4), freqs = new Float32Array(16).fill(2);
    for (const orig of [256, 512, 4096]) {
      const c = { ctx: 4 * orig, ropeOrigCtx: orig } as Parameters<typeof ropeFactorsFor>[0];
      for (const ctx of [1, orig - 1, orig, orig + 1, orig + 255, orig + 256, 4 * orig, 8 * orig]) {
        const got = ropeFactorsFor(c, { ropeFactorsShort: short, ropeFactorsLong: long }, ctx);
        expect(got, `orig ${orig}, ctx ${ctx}`).toBe(ctx > orig ? long : short);
        // the same as llama.cpp's choice on its padded context when the original context is a multiple of 256
        expect(got === long, `orig ${orig}, ctx ${ctx}`).toBe(llamaCppLong(ctx, orig));
        // rope_freqs (Llama 3) win; one factor tensor missing: none
        expect(ropeFactorsFor(c, { ropeFreqs: freqs, ropeFactorsShort: short, ropeFactorsLong: long }, ctx)).toBe(freqs);
        expect(ropeFactorsFor(c, ctx > orig ? { ropeFactorsShort: short } : { ropeFactorsLong: long }, ctx)).toBeNull();
      }
    }
    // no original context: the training context is (llama.cpp: n_ctx_orig_yarn defaults to n_ctx_train)
    const c = { ctx: 1024 } as Parameters<typeof ropeFactorsFor>[0];
    expect(ropeFactorsFor(c, { ropeFactorsShort: short, ropeFactorsLong: long }, 1024)).toBe(short);
    expect(ropeFactorsFor(c, { ropeFactorsShort: short, ropeFactorsLong: long }, 1025)).toBe(long);
  });

  it("no attn_factor in the file: 1, not computed from the contexts (llama.cpp's loader does not; its converter writes it)", async () => {
    const c = await configOf("phi3", { meta: [["rope.scaling.attn_factor", "f32", null]] });
    expect(c.ropeAttnFactor).toBeUndefined();
    expect(c.ropeOrigCtx).toBe(PHI3_ORIG_CTX);
  });

  it('rope.scaling.type "longrope" runs for phi3 as llama.cpp runs it, and is a GGUFError for an architecture without LongRoPE factors', async () => {
    expect((await configOf("phi3", { meta: [["rope.scaling.type", "string", "longrope"]] })).ropeFreqScale ?? 1).toBe(1);
    await expect(configOf("qwen2", { meta: [["rope.scaling.type", "string", "longrope"]] })).rejects.toThrow(/"qwen2\.rope\.scaling\.type" = "longrope", which int4 does not run for qwen2 \(supported: none, linear\)/);
    await expect(configOf("phi3", { meta: [["rope.scaling.type", "string", "yarn"]] })).rejects.toThrow(/supported: none, linear, longrope/);
  });

  it("a RoPE scaling factor without a type is linear, as llama.cpp reads it (also under its old key); an explicit \"none\" ignores it", async () => {
    expect((await configOf("qwen2", { meta: [["rope.scaling.factor", "f32", 4]] })).ropeFreqScale).toBe(0.25);
    expect((await configOf("qwen2", { meta: [["rope.scale_linear", "f32", 2]] })).ropeFreqScale).toBe(0.5);
    expect((await configOf("qwen2", { meta: [["rope.scaling.factor", "f32", 0]] })).ropeFreqScale).toBeUndefined();
    expect((await configOf("qwen2", { meta: [["rope.scaling.type", "string", "none"], ["rope.scaling.factor", "f32", 4]] })).ropeFreqScale).toBeUndefined();
    await expect(configOf("qwen2", { meta: [["rope.scaling.factor", "f32", -2]] })).rejects.toThrow(/"qwen2\.rope\.scaling\.factor" = -2, expected a positive number/);
  });

  it("RoPE factor tensors the architecture does not read are not used, whatever their shape (llama.cpp creates none)", async () => {
    const logits = async (which: "phi3" | "llama3", extraTensors: ArchModelOptions["extraTensors"]) => {
      const file = path.join(dir, `${which}-extra-${extraTensors?.length ?? 0}.gguf`);
      await writeArchModel(file, which, 7, { extraTensors });
      const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "q4", threads: 1, ctx: PHI3_ORIG_CTX });
      return { e, out: e.transformer.forward([1, 300, 301, 302], 0).slice() };
    };
    const bad = Float32Array.of(100, 0, -1); // 3 values, not nRot/2
    const phi3 = await logits("phi3", []), phi3Extra = await logits("phi3", [["rope_freqs.weight", bad]]);
    expect(phi3Extra.e.weights.ropeFreqs).toBeUndefined();
    expect(phi3Extra.out).toEqual(phi3.out);
    const llama = await logits("llama3", []), llamaExtra = await logits("llama3", [["rope_factors_long.weight", bad], ["rope_factors_short.weight", bad]]);
    expect(llamaExtra.e.weights.ropeFactorsLong).toBeUndefined();
    expect(llamaExtra.e.weights.ropeFactorsShort).toBeUndefined();
    expect(llamaExtra.out).toEqual(llama.out);
  });

  it("a RoPE factor that is not finite and positive is a GGUFError naming the tensor", async () => {
    const bad = phi3LongRopeFactors(32).long;
    bad[5] = 0;
    const file = path.join(dir, "phi3-zero-factor.gguf");
    await writeArchModel(file, "phi3", 7, { omit: "rope_factors_long.weight", extraTensors: [["rope_factors_long.weight", bad]] });
    expect(() => loadEngine({ source: { kind: "gguf", path: file }, quant: "q4", threads: 1 })).toThrow(GGUFError);
    expect(() => loadEngine({ source: { kind: "gguf", path: file }, quant: "q4", threads: 1 })).toThrow(/"rope_factors_long\.weight": RoPE frequency factor 5 is 0, expected a finite positive number/);
  });
});
