// llama.cpp's own numbers for K-quant files (README "Results on student-k256"): each file runs in
// llama.cpp (node-llama-cpp's prebuilt CPU build, bench/lib/llamacpp.mjs; scripts/setup.sh installs
// it), over the evaluation text in contexts of 128 tokens (BOS first), and the mean KL divergence of
// its next-token distributions from the F32 file's (also run by llama.cpp) is taken over the second
// half of each context, as llama-perplexity --kl-divergence does (positions n/2 .. n-2).
//   node bench/kquant-llamacpp.mjs [QUANT.gguf ...]   (default: llama-quantize's Q4_K_M and IQ4_XS)
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { LlamaCpp } from "./lib/llamacpp.mjs";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { readCalibrationText } = require(path.join(root, "dist/cli/quantize.js"));
const dir = path.resolve(root, "../shared/models/student-k256");
const base = path.join(dir, "student-k256-f32.gguf");
const text = path.join(root, "bench/data/student-k256-eval-seed1.txt");
const files = process.argv.slice(2);
if (files.length === 0) files.push(path.join(dir, "student-k256-Q4_K_M.gguf"), path.join(dir, "student-k256-IQ4_XS.gguf"));
const ctx = 128;
const { tokens, bos } = readCalibrationText(base, text, ctx);
const chunks = Math.floor(tokens.length / ctx);

const llama = await LlamaCpp.start();
async function logProbs(model) {
  await llama.load(model, { threads: 1, ctx });
  const V = llama.vocab;
  const out = [];
  for (let c = 0; c < chunks; c++) {
    const chunk = tokens.slice(c * ctx, (c + 1) * ctx);
    chunk[0] = bos;
    const z = await llama.logits(chunk);
    for (let j = ctx / 2; j < ctx - 1; j++) {
      const lp = new Float64Array(V);
      let m = -Infinity, s = 0;
      for (let v = 0; v < V; v++) m = Math.max(m, z[j * V + v]);
      for (let v = 0; v < V; v++) s += Math.exp(z[j * V + v] - m);
      const ls = m + Math.log(s);
      for (let v = 0; v < V; v++) lp[v] = z[j * V + v] - ls;
      out.push(lp);
    }
  }
  return out;
}
const ref = await logProbs(base);
for (const f of files) {
  const q = await logProbs(f);
  let sum = 0, sum2 = 0;
  for (let i = 0; i < ref.length; i++) {
    let kl = 0;
    for (let v = 0; v < ref[i].length; v++) kl += Math.exp(ref[i][v]) * (ref[i][v] - q[i][v]);
    sum += kl;
    sum2 += kl * kl;
  }
  const n = ref.length, mean = sum / n, se = Math.sqrt(Math.max(0, sum2 / n - mean * mean) / (n - 1));
  console.log(`${path.basename(f)}: llama.cpp mean KLD ${mean.toFixed(6)} ± ${se.toFixed(6)} over ${n} positions (${chunks} contexts of ${ctx})`);
}
await llama.close();
