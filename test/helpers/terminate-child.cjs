// Child process for test/reliability.test.ts: starts Workers that run int4 (the main thread never
// loads it) and terminates them mid-work, `rounds` times; prints "ok" when the process survives.
//   node terminate-child.cjs <package dir> async|sync|model <rounds> [model.gguf]
"use strict";
const path = require("node:path");
const { Worker } = require("node:worker_threads");
const [root, mode, roundsArg, modelFile] = process.argv.slice(2);
const rounds = Number(roundsArg);

const matmulWorker = `
const { Tensor, quantize, matmul } = require(${JSON.stringify(path.join(root, "dist", "index.js"))});
const { parentPort } = require("node:worker_threads");
const K = 1024, N = 1024;
const q = quantize(new Tensor(new Float32Array(N * K).map((_, i) => Math.sin(i)), [N, K]));
const x = new Tensor(new Float32Array(16 * K).fill(1), [16, K]);
parentPort.postMessage("ready");
if (${JSON.stringify(mode)} === "async") { for (;;) { for (let i = 0; i < 64; i++) matmul.async(x, q); matmul(x, q); } }
else { for (;;) matmul(x, q); }
`;

async function matmulRounds() {
  for (let r = 0; r < rounds; r++) {
    const w = new Worker(matmulWorker, { eval: true });
    await new Promise((res) => w.once("message", res));
    await new Promise((res) => setTimeout(res, 2 + (r % 7) * 3));
    await w.terminate();
  }
}

// Model.dispose() while generate() streams: the iterator must end without an error.
async function modelRounds() {
  const { loadModel } = require(path.join(root, "dist", "index.js"));
  let pieces = 0;
  for (let r = 0; r < rounds; r++) {
    const m = await loadModel(modelFile, { threads: 1 });
    let n = 0;
    for await (const piece of m.generate("a", { maxTokens: 120, temperature: 0 })) {
      pieces += piece.length > 0 ? 1 : 0;
      if (++n === 1 + (r % 5)) m.dispose();
    }
    if (m.lastStats !== null) throw new Error("lastStats after dispose: expected null");
    let threw = false;
    try {
      for await (const _ of m.generate("a")) void _;
    } catch (e) {
      threw = /used after dispose/.test(e.message);
    }
    if (!threw) throw new Error("generate() after dispose() did not throw 'used after dispose'");
  }
  if (pieces === 0) throw new Error("no piece was generated");
}

(mode === "model" ? modelRounds() : matmulRounds()).then(
  () => console.log("ok"),
  (e) => {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
  },
);
