// llama.cpp's block types that int4 multiplies as stored, read from the native type table
// (cpp/ggml/types.cpp): their sizes are defined there once. The names are also a TypeScript union
// for callers' types; a test holds BLOCK_TYPE_NAMES equal to the native table.
import { native } from "./native";

/** The names QTensor.fromGGML takes: llama.cpp's type names in lower case. */
export const BLOCK_TYPE_NAMES = [
  "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q8_k", "iq4_nl", "iq4_xs",
] as const;
export type GGMLType = (typeof BLOCK_TYPE_NAMES)[number];

export interface BlockTypeInfo {
  /** GGUF type id. */
  id: number;
  /** As llama.cpp prints it: "Q4_K". */
  ggufName: string;
  name: GGMLType;
  /** Weights per block (32 or 256): a row's length must be a multiple of it. */
  blockSize: number;
  blockBytes: number;
  /** Whether int4 can write this type (round to nearest, llama-quantize's bytes). */
  canQuantize: boolean;
  /** Whether its blocks hold a min besides the scale (w = d * q - m: Q4_1, Q5_1, Q2_K, Q4_K, Q5_K). */
  hasMins: boolean;
}

const table = native.ggmlTypes().map((t): BlockTypeInfo => ({
  id: t.id, ggufName: t.name, name: t.name.toLowerCase() as GGMLType, blockSize: t.blockSize, blockBytes: t.blockBytes, canQuantize: t.quantize,
  hasMins: t.hasMins,
}));

/** Every block type, by its lower-case name. */
export const BLOCK_TYPES: ReadonlyMap<GGMLType, BlockTypeInfo> = new Map(table.map((t) => [t.name, t]));

/** The block type of a GGUF type name ("Q4_K"), or undefined. */
export function blockTypeOfGGUF(ggufName: string): BlockTypeInfo | undefined {
  return BLOCK_TYPES.get(ggufName.toLowerCase() as GGMLType);
}

/** Bytes of an [N, K] matrix of a block type (K a multiple of its block size). */
export function blockBytes(t: BlockTypeInfo, N: number, K: number): number {
  return N * (K / t.blockSize) * t.blockBytes;
}
