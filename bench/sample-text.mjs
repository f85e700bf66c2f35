// Writes text sampled from a GGUF model at f32 with a fixed seed (temperature 0.8), for eval and
// calibration: node bench/sample-text.mjs MODEL.gguf TOKENS SEED OUT.txt
import * as fs from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const { loadEngine } = require("../dist/model/engine.js");
const { selfSample } = require("../dist/model/eval.js");
const { openGGUF } = require("../dist/gguf/reader.js");
const { Tokenizer } = require("../dist/tokenizer/index.js");

const [model, count, seed, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node bench/sample-text.mjs MODEL.gguf TOKENS SEED OUT.txt");
  process.exit(2);
}
const f = openGGUF(model);
const tok = Tokenizer.fromGGUF(f);
f.close();
const eng = loadEngine({ source: { kind: "gguf", path: model }, quant: "f32", threads: 1, ctx: 512 });
const ids = selfSample(eng.transformer, Number(count), tok.bos, tok.eos, Number(seed));
// stories are separated by BOS (an EOS became BOS): one story per line
const stories = [];
let cur = [];
for (const id of ids) {
  if (id === tok.bos) {
    if (cur.length) stories.push(tok.decode(cur).trim());
    cur = [];
  } else cur.push(id);
}
if (cur.length) stories.push(tok.decode(cur).trim());
fs.writeFileSync(out, stories.join("\n") + "\n");
console.error(`${out}: ${ids.length} tokens sampled (seed ${seed}), ${stories.length} stories`);
