// End-to-end benchmark: the built-in demo model (random weights at TinyLlama-1.1B's shape, INT4
// q4 = group 32 symmetric, like Q4_0) through the public API (loadModel + generate, forward pass
// on a worker thread), as llama.cpp's llama-bench measures it:
//   pp512: one prompt of 512 tokens processed as a batch (tok/s = 512 / prompt time)
//   tg128: 128 tokens generated one at a time after a short prompt (tok/s = forwards / time)
// after one untimed warm-up run (as llama-bench),
// at 1 and 2 threads. Writes bench/results/e2e.json and e2e.md (medians of --reps runs).
//   node bench/e2e.mjs [--reps N] [--pp N] [--tg N] [--threads 1,2]
// Generation is bounded by memory bandwidth: every token reads all weights once. The reference
// machine reads about 16.7 GB/s (1 thread) and 33 GB/s (2 threads); over 0.64 GB of
// Q4_0 weights: 26 and 52 tok/s. Each result is also given as a fraction of that bound.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEMO_MODEL, backend, loadModel } from "../esm/index.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: { reps: { type: "string", default: "3" }, pp: { type: "string", default: "512" }, tg: { type: "string", default: "128" }, threads: { type: "string", default: "1,2" } },
});
const reps = Number(a.reps), pp = Number(a.pp), tg = Number(a.tg);
const threadList = a.threads.split(",").map(Number);
const BOUND = { 1: 26, 2: 52 }; // tok/s on the reference machine (bandwidth / 0.64 GB)
const LLAMA_CPP = { pp: { 1: 65, 2: 127 }, tg: { 1: 9.7, 2: 16.4 } };
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];

async function drain(it) {
  for await (const _ of it);
}

// This machine's read bandwidth (build/int4_bench, as bench/run.mjs measures it), for the bound
// measured here: tok/s <= bandwidth / weight bytes.
function readBandwidth(threads) {
  const bin = path.join(here, "..", "build", "int4_bench");
  if (!fs.existsSync(bin)) return null;
  const line = execFileSync(bin, ["bandwidth", String(2 ** 30), String(threads), "10"], { encoding: "utf8" });
  return JSON.parse(line).gbps_median;
}

const rows = [];
for (const threads of threadList) {
  const t0 = performance.now();
  const model = await loadModel(DEMO_MODEL, { quant: "q4", threads });
  const loadS = (performance.now() - t0) / 1000;
  // "the" is one token of the demo vocabulary: BOS + (pp - 1) x "▁the" = pp tokens
  const prompt = Array(pp - 1).fill("the").join(" ");
  if (model.tokenizer.encode(prompt).length !== pp) throw new Error("prompt does not tokenize to pp tokens");
  const ppRates = [], tgRates = [];
  // one untimed run first, as llama-bench does: the first pass faults in the KV cache and scratch
  await drain(model.generate(prompt, { maxTokens: 2, temperature: 0 }));
  for (let r = 0; r < reps; r++) {
    await drain(model.generate(prompt, { maxTokens: 1, temperature: 0 }));
    ppRates.push((model.lastStats.promptTokens * 1000) / model.lastStats.promptMs);
    await drain(model.generate("Once upon a time", { maxTokens: tg + 1, temperature: 0 }));
    const s = model.lastStats;
    if (s.generateForwards < tg) console.warn(`tg run stopped early (${s.stopReason}) after ${s.generateForwards} forwards`);
    tgRates.push((s.generateForwards * 1000) / s.generateMs);
    console.error(`threads ${threads} rep ${r + 1}: pp${pp} ${ppRates.at(-1).toFixed(2)} tok/s, tg${tg} ${tgRates.at(-1).toFixed(2)} tok/s`);
  }
  const bw = readBandwidth(threads);
  const localBound = bw === null ? null : (bw * 1e9) / model.info.weightBytes;
  rows.push({
    threads, loadSeconds: loadS, readGBps: bw, localBoundTokPerSec: localBound,
    fractionOfLocalBound: localBound === null ? null : median(tgRates) / localBound, weightBytes: model.info.weightBytes, bitsPerWeight: model.info.bitsPerWeight,
    pp: { tokens: pp, tokPerSec: median(ppRates), runs: ppRates },
    tg: { tokens: tg, tokPerSec: median(tgRates), runs: tgRates, fractionOfBandwidthBound: BOUND[threads] ? median(tgRates) / BOUND[threads] : null },
  });
  model.dispose();
}

const result = {
  date: new Date().toISOString(), machine: { cpus: os.cpus()[0]?.model, cores: os.availableParallelism() },
  kernels: backend().isa, model: "demo (random weights, TinyLlama-1.1B shape), quant q4 (group 32 symmetric)", reps,
  bandwidthBoundTokPerSec: BOUND, llamaCppQ4_0: LLAMA_CPP, rows,
};
fs.mkdirSync(path.join(here, "results"), { recursive: true });
fs.writeFileSync(path.join(here, "results", "e2e.json"), JSON.stringify(result, null, 2) + "\n");
const f = (x) => x.toFixed(2);
const md = [
  `# End-to-end: demo model (TinyLlama-1.1B shape, q4), kernels "${result.kernels}"`,
  "",
  `${result.date}, ${result.machine.cpus}, median of ${reps} run(s), 1-minute load average ${os.loadavg()[0].toFixed(1)} at the end. Generation bound: memory bandwidth over the weights (reference machine: 26 tok/s at 1 thread, 52 at 2; "here": the read bandwidth build/int4_bench measures on this machine right after the run).`,
  "",
  "| threads | pp" + pp + " tok/s | tg" + tg + " tok/s | tg / issue's bound | read GB/s here | tg / bound here | llama.cpp Q4_0 pp512 / tg128 | weights | load s |",
  "|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.threads} | ${f(r.pp.tokPerSec)} | ${f(r.tg.tokPerSec)} | ${r.tg.fractionOfBandwidthBound === null ? "-" : (r.tg.fractionOfBandwidthBound * 100).toFixed(1) + "%"} | ${r.readGBps === null ? "-" : r.readGBps.toFixed(1)} | ${r.fractionOfLocalBound === null ? "-" : (r.fractionOfLocalBound * 100).toFixed(1) + "% of " + r.localBoundTokPerSec.toFixed(1)} | ${LLAMA_CPP.pp[r.threads] ?? "-"} / ${LLAMA_CPP.tg[r.threads] ?? "-"} | ${(r.weightBytes / 2 ** 20).toFixed(0)} MiB, ${f(r.bitsPerWeight)} b/w | ${r.loadSeconds.toFixed(1)} |`),
  "",
];
fs.writeFileSync(path.join(here, "results", "e2e.md"), md.join("\n"));
console.log(md.join("\n"));
