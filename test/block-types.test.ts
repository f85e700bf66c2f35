// llama.cpp's block types as QTensors: the native type table agrees with the GGUF table, bytes
// round-trip, matmul agrees with the dequantized product, bad bytes are refused; and on the
// llama-quantize files in ../shared, every tensor of every type dequantizes near its F16 source
// (a wrong bit layout would give errors near 100 %).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BLOCK_TYPES, BLOCK_TYPE_NAMES, QTensor, Tensor, matmul } from "../src/index";
import { openGGUF } from "../src/gguf/reader";
import { GGML_TYPES } from "../src/gguf/types";
import { native } from "../src/native";
import { tensorToF32 } from "../src/model/weights";
import { randomBlocks } from "./helpers/blocks";
import { randn } from "./helpers/ggmlRef";

describe("block types", () => {
  it("the native table is the GGUF table's for those types, and BLOCK_TYPE_NAMES names them all", () => {
    expect([...BLOCK_TYPES.keys()].sort()).toEqual([...BLOCK_TYPE_NAMES].sort());
    for (const t of BLOCK_TYPES.values()) {
      const g = GGML_TYPES.get(t.id)!;
      expect({ name: g.name, blockSize: g.blockSize, blockBytes: g.blockBytes }).toEqual({ name: t.ggufName, blockSize: t.blockSize, blockBytes: t.blockBytes });
    }
    // the types whose blocks hold a min (w = d * q - m), as ggml's dequantize_row_* read them
    expect([...BLOCK_TYPES.values()].filter((t) => t.hasMins).map((t) => t.name).sort()).toEqual(["q2_k", "q4_1", "q4_k", "q5_1", "q5_k"]);
  });

  for (const name of BLOCK_TYPE_NAMES) {
    it(`${name}: toGGML gives the bytes back; matmul equals the dequantized product (int8 and float32 activations)`, () => {
      const t = BLOCK_TYPES.get(name)!;
      const N = 19, K = 2 * Math.max(256, t.blockSize), M = 5;
      const bytes = randomBlocks(t, N, K, 100 + t.id);
      const q = QTensor.fromGGML(name, bytes, [N, K]);
      expect(q.toGGML()).toEqual(bytes);
      expect(q.ggmlType).toBe(name);
      expect(q.bitsPerWeight).toBeCloseTo((t.blockBytes * 8) / t.blockSize, 10);
      const w = q.dequantize();
      const x = new Tensor(randn(M * K, 5), [M, K]);
      for (const activations of ["int8", "float32"] as const) {
        const y = matmul(x, q, { activations });
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            let ref = 0, mag = 0;
            for (let k = 0; k < K; k++) {
              ref += w.data[n * K + k] * x.data[m * K + k];
              mag += Math.abs(w.data[n * K + k] * x.data[m * K + k]);
            }
            // int8 activations: each x moves by at most half its block's step, max|x| / 254
            const tol = activations === "int8" ? mag / 100 + 1e-6 : mag * 1e-5 + 1e-6;
            expect(Math.abs(y.data[m * N + n] - ref), `${activations} row ${n} of x ${m}`).toBeLessThanOrEqual(tol);
          }
        }
      }
      q.dispose();
    });
  }

  it("refuses wrong sizes, row lengths and non-finite scales with RangeError", () => {
    expect(() => QTensor.fromGGML("q4_k", new Uint8Array(143), [1, 256])).toThrow(/blocks: expected 144 bytes for q4_k \[1, 256\], got 143 bytes/);
    expect(() => QTensor.fromGGML("iq4_xs", new Uint8Array(136), [1, 128])).toThrow(/multiple of 256/);
    const b = randomBlocks(BLOCK_TYPES.get("q4_k")!, 2, 256, 7);
    b[144] = 0x00, b[145] = 0x7e; // row 1's d: NaN
    expect(() => QTensor.fromGGML("q4_k", b, [2, 256])).toThrow(/a NaN or infinite scale in block 0 of row 1/);
    expect(() => native.dequantizeGGML(99, new Uint8Array(18), 1, 32, new Float32Array(32))).toThrow(/no block type with GGUF id 99/);
    expect(() => native.dequantizeGGML(12, new Uint8Array(100), 1, 256, new Float32Array(256))).toThrow(RangeError);
    expect(() => native.getRowGGML(12, new Uint8Array(144), 1, 256, 1, new Float32Array(256), 0)).toThrow(RangeError);
    expect(() => new native.QMatrix(14, new Uint8Array(209), 1, 256)).toThrow(RangeError);
  });

  it("the constructor checks the very arrays it keeps (parts read once: getters cannot swap them after the checks)", () => {
    const t = BLOCK_TYPES.get("q4_k")!;
    const good = randomBlocks(t, 1, 256, 3);
    const nan = good.slice();
    nan[0] = 0x00, nan[1] = 0x7e; // d: NaN
    // the getter gives the checked array for the first `after` reads, then another
    const swapping = (after: number, then: Uint8Array) => {
      let reads = 0;
      return { dims: [1, 256] as const, type: "q4_k" as const, get blocks() { return reads++ < after ? good : then; } };
    };
    for (const then of [nan, new Uint8Array(16)]) {
      for (let after = 1; after < 8; after++) {
        let q: QTensor | null = null;
        try {
          q = new QTensor(swapping(after, then));
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
        }
        if (q) expect(q.blocks).toBe(good);
      }
    }
    // int4 parts likewise
    const w = QTensor.fromGGML("q4_0", randomBlocks(BLOCK_TYPES.get("q4_0")!, 1, 32, 4), [1, 32]);
    const bad = new Uint16Array([0x7c00]);
    for (let after = 1; after < 8; after++) {
      let reads = 0;
      const parts = { dims: [1, 32] as const, groupSize: 32 as const, scheme: "symmetric" as const, codes: w.codes, get scales() { return reads++ < after ? w.scales : bad; } };
      let q: QTensor | null = null;
      try {
        q = new QTensor(parts);
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
      }
      if (q) expect(q.scales).toBe(w.scales);
    }
  });

  it("a block-type QTensor has no codes or scales; releaseHost keeps matmul", () => {
    const t = BLOCK_TYPES.get("q6_k")!;
    const q = QTensor.fromGGML("q6_k", randomBlocks(t, 3, 256, 9), [3, 256]);
    expect(() => q.codes).toThrow(TypeError);
    expect(() => q.scales).toThrow(/holds llama.cpp blocks/);
    const x = new Tensor(randn(256, 3), [256]);
    const y = matmul(x, q);
    q.releaseHost();
    expect(() => q.blocks).toThrow(/releaseHost/);
    expect(matmul(x, q).data).toEqual(y.data);
    q.dispose();
  });
});

const k256 = path.resolve(__dirname, "..", "..", "shared", "models", "k256");
describe.skipIf(!fs.existsSync(k256))("llama-quantize's files (../shared/models/k256)", () => {
  // relative RMS error of each type against the F16 source: halving per extra bit (measured here)
  const bound: Record<string, number> = { Q2_K: 0.35, Q3_K: 0.18, Q4_K: 0.09, Q4_0: 0.1, Q4_1: 0.09, IQ4_NL: 0.09, IQ4_XS: 0.09, Q5_K: 0.045, Q5_0: 0.05, Q5_1: 0.045, Q6_K: 0.022, Q8_0: 0.007, BF16: 0.003 };
  it("every tensor of every type dequantizes near its F16 source, and loads as stored", () => {
    const src = openGGUF(path.join(k256, "k256-f16.gguf"));
    const source = new Map(src.tensors.map((t) => [t.name, tensorToF32(src, t)]));
    const seen = new Set<string>();
    for (const file of fs.readdirSync(k256).filter((f) => f.endsWith(".gguf") && f !== "k256-f16.gguf")) {
      const f = openGGUF(path.join(k256, file));
      for (const t of f.tensors) {
        if (t.ne.length !== 2) continue;
        const a = tensorToF32(f, t), b = source.get(t.name)!;
        let e = 0, r = 0;
        for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2, r += b[i] ** 2;
        const rel = Math.sqrt(e / r);
        if (!(rel < bound[t.type.name] && rel > bound[t.type.name] / 8)) expect.fail(`${file} ${t.name} ${t.type.name}: relative error ${rel}, expected in (${bound[t.type.name] / 8}, ${bound[t.type.name]})`);
        seen.add(t.type.name);
        if (BLOCK_TYPES.has(t.type.name.toLowerCase() as never)) {
          const q = QTensor.fromGGML(t.type.name.toLowerCase() as never, f.readTensorBytes(t), [t.ne[1], t.ne[0]]);
          expect(Buffer.from(q.toGGML()).equals(Buffer.from(f.readTensorBytes(t))), `${file} ${t.name}: toGGML gives the file's bytes`).toBe(true);
          q.dispose();
        }
      }
      f.close();
    }
    src.close();
    expect([...seen].sort()).toEqual(Object.keys(bound).sort());
  });
});
if (!fs.existsSync(k256)) describe("llama-quantize's files", () => it.skip("../shared/models/k256 is absent", () => {}));
