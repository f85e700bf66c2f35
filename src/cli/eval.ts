// `int4 eval`: a model at full precision (f32) against a quantization of it; with --base or
// --methods, a quantized file against its source or several methods (eval-compare.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import { openGGUF } from "../gguf/reader";
import { configFromGGUF, type ModelConfig } from "../model/config";
import { loadEngine } from "../model/engine";
import { evaluate, selfSample } from "../model/eval";
import { QUANT_NAMES } from "../model/quant";
import { Tokenizer } from "../tokenizer";
import { UsageError, fileArg, intArg, mib, parseCli, quantArg, showHelp } from "./args";
import { HELP_EVAL_COMPARE, evalCompareCmd, isCompareEval } from "./eval-compare";

const HELP_EVAL = `int4 eval: full precision (f32) against a quantization of the same model.

Prints the perplexity of both, mean and 99th-percentile KL divergence of the quantized next-token
distribution from the f32 one, and top-1 agreement. llama.cpp's protocol: contexts of --ctx tokens,
BOS first, the second half of each context scored.

Options:
  --model FILE   GGUF model (required)
  --quant Q      ${QUANT_NAMES.filter((q) => q !== "f32").join(", ")} (default q4)
  --text FILE    text to score; default: text the f32 model samples itself (--seed, temperature 0.8)
  --ctx N        tokens per context (default min(512, model context))
  --chunks N     contexts to score at most (default: all of --text; 4 of self-sampled text)
  --seed S       seed of the self-sampled text (default 1)
  --threads N    default: available CPUs
  --json         print the result as JSON
  -h, --help`;

/** int4 eval: the compare modes when --base or --methods is given, else f32 vs a quant. */
export async function evalCmd(args: string[]): Promise<number> {
  return isCompareEval(args) ? evalCompareCmd(args) : evalQuant(args);
}

async function evalQuant(args: string[]): Promise<number> {
  const v = parseCli(args, {
    model: { type: "string" }, quant: { type: "string" }, text: { type: "string" }, ctx: { type: "string" },
    chunks: { type: "string" }, seed: { type: "string" }, threads: { type: "string" }, json: { type: "boolean" },
  });
  if (v.help) return showHelp(HELP_EVAL + "\n\n" + HELP_EVAL_COMPARE);
  const model = fileArg("model", v.model as string | undefined, true)!;
  const quant = quantArg(v.quant as string, false);
  const text = v.text as string | undefined;
  if (text !== undefined && !fs.existsSync(text)) throw new UsageError(`--text: no such file "${text}"`);
  const ctxArg = intArg("ctx", v.ctx as string, 8, 1 << 20);
  const chunksArg = intArg("chunks", v.chunks as string, 1, 1 << 20);
  const seed = intArg("seed", v.seed as string, 0, Number.MAX_SAFE_INTEGER) ?? 1;
  const threads = intArg("threads", v.threads as string, 1, 256) ?? os.availableParallelism();
  const f = openGGUF(model);
  let tokenizer: Tokenizer, config: ModelConfig;
  try {
    config = configFromGGUF(f);
    tokenizer = Tokenizer.fromGGUF(f);
  } finally {
    f.close();
  }
  const ctx = ctxArg ?? Math.min(512, config.ctx);
  const t0 = performance.now();
  const ref = loadEngine({ source: { kind: "gguf", path: model }, quant: "f32", threads, ctx });
  const q = loadEngine({ source: { kind: "gguf", path: model }, quant, threads, ctx });
  let tokens: number[];
  let source: string;
  if (text !== undefined) {
    tokens = tokenizer.encode(fs.readFileSync(text, "utf8"), { bos: true });
    source = text;
    if (chunksArg !== undefined) tokens = tokens.slice(0, chunksArg * ctx);
  } else {
    const chunks = chunksArg ?? 4;
    tokens = selfSample(ref.transformer, chunks * ctx, tokenizer.bos, tokenizer.eos, seed);
    source = `self-sampled by the f32 model (seed ${seed}, temperature 0.8, ${tokens.length} tokens)`;
  }
  const r = evaluate(ref.transformer, q.transformer, tokens, ctx, tokenizer.bos);
  const secs = (performance.now() - t0) / 1000;
  const out = {
    model, quant, text: source, ...r, bitsPerWeight: q.info.bitsPerWeight, weightBytes: q.info.weightBytes,
    f32WeightBytes: ref.info.weightBytes, seconds: secs,
  };
  if (v.json) process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  else {
    const p = (x: number, d = 4) => x.toFixed(d);
    process.stdout.write(
      `model:             ${model}\n` +
      `text:              ${source}\n` +
      `contexts:          ${r.chunks} x ${ctx} tokens, ${r.scoredTokens} scored (second halves)\n` +
      `quant:             ${quant} (${q.info.bitsPerWeight.toFixed(2)} bits/weight, ${mib(q.info.weightBytes)} vs ${mib(ref.info.weightBytes)} f32)\n` +
      `perplexity:        f32 ${p(r.pplRef)}   ${quant} ${p(r.pplQuant)}   (${((r.pplQuant / r.pplRef - 1) * 100).toFixed(2)}%)\n` +
      `KL divergence:     mean ${p(r.klMean, 5)}   p99 ${p(r.klP99, 5)}   max ${p(r.klMax, 5)}\n` +
      `top-1 agreement:   ${(r.top1Agreement * 100).toFixed(2)}%\n`,
    );
  }
  return 0;
}

