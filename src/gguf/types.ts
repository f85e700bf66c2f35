// ggml tensor types as GGUF numbers them: name, elements per block, bytes per block. The table
// covers the types of ggml's ggml.h so that any file can be described (int4 info) without loading
// the native addon; which ones a model can load is the native type table's (src/blockTypes.ts,
// LOADABLE_TYPES in src/model/weights.ts). A test holds the two tables' sizes equal.

export interface GGMLTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  blockBytes: number;
  /** int4 extension types only: bytes of one row of K weights (their layout is per row, not per block). */
  rowBytes?: (K: number) => number;
}

const TABLE: [number, string, number, number][] = [
  [0, "F32", 1, 4], [1, "F16", 1, 2], [2, "Q4_0", 32, 18], [3, "Q4_1", 32, 20],
  [6, "Q5_0", 32, 22], [7, "Q5_1", 32, 24], [8, "Q8_0", 32, 34], [9, "Q8_1", 32, 36],
  [10, "Q2_K", 256, 84], [11, "Q3_K", 256, 110], [12, "Q4_K", 256, 144], [13, "Q5_K", 256, 176],
  [14, "Q6_K", 256, 210], [15, "Q8_K", 256, 292], [16, "IQ2_XXS", 256, 66], [17, "IQ2_XS", 256, 74],
  [18, "IQ3_XXS", 256, 98], [19, "IQ1_S", 256, 50], [20, "IQ4_NL", 32, 18], [21, "IQ3_S", 256, 110],
  [22, "IQ2_S", 256, 82], [23, "IQ4_XS", 256, 136], [24, "I8", 1, 1], [25, "I16", 1, 2],
  [26, "I32", 1, 4], [27, "I64", 1, 8], [28, "F64", 1, 8], [29, "IQ1_M", 256, 56], [30, "BF16", 1, 2],
  [34, "TQ1_0", 256, 54], [35, "TQ2_0", 256, 66], [39, "MXFP4", 32, 17],
];

// int4 extension types (src/gguf/writer.ts, README "GGUF files").
// INT4 [N, K] with group size G, symmetric (id 1000 + G) or asymmetric (2000 + G); a row is
// ceil(K/G) groups, each its fp16 scale (and offset) followed by its codes in 32-weight chunks,
// a partial last chunk packed (int4RowBytes below is the one definition of the row size).
const EXT: [number, string, number, number][] = [];
for (const g of [32, 64, 128, 256]) {
  EXT.push([1000 + g, `INT4_G${g}_SYM`, g, 2], [2000 + g, `INT4_G${g}_ASYM`, g, 4]);
}
/** Bytes of one row of K weights of an int4 extension type (see above). */
export function int4RowBytes(K: number, groupSize: number, scheme: "symmetric" | "asymmetric"): number {
  return Math.ceil(K / groupSize) * (scheme === "symmetric" ? 2 : 4) + Math.ceil(K / 2);
}
export const INT4_EXT_TYPES = EXT.map(([, name]) => name);

export const GGML_TYPES: ReadonlyMap<number, GGMLTypeInfo> = new Map([
  ...TABLE.map(([id, name, blockSize, blockBytes]): [number, GGMLTypeInfo] => [id, { id, name, blockSize, blockBytes }]),
  ...EXT.map(([id, name, g, headBytes]): [number, GGMLTypeInfo] => [id, {
    id, name, blockSize: 1, blockBytes: 0, rowBytes: (K: number) => int4RowBytes(K, g, headBytes === 2 ? "symmetric" : "asymmetric"),
  }]),
]);


/** GGUF metadata value types. */
export const enum GGUFValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}
