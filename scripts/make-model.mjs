#!/usr/bin/env node
// Writes a random-weight llama GGUF at a real model's shape, for benchmarks against llama.cpp on
// the same file: F16 matrices (normal, std 0.02; embedding std 1), F32 norms of ones, the demo
// model's 32000-piece SentencePiece vocabulary (extended or cut to the shape's vocabulary), and
// llama.cpp's metadata, so llama.cpp loads it too. Quantize it with `int4 quantize --format
// q4_k_m` (llama-quantize's types and bytes) to get the file users download at that shape.
//   node scripts/make-model.mjs [--shape tinyllama] --out model-f16.gguf [--seed 1]
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { writeGGUF, ggufTensorFromFloat } = require(path.join(root, "dist", "gguf", "writer.js"));
const { Tensor } = require(path.join(root, "dist", "tensor.js"));
const { native } = require(path.join(root, "dist", "native.js"));
const { demoVocabulary } = require(path.join(root, "dist", "tokenizer", "demo.js"));
const { architecture } = require(path.join(root, "dist", "model", "arch", "index.js"));
const { openGGUF } = require(path.join(root, "dist", "gguf", "reader.js"));
const { tokenizerMetadata, spmTokenizerMetadata } = require(path.join(root, "dist", "gguf", "metadata.js"));

/** Shapes of real models (their config.json), as llama.cpp's metadata names them; tied: no output.weight. */
const SHAPES = {
  tinyllama: { name: "TinyLlama-1.1B (shape)", arch: "llama", dim: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, hidden: 5632, vocab: 32000, ctx: 2048, ropeBase: 10000 },
  "llama-7b": { name: "Llama-2-7B (shape)", arch: "llama", dim: 4096, nLayers: 32, nHeads: 32, nKvHeads: 32, hidden: 11008, vocab: 32000, ctx: 4096, ropeBase: 10000 },
  "qwen2.5-0.5b": { name: "Qwen2.5-0.5B (shape)", arch: "qwen2", dim: 896, nLayers: 24, nHeads: 14, nKvHeads: 2, hidden: 4864, vocab: 151936, ctx: 32768, ropeBase: 1000000, tied: true, eps: 1e-6 },
  "llama-3.2-1b": { name: "Llama-3.2-1B (shape)", arch: "llama", dim: 2048, nLayers: 16, nHeads: 32, nKvHeads: 8, hidden: 8192, vocab: 128256, ctx: 131072, ropeBase: 500000, tied: true },
  small: { name: "small test (shape)", arch: "llama", dim: 256, nLayers: 2, nHeads: 8, nKvHeads: 4, hidden: 768, vocab: 512, ctx: 512, ropeBase: 10000 },
};

const usage = `usage: node scripts/make-model.mjs [--shape ${Object.keys(SHAPES).join("|")}] --out FILE.gguf [--seed N] [--vocab VOCAB.gguf]
  --vocab: take the tokenizer (every tokenizer.* key) from a GGUF file, e.g. ../shared/vocab/ggml-vocab-qwen2.gguf; its size must be the shape's vocabulary`;
let a;
try {
  ({ values: a } = parseArgs({ options: { shape: { type: "string", default: "tinyllama" }, out: { type: "string" }, seed: { type: "string", default: "1" }, vocab: { type: "string" }, help: { type: "boolean" } } }));
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
if (a.help) {
  console.log(usage);
  process.exit(0);
}
const s = SHAPES[a.shape];
if (!s || !a.out) {
  console.error(s ? `--out is required\n${usage}` : `--shape: expected one of ${Object.keys(SHAPES).join(", ")}, got ${JSON.stringify(a.shape)}\n${usage}`);
  process.exit(2);
}
const seed0 = Number(a.seed);
if (!Number.isInteger(seed0) || seed0 < 0) {
  console.error(`--seed: expected a non-negative integer, got ${JSON.stringify(a.seed)}\n${usage}`);
  process.exit(2);
}

const headDim = s.dim / s.nHeads;
const A = s.arch;
const config = { arch: A, dim: s.dim, nLayers: s.nLayers, nHeads: s.nHeads, nKvHeads: s.nKvHeads, headDim, hidden: s.hidden, vocab: s.vocab, ctx: s.ctx, eps: s.eps ?? 1e-5, ropeBase: s.ropeBase, nRot: headDim, ropeMode: 0 };
// the tokenizer: a real one's keys (--vocab), or the demo model's SentencePiece pieces padded to the size
let tokenizerMeta;
if (a.vocab) {
  const vf = openGGUF(a.vocab);
  const n = vf.array("tokenizer.ggml.tokens")?.values.length;
  if (n !== s.vocab) {
    console.error(`--vocab: ${a.vocab} has ${n} tokens, the shape ${a.shape} ${s.vocab}`);
    process.exit(2);
  }
  tokenizerMeta = tokenizerMetadata(vf);
  vf.close();
} else {
  const v = demoVocabulary(s.vocab);
  const tokens = v.tokens.slice(0, s.vocab);
  while (tokens.length < s.vocab) tokens.push(`<unused${tokens.length}>`);
  const types = Array.from({ length: s.vocab }, (_, i) => (i < v.types.length ? v.types[i] : 5));
  tokenizerMeta = spmTokenizerMetadata(tokens, types);
}
const meta = [
  ["general.architecture", { type: "string", value: A }],
  ["general.name", { type: "string", value: `${s.name}, random weights (int4 scripts/make-model.mjs, seed ${seed0})` }],
  ["general.file_type", { type: "u32", value: 1 }],
  [`${A}.context_length`, { type: "u32", value: s.ctx }],
  [`${A}.embedding_length`, { type: "u32", value: s.dim }],
  [`${A}.block_count`, { type: "u32", value: s.nLayers }],
  [`${A}.feed_forward_length`, { type: "u32", value: s.hidden }],
  [`${A}.rope.dimension_count`, { type: "u32", value: headDim }],
  [`${A}.attention.head_count`, { type: "u32", value: s.nHeads }],
  [`${A}.attention.head_count_kv`, { type: "u32", value: s.nKvHeads }],
  [`${A}.attention.layer_norm_rms_epsilon`, { type: "f32", value: config.eps }],
  [`${A}.rope.freq_base`, { type: "f32", value: s.ropeBase }],
  ...tokenizerMeta,
];
// every tensor of the architecture, each generated when the writer reaches it (one at a time in memory)
// (not the optional rope_freqs: a Llama 1/2 shape; test/helpers/archModels.ts writes the other architectures)
const specs = architecture(A).tensors(config).filter(([name, , required]) => required || (name === "output.weight" && !s.tied)).map(([name, ne], i) => {
  const dims = ne.length === 1 ? [ne[0]] : [ne[1], ne[0]];
  const n = dims.reduce((x, y) => x * y, 1);
  const isNorm = ne.length === 1 && !name.endsWith(".bias");
  const spec = {
    name, type: ne.length === 1 ? "f32" : "f16", dims,
    data: () => {
      const w = new Float32Array(n);
      if (isNorm) w.fill(1);
      else if (ne.length === 1) native.fillNormal(w, seed0 * 1000003 + i, 0, 0.1, 2); // biases
      else native.fillNormal(w, seed0 * 1000003 + i, 0, name === "token_embd.weight" ? (s.tied ? 0.05 : 1) : 0.02, 2);
      return ggufTensorFromFloat(name, new Tensor(w, dims), ne.length === 1 ? "f32" : "f16").data();
    },
  };
  return spec;
});
const t0 = performance.now();
const bytes = await writeGGUF(a.out, { metadata: meta, tensors: specs });
console.error(`wrote ${a.out}: ${(bytes / 2 ** 30).toFixed(2)} GiB, ${specs.length} tensors, ${s.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
