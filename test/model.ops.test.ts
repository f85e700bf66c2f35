// The forward pass's native operators (cpp/ops) against plain JavaScript references, including
// their threaded paths, and their bounds checks.
import { describe, expect, it } from "vitest";
import { Tensor, quantize } from "../src/index";
import { ops } from "../src/model/nativeOps";

function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  expect(m).toBeLessThan(tol);
};

describe("native operators", () => {
  it("sgemm: x (M,K) @ W (N,K)^T, any shape, 1 or 2 threads (the same bits)", () => {
    // the last shape is big enough (M N K >= 4e6) to be split across threads
    for (const [M, N, K] of [[1, 7, 5], [3, 130, 33], [64, 130, 300], [17, 5, 1000], [40, 250, 501]]) {
      const x = rand(M * K, 1), w = rand(N * K, 2);
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
        want[m * N + n] = s;
      }
      const ys = [1, 2].map((threads) => {
        const y = new Float32Array(M * N);
        ops.sgemm(x, M, K, w, N, y, threads);
        close(y, want, 1e-3);
        return y;
      });
      expect(ys[1]).toEqual(ys[0]);
    }
    expect(() => ops.sgemm(new Float32Array(4), 2, 3, new Float32Array(6), 2, new Float32Array(4), 1)).toThrow(/x: expected at least 6 elements, got 4/);
    expect(() => ops.sgemm(new Float32Array(6), 2, 3, new Float32Array(6), 2, new Float32Array(3), 1)).toThrow(RangeError);
  });

  it("rmsnorm", () => {
    const x = rand(3 * 10, 3), w = rand(10, 4);
    const out = new Float32Array(30);
    ops.rmsnorm(x, w, out, 3, 10, 1e-5);
    const want = new Float32Array(30);
    for (let m = 0; m < 3; m++) {
      let ss = 0;
      for (let j = 0; j < 10; j++) ss += x[m * 10 + j] ** 2;
      const r = 1 / Math.sqrt(ss / 10 + 1e-5);
      for (let j = 0; j < 10; j++) want[m * 10 + j] = w[j] * r * x[m * 10 + j];
    }
    close(out, want, 1e-6);
    expect(() => ops.rmsnorm(x, new Float32Array(9), out, 3, 10, 1e-5)).toThrow(/w: expected at least 10/);
  });

  it("rope: normal (interleaved pairs) and neox (halves), partial rotation", () => {
    const H = 2, hd = 8, M = 3, pos0 = 5, base = 10000;
    for (const [mode, nRot] of [[0, 8], [0, 4], [2, 8]] as [0 | 2, number][]) {
      const x = rand(M * H * hd, 5);
      const got = x.slice();
      ops.rope(got, M, H, hd, pos0, nRot, base, mode);
      const want = Float64Array.from(x);
      for (let m = 0; m < M; m++) for (let h = 0; h < H; h++) for (let i = 0; i < nRot; i += 2) {
        const th = (pos0 + m) * base ** (-i / nRot);
        const o = m * H * hd + h * hd;
        const a = mode === 2 ? o + i / 2 : o + i, b = mode === 2 ? o + i / 2 + nRot / 2 : o + i + 1;
        want[a] = x[a] * Math.cos(th) - x[b] * Math.sin(th);
        want[b] = x[a] * Math.sin(th) + x[b] * Math.cos(th);
      }
      close(got, want, 1e-5);
    }
    expect(() => ops.rope(new Float32Array(16), 1, 2, 8, 0, 3, base, 0)).toThrow(/nRot: expected an even number/);
    expect(() => ops.rope(new Float32Array(16), 1, 2, 8, 0, 10, base, 0)).toThrow(RangeError);
  });

  // shapes: the usual; more query heads per KV head than one register block (8) and a head
  // wider than one block of 64 columns, not a multiple of 16; tiny heads (stories260K's hd 8)
  it.each([
    [4, 2, 16],
    [12, 1, 72],
    [3, 3, 8],
  ])("causal GQA attention over the cache (keys in blocks of 16 positions), 1 and 2 threads: H %i, KV %i, hd %i", (H, KV, hd) => {
    const pos0 = 40, M = 80, T = pos0 + M, ctx = 144, off = 7, kvd = KV * hd;
    const q = rand(M * H * hd, 6), k = rand(T * kvd, 7), v = rand(T * kvd, 8);
    const kc = new Float32Array(off + ctx * kvd), vc = new Float32Array(off + ctx * kvd);
    // fill the cache in two steps, as a prompt and then more tokens would
    ops.storeKV(k, v, pos0, 0, KV, hd, ctx, kc, vc, off);
    ops.storeKV(k.subarray(pos0 * kvd), v.subarray(pos0 * kvd), M, pos0, KV, hd, ctx, kc, vc, off);
    for (let t = 0; t < T; t++) for (let g = 0; g < KV; g++) for (let i = 0; i < hd; i++) {
      expect(kc[off + g * ctx * hd + Math.floor(t / 16) * hd * 16 + i * 16 + (t % 16)]).toBe(k[t * kvd + g * hd + i]);
      expect(vc[off + g * ctx * hd + t * hd + i]).toBe(v[t * kvd + g * hd + i]);
    }
    const want = new Float64Array(M * H * hd);
    for (let m = 0; m < M; m++) for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      const sc: number[] = [];
      for (let t = 0; t <= pos0 + m; t++) {
        let s = 0;
        for (let i = 0; i < hd; i++) s += q[m * H * hd + h * hd + i] * k[t * kvd + g * hd + i];
        sc.push(s / Math.sqrt(hd));
      }
      const mx = Math.max(...sc);
      const e = sc.map((s) => Math.exp(s - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let t = 0; t < e.length; t++) for (let i = 0; i < hd; i++) want[m * H * hd + h * hd + i] += (e[t] / z) * v[t * kvd + g * hd + i];
    }
    const outs: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const out = new Float32Array(M * H * hd);
      ops.attention(q, kc, vc, off, out, M, pos0, H, KV, hd, ctx, threads);
      close(out, want, 1e-5);
      outs.push(out);
      // the last row alone, as a generated token runs it
      const last = new Float32Array(H * hd);
      ops.attention(q.subarray((M - 1) * H * hd), kc, vc, off, last, 1, T - 1, H, KV, hd, ctx, threads);
      close(last, want.subarray((M - 1) * H * hd), 1e-5);
    }
    expect(outs[1]).toEqual(outs[0]); // the thread count does not change a bit
    const out = new Float32Array(M * H * hd);
    const qq = new Float32Array(M * H * hd + 1); // out shifted by one float over q
    expect(() => ops.attention(qq.subarray(0, M * H * hd), kc, vc, off, qq.subarray(1), M, pos0, H, KV, hd, ctx, 1)).toThrow(/out: must not overlap/);
    expect(() => ops.attention(q, kc.subarray(0, 100), vc, off, out, M, pos0, H, KV, hd, ctx, 1)).toThrow(/kCache: expected at least/);
    if (KV > 1) expect(() => ops.attention(q, kc, vc, off, out, M, pos0, KV + 1, KV, hd, ctx, 1)).toThrow(/nKv|nHead/);
    expect(() => ops.attention(q, kc, vc, off, out, M, 70, H, KV, hd, ctx, 1)).toThrow(/pos0 \+ M: expected at most ctx = 144/);
    expect(() => ops.storeKV(k, v, M, 70, KV, hd, ctx, kc, vc, off)).toThrow(/pos0 \+ M/);
    expect(() => ops.attention(q, kc, vc, off, out, M, pos0, H, KV, hd, 130, 1)).toThrow(/ctx: expected a multiple of 16/);
    expect(() => ops.storeKV(k, v, M, pos0, KV, hd, 130, kc, vc, off)).toThrow(/ctx: expected a multiple of 16/);
  });

  it("rmsnorm, siluMul and addInPlace give the same bits on 1 and 2 threads (big batches split)", () => {
    const M = 160, n = 2048, N = M * n;
    const x = rand(N, 21, 3), w = rand(n, 22), g = rand(N, 23, 4), u = rand(N, 24);
    const run = (threads: number) => {
      const o = new Float32Array(N), gg = g.slice(), xx = x.slice();
      ops.rmsnorm(x, w, o, M, n, 1e-5, threads);
      ops.siluMul(gg, u, N, threads);
      ops.addInPlace(xx, u, N, threads);
      return [o, gg, xx];
    };
    const [a, b] = [run(1), run(2)];
    for (let i = 0; i < 3; i++) expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer))).toBe(true);
    expect(() => ops.siluMul(g, u, N, 0)).toThrow(/threads/);
  });

  it("siluMul, addInPlace, copyF32", () => {
    const g = rand(50, 9, 4), u = rand(50, 10);
    g[3] = -200, g[4] = 200, g[5] = 0; // exp under- and overflow
    const got = g.slice();
    ops.siluMul(got, u, 50);
    const want = Array.from(g, (x, i) => (x / (1 + Math.exp(-x))) * u[i]);
    for (let i = 0; i < 50; i++) expect(Math.abs(got[i] - want[i]), `silu at ${g[i]}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(want[i])));
    const x = rand(10, 11), y = rand(10, 12);
    const s = x.slice();
    ops.addInPlace(s, y, 10);
    close(s, Array.from(x, (v, i) => v + y[i]), 1e-7);
    const dst = new Float32Array(10);
    ops.copyF32(x, 2, dst, 5, 5);
    expect(Array.from(dst.subarray(5))).toEqual(Array.from(x.subarray(2, 7)));
    expect(() => ops.copyF32(x, 6, dst, 0, 5)).toThrow(/src: expected at least 11 elements, got 10/);
    expect(() => ops.copyF32(x, 0, dst, 6, 5)).toThrow(/dst/);
  });

  it("getRowQ4 dequantizes one row, as QTensor.dequantize does", () => {
    const N = 5, K = 70;
    for (const scheme of ["symmetric", "asymmetric"] as const) {
      const q = quantize(new Tensor(rand(N * K, 13), [N, K]), { groupSize: 64, scheme });
      const all = q.dequantize().data;
      const out = new Float32Array(K + 3);
      ops.getRowQ4(q.codes, q.scales, q.offsets, N, K, 64, scheme === "symmetric" ? 0 : 1, 3, out, 3);
      expect(Array.from(out.subarray(3))).toEqual(Array.from(all.subarray(3 * K, 4 * K)));
      expect(() => ops.getRowQ4(q.codes, q.scales, q.offsets, N, K, 64, scheme === "symmetric" ? 0 : 1, 5, out, 0)).toThrow(/row/);
    }
  });

  it("fillNormal and randomQ4: deterministic, any thread count, and the same values quantize() sees", () => {
    const a = new Float32Array(3_000_000), b = new Float32Array(3_000_000);
    ops.fillNormal(a, 99, 0, 0.5, 1);
    ops.fillNormal(b, 99, 0, 0.5, 2);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    let sum = 0, sq = 0;
    for (const v of a) {
      sum += v;
      sq += v * v;
    }
    expect(Math.abs(sum / a.length)).toBeLessThan(0.01);
    expect(Math.sqrt(sq / a.length)).toBeCloseTo(0.5, 2);
    // the generator's definition (cpp/ops/rng.cpp), in BigInt: every ISA's copy must give these values
    const M64 = (1n << 64n) - 1n;
    const sm = (z: bigint) => {
      z = (z + 0x9e3779b97f4a7c15n) & M64;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
      return z ^ (z >> 31n);
    };
    const key = sm(99n);
    for (const i of [0, 1, 15, 16, 17, 12345, 2_999_999]) {
      const r = sm(key ^ ((BigInt(i) * 0xd1b54a32d192ed03n) & M64));
      const s = Number(r & 0xffffn) + Number((r >> 16n) & 0xffffn) + Number((r >> 32n) & 0xffffn) + Number(r >> 48n) - 131070;
      expect(a[i], `index ${i}`).toBe(Math.fround(Math.fround(0.5) * Math.fround(Math.fround(s) * Math.fround(1 / 37837.2))));
    }
    const tail = new Float32Array(10);
    ops.fillNormal(tail, 99, 1000, 0.5, 1);
    expect(Array.from(tail)).toEqual(Array.from(a.subarray(1000, 1010)));

    const N = 150, K = 100;
    const w = new Float32Array(N * K);
    ops.fillNormal(w, 7, 0, 0.02, 1);
    for (const scheme of ["symmetric", "asymmetric"] as const) {
      const want = quantize(new Tensor(w, [N, K]), { groupSize: 32, scheme });
      const codes = new Uint8Array(want.codes.length), scales = new Uint16Array(want.scales.length);
      const offsets = scheme === "asymmetric" ? new Uint16Array(want.scales.length) : null;
      for (const threads of [1, 2]) {
        const [e2, r2] = ops.randomQ4(codes, scales, offsets, N, K, 32, scheme === "symmetric" ? 0 : 1, 7, 0.02, threads);
        expect(Buffer.from(codes).equals(Buffer.from(want.codes))).toBe(true);
        expect(Array.from(scales)).toEqual(Array.from(want.scales));
        if (offsets) expect(Array.from(offsets)).toEqual(Array.from(want.offsets!));
        expect(Math.sqrt(e2 / r2)).toBeGreaterThan(0.01);
        expect(Math.sqrt(e2 / r2)).toBeLessThan(0.2);
      }
    }
  });
});
