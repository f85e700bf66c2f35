// The one spelling of an INT4 format that users type and see: "q4_g{G}_{sym|asym}" (group size G,
// symmetric or asymmetric): loadModel's `quant`, --quant, --format, the writer's tensor types and
// `int4.quantize.format` in files. Older spellings stay accepted on input: "q4_g{G}" (symmetric)
// and "int4_g{G}_{sym|asym}" (the writer's former type names). The GGUF type names `int4 info`
// shows (INT4_G{G}_SYM, src/gguf/types.ts) are part of the file format and stay as they are.
import type { GroupSize, Scheme } from "./qtensor";

/** "q4_g32_sym" for group size 32, symmetric. */
export function int4FormatName(groupSize: GroupSize, scheme: Scheme): `q4_g${GroupSize}_${"sym" | "asym"}` {
  return `q4_g${groupSize}_${scheme === "symmetric" ? "sym" : "asym"}`;
}

/** Group size and scheme of "q4_g{G}_{sym|asym}" or an older spelling of it; null for anything else. */
export function parseInt4FormatName(name: string): { groupSize: GroupSize; scheme: Scheme } | null {
  const m = /^(?:q4|int4)_g(32|64|128|256)(?:_(sym|asym))?$/.exec(name);
  if (!m || (m[2] === undefined && name.startsWith("int4_"))) return null;
  return { groupSize: Number(m[1]) as GroupSize, scheme: m[2] === "asym" ? "asymmetric" : "symmetric" };
}
