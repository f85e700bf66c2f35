// Defects an attack on the installed package found, each with the case that showed it: a
// terminated Worker or disposed model must not abort the process, outputs may not overlap
// inputs, the sampler refuses what it cannot sample, float32 activations add no error.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Sampler, Tensor, matmul, quantize } from "../src/index";
import { cleanupTemp, tinyModel, writeTemp } from "./modelFixture";

const root = path.resolve(__dirname, "..");
const child = path.join(__dirname, "helpers", "terminate-child.cjs");
afterAll(cleanupTemp);

function runChild(...args: string[]) {
  const r = spawnSync(process.execPath, [child, root, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe("native code survives its environment being torn down", () => {
  // Before: "terminate called after throwing an instance of 'Napi::Error'" (abort) for async
  // work completing in a terminated Worker, and a segfault when the Worker was the last user of
  // the addon (Node unloaded it while the thread pool ran its code).
  for (const mode of ["async", "sync"]) {
    it(`Worker.terminate() during ${mode} matmuls, 12 times: the process lives`, () => {
      const r = runChild(mode, "12");
      expect({ status: r.status, signal: r.signal, err: r.err.slice(0, 500) }).toEqual({ status: 0, signal: null, err: "" });
      expect(r.out.trim()).toBe("ok");
    });
  }

  it("Model.dispose() during generate(), 20 times: the generation ends cleanly", () => {
    const file = writeTemp("dispose.gguf", tinyModel().bytes);
    const r = runChild("model", "20", file);
    expect({ status: r.status, signal: r.signal, err: r.err.slice(0, 500) }).toEqual({ status: 0, signal: null, err: "" });
    expect(r.out.trim()).toBe("ok");
  });
});

describe("matmul", () => {
  const K = 64, N = 8;
  const w = quantize(new Tensor(new Float32Array(N * K).fill(1), [N, K]));

  it("refuses an out that overlaps x, for either activation type (before: wrong values)", () => {
    const buf = new Float32Array(2 * K + 16).fill(1);
    const x = new Tensor(buf.subarray(0, 2 * K), [2, K]);
    for (const start of [0, 1, K, 2 * K - 1]) {
      const out = new Tensor(buf.subarray(start, start + 2 * N), [2, N]);
      for (const activations of ["int8", "float32"] as const) {
        expect(() => matmul(x, w, { activations, out })).toThrow(RangeError);
        expect(() => matmul(x, w, { activations, out })).toThrow(/matmul out: expected memory that does not overlap x/);
      }
    }
    // adjacent but not overlapping: fine
    const out = new Tensor(buf.subarray(2 * K, 2 * K + 2 * N), [2, N]);
    expect(Array.from(matmul(x, w, { out }).data)).toEqual(new Array(2 * N).fill(K));
  });

  it("the binding refuses an overlapping y too (direct calls)", () => {
    const buf = new Float32Array(K + N);
    expect(() => w.nativeMatrix().matmul(buf.subarray(0, K), 1, buf.subarray(K - 1, K - 1 + N), 1, 1)).toThrow(/y: must not overlap x/);
  });

  it("threads: 0 means the default (all cores)", () => {
    const x = new Tensor(new Float32Array(K).fill(1));
    expect(Array.from(matmul(x, w, { threads: 0 }).data)).toEqual(new Array(N).fill(K));
  });

  it('activations "float32" adds no error beyond f32 rounding (before: d (Σq·x − 8 Σx) cancelled)', () => {
    // the case that shows it: most weights 0 (code 8) and x far from zero, so that Σq·x and 8 Σx
    // are large and nearly equal; measured against Σ|w·x| the old kernels erred by 1e-6 to 2e-6
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const N = 16, KK = 1024;
    for (const groupSize of [128, 256] as const) {
      for (const scheme of ["symmetric", "asymmetric"] as const) {
        const wt = new Float32Array(N * KK);
        for (let n = 0; n < N; n++)
          for (let g = 0; g < KK / groupSize; g++) {
            wt[n * KK + g * groupSize + ((n * 7 + g * 3) % groupSize)] = -1;
            wt[n * KK + g * groupSize + ((n * 5 + g + 1) % groupSize)] = 0.5;
          }
        const q = quantize(new Tensor(wt, [N, KK]), { groupSize, scheme });
        const wd = q.dequantize().data;
        const x = new Float32Array(KK).map(() => 1000 + rnd());
        const y = matmul(new Tensor(x), q, { activations: "float32" }).data;
        let worst = 0;
        for (let n = 0; n < N; n++) {
          let ref = 0, abs = 0;
          for (let k = 0; k < KK; k++) {
            ref += x[k] * wd[n * KK + k];
            abs += Math.abs(x[k] * wd[n * KK + k]);
          }
          worst = Math.max(worst, Math.abs(y[n] - ref) / abs);
        }
        expect(worst, `${scheme} G=${groupSize}`).toBeLessThan(3e-7); // new kernels: below 1e-7 here
      }
    }
  });
});

describe("Sampler", () => {
  it("refuses logits with nothing to sample (before: undefined)", () => {
    for (const temperature of [0, 0.8]) {
      const s = new Sampler(8, { temperature, seed: 1 });
      expect(() => s.sample(new Float32Array(8).fill(NaN))).toThrow(RangeError);
      expect(() => s.sample(new Float32Array(8).fill(NaN))).toThrow(/logits: expected at least one value that is not NaN or -Infinity, got only NaN/);
      expect(() => s.sample(new Float32Array(8).fill(-Infinity))).toThrow(/only -Infinity/);
    }
  });
  it("skips NaN logits and takes a +Infinity one", () => {
    const l = new Float32Array([NaN, 1, 3, NaN, 2, NaN, 0, NaN]);
    expect(new Sampler(8, { temperature: 0 }).sample(l.slice())).toBe(2);
    const s = new Sampler(8, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 3 });
    for (let i = 0; i < 200; i++) expect([1, 2, 4, 6]).toContain(s.sample(l.slice()));
    const inf = new Float32Array([0, Infinity, 5, NaN, 0, 0, 0, 0]);
    expect(new Sampler(8, { temperature: 0.8, seed: 1 }).sample(inf)).toBe(1);
  });
  it("refuses a vocabulary size that is not a positive integer (before: 0 accepted, -1 a V8 error)", () => {
    expect(() => new Sampler(0)).toThrow(/Sampler vocab: expected a positive integer/);
    expect(() => new Sampler(-1)).toThrow(RangeError);
    expect(() => new Sampler(2.5)).toThrow(RangeError);
    expect(() => new Sampler("8" as unknown as number)).toThrow(TypeError);
  });
});
