// End-to-end benchmark: a GGUF file (--model), or by default the built-in demo model (random
// weights at TinyLlama-1.1B's shape, INT4 q4 = group 32 symmetric, like Q4_0), through the public
// API (loadModel + generate, forward pass on a worker thread), as llama.cpp's llama-bench
// measures it:
//   pp512: one prompt of 512 tokens processed as a batch (tok/s = 512 / prompt time)
//   tg128: 128 tokens generated one at a time after a short prompt (tok/s = forwards / time)
// after one untimed warm-up run (as llama-bench),
// at 1 and 2 threads. With --model, llama.cpp (node-llama-cpp's prebuilt CPU build, in a child
// process; bash scripts/setup.sh installs it) runs the same file in the same run, the two engines'
// runs alternated (int4 pp, llama.cpp pp, int4 tg, llama.cpp tg, ...) so that a change in the
// machine's load or bandwidth hits both alike; medians and int4 / llama.cpp ratios. The demo model
// exists only inside int4 (no file), so the default runs int4 alone.
// Writes bench/results/e2e.json and e2e.md (demo) or e2e-<file name>.json / .md (--model).
//   node bench/e2e.mjs [--model X.gguf] [--quant q] [--reps N] [--pp N] [--tg N] [--threads 1,2] [--no-llamacpp]
// --quant (with --model): default "native" where int4 has it (the file's matrices as stored, as
// llama.cpp runs them), else "q4" (Q4_0 / Q4_1 kept bit-exactly, other matrices quantized to
// 4 bits: the same work as llama.cpp only for Q4_0 / Q4_1 files).
// Generation is bounded by memory bandwidth: every token reads all weights once. The reference
// machine reads about 16.7 GB/s (1 thread) and 33 GB/s (2 threads); over the demo's 0.64 GB of
// Q4_0 weights: 26 and 52 tok/s. Each result is also given as a fraction of that bound.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEMO_MODEL, backend, loadModel } from "../esm/index.mjs";
import { LlamaCpp, findNodeLlamaCpp } from "./lib/llamacpp.mjs";
import { fileQuant } from "./lib/int4ref.mjs";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const usage = "usage: node bench/e2e.mjs [--model X.gguf] [--quant q] [--reps N] [--pp N] [--tg N] [--threads 1,2] [--no-llamacpp]";
let a;
try {
  ({ values: a } = parseArgs({
    options: {
      model: { type: "string" }, quant: { type: "string" }, "no-llamacpp": { type: "boolean", default: false },
      reps: { type: "string", default: "3" }, pp: { type: "string", default: "512" }, tg: { type: "string", default: "128" }, threads: { type: "string", default: "1,2" },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
const fail = (msg) => {
  console.error(`e2e: ${msg}\n${usage}`);
  process.exit(2);
};
const posInt = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`--${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
};
const reps = posInt(a.reps, "reps"), pp = posInt(a.pp, "pp"), tg = posInt(a.tg, "tg");
const threadList = a.threads.split(",").map((t) => posInt(t, "threads"));
if (a.model !== undefined && !fs.existsSync(a.model)) fail(`no such file: ${a.model}`);
const demo = a.model === undefined;
if (demo && a.quant !== undefined) fail("--quant needs --model (the demo model is q4)");
const { parseQuant } = createRequire(import.meta.url)("../dist/model/quant.js");
const quant = demo ? "q4" : a.quant ?? (fileQuant(parseQuant) === "native" ? "native" : "q4");
// llama.cpp: only on a file (the demo model is not one), and only where node-llama-cpp is installed
let llamaNote = null;
if (demo) llamaNote = "the demo model has no GGUF file for llama.cpp: pass --model X.gguf to run both";
else if (a["no-llamacpp"]) llamaNote = "--no-llamacpp";
else if (!findNodeLlamaCpp().dir) llamaNote = findNodeLlamaCpp().reason;
const withLlama = llamaNote === null;
if (!withLlama) console.error(`e2e: int4 only (${llamaNote})`);
const BOUND = { 1: 26, 2: 52 }; // tok/s, the demo model's bandwidth bound on the reference machine (bandwidth / 0.64 GB)
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

/** A prompt of about `pp` tokens: repeats of the word that encodes to the fewest tokens. */
function promptOf(tokenizer, n) {
  let best = null;
  for (const w of ["the", "a", "and", "of", "to", "Once"]) {
    const per = tokenizer.encode(`${w} ${w}`).length - tokenizer.encode(w).length;
    if (per >= 1 && (best === null || per < best.per)) best = { w, per };
  }
  if (best === null) throw new Error("no short word to build the prompt from");
  let k = Math.max(1, Math.floor((n - 1) / best.per));
  const text = (k) => Array(k).fill(best.w).join(" ");
  while (tokenizer.encode(text(k)).length < n) k++;
  return text(k);
}

const llama = withLlama ? await LlamaCpp.start() : null;
const rows = [];
try {
  for (const threads of threadList) {
    const t0 = performance.now();
    const model = await loadModel(demo ? DEMO_MODEL : a.model, { quant, threads, ctx: Math.max(pp, tg + 16) + 16 });
    const loadS = (performance.now() - t0) / 1000;
    const prompt = promptOf(model.tokenizer, pp);
    if (demo && model.tokenizer.encode(prompt).length !== pp) throw new Error("prompt does not tokenize to pp tokens");
    if (llama) await llama.load(a.model, { threads, ctx: Math.max(pp, tg + 16) + 16, batch: pp });
    const ppRates = [], tgRates = [], lppRates = [], ltgRates = [];
    // one untimed run each first, as llama-bench does: the first pass faults in the KV cache and scratch
    await drain(model.generate(prompt, { maxTokens: 2, temperature: 0, reuseCache: false }));
    if (llama) await llama.bench(pp, 2);
    for (let r = 0; r < reps; r++) {
      await drain(model.generate(prompt, { maxTokens: 1, temperature: 0, reuseCache: false }));
      ppRates.push((model.lastStats.promptTokens * 1000) / model.lastStats.promptMs);
      if (llama) lppRates.push((pp * 1000) / (await llama.bench(pp, 0)).ppMs);
      await drain(model.generate("Once upon a time", { maxTokens: tg + 1, temperature: 0, reuseCache: false }));
      const s = model.lastStats;
      if (s.generateForwards < tg) console.warn(`tg run stopped early (${s.stopReason}) after ${s.generateForwards} forwards`);
      tgRates.push((s.generateForwards * 1000) / s.generateMs);
      if (llama) ltgRates.push((tg * 1000) / (await llama.bench(1, tg)).tgMs);
      console.error(`threads ${threads} rep ${r + 1}: int4 pp${pp} ${ppRates.at(-1).toFixed(2)} tok/s, tg${tg} ${tgRates.at(-1).toFixed(2)} tok/s` +
        (llama ? `; llama.cpp pp${pp} ${lppRates.at(-1).toFixed(2)}, tg${tg} ${ltgRates.at(-1).toFixed(2)}` : ""));
    }
    const bw = readBandwidth(threads);
    const localBound = bw === null ? null : (bw * 1e9) / model.info.weightBytes;
    rows.push({
      threads, loadSeconds: loadS, readGBps: bw, localBoundTokPerSec: localBound,
      fractionOfLocalBound: localBound === null ? null : median(tgRates) / localBound, weightBytes: model.info.weightBytes, bitsPerWeight: model.info.bitsPerWeight,
      pp: { tokens: model.tokenizer.encode(prompt).length, tokPerSec: median(ppRates), runs: ppRates },
      tg: { tokens: tg, tokPerSec: median(tgRates), runs: tgRates, fractionOfBandwidthBound: demo && BOUND[threads] ? median(tgRates) / BOUND[threads] : null },
      llamaCpp: llama ? {
        pp: { tokens: pp, tokPerSec: median(lppRates), runs: lppRates },
        tg: { tokens: tg, tokPerSec: median(ltgRates), runs: ltgRates },
        ratio: { pp: median(ppRates) / median(lppRates), tg: median(tgRates) / median(ltgRates) },
      } : null,
    });
    model.dispose();
  }
} finally {
  await llama?.close();
}

const result = {
  date: new Date().toISOString(), machine: { cpus: os.cpus()[0]?.model, cores: os.availableParallelism() },
  kernels: backend().isa, model: demo ? "demo (random weights, TinyLlama-1.1B shape), quant q4 (group 32 symmetric)" : path.resolve(a.model), quant, reps,
  bandwidthBoundTokPerSec: demo ? BOUND : null,
  llamaCpp: withLlama ? { version: `node-llama-cpp ${llama.version}`, settings: "prebuilt CPU build, flash attention off, F16 KV cache, batch = pp, runs alternated with int4's" } : { skipped: llamaNote },
  rows,
};
const base = demo ? "e2e" : `e2e-${path.basename(a.model).replace(/\.gguf$/i, "")}`;
fs.mkdirSync(path.join(here, "results"), { recursive: true });
fs.writeFileSync(path.join(here, "results", `${base}.json`), JSON.stringify(result, null, 2) + "\n");
const f = (x) => x.toFixed(2);
const lc = (r, k) => (r.llamaCpp ? `${f(r.llamaCpp[k].tokPerSec)} (int4 ${f(r.llamaCpp.ratio[k])}x)` : "-");
const md = [
  `# End-to-end: ${demo ? "demo model (TinyLlama-1.1B shape, q4)" : `${path.basename(a.model)} (quant ${quant})`}, kernels "${result.kernels}"`,
  "",
  `${result.date}, ${result.machine.cpus}, median of ${reps} run(s), 1-minute load average ${os.loadavg()[0].toFixed(1)} at the end. ` +
    (withLlama ? `llama.cpp: ${result.llamaCpp.version}, ${result.llamaCpp.settings}. ` : `llama.cpp not run (${llamaNote}). `) +
    `Generation bound: memory bandwidth over the weights ("here": the read bandwidth build/int4_bench measures on this machine right after the run${demo ? "; the reference machine's: 26 tok/s at 1 thread, 52 at 2" : ""}).`,
  "",
  `| threads | int4 pp${pp} tok/s | int4 tg${tg} tok/s | llama.cpp pp${pp} tok/s | llama.cpp tg${tg} tok/s | tg / reference bound | read GB/s here | tg / bound here | weights | load s |`,
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.threads} | ${f(r.pp.tokPerSec)} | ${f(r.tg.tokPerSec)} | ${lc(r, "pp")} | ${lc(r, "tg")} | ${r.tg.fractionOfBandwidthBound === null ? "-" : (r.tg.fractionOfBandwidthBound * 100).toFixed(1) + "%"} | ${r.readGBps === null ? "-" : r.readGBps.toFixed(1)} | ${r.fractionOfLocalBound === null ? "-" : (r.fractionOfLocalBound * 100).toFixed(1) + "% of " + r.localBoundTokPerSec.toFixed(1)} | ${(r.weightBytes / 2 ** 20).toFixed(0)} MiB, ${f(r.bitsPerWeight)} b/w | ${r.loadSeconds.toFixed(1)} |`),
  "",
];
fs.writeFileSync(path.join(here, "results", `${base}.md`), md.join("\n"));
console.log(md.join("\n"));
