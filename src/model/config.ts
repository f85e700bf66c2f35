// Llama hyperparameters from GGUF metadata (`llama.*`; the same layout under `mistral.*`), checked
// against each other and against the tensor shapes before anything big is allocated.
import type { GGUFFile } from "../gguf/reader";
import { GGUFError, q } from "../gguf/reader";

export interface LlamaConfig {
  arch: string;
  /** Model width (embedding length). */
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** FFN width. */
  hidden: number;
  vocab: number;
  /** Training context length. */
  ctx: number;
  eps: number;
  ropeBase: number;
  /** Dimensions of each head that RoPE rotates. */
  nRot: number;
  /** 0: llama.cpp "normal" (interleaved pairs). */
  ropeMode: 0 | 2;
}

export const ARCHITECTURES = ["llama", "mistral"] as const;

function num(f: GGUFFile, key: string, fallback?: number): number {
  const v = f.number(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new GGUFError(`GGUF ${f.path}: missing metadata "${key}"`);
  }
  return v;
}

function posInt(f: GGUFFile, key: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new GGUFError(`GGUF ${f.path}: metadata "${key}" = ${v}, expected an integer in [1, ${max}]`);
  return v;
}

export function configFromGGUF(f: GGUFFile): LlamaConfig {
  const arch = f.string("general.architecture");
  if (arch === undefined) throw new GGUFError(`GGUF ${f.path}: missing metadata "general.architecture"`);
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new GGUFError(`GGUF ${f.path}: unsupported architecture ${q(arch)} (supported: ${ARCHITECTURES.join(", ")})`);
  }
  const k = (s: string) => `${arch}.${s}`;
  const dim = posInt(f, k("embedding_length"), num(f, k("embedding_length")), 1 << 16);
  const nLayers = posInt(f, k("block_count"), num(f, k("block_count")), 1024);
  const nHeads = posInt(f, k("attention.head_count"), num(f, k("attention.head_count")), 1024);
  const nKvHeads = posInt(f, k("attention.head_count_kv"), num(f, k("attention.head_count_kv"), nHeads), nHeads);
  if (nHeads % nKvHeads !== 0) throw new GGUFError(`GGUF ${f.path}: head_count ${nHeads} is not a multiple of head_count_kv ${nKvHeads}`);
  const headDim = posInt(f, k("attention.key_length"), num(f, k("attention.key_length"), dim / nHeads), 4096);
  const hidden = posInt(f, k("feed_forward_length"), num(f, k("feed_forward_length")), 1 << 20);
  const emb = f.tensor("token_embd.weight");
  if (!emb) throw new GGUFError(`GGUF ${f.path}: missing tensor "token_embd.weight"`);
  const tokens = f.array("tokenizer.ggml.tokens");
  const vocabGuess = emb.ne.length === 2 ? emb.ne[1] : tokens ? tokens.values.length : 0;
  const vocab = posInt(f, k("vocab_size"), num(f, k("vocab_size"), vocabGuess), 1 << 22);
  const ctx = posInt(f, k("context_length"), num(f, k("context_length"), 2048), 1 << 22);
  const eps = num(f, k("attention.layer_norm_rms_epsilon"), 1e-5);
  if (!(eps > 0 && eps < 1)) throw new GGUFError(`GGUF ${f.path}: layer_norm_rms_epsilon ${eps} out of range`);
  const ropeBase = num(f, k("rope.freq_base"), 10000);
  if (!(ropeBase > 1)) throw new GGUFError(`GGUF ${f.path}: rope.freq_base ${ropeBase} out of range`);
  const nRot = posInt(f, k("rope.dimension_count"), num(f, k("rope.dimension_count"), headDim), headDim);
  if (nRot % 2 !== 0) throw new GGUFError(`GGUF ${f.path}: rope.dimension_count ${nRot} is odd`);
  const cfg: LlamaConfig = { arch, dim, nLayers, nHeads, nKvHeads, headDim, hidden, vocab, ctx, eps, ropeBase, nRot, ropeMode: 0 };
  checkShapes(f, cfg);
  return cfg;
}

/** The tensors of a llama model and their shapes in ggml order (ne[0] = row length). */
export function expectedTensors(c: LlamaConfig): [string, number[], boolean][] {
  const q = c.nHeads * c.headDim, kv = c.nKvHeads * c.headDim;
  const list: [string, number[], boolean][] = [
    ["token_embd.weight", [c.dim, c.vocab], true],
    ["output_norm.weight", [c.dim], true],
    ["output.weight", [c.dim, c.vocab], false],
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    list.push(
      [p + "attn_norm.weight", [c.dim], true],
      [p + "attn_q.weight", [c.dim, q], true],
      [p + "attn_k.weight", [c.dim, kv], true],
      [p + "attn_v.weight", [c.dim, kv], true],
      [p + "attn_output.weight", [q, c.dim], true],
      [p + "ffn_norm.weight", [c.dim], true],
      [p + "ffn_gate.weight", [c.dim, c.hidden], true],
      [p + "ffn_up.weight", [c.dim, c.hidden], true],
      [p + "ffn_down.weight", [c.hidden, c.dim], true],
    );
  }
  return list;
}

function checkShapes(f: GGUFFile, c: LlamaConfig): void {
  for (const [name, ne, required] of expectedTensors(c)) {
    const t = f.tensor(name);
    if (!t) {
      if (required) throw new GGUFError(`GGUF ${f.path}: missing tensor "${name}" for ${c.arch} with ${c.nLayers} layers`);
      continue;
    }
    if (t.ne.length !== ne.length || t.ne.some((n, i) => n !== ne[i])) {
      throw new GGUFError(`GGUF ${f.path}: tensor "${name}" has shape [${t.ne.join(", ")}], expected [${ne.join(", ")}] for ${c.arch} (dim ${c.dim}, heads ${c.nHeads}/${c.nKvHeads}, ffn ${c.hidden}, vocab ${c.vocab})`);
    }
  }
}

/** TinyLlama-1.1B's shape: the built-in demo model. */
export const DEMO_CONFIG: LlamaConfig = {
  arch: "llama", dim: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, headDim: 64, hidden: 5632, vocab: 32000,
  ctx: 2048, eps: 1e-5, ropeBase: 10000, nRot: 64, ropeMode: 0,
};
