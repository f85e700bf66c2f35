// Run inside an installed project (test/platforms.test.ts): loads int4 by name, as a user's code
// does, checks small matmuls against a plain JS reference (both activation modes) and import()
// of the ESM entry, and writes one JSON object to the file argv[2] (node.exe under wine writes to
// files, not pipes). Never throws: a failure is {"ok": false, "error": ...}.
"use strict";
const fs = require("node:fs");
const out = process.argv[2];
const write = (o) => fs.writeFileSync(out, JSON.stringify(o));

async function main() {
  const int4 = require("int4");
  const { Tensor, quantize, matmul } = int4;
  // matmul(x, q) against x @ dq^T in plain JS: the worst |error| / sum |products| over the outputs
  const worstError = (x, q, dq, activations) => {
    const [M, K] = x.dims, N = q.dims[0];
    const y = matmul(x, q, { activations }).data;
    let worst = 0;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let ref = 0, mag = 0;
        for (let k = 0; k < K; k++) {
          ref += x.data[m * K + k] * dq[n * K + k];
          mag += Math.abs(x.data[m * K + k] * dq[n * K + k]);
        }
        worst = Math.max(worst, Math.abs(y[m * N + n] - ref) / mag);
      }
    return worst;
  };
  // exact: the float32 path on codes that are exact
  const data = new Float32Array(64);
  data.set([1, 2, 3, 4], 0);
  data.set([-1, -2, -3, -4], 32);
  const exact = Array.from(matmul(new Tensor(new Float32Array(32).fill(1), [1, 32]), quantize(new Tensor(data, [2, 32])), { activations: "float32" }).data);
  // a bigger case through the SIMD kernels: M rows enough for the GEMM paths (AMX from 16), K
  // with a partial chunk, and 2.7 M multiply-adds, enough to be split across the thread pool
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  const M = 20, N = 256, K = 520;
  const w = new Tensor(Float32Array.from({ length: N * K }, rnd), [N, K]);
  const x = new Tensor(Float32Array.from({ length: M * K }, rnd), [M, K]);
  const errors = {};
  for (const scheme of ["symmetric", "asymmetric"]) {
    const q = quantize(w, { groupSize: 32, scheme });
    const dq = q.dequantize().data;
    for (const activations of ["float32", "int8"]) errors[`${scheme}/${activations}`] = worstError(x, q, dq, activations);
  }
  // llama.cpp block types as stored, through the GEMV (M = 1), the few-row GEMM (M = 8) and the
  // prompt GEMM (M = 20; AMX from 16): random codes, each fp16 scale field set to a moderate value.
  // [type, block bytes, block size, offsets of fp16 fields, K: a partial unit for the 32-weight types]
  const blockCases = [["q4_k", 144, 256, [0, 2], 512], ["q6_k", 210, 256, [208], 512], ["q8_0", 34, 32, [0], 288], ["q5_0", 22, 32, [0], 288]];
  const Nb = 37;
  for (const [type, bytes, bs, halves, Kb] of blockCases) {
    const blocks = Uint8Array.from({ length: Nb * (Kb / bs) * bytes }, () => (rnd() * 128 + 128) & 255);
    for (let b = 0; b < blocks.length; b += bytes) for (const h of halves) blocks[b + h] = 0x00, blocks[b + h + 1] = 0x2c; // 0.0625
    const q = int4.QTensor.fromGGML(type, blocks, [Nb, Kb]);
    const dq = q.dequantize().data;
    for (const Mb of [1, 8, 20]) {
      const xb = new Tensor(Float32Array.from({ length: Mb * Kb }, rnd), [Mb, Kb]);
      for (const activations of ["float32", "int8"]) errors[`${type}/M${Mb}/${activations}`] = worstError(xb, q, dq, activations);
    }
  }
  const bigAsync = await matmul.async(x, quantize(w), { activations: "float32" });
  const bigSync = matmul(x, quantize(w), { activations: "float32" });
  const asyncSame = bigAsync.data.every((v, i) => v === bigSync.data[i]);
  const asyncY = Array.from((await matmul.async(new Tensor(new Float32Array(32).fill(1), [1, 32]), quantize(new Tensor(data, [2, 32])), { activations: "float32" })).data);
  const esm = await import("int4");
  const header = process.report.getReport().header;
  write({
    ok: true, exact, asyncY, asyncSame, errors, backend: int4.backend(), hash: int4.nativeSourceHash(),
    esm: typeof esm.matmul === "function" && esm.default === int4, platform: process.platform,
    glibc: header.glibcVersionRuntime ?? null, node: process.version,
  });
}
main().catch((e) => write({ ok: false, error: String((e && e.stack) || e) }));
