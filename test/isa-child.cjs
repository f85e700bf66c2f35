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
  const asyncSame = await Promise.all(pending);
  out.cases.forEach((c, i) => (c.sameAsync = asyncSame[i]));
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
