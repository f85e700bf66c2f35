// `int4 eval`: how far a quantized model is from full precision, in one of three modes named by
// the first argument (EVAL_MODES): quant (here: the f32 model against a quantization of it made in
// memory), base and methods (eval-compare.ts: a quantized file against its source, several
// methods side by side).
import * as fs from "node:fs";
import * as os from "node:os";
import { openGGUF } from "../gguf/reader";
import { configFromGGUF, type ModelConfig } from "../model/config";
import { loadEngine } from "../model/engine";
import { evaluate, selfSample } from "../model/eval";
import { QUANT_NAMES } from "../model/quant";
import { Tokenizer } from "../tokenizer";
import { defaultQuant } from "../model/weights";
import { parseArgs } from "node:util";
import { UsageError, fileArg, intArg, mib, parseCli, quantArg, showHelp } from "./args";
import { HELP_EVAL_COMPARE, evalCompareCmd } from "./eval-compare";

interface EvalMode {
  name: string;
  usage: string;
  what: string;
  run(args: string[]): Promise<number>;
}

/** The modes of `int4 eval`, named by its first argument. */
export const EVAL_MODES: readonly EvalMode[] = [
  {
    name: "quant", usage: "int4 eval [quant] --model FILE.gguf [--quant Q] [--text FILE] [--ctx N] [--json]",
    what: "the model at f32 against a quantization of it made in memory (the default mode)", run: (a) => evalQuant(a),
  },
  {
    name: "base", usage: "int4 eval base --base FULL.gguf --model QUANT.gguf [--text FILE] [--ctx N] [--json]",
    what: "a quantized file, run as stored, against its source at f32", run: (a) => evalCompareCmd("base", a),
  },
  {
    name: "methods", usage: "int4 eval methods --model in.gguf --methods rtn,mse,awq,gptq --format F [--calib FILE]",
    what: "several quantization methods of one model, quantized in memory, side by side", run: (a) => evalCompareCmd("methods", a),
  },
];

const HELP_MODES = `int4 eval: how far a quantized model is from full precision. The first argument names the mode:

${EVAL_MODES.map((m) => `  ${m.usage}\n      ${m.what}`).join("\n")}

Without a mode name (the older command lines), --base selects base and --methods selects methods;
otherwise the mode is quant.`;

const HELP_EVAL = `int4 eval quant: full precision (f32) against a quantization of the same model.

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

/** int4 eval [MODE] ...: the mode named first; without one, the mode its options imply (see HELP_MODES). */
export async function evalCmd(args: string[]): Promise<number> {
  const mode = EVAL_MODES.find((m) => m.name === args[0]);
  if (mode) return mode.run(args.slice(1));
  if (args[0] !== undefined && !args[0].startsWith("-")) {
    throw new UsageError(`unknown mode "${args[0]}" (expected ${EVAL_MODES.map((m) => m.name).join(", ")})`);
  }
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) return showHelp(HELP_MODES + "\n\n" + HELP_EVAL + "\n\n" + HELP_EVAL_COMPARE);
  const given = parseArgs({ args, strict: false, allowPositionals: true }).values;
  if (given.base !== undefined && given.methods !== undefined) throw new UsageError("--base and --methods: give one of them");
  const implied = given.base !== undefined ? "base" : given.methods !== undefined ? "methods" : "quant";
  return EVAL_MODES.find((m) => m.name === implied)!.run(args);
}

async function evalQuant(args: string[]): Promise<number> {
  const v = parseCli(args, {
    model: { type: "string" }, quant: { type: "string" }, text: { type: "string" }, ctx: { type: "string" },
    chunks: { type: "string" }, seed: { type: "string" }, threads: { type: "string" }, json: { type: "boolean" },
  });
  if (v.help) return showHelp(HELP_EVAL);
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
  let quantized: boolean;
  try {
    config = configFromGGUF(f);
    tokenizer = Tokenizer.fromGGUF(f);
    quantized = defaultQuant(f) === "native";
  } finally {
    f.close();
  }
  if (quantized) {
    process.stderr.write(`note: ${model} is already quantized: "f32" here is its dequantized weights, not its source's; ` +
      "to measure the file against its source, run int4 eval base --base SOURCE.gguf --model FILE.gguf\n");
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

