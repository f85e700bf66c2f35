// The quantization-method table of README "Quantization methods": every method on stories260K,
// scored by `int4 eval methods` (KL divergence from the f32 model, top-1 agreement, perplexity
// ratio) on text the f32 model sampled with seed 1, calibrated on text it sampled with seed 2
// (bench/data, written by bench/sample-text.mjs), contexts of 128 tokens.
//   node bench/quant-table.mjs [--quick]    -> bench/results/quant-table.json and .md
// Rows: the llama-quantize tensor types (q4_0, q4_1: output Q8_0, ffn_down F16) and every
// format with --all-4bit (every matrix 4-bit). Two processes run at once (one thread each).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const model = path.resolve(root, "../shared/models/stories260K-f32.gguf");
const text = path.join(root, "bench/data/stories260K-eval-seed1.txt");
const calib = path.join(root, "bench/data/stories260K-calib-seed2.txt");
const quick = process.argv.includes("--quick");
const methods = "rtn,mse,awq,gptq,awq+gptq";

const jobs = [
  { format: "q4_0", all: false },
  { format: "q4_1", all: false },
];
for (const g of [32, 64, 128]) for (const s of ["sym", "asym"]) jobs.push({ format: `q4_g${g}_${s}`, all: true });

function run(job) {
  const args = [path.join(root, "dist/cli.js"), "eval", "--model", model, "--methods", methods, "--format", job.format,
    "--calib", calib, "--text", text, "--ctx", "128", "--threads", "1", "--json"];
  if (job.all) args.push("--all-4bit");
  if (quick) args.push("--chunks", "16");
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${job.format}: exit ${code}`))));
  });
}

const t0 = Date.now();
const results = new Array(jobs.length);
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const i = next++;
    const t = Date.now();
    results[i] = await run(jobs[i]);
    process.stderr.write(`${jobs[i].format}${jobs[i].all ? " all-4bit" : ""}: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
  }
}
await Promise.all([worker(), worker()]);

const rows = results.flatMap((r) => r.results.map((x) => ({ format: r.format, allFourBit: r.allFourBit, ...x })));
const out = {
  model: path.relative(root, model), text: path.relative(root, text), calib: path.relative(root, calib),
  ctx: 128, scoredTokens: rows[0].scoredTokens, date: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, rows,
};
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/quant-table.json"), JSON.stringify(out, null, 2) + "\n");

const f = (x, d) => x.toFixed(d);
const md = [
  `stories260K, ${out.scoredTokens} scored tokens (${rows[0].chunks} contexts of 128, second halves) of \`${out.text}\`; ` +
  `calibration \`${out.calib}\` (a different sample; one f32 pass; gptq methods with per-row Hessians for ffn_gate, ffn_up and output). ` +
  "Bits/weight of all matrices: nominal (4 + 16/G symmetric, 4 + 32/G asymmetric; F16 16, Q8_0 8.5), in the GGUF file " +
  "`int4 quantize` writes (partial groups of 172-wide rows as they are) and in memory (QTensor rows padded to whole 32-code chunks). " +
  "Mean KLD ± its standard error.",
  "",
  "| format | tensors | method | bits/weight nominal | bits/weight file | bits/weight memory | mean KLD | top-1 | PPL ratio |",
  "|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.format} | ${r.allFourBit ? "all 4-bit" : "llama-quantize's"} | ${r.method} | ${f(r.nominalBitsPerWeight, 3)} | ${f(r.fileBitsPerWeight, 3)} | ${f(r.bitsPerWeight, 3)} | ` +
    `${f(r.klMean, 4)} ± ${f(r.klStdErr, 4)} | ${f(r.top1Agreement * 100, 2)}% | ${f(r.pplRatio, 4)} |`),
];
fs.writeFileSync(path.join(root, "bench/results/quant-table.md"), md.join("\n") + "\n");
process.stdout.write(md.join("\n") + "\n");
