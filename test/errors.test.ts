// Bad input: every exported function answers with a TypeError or RangeError that names the
// argument, what was expected and what came. The native layer re-checks, and never crashes.
import { describe, expect, it } from "vitest";
import { QTensor, Tensor, dequantize, matmul, quantize } from "../src/index";
import { native } from "../src/native";

const w64 = () => new Tensor(new Float32Array(4 * 64).map((_, i) => Math.sin(i)), [4, 64]);

describe("Tensor", () => {
  it("rejects data that is not a Float32Array", () => {
    expect(() => new Tensor([1, 2, 3] as unknown as Float32Array, [3])).toThrow(TypeError);
    expect(() => new Tensor(new Float64Array(3) as unknown as Float32Array, [3])).toThrow(/Tensor data: expected a Float32Array, got Float64Array\(3\)/);
  });
  it("rejects dims that do not match the data", () => {
    expect(() => new Tensor(new Float32Array(6), [4, 2])).toThrow(RangeError);
    expect(() => new Tensor(new Float32Array(6), [4, 2])).toThrow(/length 8 for dims \[4, 2\], got length 6/);
  });
  it("rejects zero-sized, negative, fractional and non-number dimensions", () => {
    expect(() => new Tensor(new Float32Array(0), [0])).toThrow(/dims\[0\]: expected a positive integer .* got number 0/);
    expect(() => new Tensor(new Float32Array(6), [-2, -3])).toThrow(RangeError);
    expect(() => new Tensor(new Float32Array(6), [1.5, 4])).toThrow(RangeError);
    expect(() => new Tensor(new Float32Array(6), ["2", 3] as unknown as number[])).toThrow(TypeError);
    expect(() => new Tensor(new Float32Array(6), "6" as unknown as number[])).toThrow(TypeError);
    expect(() => new Tensor(new Float32Array(6), [])).toThrow(RangeError);
  });
  it("rejects shapes whose element count would overflow", () => {
    expect(() => new Tensor(new Float32Array(1), [2 ** 30, 2 ** 30])).toThrow(/at most .* elements/);
  });
});

describe("quantize", () => {
  it("rejects a w that is not a 2-D Tensor", () => {
    expect(() => quantize(new Float32Array(64) as unknown as Tensor)).toThrow(/quantize w: expected a Tensor, got Float32Array\(64\)/);
    expect(() => quantize(new Tensor(new Float32Array(64), [64]))).toThrow(/2-D Tensor \[N, K\], got dims \[64\]/);
  });
  it("rejects unsupported group sizes and schemes", () => {
    expect(() => quantize(w64(), { groupSize: 16 as 32 })).toThrow(RangeError);
    expect(() => quantize(w64(), { groupSize: 16 as 32 })).toThrow(/groupSize: expected one of 32, 64, 128, 256, got number 16/);
    expect(() => quantize(w64(), { groupSize: "32" as unknown as 32 })).toThrow(TypeError);
    expect(() => quantize(w64(), { scheme: "signed" as "symmetric" })).toThrow(/scheme: expected one of "symmetric", "asymmetric", got string "signed"/);
    expect(() => quantize(w64(), { group: 32 } as never)).toThrow(/option "group"/);
    expect(() => quantize(w64(), 32 as never)).toThrow(TypeError);
  });
  it("rejects a non-finite weight, naming its row and column", () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const w = w64();
      w.data[2 * 64 + 17] = bad;
      expect(() => quantize(w)).toThrow(RangeError);
      expect(() => quantize(w)).toThrow(new RegExp(`${bad} at row 2, column 17`));
    }
  });
});

describe("matmul", () => {
  const qw = quantize(w64());
  it("rejects operands of the wrong kind", () => {
    expect(() => matmul(new Float32Array(64) as unknown as Tensor, qw)).toThrow(/matmul x: expected a Tensor, got Float32Array\(64\)/);
    expect(() => matmul(new Tensor(new Float32Array(64)), w64() as unknown as QTensor)).toThrow(/matmul w: expected a QTensor .* got Tensor object/);
  });
  it("rejects a K mismatch between x and W", () => {
    expect(() => matmul(new Tensor(new Float32Array(2 * 63), [2, 63]), qw)).toThrow(RangeError);
    expect(() => matmul(new Tensor(new Float32Array(2 * 63), [2, 63]), qw)).toThrow(/K = 64 to match w \[4, 64\], got dims \[2, 63\]/);
  });
  it("rejects x of rank 3 and unknown options", () => {
    expect(() => matmul(new Tensor(new Float32Array(128), [1, 2, 64]), qw)).toThrow(/shape \[K\] or \[M, K\]/);
    expect(() => matmul(new Tensor(new Float32Array(64)), qw, { activations: "int4" as "int8" })).toThrow(/activations: expected one of "int8", "float32", got string "int4"/);
    expect(() => matmul(new Tensor(new Float32Array(64)), qw, { thread: 2 } as never)).toThrow(/option "thread"/);
    expect(() => matmul(new Tensor(new Float32Array(64)), qw, { threads: -1 })).toThrow(/threads: expected a positive integer no larger than 256, got number -1/);
    expect(matmul(new Tensor(new Float32Array(64)), qw, { threads: 0 }).dims).toEqual([4]); // 0: all cores, as documented
    expect(() => matmul(new Tensor(new Float32Array(64)), qw, { out: new Tensor(new Float32Array(5)) })).toThrow(/matmul out: expected dims \[4\], got dims \[5\]/);
    expect(() => matmul(new Tensor(new Float32Array(64)), qw, { out: new Float32Array(4) as never })).toThrow(TypeError);
  });
  it("async rejects the same way", async () => {
    await expect(matmul.async(new Tensor(new Float32Array(63)), qw)).rejects.toThrow(RangeError);
    await expect(matmul.async(new Tensor(new Float32Array(64)), qw, { out: new Tensor(new Float32Array(4)) } as never)).rejects.toThrow(/option "out"/);
  });
  it("refuses a disposed QTensor or Tensor clearly", () => {
    const q = quantize(w64());
    q.dispose();
    expect(() => matmul(new Tensor(new Float32Array(64)), q)).toThrow(/used after dispose/);
    expect(() => dequantize(q)).toThrow(/used after dispose/);
    const t = new Tensor(new Float32Array(64));
    t.dispose();
    expect(() => matmul(t, qw)).toThrow(/used after dispose/);
  });
});

describe("QTensor", () => {
  const parts = () => ({ dims: [2, 64] as [number, number], groupSize: 32 as const, scheme: "symmetric" as const, codes: new Uint8Array(64), scales: new Uint16Array(4) });
  it("checks its parts", () => {
    expect(() => new QTensor({ ...parts(), codes: new Uint8Array(63) })).toThrow(/codes: expected length 64, got length 63/);
    expect(() => new QTensor({ ...parts(), scales: new Float32Array(4) as unknown as Uint16Array })).toThrow(TypeError);
    expect(() => new QTensor({ ...parts(), scheme: "asymmetric" })).toThrow(/offsets: expected a Uint16Array/);
    expect(() => new QTensor({ ...parts(), offsets: new Uint16Array(4) })).toThrow(/offsets: expected null or undefined for the symmetric scheme/);
    expect(() => new QTensor({ ...parts(), dims: [2, 64, 1] as unknown as [number, number] })).toThrow(/2 dimensions/);
    expect(() => new QTensor({ ...parts(), dims: [2 ** 24, 2 ** 24] })).toThrow(RangeError);
    expect(() => new QTensor({ ...parts(), groupSize: 48 as 32 })).toThrow(RangeError);
    expect(() => new QTensor(null as never)).toThrow(TypeError);
  });
  it("fromGGML checks type, K and byte length; toGGML needs group 32 and K a multiple of 32", () => {
    expect(() => QTensor.fromGGML("q4_0", new Uint8Array(18), [1, 20])).toThrow(/multiple of 32/);
    expect(() => QTensor.fromGGML("q4_0", new Uint8Array(17), [1, 32])).toThrow(/blocks: expected 18 bytes for q4_0 \[1, 32\], got 17 bytes/);
    expect(() => QTensor.fromGGML("q9_0" as "q4_0", new Uint8Array(34), [1, 32])).toThrow(/type: expected one of "q4_0", "q4_1", "q5_0"/);
    expect(() => QTensor.fromGGML("q4_k", new Uint8Array(144), [1, 32])).toThrow(/multiple of 256 for q4_k blocks/);
    expect(() => QTensor.fromGGML("q6_k", new Uint8Array(209), [1, 256])).toThrow(/blocks: expected 210 bytes for q6_k \[1, 256\], got 209 bytes/);
    expect(() => QTensor.fromGGML("q4_1", [1, 2] as unknown as Uint8Array, [1, 32])).toThrow(TypeError);
    expect(() => quantize(w64(), { groupSize: 64 }).toGGML()).toThrow(/groupSize: expected 32/);
    expect(() => quantize(new Tensor(new Float32Array(40), [2, 20])).toGGML()).toThrow(/multiple of 32/);
  });
});

describe("native binding re-checks (no crash, no out-of-bounds access)", () => {
  it("rejects wrong types and lengths with TypeError/RangeError", () => {
    const codes = new Uint8Array(32);
    const scales = new Uint16Array(2);
    expect(() => native.quantize(new Float32Array(64), 1, 64, 32, 0, codes, scales, null)).not.toThrow();
    expect(() => native.quantize(new Float32Array(63), 1, 64, 32, 0, codes, scales, null)).toThrow(/w: expected length 64, got 63/);
    expect(() => native.quantize(new Float32Array(64), 1, 64, 32, 0, new Uint8Array(31), scales, null)).toThrow(RangeError);
    expect(() => native.quantize(new Float32Array(64), 1, 64, 48, 0, codes, scales, null)).toThrow(/groupSize/);
    expect(() => native.quantize(new Float32Array(64), 1, 64, 32, 1, codes, scales, null)).toThrow(/offsets: expected a Uint16Array/);
    expect(() => native.quantize(new Float64Array(64) as unknown as Float32Array, 1, 64, 32, 0, codes, scales, null)).toThrow(TypeError);
    expect(() => native.quantize(new Float32Array(64), 0, 64, 32, 0, codes, scales, null)).toThrow(RangeError);
    expect(() => native.quantize(new Float32Array(64), 2 ** 40, 2 ** 40, 32, 0, codes, scales, null)).toThrow(RangeError);
    expect(() => native.dequantize(codes, scales, null, 1, 64, 32, 0, new Float32Array(65))).toThrow(RangeError);
    expect(() => native.toGGML(codes, scales, null, 1, 64, 0, new Uint8Array(35))).toThrow(RangeError);
    expect(() => native.fromGGML(new Uint8Array(35), 1, 64, 0, codes, scales, null)).toThrow(RangeError);
    expect(() => new native.QMatrix(codes, scales, null, 2, 64, 32, 0)).toThrow(RangeError);
    const m = new native.QMatrix(codes, scales, null, 1, 64, 32, 0);
    expect(() => m.matmul(new Float32Array(64), 2, new Float32Array(1), 0, 1)).toThrow(RangeError);
    expect(() => m.matmul(new Float32Array(64), 1, new Float32Array(2), 0, 1)).toThrow(RangeError);
    expect(() => m.matmul(new Float32Array(64), 1, new Float32Array(1), 2 as 0, 1)).toThrow(RangeError);
    expect(() => m.matmul(new Float32Array(64), 1, new Float32Array(1), 0, 1000)).toThrow(/threads/);
    expect(() => m.matmulAsync(new Float32Array(60), 1, 0, 1)).toThrow(RangeError);
    expect(() => native.f16ToF32(new Uint16Array(4), new Float32Array(3))).toThrow(RangeError);
    expect(() => native.dequantizeGGML(8, new Uint8Array(33), 1, 32, new Float32Array(32))).toThrow(/blocks: expected length 34, got 33/);
    m.dispose();
    expect(() => m.matmul(new Float32Array(64), 1, new Float32Array(1), 0, 1)).toThrow(/after dispose/);
  });
});
