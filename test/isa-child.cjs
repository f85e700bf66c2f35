// Child process for test/isa.test.ts and test/arm64.test.ts: loads the package at argv[2] (a
// directory with dist/ and a build or prebuild) under whatever INT4_ISA the parent set, runs a
// fixed set of matmuls through the public API and prints one JSON line: the backend, and per
// case y (int8 and float32 activations) with the sum of |x * w| the tolerances scale with.
"use strict";
const path = require("node:path");
const int4 = require(path.join(process.argv[2], "dist", "index.js"));

// Deterministic normal-ish numbers (xorshift + sum of uniforms): no dependency on Math.random.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    let t = 0;
    for (let i = 0; i < 4; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      t += s / 4294967296;
    }
    return t - 2;
  };
}

const cases = [];
let seed = 1;
for (const scheme of ["symmetric", "asymmetric"]) {
  for (const G of [32, 64, 128, 256]) {
    for (const [M, N, K] of [[1, 37, 17], [3, 9, G * 2 + 5], [5, 21, G * 3], [9, 33, 431], [40, 70, G * 5 + 13]]) {
      cases.push({ scheme, G, M, N, K, seed: seed++ });
    }
  }
}

async function main() {
  const out = { backend: int4.backend(), cases: [] };
  const pending = [];
  for (const c of cases) {
    const r = rng(c.seed);
    const w = new Float32Array(c.N * c.K).map(() => r());
    const x = new Float32Array(c.M * c.K).map(() => r());
    const qw = int4.quantize(new int4.Tensor(w, [c.N, c.K]), { groupSize: c.G, scheme: c.scheme });
    const wd = qw.dequantize().data;
    const absSum = [];
    for (let m = 0; m < c.M; m++)
      for (let n = 0; n < c.N; n++) {
        let a = 0;
        for (let k = 0; k < c.K; k++) a += Math.abs(x[m * c.K + k] * wd[n * c.K + k]);
        absSum.push(a);
      }
    const xt = new int4.Tensor(x, [c.M, c.K]);
    const yInt8 = int4.matmul(xt, qw, { threads: 1 }).data;
    const yF32 = int4.matmul(xt, qw, { activations: "float32", threads: 1 }).data;
    // two threads, and async calls all in flight together: the same bits
    const same2 = Array.from(int4.matmul(xt, qw, { threads: 2 }).data).every((v, i) => Object.is(v, yInt8[i]));
    pending.push(int4.matmul.async(xt, qw, { threads: 2 }).then((y) => Array.from(y.data).every((v, i) => Object.is(v, yInt8[i]))));
    out.cases.push({ ...c, yInt8: Array.from(yInt8), yF32: Array.from(yF32), absSum, sameThreads: same2 });
  }
  out.nonFinite = nonFinite();
  out.archOps = archOps();
  const asyncSame = await Promise.all(pending);
  out.cases.forEach((c, i) => (c.sameAsync = asyncSame[i]));
  process.stdout.write(JSON.stringify(out) + "\n");
}

// The model's operators on non-finite input: NaN and infinities in the scores, gates and
// activations. Printed as the class of each value (NaN, +inf, -inf, finite) so that every ISA can
// be compared with the scalar reference: they must agree wherever the reference is not finite.
function nonFinite() {
  const ops = require(path.join(process.argv[2], "dist", "model", "nativeOps.js")).ops;
  const cls = (a) => Array.from(a, (v) => (Number.isNaN(v) ? "nan" : v === Infinity ? "+inf" : v === -Infinity ? "-inf" : "f"));
  const r = rng(99);
  const H = 4, KV = 2, hd = 32, ctx = 32, M = 3, pos0 = 5, T = pos0 + M;
  const res = {};
  for (const [name, bad] of [["nan", NaN], ["inf", Infinity], ["-inf", -Infinity]]) {
    const kc = new Float32Array(KV * ctx * hd), vc = new Float32Array(KV * ctx * hd);
    const k = new Float32Array(T * KV * hd).map(() => r()), v = new Float32Array(T * KV * hd).map(() => r());
    k[2 * KV * hd + 3] = bad; // one key of position 2, head 0
    v[4 * KV * hd + KV * hd - 1] = bad; // one value of position 4, the last head
    ops.storeKV(k, v, T, 0, KV, hd, ctx, kc, vc, 0);
    const q = new Float32Array(M * H * hd).map(() => r());
    q[hd + 1] = bad; // query row 0, head 1
    const out = new Float32Array(M * H * hd);
    ops.attention(q, kc, vc, 0, out, M, pos0, H, KV, hd, ctx, 1);
    // the architectures' options: soft-capped scores within a sliding window of 4 positions
    const outCapped = new Float32Array(M * H * hd);
    ops.attention(q, kc, vc, 0, outCapped, M, pos0, H, KV, hd, ctx, 1, 0.2, 3, 4);
    const gate = new Float32Array(40).map(() => r()), up = new Float32Array(40).map(() => r());
    gate[3] = bad; up[20] = bad; gate[35] = -bad;
    const gateG = gate.slice();
    ops.siluMul(gate, up, 40, 1);
    ops.geluMul(gateG, up, 40, 1);
    const x = new Float32Array(2 * 48).map(() => r()), nw = new Float32Array(48).fill(1), nout = new Float32Array(2 * 48);
    x[7] = bad;
    ops.rmsnorm(x, nw, nout, 2, 48, 1e-5, 1);
    res[name] = { attention: cls(out), attentionCappedWindow: cls(outCapped), silu: cls(gate), gelu: cls(gateG), rmsnorm: cls(nout) };
  }
  return res;
}

// The operators the architectures added, on finite values: attention with a score scale,
// soft-capping and a sliding window (over a batch longer than the window), and the GELU gate.
function archOps() {
  const ops = require(path.join(process.argv[2], "dist", "model", "nativeOps.js")).ops;
  const r = rng(7);
  const H = 8, KV = 2, hd = 64, ctx = 48, M = 40, pos0 = 3, T = pos0 + M;
  const kc = new Float32Array(KV * ctx * hd), vc = new Float32Array(KV * ctx * hd);
  const k = new Float32Array(T * KV * hd).map(() => r()), v = new Float32Array(T * KV * hd).map(() => r());
  ops.storeKV(k, v, T, 0, KV, hd, ctx, kc, vc, 0);
  const q = new Float32Array(M * H * hd).map(() => 3 * r());
  const res = {};
  for (const [name, scale, cap, win] of [["plain", 0.125, 0, 0], ["capped", 0.2, 2, 0], ["window", 0.125, 0, 7], ["cappedWindow", 0.3, 1.5, 16]]) {
    const o = new Float32Array(M * H * hd);
    ops.attention(q, kc, vc, 0, o, M, pos0, H, KV, hd, ctx, 1, scale, cap, win);
    res[name] = Array.from(o);
  }
  const gate = new Float32Array(100).map(() => 4 * r()), up = new Float32Array(100).map(() => r());
  ops.geluMul(gate, up, 100, 1);
  res.gelu = Array.from(gate);
  return res;
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
