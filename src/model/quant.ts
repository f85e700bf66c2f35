// The `quant` option of loadModel: how weights are held in memory.
//   "native" (the default for a file whose matrices are quantized): every matrix as the file
//     stores it, multiplied by the kernels of its type (Q4_K, Q6_K, IQ4_XS, ...: src/blockTypes.ts);
//     Q4_0 / Q4_1 and int4's own types on the INT4 kernels; F32/F16/BF16 matrices at f32
//   "q4" (the default for F32/F16/BF16 files): INT4, group 32, symmetric; Q4_0 / Q4_1 tensors are kept as they are (bit-exact)
//   "q4_g{32,64,128}_{sym,asym}": INT4 at that group size and scheme (Q4_0 / Q4_1 kept when they match)
//   "f32": full precision, the reference path
//   "stored": every matrix as the file stores it: 4-bit tensors (Q4_0, Q4_1, int4 extension types)
//     kept bit-exactly, every other matrix (F32, F16, BF16, Q8_0) at f32 with exactly its stored
//     values; what `int4 eval base` runs a quantized file with (not in QUANT_NAMES: a file property)
import { rangeError, typeError } from "../errors";
import { parseInt4FormatName } from "../formatNames";
import { layoutOf, type GroupSize, type Scheme } from "../qtensor";

export type QuantName = "native" | "q4" | "f32" | "stored" | `q4_g${32 | 64 | 128}_${"sym" | "asym"}`;

export interface QuantSpec {
  name: QuantName;
  kind: "q4" | "f32";
  groupSize: GroupSize;
  scheme: Scheme;
  /** Q4_0 / Q4_1 tensors converted as they are, whatever the scheme (the "q4" default). */
  keepAnyQ4: boolean;
  /** "stored": matrices that are not 4-bit stay f32 (their stored values) instead of being quantized. */
  stored?: boolean;
  /** "native": block-type matrices kept as their blocks (and F32/F16/BF16 at f32). */
  native?: boolean;
}

export const QUANT_NAMES: readonly QuantName[] = [
  "native", "q4", "f32", "q4_g32_sym", "q4_g32_asym", "q4_g64_sym", "q4_g64_asym", "q4_g128_sym", "q4_g128_asym",
];

export function parseQuant(v: unknown, name = "quant"): QuantSpec {
  if (v === undefined) v = "q4";
  if (typeof v !== "string") throw typeError(name, `one of ${QUANT_NAMES.join(", ")}`, v);
  if (v === "q4") return { name: "q4", kind: "q4", groupSize: 32, scheme: "symmetric", keepAnyQ4: true };
  if (v === "native") return { name: "native", kind: "q4", groupSize: 32, scheme: "symmetric", keepAnyQ4: true, stored: true, native: true };
  if (v === "stored") return { name: "stored", kind: "q4", groupSize: 32, scheme: "symmetric", keepAnyQ4: true, stored: true };
  if (v === "f32") return { name: "f32", kind: "f32", groupSize: 32, scheme: "symmetric", keepAnyQ4: false };
  // the INT4 formats, by their one spelling (src/formatNames.ts); group 256 is not a load quant
  const f = /^q4_g\d+_(sym|asym)$/.test(v) ? parseInt4FormatName(v) : null;
  if (!f || f.groupSize === 256) throw rangeError(name, `one of ${QUANT_NAMES.join(", ")}`, JSON.stringify(v));
  return { name: v as QuantName, kind: "q4", groupSize: f.groupSize, scheme: f.scheme, keepAnyQ4: false };
}

/** Storage bytes of an [N, K] matrix under a quant (what int4 info prints). */
export function matrixBytes(spec: QuantSpec, N: number, K: number): number {
  if (spec.kind === "f32") return N * K * 4;
  const lay = layoutOf(N, K, spec.groupSize); // the in-memory layout QTensor holds
  return lay.codeBytes + lay.scaleCount * 2 * (spec.scheme === "asymmetric" ? 2 : 1);
}
