// Tokenizer speed: encodes 1 MB of text with each vocabulary of ../shared/vocab (llama.cpp's
// vocabulary-only GGUF files) and writes the times to bench/results/DATE-tokenizer.{md,json}.
// "cold" is a fresh tokenizer (empty word cache), "warm" the same text again; "unique words" is
// text whose words never repeat (the cache does not help: the merge loop's own speed).
// Run after `npm run compile`: node bench/tokenizer.mjs [MB]
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
const require = createRequire(import.meta.url);
const { Tokenizer } = require("../dist/tokenizer/index.js");
const { openGGUF } = require("../dist/gguf/reader.js");

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(here, "../../shared/vocab");
if (!fs.existsSync(dir)) {
  console.error(`bench/tokenizer.mjs: ${dir} (shared vocabularies) absent`);
  process.exit(2);
}
const MB = Number(process.argv[2] ?? 1);
const size = Math.round(MB * 1024 * 1024);

// deterministic text: English-like words with punctuation, numbers, newlines and some non-ASCII
let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const WORDS = ("the of and to in is was he for it with as his on be at by had are but from or have an they which one you were her all " +
  "she there would their we him been has when who will more no if out so said what up its about into than them can only other new " +
  "time could these two may then do first any my now such like our over man me even most made after also did many before must " +
  "tokenizer Llama café naïve Größe 東京 привет 🙂 don't it's we'll").split(" ");
function prose(bytes) {
  const parts = [];
  let n = 0;
  while (n < bytes) {
    const r = rnd();
    const w = r < 0.03 ? String(Math.floor(rnd() * 100000)) : WORDS[Math.floor(rnd() * WORDS.length)];
    const sep = r > 0.97 ? ".\n\n" : r > 0.9 ? ", " : " ";
    parts.push(w + sep);
    n += Buffer.byteLength(w + sep);
  }
  return parts.join("").slice(0, bytes);
}
function uniqueWords(bytes) {
  const parts = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    let w = "";
    const len = 3 + Math.floor(rnd() * 8);
    for (let k = 0; k < len; k++) w += String.fromCharCode(97 + Math.floor(rnd() * 26));
    parts.push(w + " ");
    n += w.length + 1;
  }
  return parts.join("").slice(0, bytes);
}
const texts = { prose: prose(size), "unique words": uniqueWords(size) };

const rows = [];
for (const name of ["llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2"]) {
  const t0 = performance.now();
  const f = openGGUF(path.join(dir, `ggml-vocab-${name}.gguf`));
  Tokenizer.fromGGUF(f); // warms the JIT and the code point table once, as a long-lived process would be
  const loadMs = performance.now() - t0;
  for (const [kind, text] of Object.entries(texts)) {
    const tok = Tokenizer.fromGGUF(f);
    let t = performance.now();
    const ids = tok.encode(text, { bos: false });
    const coldMs = performance.now() - t;
    t = performance.now();
    tok.encode(text, { bos: false });
    const warmMs = performance.now() - t;
    rows.push({ vocab: name, model: tok.model, text: kind, bytes: Buffer.byteLength(text), tokens: ids.length,
      coldMs: +coldMs.toFixed(1), warmMs: +warmMs.toFixed(1), loadMs: +loadMs.toFixed(1) });
    console.log(`${name.padEnd(10)} ${kind.padEnd(13)} ${ids.length} tokens  cold ${coldMs.toFixed(0)} ms  warm ${warmMs.toFixed(0)} ms`);
  }
  f.close();
}

const stamp = new Date().toISOString().replace(/:/g, "-").slice(0, 19);
const out = path.join(here, "results", `${stamp}-tokenizer`);
const md = [`# Tokenizer: ${MB} MB of text (${new Date().toISOString()}, node ${process.version}, ${process.platform}-${process.arch})`, "",
  "| vocabulary | model | text | bytes | tokens | cold ms | warm ms | first load ms |", "|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.vocab} | ${r.model} | ${r.text} | ${r.bytes} | ${r.tokens} | ${r.coldMs} | ${r.warmMs} | ${r.loadMs} |`), ""].join("\n");
fs.writeFileSync(out + ".md", md);
fs.writeFileSync(out + ".json", JSON.stringify({ mb: MB, node: process.version, rows }, null, 2));
console.log(`wrote ${out}.md and .json`);
