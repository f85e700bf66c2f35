// The matmul demo: quantize a random weight matrix to INT4 every supported way, multiply, and
// show what it costs in size and what it costs in accuracy against full precision.
//   node examples/matmul-demo.mjs
import { Tensor, backend, matmul, quantize } from "int4";

const N = 2048; // output features
const K = 2048; // input features
const M = 4; // rows of x

// Deterministic normal samples (a weight matrix with a few outlier columns, as real layers have).
let seed = 12345;
const uniform = () => ((seed = (seed * 1103515245 + 12345) >>> 0) + 0.5) / 4294967296;
const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
const wData = new Float32Array(N * K).map(() => 0.02 * normal());
for (let n = 0; n < N; n++) for (const k of [7, 700, 1500]) wData[n * K + k] *= 8;
const xData = new Float32Array(M * K).map(() => normal());
const w = new Tensor(wData, [N, K]);
const x = new Tensor(xData, [M, K]);

// Full precision reference, float64.
const ref = new Float64Array(M * N);
for (let m = 0; m < M; m++)
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += xData[m * K + k] * wData[n * K + k];
    ref[m * N + n] = s;
  }
const rms = (a, b) => {
  let e = 0, r = 0;
  for (let i = 0; i < a.length; i++) { e += (a[i] - b[i]) ** 2; r += b[i] ** 2; }
  return Math.sqrt(e / r);
};

const b = backend();
console.log(`int4 matmul demo: x [${M}, ${K}] · Wᵀ, W [${N}, ${K}] random normal weights; kernels: ${b.isa}, threads: ${b.threads}`);
console.log(`full precision (f32) weights: ${(N * K * 4 / 2 ** 20).toFixed(1)} MiB, 32 bits per weight\n`);
console.log("format            bits/weight  MiB    weight error  y error (int8 x)  y error (f32 x)  matmul ms");
let shown;
for (const scheme of ["symmetric", "asymmetric"]) {
  for (const groupSize of [32, 64, 128, 256]) {
    const q = quantize(w, { groupSize, scheme });
    const t0 = performance.now();
    const y8 = matmul(x, q);
    const ms = performance.now() - t0;
    const yf = matmul(x, q, { activations: "float32" });
    const wErr = rms(q.dequantize().data, wData);
    const name = `q4_g${groupSize}_${scheme === "symmetric" ? "sym" : "asym"}`.padEnd(17);
    console.log(`${name} ${q.bitsPerWeight.toFixed(3).padStart(11)}  ${(q.byteLength / 2 ** 20).toFixed(2).padStart(5)}  ${(100 * wErr).toFixed(2).padStart(10)} %  ${(100 * rms(y8.data, ref)).toFixed(2).padStart(14)} %  ${(100 * rms(yf.data, ref)).toFixed(2).padStart(13)} %  ${ms.toFixed(1).padStart(9)}`);
    if (groupSize === 32 && scheme === "symmetric") shown = y8;
  }
}
console.log("\n(errors are relative RMS against full precision; 'int8 x' quantizes activations per 32, the fast path)");
console.log(`\ny[0, 0..5] full precision: ${Array.from(ref.slice(0, 6), (v) => v.toFixed(4)).join(" ")}`);
console.log(`y[0, 0..5] q4_g32_sym:     ${Array.from(shown.data.slice(0, 6), (v) => v.toFixed(4)).join(" ")}`);
