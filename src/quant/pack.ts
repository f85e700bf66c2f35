// Writing codes into int4's layout (README "The INT4 format"): each row in 32-weight chunks of 16
// bytes, byte j of a chunk = weight j (low nibble) | weight j + 16 (high nibble); a partial last
// chunk is padded with the code for zero (8 symmetric, 0 asymmetric).
import type { GroupSize, Scheme } from "../qtensor";

export interface Parts {
  codes: Uint8Array;
  scales: Uint16Array;
  offsets: Uint16Array | null;
}

/** Empty parts for an [N, K] matrix, codes pre-filled with the padding code. */
export function emptyParts(N: number, K: number, groupSize: GroupSize, scheme: Scheme): Parts {
  const scaleCount = N * Math.ceil(K / groupSize);
  const codes = new Uint8Array(N * rowCodeBytes(K)).fill(scheme === "symmetric" ? 0x88 : 0x00);
  const scales = new Uint16Array(scaleCount);
  const offsets = scheme === "asymmetric" ? new Uint16Array(scaleCount) : null;
  return { codes, scales, offsets };
}

/** Bytes of one row's codes. */
export function rowCodeBytes(K: number): number {
  return Math.ceil(K / 32) * 16;
}

/** Stores code q (0..15) of column k in the row whose codes start at rowBase. */
export function setCode(codes: Uint8Array, rowBase: number, k: number, q: number): void {
  const c = rowBase + (k >> 5) * 16 + (k & 15);
  if ((k & 31) < 16) codes[c] = (codes[c] & 0xf0) | q;
  else codes[c] = (codes[c] & 0x0f) | (q << 4);
}

/** Code of column k in the row whose codes start at rowBase. */
export function getCode(codes: Uint8Array, rowBase: number, k: number): number {
  const b = codes[rowBase + (k >> 5) * 16 + (k & 15)];
  return (k & 31) < 16 ? b & 15 : b >> 4;
}
