// Small random-weight GGUF models of each architecture int4 runs, with the metadata llama.cpp
// needs to load them too (test/arch-llamacpp.test.ts compares the two engines on them): F16
// matrices, F32 vectors, a 512-piece SentencePiece vocabulary (int4's demo vocabulary, which
// both engines load today). Each architecture's peculiar tensors and settings are exercised at
// values that matter at this size: biases and norm weights away from 0 and 1, sliding windows
// shorter than the test sequences, soft-caps low enough to bend the scores, RoPE factors and
// scaling that change the angles. The phi3 model carries LongRoPE (rope_factors_short / _long, an
// original context shorter than its context, the converter's attn_factor), so that which factors
// a context gets, and the scale of cos and sin, show in its outputs.
import { writeGGUF, ggufTensorFromFloat } from "../../src/gguf/writer";
import { openGGUF } from "../../src/gguf/reader";
import { spmTokenizerMetadata, tokenizerMetadata } from "../../src/gguf/metadata";
import { Tensor } from "../../src/tensor";
import { native } from "../../src/native";
import { demoVocabulary } from "../../src/tokenizer/demo";
import { architecture, type ModelConfig } from "../../src/model/arch";

export const ARCH_MODELS = ["llama3", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"] as const;
export type ArchModel = (typeof ARCH_MODELS)[number];

type Meta = [string, { type: string; value: unknown; itemType?: string }][];

interface Shape {
  arch: string;
  dim: number; nLayers: number; nHeads: number; nKvHeads: number; headDim: number; hidden: number;
  vocab: number; ctx: number; ropeBase: number;
  /** dimensions of a head that RoPE rotates (default headDim) */
  nRot?: number;
  /** metadata under `<arch>.` beyond the common keys */
  extra?: [string, "u32" | "f32" | "string", number | string][];
  /** drop output.weight (tied to the embedding) */
  tied?: boolean;
}

/**
 * The phi3 model's original context (`phi3.rope.scaling.original_context_length`): a context up
 * to it gets rope_factors_short, a longer one rope_factors_long. A multiple of 256, as llama.cpp
 * pads its context to one (and real Phi-3's 4096 is).
 */
export const PHI3_ORIG_CTX = 512;

/** convert_hf_to_gguf's Phi3MiniModel attn_factor for LongRoPE ("su" / "longrope"): sqrt(1 + ln(ctx/orig) / ln(orig)). */
export function longRopeAttnFactor(ctx: number, orig: number): number {
  const scale = ctx / orig;
  return scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(orig)) : 1;
}

/**
 * The phi3 model's LongRoPE factors, nRot/2 each, unordered and far apart so that a wrong choice
 * shows: short in [1, 2), long in [2, 8) (the real ones: short about 1-1.2, long up to about 60).
 */
export function phi3LongRopeFactors(nRot: number): { short: Float32Array; long: Float32Array } {
  const n = nRot / 2;
  return {
    short: Float32Array.from({ length: n }, (_, i) => 1 + ((i * 7) % n) / n),
    long: Float32Array.from({ length: n }, (_, i) => 2 + (6 * ((i * 5) % n)) / n),
  };
}

const SHAPES: Record<ArchModel, Shape> = {
  // Llama 3: rope_freqs (llama3 scaling as the converter writes it), tied output
  llama3: { arch: "llama", dim: 256, nLayers: 2, nHeads: 8, nKvHeads: 2, headDim: 32, hidden: 512, vocab: 512, ctx: 1024, ropeBase: 500000, tied: true },
  qwen2: { arch: "qwen2", dim: 256, nLayers: 2, nHeads: 8, nKvHeads: 2, headDim: 32, hidden: 512, vocab: 512, ctx: 1024, ropeBase: 1000000 },
  qwen3: { arch: "qwen3", dim: 256, nLayers: 2, nHeads: 8, nKvHeads: 4, headDim: 64, hidden: 512, vocab: 512, ctx: 1024, ropeBase: 1000000, tied: true },
  // Phi-3 LongRoPE as convert_hf_to_gguf writes Phi-3-mini-128k / Phi-3.5-mini (scaled down): context
  // 4x the original one, attn_factor from the two, and both factor tensors (phi3LongRopeFactors)
  phi3: { arch: "phi3", dim: 256, nLayers: 2, nHeads: 8, nKvHeads: 8, headDim: 32, hidden: 512, vocab: 512, ctx: 4 * PHI3_ORIG_CTX, ropeBase: 10000,
    extra: [["attention.sliding_window", "u32", 2047], ["rope.scaling.original_context_length", "u32", PHI3_ORIG_CTX],
      ["rope.scaling.attn_factor", "f32", longRopeAttnFactor(4 * PHI3_ORIG_CTX, PHI3_ORIG_CTX)]] },
  gemma2: { arch: "gemma2", dim: 256, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 64, hidden: 512, vocab: 512, ctx: 1024, ropeBase: 10000, tied: true,
    extra: [["attention.sliding_window", "u32", 24], ["attn_logit_softcapping", "f32", 2], ["final_logit_softcapping", "f32", 12]] },
  gemma3: { arch: "gemma3", dim: 256, nLayers: 6, nHeads: 4, nKvHeads: 1, headDim: 64, hidden: 512, vocab: 512, ctx: 1024, ropeBase: 1000000, tied: true,
    extra: [["attention.sliding_window", "u32", 24], ["rope.scaling.type", "string", "linear"], ["rope.scaling.factor", "f32", 2]] },
};

/** Llama 3.1's rope_freqs as convert_hf_to_gguf computes them (factor 8, low/high 1/4, original context 8192). */
function llama3Factors(nRot: number, base: number): Float32Array {
  const out = new Float32Array(nRot / 2);
  const factor = 8, low = 1, high = 4, orig = 8192;
  const lowWave = orig / low, highWave = orig / high;
  for (let i = 0; i < nRot / 2; i++) {
    const freq = 1 / base ** ((2 * i) / nRot);
    const wave = (2 * Math.PI) / freq;
    if (wave < highWave) out[i] = 1;
    else if (wave > lowWave) out[i] = factor;
    else {
      const smooth = (orig / wave - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

/** The config int4 reads back (for tensor names and shapes). */
function configOf(s: Shape): ModelConfig {
  return { arch: s.arch, dim: s.dim, nLayers: s.nLayers, nHeads: s.nHeads, nKvHeads: s.nKvHeads, headDim: s.headDim, hidden: s.hidden,
    vocab: s.vocab, ctx: s.ctx, eps: 1e-6, ropeBase: s.ropeBase, nRot: s.nRot ?? s.headDim, ropeMode: 2 };
}

export interface ArchModelOptions {
  /** leave this tensor out */
  omit?: string;
  /** general.architecture other than the model's */
  arch?: string;
  /** a vocabulary-only GGUF whose tokenizer.* keys the model takes */
  vocabFile?: string;
  /** metadata under `<arch>.` set (or, with value null, dropped) after the model's own */
  meta?: [string, "u32" | "f32" | "string", number | string | null][];
  /** RoPE on the first nRot dimensions of each head only (Phi-4-mini: 3/4 of them) */
  nRot?: number;
  /** F32 tensors added beyond the model's (a file carrying ones its architecture does not read) */
  extraTensors?: [name: string, values: Float32Array][];
}

/** Writes the model `which` to `file` (seeded: the same bytes every time). */
export async function writeArchModel(file: string, which: ArchModel, seed = 7, opts: ArchModelOptions = {}): Promise<void> {
  // a real vocabulary (a vocabulary-only GGUF's tokenizer.* keys, e.g. ../shared/vocab): its size is the model's
  let tokenizerMeta: Meta | null = null;
  let s = SHAPES[which];
  if (opts.vocabFile) {
    const vf = openGGUF(opts.vocabFile);
    tokenizerMeta = tokenizerMetadata(vf) as Meta;
    s = { ...s, vocab: vf.array("tokenizer.ggml.tokens")!.values.length };
    vf.close();
  }
  if (opts.nRot !== undefined) s = { ...s, nRot: opts.nRot };
  const a = s.arch;
  const v = demoVocabulary(s.vocab);
  const tokens = v.tokens.slice(0, s.vocab);
  const types = v.types.slice(0, s.vocab);
  if (a === "phi3") {
    // llama.cpp's vocabulary loader looks these up by text for phi3 (its end-of-turn tokens)
    const special = ["<|endoftext|>", "<|end|>", "<|assistant|>", "<|user|>", "<|system|>"];
    special.forEach((t, i) => { tokens[s.vocab - special.length + i] = t; types[s.vocab - special.length + i] = 3; });
  }
  const meta: Meta = [
    ["general.architecture", { type: "string", value: opts.arch ?? a }],
    ["general.name", { type: "string", value: `${which} test model, random weights` }],
    ["general.file_type", { type: "u32", value: 1 }],
    [`${a}.context_length`, { type: "u32", value: s.ctx }],
    [`${a}.embedding_length`, { type: "u32", value: s.dim }],
    [`${a}.block_count`, { type: "u32", value: s.nLayers }],
    [`${a}.feed_forward_length`, { type: "u32", value: s.hidden }],
    [`${a}.rope.dimension_count`, { type: "u32", value: s.nRot ?? s.headDim }],
    [`${a}.attention.head_count`, { type: "u32", value: s.nHeads }],
    [`${a}.attention.head_count_kv`, { type: "u32", value: s.nKvHeads }],
    [`${a}.attention.key_length`, { type: "u32", value: s.headDim }],
    [`${a}.attention.value_length`, { type: "u32", value: s.headDim }],
    [`${a}.attention.layer_norm_rms_epsilon`, { type: "f32", value: 1e-6 }],
    [`${a}.rope.freq_base`, { type: "f32", value: s.ropeBase }],
    ...[...(s.extra ?? []), ...(opts.meta ?? [])]
      .filter(([k], i, all) => !all.some(([k2], j) => j > i && k2 === k)) // the last setting of a key
      .filter(([, , val]) => val !== null)
      .map(([k, t, val]): Meta[number] => [`${a}.${k}`, { type: t, value: val }]),
    ...(tokenizerMeta ?? (spmTokenizerMetadata(tokens, types) as Meta)),
  ];
  const c = configOf(s);
  const list = architecture(a)!.tensors(c).filter(([name, , required]) =>
    name !== opts.omit && (required || (name === "output.weight" && !s.tied) || (name === "rope_freqs.weight" && which === "llama3") ||
      (name.startsWith("rope_factors_") && which === "phi3")));
  const longRope = phi3LongRopeFactors(s.nRot ?? s.headDim);
  const specs = list.map(([name, ne], i) => {
    const dims = ne.length === 1 ? [ne[0]] : [ne[1], ne[0]];
    const n = dims.reduce((x, y) => x * y, 1);
    const vec = ne.length === 1;
    return {
      name, type: vec ? "f32" : "f16", dims,
      data: () => {
        const w = new Float32Array(n);
        const rnd = (std: number) => native.fillNormal(w, seed * 1000003 + i, 0, std, 1);
        if (name === "rope_freqs.weight") w.set(llama3Factors(s.nRot ?? s.headDim, s.ropeBase));
        else if (name === "rope_factors_short.weight") w.set(longRope.short);
        else if (name === "rope_factors_long.weight") w.set(longRope.long);
        else if (name.endsWith(".bias")) rnd(0.5);
        else if (vec) { rnd(0.2); for (let j = 0; j < n; j++) w[j] += 1; } // norm weights about 1
        // tied: the embedding is the output too, std 0.15 keeps its logits (about 2.4 std) peaked, not one-hot
        else if (name === "token_embd.weight") rnd(s.tied ? 0.15 : 1);
        else if (name === "output.weight") rnd(0.5); // peaked next-token distributions
        else rnd(0.05);
        return ggufTensorFromFloat(name, new Tensor(w, dims), vec ? "f32" : "f16").data();
      },
    };
  });
  for (const [name, values] of opts.extraTensors ?? []) {
    specs.push({ name, type: "f32", dims: [values.length], data: () => ggufTensorFromFloat(name, new Tensor(values, [values.length]), "f32").data() });
  }
  await writeGGUF(file, { metadata: meta as never, tensors: specs as never });
}
