// llama.cpp's quantizers in C++ (cpp/ggml/quantize_ref.*, native.quantizeRowsGGML) against the
// files llama-quantize wrote: each matrix of each quantized file, quantized here from the same
// source tensor, must come out byte for byte as llama-quantize wrote it.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openGGUF, type GGUFFile, type GGUFTensorInfo } from "../src/gguf/reader";
import { native } from "../src/native";

const models = path.resolve(__dirname, "../../shared/models");

// [source, quantized files made from it by llama-quantize, no importance matrix]
const SETS: [string, string[]][] = [
  ["k256/k256-f16.gguf", ["Q2_K", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q4_0", "Q4_1", "Q4_K_M", "Q4_K_S", "Q5_0", "Q5_1", "Q5_K_M",
    "Q5_K_S", "Q6_K", "Q8_0", "IQ4_NL", "IQ4_XS", "pure-Q2_K", "pure-Q3_K", "pure-Q4_K", "pure-Q5_K", "pure-Q6_K"]
    .map((t) => `k256/k256-${t}.gguf`)],
  ["student-k256/student-k256-f32.gguf", ["Q4_0", "Q4_K_M", "Q4_K_S", "Q5_K_M", "Q6_K", "Q8_0", "IQ4_XS", "IQ4_NL", "Q3_K_M"]
    .map((t) => `student-k256/student-k256-${t}.gguf`)],
];
const TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"];

const have = SETS.every(([src, outs]) => [src, ...outs].every((f) => fs.existsSync(path.join(models, f))));
if (!have) console.warn(`skipping llama-quantize comparisons: the k256 / student-k256 models under ${models} are absent`);

function sourceF32(file: GGUFFile, t: GGUFTensorInfo): Float32Array {
  const bytes = file.readTensorBytes(t);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);  // aligned, whatever the view's offset
  if (t.type.name === "F32") return new Float32Array(copy.buffer);
  if (t.type.name !== "F16") throw new Error(`${t.name}: unexpected source type ${t.type.name}`);
  const out = new Float32Array(t.elements);
  native.f16ToF32(new Uint16Array(copy.buffer), out);
  return out;
}

function quantize(type: string, x: Float32Array, nrows: number, nPerRow: number, bytes: number, imatrix: Float32Array | null = null) {
  const out = new Uint8Array(bytes);
  expect(native.quantizeRowsGGML(type, x, nrows, nPerRow, imatrix, out)).toBe(bytes);
  return out;
}

interface Tally { tensors: number; exact: number; bytes: number; same: number; firstDiff?: string }

describe.runIf(have)("llama-quantize's bytes", () => {
  const tally = new Map<string, Tally>(TYPES.map((t) => [t, { tensors: 0, exact: 0, bytes: 0, same: 0 }]));

  beforeAll(() => {
    for (const [srcName, outs] of SETS) {
      const src = openGGUF(path.join(models, srcName));
      const cache = new Map<string, Float32Array>();
      for (const outName of outs) {
        const out = openGGUF(path.join(models, outName));
        for (const t of out.tensors) {
          const c = tally.get(t.type.name);
          if (!c) continue;
          const s = src.tensor(t.name)!;
          if (!cache.has(t.name)) cache.set(t.name, sourceF32(src, s));
          const nPerRow = t.ne[0];
          const want = out.readTensorBytes(t);
          const got = quantize(t.type.name, cache.get(t.name)!, t.elements / nPerRow, nPerRow, t.byteLength);
          let same = 0;
          let first = -1;
          for (let i = 0; i < got.length; i++) {
            if (got[i] === want[i]) same++;
            else if (first < 0) first = i;
          }
          c.tensors++;
          c.bytes += got.length;
          c.same += same;
          if (first < 0) c.exact++;
          else if (!c.firstDiff) {
            const b = t.type.blockBytes;
            c.firstDiff = `${outName} ${t.name}: block ${Math.floor(first / b)}, byte ${first % b} of ${b}`;
          }
        }
        out.close();
      }
      src.close();
    }
    const lines = [...tally].map(([type, c]) =>
      `${type.padEnd(7)} ${c.exact}/${c.tensors} tensors exact, ${c.same}/${c.bytes} bytes (${(100 * c.same / Math.max(1, c.bytes)).toFixed(4)}%)` +
      (c.firstDiff ? `; first difference: ${c.firstDiff}` : ""));
    console.log(`quantizeRowsGGML against llama-quantize:\n${lines.join("\n")}`);
  }, 300_000);

  it.each(TYPES)("%s: every matrix byte for byte", (type) => {
    const c = tally.get(type)!;
    expect(c.tensors).toBeGreaterThan(0);
    expect(c.firstDiff).toBeUndefined();
    expect(c.same).toBe(c.bytes);
  });
});

// Synthetic rows (deterministic, arithmetic only) for what the files do not cover: the importance-
// weighted searches, zero sub-blocks, outliers, ties, tiny values.
function xorshift(seed: number) {
  let s = seed | 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
function synth(kind: number, n: number, seed: number): Float32Array {
  const u = xorshift(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = u() + u() + u() + u() - 2;  // roughly normal
    if (kind === 1) v = Math.abs(v) + 0.1;  // all positive
    else if (kind === 2 && i % 256 < 32) v = 0;  // a zero sub-block in every super-block
    else if (kind === 3 && i % 7 === 0) v *= 50;  // outliers
    else if (kind === 4) v = Math.round(v * 4) / 4;  // many ties
    else if (kind === 5) v *= 1e-6;  // tiny
    out[i] = v;
  }
  return out;
}
function importance(n: number, seed: number): Float32Array {
  const u = xorshift(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : 0.01 + u() * u() * 10));
}

// sha256 (first 16 hex digits) of llama.cpp's own blocks for the 6 synthetic kinds above (4 rows of
// 512 each), without and with importance weights: what node-llama-cpp 3.22.1's libggml-base.so
// (llama.cpp 0.5.0) returns from quantize_<type>(x, dst, 4, 512, null | w).
const LLAMA_CPP_SYNTHETIC: Record<string, [string, string]> = {
  Q4_0: ["b615d3e94708a58d", "2757b8161e7b0eeb"],
  Q4_1: ["042280b899becbb8", "e2894244d9ccdf4e"],
  Q5_0: ["0319632d17494a72", "cbe8071503084159"],
  Q5_1: ["8fe7051e8d2da485", "6514863eb3414b77"],
  Q8_0: ["f3fb5d5e977b5167", "f3fb5d5e977b5167"],
  Q2_K: ["882aa37f4f11db41", "17cd9363a98f753e"],
  Q3_K: ["3199d99f05c301af", "2b1d9e9304ea17cf"],
  Q4_K: ["df26ed2b06656533", "48cb142cf6066fb1"],
  Q5_K: ["ece959731a0cf4d6", "2799a986d17d92c8"],
  Q6_K: ["538e1cc5547cb643", "09ebc5fc344eb8e8"],
  IQ4_NL: ["41256d3c657bad63", "de748b187d8f7637"],
  IQ4_XS: ["2fe0b4d0ba979685", "6ac2e8284354ae98"],
};

describe("quantizeRowsGGML", () => {
  const x = new Float32Array(2 * 256).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
  // bytes of a row of 256
  const rowBytes: Record<string, number> = {
    Q4_0: 144, Q4_1: 160, Q5_0: 176, Q5_1: 192, Q8_0: 272, Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210,
    Q8_K: 292, IQ4_NL: 144, IQ4_XS: 136,
  };

  it.each(Object.keys(LLAMA_CPP_SYNTHETIC))("%s: llama.cpp's blocks for synthetic rows, with and without importance weights", (type) => {
    const w = importance(512, 7654321);
    const rows = [0, 1, 2, 3, 4, 5].map((k) => synth(k, 4 * 512, 1234567 + k));
    const bytes = 4 * 2 * rowBytes[type];
    const digest = (qw: Float32Array | null) => {
      const h = createHash("sha256");
      for (const r of rows) h.update(quantize(type, r, 4, 512, bytes, qw));
      return h.digest("hex").slice(0, 16);
    };
    expect([digest(null), digest(w)]).toEqual(LLAMA_CPP_SYNTHETIC[type]);
  });


  it("writes the same blocks into a Uint8Array at any offset", () => {
    for (const [type, n] of Object.entries(rowBytes)) {
      const aligned = quantize(type, x, 2, 256, 2 * n);
      const buf = new Uint8Array(2 * n + 3);
      native.quantizeRowsGGML(type, x, 2, 256, null, buf.subarray(1, 1 + 2 * n));
      expect(buf.subarray(1, 1 + 2 * n), type).toEqual(aligned);
    }
  });

  it("takes importance weights per column: deterministic, and ignored by Q8_0 as in ggml", () => {
    const w = new Float32Array(256).map((_, i) => 0.5 + (i % 5));
    for (const [type, n] of Object.entries(rowBytes)) {
      const a = quantize(type, x, 2, 256, 2 * n, w);
      expect(quantize(type, x, 2, 256, 2 * n, w), type).toEqual(a);
      if (type === "Q8_0" || type === "Q8_K") expect(a, type).toEqual(quantize(type, x, 2, 256, 2 * n));
    }
    // a row quantized alone equals the same row quantized among others
    const both = quantize("Q4_K", x, 2, 256, 288, w);
    expect(quantize("Q4_K", x.subarray(256), 1, 256, 144, w)).toEqual(both.subarray(144));
  });

  it("rejects bad arguments with TypeError / RangeError", () => {
    const call = (...a: unknown[]) => (native.quantizeRowsGGML as (...a: unknown[]) => number)(...a);
    const dst = new Uint8Array(144);
    expect(() => call(4, x.subarray(0, 256), 1, 256, null, dst)).toThrow(TypeError);
    expect(() => call("Q4_X", x.subarray(0, 256), 1, 256, null, dst)).toThrow(RangeError);
    expect(() => call("Q4_K", new Float64Array(256), 1, 256, null, dst)).toThrow(TypeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 255, null, dst)).toThrow(RangeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 128, null, dst)).toThrow(RangeError);  // not a multiple of 256
    expect(() => call("Q4_K", x.subarray(0, 256), 2, 256, null, dst)).toThrow(RangeError);  // src too short
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 256, null, new Uint8Array(143))).toThrow(RangeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 256, new Float32Array(255), dst)).toThrow(RangeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 256, [1, 2], dst)).toThrow(TypeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 0, 256, null, dst)).toThrow(RangeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 1.5, 256, null, dst)).toThrow(RangeError);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 256, null, new Uint16Array(72))).toThrow(TypeError);
    expect(() => call("Q4_K", Float32Array.from({ length: 256 }, (_, i) => (i === 7 ? NaN : 1)), 1, 256, null, dst))
      .toThrow(/element 7 is not finite/);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 256, new Float32Array(256).fill(Infinity), dst)).toThrow(RangeError);
    const shared = new Float32Array(256 + 36);
    expect(() => call("Q4_K", shared.subarray(0, 256), 1, 256, null, new Uint8Array(shared.buffer, 4 * 200, 144)))
      .toThrow(/overlap/);
    // dst over the importance weights: the blocks written would change them (to NaN, say) after their check
    const im = new Float32Array(256).fill(1);
    expect(() => call("Q4_K", x.subarray(0, 256), 1, 256, im, new Uint8Array(im.buffer, 0, 144))).toThrow(/dst: must not overlap imatrix/);
  });
});
