// int4 serve under concurrent streams: aggregate generated tokens/s and time to first token with
// 1, 2, 4, 8 clients streaming /v1/completions at once (continuous batching: one forward pass of
// the weights per step gives each active stream a token). The server runs in this process
// (Int4Server on 127.0.0.1, a free port); the clients are fetch() streams.
//   node bench/serve.mjs [--model X.gguf] [--quant native|q4] [--exact] [--streams 1,2,4,8] [--tokens 64] [--threads 2] [--ctx 512] [--reps 2]
// --quant q4 re-quantizes the matrices to int4's own format (its GEMM is much faster than the
// Q4_K block GEMM: the batch's rows cost less); --exact pads batches to 4 rows (exactBatches).
// Default model: build-bench/tinyllama-q4_k_m.gguf (TinyLlama-1.1B shape, random
// weights; scripts/make-model.mjs then `int4 quantize --format q4_k_m` makes one).
// Writes bench/results/serve-<model>.json and .md. Results on a shared machine vary with its load:
// the ratio between stream counts, measured in the same run, is the number to read.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { loadModel } = require(path.join(root, "dist/model/model.js"));
const { Int4Server } = require(path.join(root, "dist/serve/server.js"));

const { values: a } = parseArgs({ options: {
  model: { type: "string", default: path.join(root, "build-bench", "tinyllama-q4_k_m.gguf") }, streams: { type: "string", default: "1,2,4,8" },
  tokens: { type: "string", default: "64" }, threads: { type: "string", default: String(Math.min(2, os.availableParallelism())) },
  ctx: { type: "string", default: "512" }, reps: { type: "string", default: "2" },
  quant: { type: "string", default: "native" }, exact: { type: "boolean", default: false },
} });
const counts = a.streams.split(",").map(Number), maxTokens = Number(a.tokens), reps = Number(a.reps);
const parallel = Math.max(...counts);
const model = await loadModel(a.model, { threads: Number(a.threads), ctx: Number(a.ctx), parallel, quant: a.quant, exactBatches: a.exact });
const server = new Int4Server(model, { modelName: "bench", template: "chatml" });
const { port } = await server.listen(0, "127.0.0.1");
const url = `http://127.0.0.1:${port}/v1/completions`;

/** One streaming request: [time to first token (ms), completion tokens]. */
async function stream(prompt) {
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }) });
  const reader = res.body.getReader(), dec = new TextDecoder();
  let buf = "", ttft = -1, tokens = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, i); buf = buf.slice(i + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const o = JSON.parse(ev.slice(6));
      if (ttft < 0 && o.choices?.[0]?.text) ttft = performance.now() - t0;
      if (o.usage) tokens = o.usage.completion_tokens;
    }
  }
  return [ttft, tokens];
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
await stream("Warm up"); // untimed
const rows = [];
for (const n of counts) {
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const res = await Promise.all(Array.from({ length: n }, (_, i) => stream(`Stream ${i} of ${n}: once upon a time`)));
    const s = (performance.now() - t0) / 1000;
    const tokens = res.reduce((x, [, k]) => x + k, 0);
    runs.push({ tokS: tokens / s, tokens, seconds: s, ttftMs: median(res.map(([t]) => t)) });
  }
  const best = runs.reduce((x, y) => (y.tokS > x.tokS ? y : x));
  rows.push({ streams: n, tokS: best.tokS, tokens: best.tokens, seconds: best.seconds, ttftMs: best.ttftMs, runs });
  console.log(`${n} streams: ${best.tokS.toFixed(1)} tok/s aggregate (${best.tokens} tokens in ${best.seconds.toFixed(2)} s), time to first token ${best.ttftMs.toFixed(0)} ms (median)`);
}
await server.close();
model.dispose();
const base = rows[0].tokS;
const name = path.basename(a.model).replace(/\.gguf$/, "") + (a.quant === "native" ? "" : `-${a.quant}`) + (a.exact ? "-exact" : "");
const out = { date: new Date().toISOString(), model: a.model, quant: a.quant, exactBatches: a.exact, threads: Number(a.threads), ctx: Number(a.ctx), maxTokens, loadavg: os.loadavg(), rows };
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, `bench/results/serve-${name}.json`), JSON.stringify(out, null, 2) + "\n");
const md = [`# int4 serve: concurrent streams (${name}, quant ${a.quant}${a.exact ? ", exact batches" : ""}, ${a.threads} threads, ${maxTokens} tokens each)`, "",
  `${out.date}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")} (a shared machine: read the ratios)`, "",
  "| streams | aggregate tok/s | vs 1 stream | time to first token (median) |", "|---|---|---|---|",
  ...rows.map((r) => `| ${r.streams} | ${r.tokS.toFixed(1)} | ${(r.tokS / base).toFixed(2)}x | ${r.ttftMs.toFixed(0)} ms |`), ""].join("\n");
fs.writeFileSync(path.join(root, `bench/results/serve-${name}.md`), md);
console.log(md);
