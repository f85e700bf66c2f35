// Random llama.cpp blocks for tests: random bytes, each block drawn again until its scales are
// finite and its values moderate (random fp16 / f32 scale fields are sometimes NaN or huge).
import { blockBytes, type BlockTypeInfo } from "../../src/blockTypes";
import { native } from "../../src/native";
import { rng } from "./ggmlRef";

export function randomBlocks(t: BlockTypeInfo, N: number, K: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(blockBytes(t, N, K));
  const vals = new Float32Array(t.blockSize);
  for (let b = 0; b < out.length / t.blockBytes; b++) {
    const blk = out.subarray(b * t.blockBytes, (b + 1) * t.blockBytes);
    for (;;) {
      for (let i = 0; i < blk.length; i++) blk[i] = Math.floor(r() * 256);
      if (native.firstNonFinite(t.id, blk) >= 0) continue;
      native.dequantizeGGML(t.id, blk, 1, t.blockSize, vals);
      if (vals.every((v) => Number.isFinite(v) && Math.abs(v) < 1e4)) break;
    }
  }
  return out;
}
