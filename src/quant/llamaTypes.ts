// Which tensor type llama-quantize gives each tensor of a llama-architecture model for a file
// type ("Q4_K_M", ...), so that `int4 quantize --format q4_k_m` writes the same tensor types and
// bytes as llama.cpp users download. A reading of llama.cpp's llama_tensor_get_type (src/
// llama-quant.cpp) for the file types int4 writes, dense models only (no experts): the base type
// of the file type, with more bits for output.weight, some attn_v and ffn_down layers, and a
// fallback for rows that are not a multiple of the type's block. Tensors are visited in
// llama-quantize's order (layer by layer, then by name), which its attn_v counter depends on.
import { BLOCK_TYPES, type GGMLType } from "../blockTypes";

export type StoredMatrixType = GGMLType | "f16" | "f32";

/** The file types int4 writes as llama-quantize does (lower case, as `--format` takes them). */
export const LLAMA_FILE_TYPES = [
  "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
  "iq4_nl", "iq4_xs",
] as const;
export type LlamaFileType = (typeof LLAMA_FILE_TYPES)[number];

/** GGUF general.file_type of each (llama_ftype). */
export const LLAMA_FTYPE_ID: Record<LlamaFileType, number> = {
  q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9, q2_k: 10, q3_k_s: 11, q3_k_m: 12, q3_k_l: 13, q4_k_s: 14, q4_k_m: 15, q5_k_s: 16,
  q5_k_m: 17, q6_k: 18, iq4_nl: 25, iq4_xs: 30,
};

const BASE: Record<LlamaFileType, GGMLType> = {
  q4_0: "q4_0", q4_1: "q4_1", q5_0: "q5_0", q5_1: "q5_1", q8_0: "q8_0", q2_k: "q2_k", q3_k_s: "q3_k", q3_k_m: "q3_k", q3_k_l: "q3_k",
  q4_k_s: "q4_k", q4_k_m: "q4_k", q5_k_s: "q5_k", q5_k_m: "q5_k", q6_k: "q6_k", iq4_nl: "iq4_nl", iq4_xs: "iq4_xs",
};

/** A type's block size, from the native type table (src/blockTypes.ts). */
const blockSize = (t: GGMLType): number => BLOCK_TYPES.get(t)!.blockSize;

// A type whose block does not divide the rows: llama-quantize's fallback (F16 when that fails too).
const FALLBACK: Partial<Record<GGMLType, GGMLType>> = {
  q2_k: "iq4_nl", q3_k: "iq4_nl", iq4_xs: "iq4_nl", q4_k: "q5_0", q5_k: "q5_1", q6_k: "q8_0",
};

export interface LlamaModelShape {
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Whether the file has output.weight (else token_embd is the output and typed like it). */
  hasOutput: boolean;
}

/** Layer number of "blk.N...." names, or -1. */
function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

/** llama-quantize's tensor order: non-layer tensors first, then by layer number, then by name. */
export function llamaQuantizeOrder(names: readonly string[]): string[] {
  return [...names].sort((a, b) => layerOf(a) - layerOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const useMoreBits = (i: number, n: number) => i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

/**
 * The type of every tensor of a model for a llama file type, as llama-quantize chooses it (no
 * importance matrix, not --pure). `tensors`: name and ggml ne ([K] or [K, N]). 1-D tensors stay F32.
 */
export function llamaTensorTypes(ftype: LlamaFileType, shape: LlamaModelShape, tensors: readonly { name: string; ne: readonly number[] }[]): Map<string, StoredMatrixType> {
  const out = new Map<string, StoredMatrixType>();
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const nGqa = shape.nHeads / shape.nKvHeads;
  const is70B = shape.nLayers === 80 && shape.nHeads !== shape.nKvHeads;
  const nAttnV = tensors.filter((t) => t.name.includes("attn_v.weight") || t.name.includes("attn_qkv.weight")).length;
  const nLayer = shape.nLayers;
  let iAttnV = 0, iFfnDown = 0;
  for (const name of llamaQuantizeOrder(tensors.map((t) => t.name))) {
    const t = byName.get(name)!;
    if (t.ne.length < 2 || !name.endsWith("weight")) {
      out.set(name, "f32");
      continue;
    }
    let type: GGMLType = BASE[ftype];
    const nx = t.ne[0];
    if (name === "output.weight" || (!shape.hasOutput && name === "token_embd.weight")) {
      if (nx % blockSize(type) !== 0) type = "q8_0";
      else if (type !== "q8_0") type = "q6_k";
    } else if (name === "token_embd.weight") {
      // the base type
    } else if (name.includes("attn_v.weight")) {
      if (ftype === "q2_k") type = nGqa >= 4 ? "q4_k" : "q3_k";
      else if (ftype === "q3_k_m") type = iAttnV < 2 ? "q5_k" : "q4_k";
      else if (ftype === "q3_k_l") type = "q5_k";
      else if ((ftype === "iq4_nl" || ftype === "iq4_xs") && nGqa >= 4) type = "q5_k";
      else if ((ftype === "q4_k_m" || ftype === "q5_k_m") && useMoreBits(iAttnV, nAttnV)) type = "q6_k";
      else if (ftype === "q4_k_s" && iAttnV < 4) type = "q5_k";
      if (is70B && (type === "q3_k" || type === "q4_k")) type = "q5_k";
      iAttnV++;
    } else if (name.includes("ffn_down")) {
      const i = iFfnDown;
      if (ftype === "q2_k") type = "q3_k";
      else if (ftype === "q3_k_m") type = i < Math.trunc(nLayer / 16) ? "q5_k" : "q4_k";
      else if (ftype === "q3_k_l") type = "q5_k";
      else if (ftype === "q4_k_m") { if (useMoreBits(i, nLayer)) type = "q6_k"; }
      else if (i < Math.trunc(nLayer / 8) && (ftype === "iq4_nl" || ftype === "iq4_xs")) type = "q5_k";
      else if (ftype === "q5_k_m" && useMoreBits(i, nLayer)) type = "q6_k";
      else if (ftype === "q4_k_s" && i < Math.trunc(nLayer / 8)) type = "q5_k";
      iFfnDown++;
    } else if (name.includes("attn_output.weight")) {
      if (ftype === "q2_k") type = "q3_k";
      else if (ftype === "q3_k_m") type = "q4_k";
      else if (ftype === "q3_k_l") type = "q5_k";
    } else if (name.includes("attn_qkv.weight")) {
      if (ftype === "q3_k_m" || ftype === "q3_k_l") type = "q4_k";
      else if (ftype === "q4_k_m") type = "q5_k";
      else if (ftype === "q5_k_m") type = "q6_k";
    }
    let stored: StoredMatrixType = type;
    if (nx % blockSize(type) !== 0) {
      const fb = FALLBACK[type];
      stored = fb && nx % blockSize(fb) === 0 ? fb : "f16";
    }
    out.set(name, stored);
  }
  return out;
}
