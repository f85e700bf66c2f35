// matmul against a float64 JavaScript matmul over the dequantized weights.
import { describe, expect, it } from "vitest";
import { Tensor, matmul, quantize, type GroupSize, type Scheme } from "../src/index";
import { native } from "../src/native";
import { randn } from "./helpers/ggmlRef";
import { f32SumBound, int8ActivationBound, matmulF64 } from "./helpers/reference";

const shapes: Array<{ M: number; N: number; K: number; G: GroupSize }> = [
  { M: 1, N: 16, K: 64, G: 32 },
  { M: 7, N: 9, K: 96, G: 32 },
  { M: 3, N: 13, K: 172, G: 32 }, // partial last group, as the shared model's ffn_down
  { M: 1, N: 5, K: 20, G: 64 }, // K smaller than the group
  { M: 7, N: 11, K: 200, G: 128 },
  { M: 2, N: 3, K: 600, G: 256 },
  { M: 12, N: 31, K: 256, G: 64 },
];

describe("matmul", () => {
  for (const scheme of ["symmetric", "asymmetric"] as Scheme[]) {
    for (const { M, N, K, G } of shapes) {
      const name = `${scheme} G=${G}: x [${M}, ${K}] · W [${N}, ${K}]ᵀ`;
      const w = randn(N * K, M * 7919 + N * 31 + K, 0.2);
      const x = randn(M * K, K * 13 + M, 1);
      const qw = quantize(new Tensor(w, [N, K]), { groupSize: G, scheme });
      const wd = qw.dequantize().data;
      const ref = matmulF64(x, wd, M, N, K);

      it(`${name}, float32 activations`, () => {
        const y = matmul(new Tensor(x, [M, K]), qw, { activations: "float32" });
        expect(y.dims).toEqual([M, N]);
        for (let i = 0; i < M * N; i++) {
          expect(Math.abs(y.data[i] - ref.y[i])).toBeLessThanOrEqual(f32SumBound(ref.absSum[i], K));
        }
      });

      it(`${name}, int8 activations (default) within the derived bound`, () => {
        const y = matmul(new Tensor(x, [M, K]), qw);
        const bound = int8ActivationBound(x, wd, M, N, K);
        for (let i = 0; i < M * N; i++) {
          expect(Math.abs(y.data[i] - ref.y[i])).toBeLessThanOrEqual(bound[i] * (1 + 1e-4) + f32SumBound(ref.absSum[i], K));
        }
      });
    }
  }

  it("a 1-D x [K] gives y [N], equal to row 0 of the 2-D product", () => {
    const w = quantize(new Tensor(randn(5 * 64, 1), [5, 64]));
    const x = randn(64, 2);
    const y1 = matmul(new Tensor(x, [64]), w);
    const y2 = matmul(new Tensor(x, [1, 64]), w);
    expect(y1.dims).toEqual([5]);
    expect(Array.from(y1.data)).toEqual(Array.from(y2.data));
  });

  it("writes into `out` without allocating, and threads do not change the result", () => {
    const w = quantize(new Tensor(randn(37 * 96, 8), [37, 96]));
    const x = new Tensor(randn(3 * 96, 9), [3, 96]);
    const expected = matmul(x, w);
    const out = new Tensor(new Float32Array(3 * 37), [3, 37]);
    expect(matmul(x, w, { out })).toBe(out);
    expect(Array.from(out.data)).toEqual(Array.from(expected.data));
    for (const threads of [1, 2, 3]) expect(Array.from(matmul(x, w, { threads }).data)).toEqual(Array.from(expected.data));
  });

  it("releaseHost() keeps matmul working on the native copy and drops the JavaScript arrays", () => {
    const w = quantize(new Tensor(randn(19 * 96, 21), [19, 96]), { scheme: "asymmetric" });
    const x = new Tensor(randn(2 * 96, 22), [2, 96]);
    const expected = matmul(x, w);
    const bytes = w.byteLength;
    w.releaseHost();
    expect(w.hostReleased).toBe(true);
    expect(w.disposed).toBe(false);
    expect(w.byteLength).toBe(bytes);
    expect(Array.from(matmul(x, w).data)).toEqual(Array.from(expected.data));
    expect(() => w.codes).toThrow(/released by releaseHost/);
    expect(() => w.dequantize()).toThrow(/released by releaseHost/);
    w.dispose();
    expect(w.disposed).toBe(true);
    expect(() => matmul(x, w)).toThrow(/used after dispose/);
  });

  it("int8 activations of an exactly representable x equal the float32 path", () => {
    // x in {-127..127} * 2^-7 with a 127 in each block quantizes without error
    const K = 64;
    const x = new Float32Array(K).map((_, i) => ((i * 37) % 255 - 127) / 128);
    x[0] = 127 / 128;
    x[32] = -127 / 128;
    const w = quantize(new Tensor(randn(4 * K, 3), [4, K]));
    const a = matmul(new Tensor(x), w).data;
    const b = matmul(new Tensor(x), w, { activations: "float32" }).data;
    for (let i = 0; i < 4; i++) expect(a[i]).toBeCloseTo(b[i], 5);
  });
});

describe("matmul.async", () => {
  it("gives the same result as the sync form", async () => {
    const w = quantize(new Tensor(randn(33 * 172, 4), [33, 172]), { scheme: "asymmetric" });
    const x = new Tensor(randn(5 * 172, 5), [5, 172]);
    for (const activations of ["int8", "float32"] as const) {
      const a = matmul(x, w, { activations });
      const b = await matmul.async(x, w, { activations });
      expect(b.dims).toEqual(a.dims);
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
    }
  });

  it("does not block the event loop: a timer fires while a large matmul runs", async () => {
    const N = 2048;
    const K = 2048;
    const M = 64;
    const w = quantize(new Tensor(randn(N * K, 6, 0.1), [N, K]));
    const x = new Tensor(randn(M * K, 7), [M, K]);
    let ticks = 0;
    let done = false;
    let ticksBeforeDone = 0;
    const timer = setInterval(() => ticks++, 1);
    const p = matmul.async(x, w, { activations: "float32" }).then((y) => {
      done = true;
      ticksBeforeDone = ticks;
      return y;
    });
    const y = await p;
    clearInterval(timer);
    expect(done).toBe(true);
    expect(ticksBeforeDone).toBeGreaterThan(0);
    expect(y.dims).toEqual([M, N]);
  });

  it("several matmuls in flight at once give correct results, even after dispose()", async () => {
    const jobs = Array.from({ length: 6 }, (_, i) => {
      const N = 17 + i;
      const K = 96 + 32 * i;
      const w = quantize(new Tensor(randn(N * K, 100 + i), [N, K]), { groupSize: 32, scheme: i % 2 ? "asymmetric" : "symmetric" });
      const x = new Tensor(randn(3 * K, 200 + i), [3, K]);
      return { w, x, expected: matmul(x, w) };
    });
    const results = await Promise.all(jobs.map(({ w, x }) => {
      const p = matmul.async(x, w);
      w.dispose(); // the matmul in flight keeps its own reference to the weights
      return p;
    }));
    results.forEach((y, i) => expect(Array.from(y.data)).toEqual(Array.from(jobs[i].expected.data)));
  });
});

// The binding the forward pass uses for a layer's Q, K, V (and gate, up): several matrices of one
// K on one x, in one pass of the thread pool.
describe("native matmulShared", () => {
  // big enough (M N K about 2 M multiply-adds) that 2 and 3 threads really split the tasks
  const K = 512, M = 3;
  const mats = [40, 16, 1200].map((N, i) => quantize(new Tensor(randn(N * K, 17 + i, 0.2), [N, K]), { groupSize: 32 }));
  const x = new Tensor(randn(M * K, 5, 1), [M, K]);

  it("gives each matrix exactly what matmul gives it alone, for any thread count", () => {
    for (const threads of [1, 2, 3]) {
      const ys = mats.map((q) => new Float32Array(M * q.dims[0]));
      native.matmulShared(mats.map((q) => q.nativeMatrix()), x.data, M, ys, 0, threads);
      mats.forEach((q, i) => expect(ys[i]).toEqual(matmul(x, q, { threads: 1 }).data));
    }
  });

  it("rejects what is not a QMatrix, mismatched K, wrong lengths and overlaps", () => {
    const nm = mats.map((q) => q.nativeMatrix());
    const ys = mats.map((q) => new Float32Array(M * q.dims[0]));
    const other = quantize(new Tensor(randn(16 * 64, 3, 0.2), [16, 64]));
    expect(() => native.matmulShared([nm[0], {} as never], x.data, M, ys.slice(0, 2), 0, 1)).toThrow(TypeError);
    expect(() => native.matmulShared([nm[0], other.nativeMatrix()], x.data, M, ys.slice(0, 2), 0, 1)).toThrow(/matrix 1: expected K = 512, got 64/);
    expect(() => native.matmulShared(nm, x.data, M, ys.slice(0, 2), 0, 1)).toThrow(/as many outputs/);
    expect(() => native.matmulShared([], x.data, M, [], 0, 1)).toThrow(RangeError);
    expect(() => native.matmulShared(nm, x.data, M, [ys[0], new Float32Array(5), ys[2]], 0, 1)).toThrow(/output 1: expected length 48/);
    expect(() => native.matmulShared(nm, x.data, M, [ys[0], new Uint8Array(48) as never, ys[2]], 0, 1)).toThrow(TypeError);
    expect(() => native.matmulShared(nm, x.data.subarray(1), M, ys, 0, 1)).toThrow(/x: expected length 1536/);
    const big = new Float32Array(M * K + M * 40);
    expect(() => native.matmulShared([nm[0]], big.subarray(M * 40 - 5, M * 40 - 5 + M * K), M, [big.subarray(0, M * 40)], 0, 1)).toThrow(/output 0: must not overlap x/);
    // two outputs on the same memory: threads would write it at once
    const shared = new Float32Array(M * 40 + 8);
    expect(() => native.matmulShared([nm[0], nm[0]], x.data, M, [shared.subarray(0, M * 40), shared.subarray(8)], 0, 1)).toThrow(/output 1: must not overlap output 0/);
    const gone = quantize(new Tensor(randn(16 * K, 4, 0.2), [16, K]));
    const gm = gone.nativeMatrix();
    gone.dispose();
    expect(() => native.matmulShared([gm], x.data, M, [new Float32Array(M * 16)], 0, 1)).toThrow(/after dispose/);
  });

  it("a getter that disposes a matrix while the arrays are read gives an error, not freed memory", () => {
    const a = quantize(new Tensor(randn(16 * K, 6, 0.2), [16, K]));
    const b = quantize(new Tensor(randn(16 * K, 7, 0.2), [16, K]));
    const list: unknown[] = [a.nativeMatrix()];
    Object.defineProperty(list, 1, { get: () => (a.dispose(), b.nativeMatrix()), enumerable: true });
    expect(() => native.matmulShared(list as never, x.data, M, [new Float32Array(M * 16), new Float32Array(M * 16)], 0, 2)).toThrow(/after dispose/);
    b.dispose();
  });
});
