// The K-quant table of README "Results on student-k256": llama.cpp's file types Q4_K_M and IQ4_XS at
// llama-quantize's tensor types and bytes, by method (`int4 quantize` writes each file, `int4 eval
// base` runs it as stored), next to llama-quantize's own files of the same model. Text sampled by the f32 student with seed 1 (48k tokens,
// bench/data/student-k256-eval-seed1.txt), calibration sampled with seed 2 (16k tokens), contexts
// of 128 tokens, the second half of each scored (llama.cpp's protocol).
//   node bench/kquant-table.mjs    -> bench/results/kquant-table.{json,md}
// Needs ../shared/models/student-k256. Two processes run at once (one thread each).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.resolve(root, "../shared/models/student-k256");
const model = path.join(dir, "student-k256-f32.gguf");
const text = path.join(root, "bench/data/student-k256-eval-seed1.txt");
const calib = path.join(root, "bench/data/student-k256-calib-seed2.txt");
if (!fs.existsSync(model)) {
  console.error(`skipped: ${model} not found`);
  process.exit(0);
}
const common = ["--text", text, "--ctx", "128", "--threads", "1", "--json"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "int4-kquant-"));
// int4's files (`int4 quantize`, then `int4 eval base` on the file as written), then llama-quantize's
const jobs = [];
for (const format of ["q4_k_m", "iq4_xs"]) for (const method of ["rtn", "mse", "gptq"]) {
  const out = path.join(tmp, `${format}-${method}.gguf`);
  jobs.push({ format, method, quantize: ["quantize", "--model", model, "--out", out, "--format", format, "--method", method, ...(method === "rtn" ? [] : ["--calib", calib]), "--threads", "1"],
    args: ["eval", "base", "--base", model, "--model", out, ...common] });
}
for (const t of ["Q4_K_M", "IQ4_XS", "Q4_K_S", "Q5_K_M"]) jobs.push({ format: t.toLowerCase(), file: t, args: ["eval", "base", "--base", model, "--model", path.join(dir, `student-k256-${t}.gguf`), ...common] });

function cli(args, quiet) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(root, "dist/cli.js"), ...args], { stdio: ["ignore", "pipe", quiet ? "ignore" : "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(" ")}: exit ${code}`))));
  });
}
async function run(job) {
  if (job.quantize) await cli(job.quantize, true);
  return JSON.parse(await cli(job.args, false));
}

const t0 = Date.now();
const results = new Array(jobs.length);
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const i = next++;
    results[i] = await run(jobs[i]);
    process.stderr.write(`${jobs[i].file ?? `${jobs[i].format} ${jobs[i].method}`}: done\n`);
  }
}
await Promise.all([worker(), worker()]);

const rows = jobs.map((j, i) => {
  const r = results[i];
  return { format: j.format, source: j.file ? "llama-quantize's file" : "int4 quantize", method: j.method ?? "(llama-quantize, no imatrix)", klMean: r.klMean, klStdErr: r.klStdErr,
    top1Agreement: r.top1Agreement, pplRatio: r.pplRatio, bitsPerWeight: r.bitsPerWeight, scoredTokens: r.scoredTokens, chunks: r.chunks };
});
fs.rmSync(tmp, { recursive: true, force: true });
const out = { model: path.relative(root, model), text: path.relative(root, text), calib: path.relative(root, calib), ctx: 128, date: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, rows };
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/kquant-table.json"), JSON.stringify(out, null, 2) + "\n");
const f = (x, d) => (x == null ? "" : x.toFixed(d));
const ref = (fmt) => rows.find((r) => r.format === fmt && r.source === "llama-quantize's file");
const md = [
  "| format | file | method | bits/weight (matrices) | mean KLD | vs llama-quantize | top-1 | PPL ratio |",
  "|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.format} | ${r.source} | ${r.method} | ${f(r.bitsPerWeight, 3)} | ${f(r.klMean, 5)} ± ${f(r.klStdErr, 5)} | ` +
    `${ref(r.format) ? f(r.klMean / ref(r.format).klMean, 3) : ""} | ${f(r.top1Agreement * 100, 2)}% | ${f(r.pplRatio, 4)} |`),
];
fs.writeFileSync(path.join(root, "bench/results/kquant-table.md"), md.join("\n") + "\n");
process.stdout.write(md.join("\n") + "\n");
