// The INT4 format: round-to-nearest quality, and bit-exact llama.cpp Q4_0 / Q4_1 blocks.
import { describe, expect, it } from "vitest";
import { QTensor, Tensor, dequantize, quantize } from "../src/index";
import { dequantizeBlocks, f16ToF32, f32ToF16, quantizeQ4_0, quantizeQ4_1, randn, rng } from "./helpers/ggmlRef";

const ggmlQuantize = { q4_0: quantizeQ4_0, q4_1: quantizeQ4_1 } as const;
const schemeOf = { q4_0: "symmetric", q4_1: "asymmetric" } as const;

// Edge cases llama.cpp's quantizers meet: each a [rows, 64] matrix.
function edgeCases(): Record<string, Float32Array> {
  const K = 64;
  const cases: Record<string, Float32Array> = {};
  cases["all zeros"] = new Float32Array(2 * K);
  const outlier = randn(2 * K, 7, 0.01);
  outlier[37] = 250;
  cases["one outlier"] = outlier;
  const negmax = randn(2 * K, 8);
  negmax[3] = -9;
  negmax[70] = -12;
  cases["negative maximum"] = negmax;
  const denorm = new Float32Array(2 * K);
  const r = rng(9);
  for (let i = 0; i < denorm.length; i++) denorm[i] = (r() - 0.5) * 2e-40; // f32 subnormals
  cases["denormals"] = denorm;
  const tiny = randn(2 * K, 10, 1e-6); // scales that are fp16 subnormals
  cases["fp16-subnormal scales"] = tiny;
  const constant = new Float32Array(2 * K).fill(-3.25);
  cases["constant"] = constant;
  cases["large"] = randn(2 * K, 11, 5000);
  return cases;
}

describe("llama.cpp Q4_0 / Q4_1 compatibility (group size 32)", () => {
  for (const type of ["q4_0", "q4_1"] as const) {
    it(`quantize() writes llama.cpp's ${type} bytes for random data`, () => {
      for (const [N, K, seed] of [[3, 64, 1], [17, 256, 2], [1, 32, 3]] as const) {
        const w = randn(N * K, seed, 0.05);
        const q = quantize(new Tensor(w, [N, K]), { groupSize: 32, scheme: schemeOf[type] });
        expect(q.ggmlType).toBe(type);
        expect(Buffer.from(q.toGGML()).equals(Buffer.from(ggmlQuantize[type](w)))).toBe(true);
      }
    });

    for (const [name, w] of Object.entries(edgeCases())) {
      it(`${type}: ${name}: same bytes as llama.cpp, bytes round trip, same dequantized floats`, () => {
        const K = 64;
        const N = w.length / K;
        const ref = ggmlQuantize[type](w);
        const q = quantize(new Tensor(w, [N, K]), { scheme: schemeOf[type] });
        const bytes = q.toGGML();
        expect(Buffer.from(bytes).equals(Buffer.from(ref))).toBe(true);
        const back = QTensor.fromGGML(type, bytes, [N, K]);
        expect(Buffer.from(back.toGGML()).equals(Buffer.from(bytes))).toBe(true);
        expect(Array.from(back.dequantize().data)).toEqual(Array.from(dequantizeBlocks(type, bytes)));
      });
    }

    it(`${type}: arbitrary block bytes survive fromGGML -> toGGML unchanged and dequantize like llama.cpp`, () => {
      const N = 9;
      const K = 128;
      const bs = type === "q4_0" ? 18 : 20;
      const bytes = new Uint8Array(N * (K / 32) * bs);
      const r = rng(42);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
      // a non-finite half (exponent bits all ones) as a scale or offset is refused, naming its place
      bytes[1] |= 0x7c;
      expect(() => QTensor.fromGGML(type, bytes, [N, K])).toThrow(/scales: expected finite fp16 values, got (NaN|-?Infinity) \(0x[0-9a-f]{4}\) at row 0, group 0/);
      // every other bit pattern: halves with an exponent below all ones
      for (let b = 0; b < bytes.length; b += bs) {
        for (const o of type === "q4_0" ? [1] : [1, 3]) if ((bytes[b + o] & 0x7c) === 0x7c) bytes[b + o] &= ~0x04;
      }
      const q = QTensor.fromGGML(type, bytes, [N, K]);
      expect(Buffer.from(q.toGGML()).equals(Buffer.from(bytes))).toBe(true);
      const ours = q.dequantize().data;
      const theirs = dequantizeBlocks(type, bytes);
      for (let i = 0; i < ours.length; i++) {
        if (Number.isFinite(theirs[i])) expect(ours[i]).toBe(theirs[i]);
        else expect(Object.is(ours[i], theirs[i]) || (Number.isNaN(ours[i]) && Number.isNaN(theirs[i]))).toBe(true);
      }
    });
  }

  it("the JS fp16 model (used above) round-trips every finite half", () => {
    for (let h = 0; h < 0x7c00; h++) expect(f32ToF16(f16ToF32(h))).toBe(h);
  });
});

describe("round to nearest", () => {
  const shapes: Array<[number, number, 32 | 64 | 128 | 256]> = [
    [4, 64, 32], [3, 172, 32], [5, 300, 64], [2, 20, 64], [3, 700, 128], [2, 1000, 256], [1, 5, 256],
  ];
  for (const scheme of ["symmetric", "asymmetric"] as const) {
    for (const [N, K, G] of shapes) {
      it(`${scheme} G=${G} [${N}, ${K}]: every element within half a step`, () => {
        const w = randn(N * K, N * 1000 + K, 0.3);
        const q = quantize(new Tensor(w, [N, K]), { groupSize: G, scheme });
        const d = dequantize(q).data;
        expect(q.dims).toEqual([N, K]);
        const groups = Math.ceil(K / G);
        for (let r = 0; r < N; r++) {
          for (let k = 0; k < K; k++) {
            const step = Math.abs(f16ToF32(q.scales[r * groups + Math.floor(k / G)]));
            const c = k % 32;
            const byte = q.codes[r * Math.ceil(K / 32) * 16 + Math.floor(k / 32) * 16 + (c % 16)];
            const code = c < 16 ? byte & 15 : byte >> 4;
            // fp16 rounding of the scale (and offset) moves a value by at most 16 steps/2048;
            // symmetric groups clamp the side opposite their extreme at +7: up to one step.
            const slack = step / 64 + 1e-7;
            const limit = scheme === "symmetric" && code === 15 ? step + slack : step / 2 + slack;
            const err = Math.abs(d[r * K + k] - w[r * K + k]);
            if (!(err <= limit)) throw new Error(`row ${r} col ${k}: |${d[r * K + k]} - ${w[r * K + k]}| > ${limit}`);
          }
        }
      });
    }
  }

  it("bits per weight and byte length follow the layout", () => {
    const w = new Tensor(randn(8 * 256, 5), [8, 256]);
    const cases: Array<[32 | 64 | 128 | 256, "symmetric" | "asymmetric", number]> = [
      [32, "symmetric", 4.5], [32, "asymmetric", 5], [64, "symmetric", 4.25], [128, "asymmetric", 4.25], [256, "symmetric", 4.0625],
    ];
    for (const [groupSize, scheme, bpw] of cases) {
      const q = quantize(w, { groupSize, scheme });
      expect(q.bitsPerWeight).toBeCloseTo(bpw, 10);
      expect(q.byteLength).toBe((8 * 256 * bpw) / 8);
    }
    // partial chunks are padded: K = 20 stores 32 codes a row
    const p = quantize(new Tensor(randn(2 * 20, 6), [2, 20]));
    expect(p.codes.length).toBe(2 * 16);
    expect(p.bitsPerWeight).toBeCloseTo(((32 + 4) * 8) / 40, 10);
  });

  it("a QTensor can be rebuilt from its parts and dequantizes the same", () => {
    const q = quantize(new Tensor(randn(3 * 100, 12), [3, 100]), { groupSize: 64, scheme: "asymmetric" });
    const copy = new QTensor({ dims: [3, 100], groupSize: 64, scheme: "asymmetric", codes: q.codes.slice(), scales: q.scales.slice(), offsets: q.offsets!.slice() });
    expect(Array.from(copy.dequantize().data)).toEqual(Array.from(q.dequantize().data));
  });
});

describe("model tensor conversions (native ops)", () => {
  it("f16, bf16 and Q8_0 convert exactly", async () => {
    const { native } = await import("../src/native");
    const halves = new Uint16Array(0x7c00).map((_, i) => i);
    const out = new Float32Array(halves.length);
    native.f16ToF32(halves, out);
    for (let i = 0; i < halves.length; i++) expect(out[i]).toBe(f16ToF32(i));
    const bf = new Uint16Array([0x3f80, 0xc000, 0x0001, 0x7f7f]);
    const bfo = new Float32Array(4);
    native.bf16ToF32(bf, bfo);
    expect(Array.from(bfo)).toEqual([1, -2, new Float32Array(new Uint32Array([0x00010000]).buffer)[0], new Float32Array(new Uint32Array([0x7f7f0000]).buffer)[0]]);
    const q8 = new Uint8Array(34 * 2);
    const dv = new DataView(q8.buffer);
    dv.setUint16(0, f32ToF16(0.5), true);
    dv.setUint16(34, f32ToF16(-0.25), true);
    for (let i = 0; i < 32; i++) { dv.setInt8(2 + i, i - 16); dv.setInt8(36 + i, 127 - i); }
    const q8o = new Float32Array(64);
    native.dequantizeGGML(8, q8, 1, 64, q8o); // Q8_0 through the type table
    for (let i = 0; i < 32; i++) { expect(q8o[i]).toBe(0.5 * (i - 16)); expect(q8o[32 + i]).toBe(-0.25 * (127 - i)); }
  });
});
