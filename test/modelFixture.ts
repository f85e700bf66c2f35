// A tiny llama model written as GGUF for tests: dim 64, 2 layers, 4 query heads / 2 KV heads,
// FFN 96, a 300-token byte-fallback vocabulary, random weights stored in any tensor type.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GGUFValueType as T } from "../src/gguf/types";
import { bf16Bytes, bf16Value, buildGGUF, f16Bytes, f32Bytes, fromF16, q4Bytes, q8_0Bytes, toF16, type KV, type TensorSpec } from "./ggufBuilder";
import { QTensor, openGGUF } from "../src/index";
import { blockBytes, blockTypeOfGGUF } from "../src/blockTypes";
import { native } from "../src/native";

export const TINY = { dim: 64, layers: 2, heads: 4, kv: 2, hidden: 96, vocab: 300 };

/** llama.cpp's block types written with int4's own quantizer (llama-quantize's bytes); their rows
 * must be a multiple of the block (256 for the K types: see TinyOptions.config). */
export type BlockStoredType = "Q5_0" | "Q5_1" | "Q2_K" | "Q3_K" | "Q4_K" | "Q5_K" | "Q6_K" | "Q8_K" | "IQ4_NL" | "IQ4_XS";
export type StoredType = "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0" | "Q4_1" | "Q8_1" | BlockStoredType;
const TYPE_ID: Record<string, number> = { F32: 0, F16: 1, BF16: 30, Q8_0: 8, Q4_0: 2, Q4_1: 3, Q8_1: 9 };

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export function tinyVocab(): { tokens: string[]; types: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6);
  }
  for (const p of ["▁", "e", "t", "a", "o", "n", "▁t", "he", "▁a", "▁the", "in", "er", "an", "re", "on", "▁o", "at", "en", "nd", "▁w",
    "es", "▁s", "is", "ed", "it", "or", "▁c", "ou", "ar", "▁b", "▁f", "al", "▁p", "le", "▁m", "ing", "▁d", "▁h", "ic", "▁in", "s"]) {
    tokens.push(p);
    types.push(1);
  }
  return { tokens, types };
}

export interface TinyOptions {
  type?: StoredType;
  /** Which tensors get `type` (default: every matrix); the rest are F32. */
  only?: (name: string) => boolean;
  tied?: boolean;
  eos?: number;
  /** llama.context_length (default 128). */
  ctx?: number;
  zeroOutputNorm?: boolean;
  arch?: string;
  tokenizer?: string;
  /** Tensor name -> shape override (ggml order). */
  shapes?: Record<string, number[]>;
  seed?: number;
  /** Overrides of TINY's shape (e.g. dim and hidden 256 for the K types' 256-value blocks). */
  config?: Partial<typeof TINY>;
}

/** The model's matrices as the f32 values a loader should see after decoding the stored type. */
export interface Tiny {
  bytes: Uint8Array;
  /** Values each tensor decodes to (for an equivalent F32 file). */
  decoded: Map<string, Float32Array>;
  ne: Map<string, number[]>;
  stored: Map<string, Uint8Array>;
}

export function tinyModel(o: TinyOptions = {}): Tiny {
  const c = { ...TINY, ...o.config }, hd = c.dim / c.heads;
  const r = rng(o.seed ?? 1);
  const names: [string, number[]][] = [["token_embd.weight", [c.dim, c.vocab]], ["output_norm.weight", [c.dim]]];
  if (!o.tied) names.push(["output.weight", [c.dim, c.vocab]]);
  for (let l = 0; l < c.layers; l++) {
    const p = `blk.${l}.`;
    names.push([p + "attn_norm.weight", [c.dim]], [p + "attn_q.weight", [c.dim, c.heads * hd]], [p + "attn_k.weight", [c.dim, c.kv * hd]],
      [p + "attn_v.weight", [c.dim, c.kv * hd]], [p + "attn_output.weight", [c.heads * hd, c.dim]], [p + "ffn_norm.weight", [c.dim]],
      [p + "ffn_gate.weight", [c.dim, c.hidden]], [p + "ffn_up.weight", [c.dim, c.hidden]], [p + "ffn_down.weight", [c.hidden, c.dim]]);
  }
  const tensors: TensorSpec[] = [];
  const decoded = new Map<string, Float32Array>(), neMap = new Map<string, number[]>(), stored = new Map<string, Uint8Array>();
  for (const [name, ne0] of names) {
    const ne = o.shapes?.[name] ?? ne0;
    const n = ne.reduce((a, b) => a * b, 1);
    const isNorm = ne.length === 1;
    const v = Float32Array.from({ length: n }, () => (isNorm ? (o.zeroOutputNorm && name === "output_norm.weight" ? 0 : 1 + 0.2 * r()) : 0.5 * r()));
    const type: StoredType = !isNorm && (o.only ? o.only(name) : true) ? (o.type ?? "F32") : "F32";
    let data: Uint8Array, dec: Float32Array;
    const K = ne[0], N = n / K;
    switch (type) {
      case "F32": data = f32Bytes(v); dec = v; break;
      case "F16": data = f16Bytes(v); dec = v.map((x) => fromF16(toF16(x))); break;
      case "BF16": data = bf16Bytes(v); dec = v.map(bf16Value); break;
      case "Q8_0": {
        data = q8_0Bytes(v);
        const dv = new DataView(data.buffer);
        dec = new Float32Array(n);
        for (let b = 0; b < n / 32; b++) {
          const d = fromF16(dv.getUint16(b * 34, true));
          for (let i = 0; i < 32; i++) dec[b * 32 + i] = Math.fround(d * dv.getInt8(b * 34 + 2 + i));
        }
        break;
      }
      case "Q4_0": case "Q4_1":
        data = q4Bytes(v, N, K, type === "Q4_0" ? "symmetric" : "asymmetric");
        dec = QTensor.fromGGML(type === "Q4_0" ? "q4_0" : "q4_1", data, [N, K]).dequantize().data;
        break;
      case "Q8_1": data = new Uint8Array((n / 32) * 36); dec = v; break; // a type int4 does not load
      default: { // llama.cpp's other block types
        const t = blockTypeOfGGUF(type)!;
        data = new Uint8Array(blockBytes(t, N, K));
        native.quantizeRowsGGML(t.ggufName, v, N, K, null, data);
        dec = new Float32Array(n);
        native.dequantizeGGML(t.id, data, N, K, dec);
      }
    }
    tensors.push({ name, ne, type: TYPE_ID[type] ?? blockTypeOfGGUF(type)!.id, data });
    decoded.set(name, dec);
    neMap.set(name, ne);
    stored.set(name, data);
  }
  const { tokens, types } = tinyVocab();
  const arch = o.arch ?? "llama";
  const kv: KV[] = [
    ["general.architecture", T.STRING, arch], ["general.name", T.STRING, "tiny"],
    [`${arch}.context_length`, T.UINT32, o.ctx ?? 128], [`${arch}.embedding_length`, T.UINT32, c.dim], [`${arch}.block_count`, T.UINT32, c.layers],
    [`${arch}.feed_forward_length`, T.UINT32, c.hidden], [`${arch}.rope.dimension_count`, T.UINT32, hd],
    [`${arch}.attention.head_count`, T.UINT32, c.heads], [`${arch}.attention.head_count_kv`, T.UINT32, c.kv],
    [`${arch}.attention.layer_norm_rms_epsilon`, T.FLOAT32, 1e-5], [`${arch}.rope.freq_base`, T.FLOAT32, 10000],
    ["tokenizer.ggml.model", T.STRING, o.tokenizer ?? "llama"], ["tokenizer.ggml.tokens", T.ARRAY, tokens, T.STRING],
    ["tokenizer.ggml.scores", T.ARRAY, tokens.map((_, i) => -i), T.FLOAT32], ["tokenizer.ggml.token_type", T.ARRAY, types, T.INT32],
    ["tokenizer.ggml.bos_token_id", T.UINT32, 1], ["tokenizer.ggml.eos_token_id", T.UINT32, o.eos ?? 2],
  ];
  return { bytes: buildGGUF({ kv, tensors }), decoded, ne: neMap, stored };
}

/** The same model as all-F32 tensors holding the decoded values. */
export function asF32(t: Tiny, o: TinyOptions = {}): Uint8Array {
  const f = tinyModel({ ...o, type: "F32" });
  // rebuild with decoded values: simplest is to patch each tensor's bytes in the F32 file
  const out = f.bytes.slice();
  const g = openGGUF(out);
  for (const info of g.tensors) out.set(f32Bytes(t.decoded.get(info.name)!), info.fileOffset);
  return out;
}

let dir = "";
export function writeTemp(name: string, bytes: Uint8Array): string {
  if (!dir) dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-model-test-"));
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}
export function cleanupTemp(): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = "";
}
