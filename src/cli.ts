#!/usr/bin/env node
// int4 command line: `int4 run`, `int4 eval`, `int4 info`, `int4 build`. See `int4 --help`.
import * as fs from "node:fs";
import * as os from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { backend } from "./index";
import { escapeControls, openGGUF, valueText, type GGUFValue } from "./gguf/reader";
import { weightBytesOf } from "./model/weights";
import { configFromGGUF, DEMO_CONFIG, type LlamaConfig } from "./model/config";
import { loadEngine } from "./model/engine";
import { evaluate, selfSample } from "./model/eval";
import { DEMO_MODEL, loadModel } from "./model/model";
import { parseQuant, QUANT_NAMES, type QuantName } from "./model/quant";
import { Tokenizer } from "./tokenizer";
import { buildCmd } from "./cli/build";
// ---- int4 quantize, int4 eval --base / --methods (issue 5): begin ----
import { quantizeCmd } from "./quantizeModel";
import { evalCompareCmd, isCompareEval, HELP_EVAL_COMPARE } from "./evalCompare";
// ---- end ----

class UsageError extends Error {}

const HELP_MAIN = `int4: INT4 inference on the CPU

Usage:
  int4 run  [--model FILE.gguf] [--prompt TEXT] [-n N] [sampling options]   generate text
  int4 eval --model FILE.gguf [--quant Q] [--text FILE] [--ctx N] [--json] quantization error vs f32
  int4 info --model FILE.gguf                                               what is in a GGUF file
  int4 quantize --model in.gguf --out out.gguf --format F --method M [--calib FILE]  write a quantized GGUF
  int4 eval --base FULL.gguf --model QUANT.gguf [--text FILE]              a quantized file vs its source
  int4 eval --model in.gguf --methods rtn,mse,awq,gptq --format F [--calib FILE]  compare methods
  int4 build                                                                compile the addon from the shipped sources

Without --model, \`int4 run\` uses the built-in demo model: random weights at TinyLlama-1.1B's
shape. It shows speed and INT4 error, not language.
Run \`int4 <command> --help\` for the options of each command.`;

const HELP_RUN = `int4 run: stream a model's continuation of a prompt to stdout; stats go to stderr.

Options:
  --model FILE        GGUF model (llama architecture; F32/F16/BF16/Q8_0/Q4_0/Q4_1 tensors).
                      Default: the built-in demo model (random weights, TinyLlama-1.1B shape)
  --prompt TEXT       default "Once upon a time"
  -n, --n-predict N   tokens to generate (default 128; 32 for the demo model)
  --temp T            temperature, 0 = greedy (default 0.8)
  --top-k K           default 40 (0 = off)
  --top-p P           default 0.95 (1 = off)
  --min-p P           default 0.05 (0 = off)
  --repeat-penalty R  default 1 (off)
  --seed S            default 1
  --threads N         default: available CPUs (${os.availableParallelism()})
  --quant Q           ${QUANT_NAMES.join(", ")} (default q4)
  --ctx N             KV cache length (default: min(model context, 2048))
  -h, --help`;

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

const HELP_INFO = `int4 info: architecture, hyperparameters, tensors, and memory per quantization.

Options:
  --model FILE   GGUF file (required)
  --json         print as JSON
  -h, --help`;

function parse(args: string[], options: ParseArgsConfig["options"]): { values: Record<string, string | boolean | undefined> } {
  try {
    const r = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: false, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined> };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function int(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < lo || n > hi) throw new UsageError(`--${name}: expected an integer in [${lo}, ${hi}], got "${v}"`);
  return n;
}

function float(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < lo || n > hi) throw new UsageError(`--${name}: expected a number in [${lo}, ${hi}], got "${v}"`);
  return n;
}

function quantArg(v: string | undefined, allowF32 = true): QuantName {
  const q = v ?? "q4";
  if (!(QUANT_NAMES as readonly string[]).includes(q) || (!allowF32 && q === "f32")) {
    throw new UsageError(`--quant: expected one of ${QUANT_NAMES.filter((x) => allowF32 || x !== "f32").join(", ")}, got "${q}"`);
  }
  return q as QuantName;
}

function modelArg(v: string | undefined, required: boolean): string | undefined {
  if (v === undefined) {
    if (required) throw new UsageError("--model FILE is required");
    return undefined;
  }
  if (!fs.existsSync(v)) throw new UsageError(`--model: no such file "${v}"`);
  return v;
}

/** A metadata value for the terminal: strings as they are but with control characters escaped and cut. */
const shown = (v: GGUFValue | undefined) => (v === undefined ? "-" : typeof v === "string" ? escapeControls(v.length > 200 ? v.slice(0, 200) + "…" : v) : valueText(v));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const log = (s: string) => process.stderr.write(s + "\n");
const peakRss = () => process.resourceUsage().maxRSS * 1024;

async function run(args: string[]): Promise<number> {
  const { values: v } = parse(args, {
    model: { type: "string" }, prompt: { type: "string" }, "n-predict": { type: "string", short: "n" },
    temp: { type: "string" }, "top-k": { type: "string" }, "top-p": { type: "string" }, "min-p": { type: "string" },
    "repeat-penalty": { type: "string" }, seed: { type: "string" }, threads: { type: "string" },
    quant: { type: "string" }, ctx: { type: "string" },
  });
  if (v.help) return help(HELP_RUN);
  const model = modelArg(v.model as string | undefined, false);
  const demo = model === undefined;
  const opts = {
    prompt: (v.prompt as string | undefined) ?? "Once upon a time",
    n: int("n-predict", v["n-predict"] as string, 1, 1 << 20) ?? (demo ? 32 : 128),
    temperature: float("temp", v.temp as string, 0, 100) ?? 0.8,
    topK: int("top-k", v["top-k"] as string, 0, 1 << 30) ?? 40,
    topP: float("top-p", v["top-p"] as string, 0, 1) ?? 0.95,
    minP: float("min-p", v["min-p"] as string, 0, 1) ?? 0.05,
    repeatPenalty: float("repeat-penalty", v["repeat-penalty"] as string, 0.01, 100) ?? 1,
    seed: int("seed", v.seed as string, 0, Number.MAX_SAFE_INTEGER) ?? 1,
    threads: int("threads", v.threads as string, 1, 256) ?? os.availableParallelism(),
    quant: quantArg(v.quant as string),
    ctx: int("ctx", v.ctx as string, 4, 1 << 22),
  };
  if (demo) {
    const c = DEMO_CONFIG;
    log(`int4: no --model given: the built-in demo model. Its weights are RANDOM (deterministic), at TinyLlama-1.1B's`);
    log(`shape (dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads}/${c.nKvHeads} heads, FFN ${c.hidden}, vocabulary ${c.vocab}), and its vocabulary is`);
    log(`synthetic: it shows INT4 speed and INT4 error, not language. The text below is random tokens.`);
    log(`Generating and quantizing ${((c.vocab * c.dim * 2 + c.nLayers * (c.dim * c.dim * 2 + c.dim * 256 * 2 + c.dim * c.hidden * 3)) / 1e9).toFixed(2)}B weights...`);
  }
  const t0 = performance.now();
  const m = await loadModel(model ?? DEMO_MODEL, { quant: opts.quant, threads: opts.threads, ctx: opts.ctx });
  const loadMs = performance.now() - t0;
  const info = m.info;
  log(`loaded ${demo ? "demo model" : model} (${info.config.arch}, quant ${info.quant}, ${info.threads} threads, kernels ${backend().isa}) in ${(loadMs / 1000).toFixed(2)} s`);
  if (info.demo) log(`INT4 weight error (relative RMS, vs the f32 random weights): ${(info.demo.weightRelRms * 100).toFixed(2)}%`);
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  // a closed pipe (`int4 run | head -1`) ends generation quietly
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") ac.abort();
    else throw e;
  });
  try {
    process.stdout.write(opts.prompt);
    for await (const piece of m.generate(opts.prompt, {
      maxTokens: opts.n, temperature: opts.temperature, topK: opts.topK, topP: opts.topP, minP: opts.minP,
      repeatPenalty: opts.repeatPenalty, seed: opts.seed, signal: ac.signal,
    })) {
      process.stdout.write(piece);
    }
    process.stdout.write("\n");
  } finally {
    process.off("SIGINT", onSig);
  }
  const s = m.lastStats!;
  log("");
  log(`load time:        ${(loadMs / 1000).toFixed(2)} s`);
  log(`prompt:           ${s.promptTokens} tokens in ${s.promptMs.toFixed(1)} ms = ${((s.promptTokens * 1000) / s.promptMs).toFixed(1)} tok/s`);
  log(`generation:       ${s.generatedTokens} tokens` + (s.generateForwards > 0 ? `, ${((s.generateForwards * 1000) / s.generateMs).toFixed(1)} tok/s` : "") + ` (stopped: ${s.stopReason})`);
  log(`weights:          ${mib(info.weightBytes)}, ${info.bitsPerWeight.toFixed(2)} bits/weight over ${(info.linearWeights / 1e6).toFixed(2)}M linear weights`);
  log(`KV cache:         ${mib(info.kvCacheBytes)} (${info.ctx} positions)`);
  log(`peak RSS:         ${mib(peakRss())}`);
  m.dispose();
  return 0;
}

async function evalCmd(args: string[]): Promise<number> {
  const { values: v } = parse(args, {
    model: { type: "string" }, quant: { type: "string" }, text: { type: "string" }, ctx: { type: "string" },
    chunks: { type: "string" }, seed: { type: "string" }, threads: { type: "string" }, json: { type: "boolean" },
  });
  if (v.help) return help(HELP_EVAL + "\n\n" + HELP_EVAL_COMPARE);
  const model = modelArg(v.model as string | undefined, true)!;
  const quant = quantArg(v.quant as string, false);
  const text = v.text as string | undefined;
  if (text !== undefined && !fs.existsSync(text)) throw new UsageError(`--text: no such file "${text}"`);
  const ctxArg = int("ctx", v.ctx as string, 8, 1 << 20);
  const chunksArg = int("chunks", v.chunks as string, 1, 1 << 20);
  const seed = int("seed", v.seed as string, 0, Number.MAX_SAFE_INTEGER) ?? 1;
  const threads = int("threads", v.threads as string, 1, 256) ?? os.availableParallelism();
  const f = openGGUF(model);
  let tokenizer: Tokenizer, config: LlamaConfig;
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
    tokens = selfSample(ref.llama, chunks * ctx, tokenizer.bos, tokenizer.eos, seed);
    source = `self-sampled by the f32 model (seed ${seed}, temperature 0.8, ${tokens.length} tokens)`;
  }
  const r = evaluate(ref.llama, q.llama, tokens, ctx, tokenizer.bos);
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

function infoCmd(args: string[]): number {
  const { values: v } = parse(args, { model: { type: "string" }, json: { type: "boolean" } });
  if (v.help) return help(HELP_INFO);
  const model = modelArg(v.model as string | undefined, true)!;
  const f = openGGUF(model);
  try {
    const c = configFromGGUF(f);
    const tensors = f.tensors.map((t) => ({ name: t.name, type: t.type.name, shape: t.ne, bytes: t.byteLength }));
    const kvBytes = (ctx: number) => 2 * c.nLayers * Math.ceil(ctx / 16) * 16 * c.nKvHeads * c.headDim * 4; // as Llama allocates it
    const memory = QUANT_NAMES.map((qn) => ({ quant: qn, weightBytes: weightBytesOf(f, parseQuant(qn)) }));
    const ctxs = [...new Set([512, 2048, c.ctx].filter((x) => x <= c.ctx))].sort((a, b) => a - b);
    if (v.json) {
      process.stdout.write(JSON.stringify({ file: model, version: f.version, config: c, tensors, memory, kvCache: ctxs.map((x) => ({ ctx: x, bytes: kvBytes(x) })) }, null, 2) + "\n");
      return 0;
    }
    const lines = [
      `file:          ${model} (GGUF v${f.version}, ${mib(f.fileSize)}, ${f.tensors.length} tensors, alignment ${f.alignment})`,
      `name:          ${shown(f.get("general.name"))}`,
      `architecture:  ${c.arch}`,
      `dim ${c.dim}, layers ${c.nLayers}, heads ${c.nHeads} (KV ${c.nKvHeads}, head size ${c.headDim}), FFN ${c.hidden}, vocabulary ${c.vocab}`,
      `context ${c.ctx}, RMSNorm eps ${c.eps}, RoPE base ${c.ropeBase} over ${c.nRot} dims (normal), output ${f.tensor("output.weight") ? "separate" : "tied to token_embd"}`,
      `tokenizer:     ${shown(f.get("tokenizer.ggml.model"))}`,
      "",
      "tensor                                  type     shape (ne)            bytes",
    ];
    for (const t of tensors) lines.push(`${escapeControls(t.name).padEnd(40)}${t.type.padEnd(9)}${("[" + t.shape.join(", ") + "]").padEnd(22)}${t.bytes}`);
    lines.push("", "memory by quant (weights; + KV cache at each context length):");
    lines.push("quant          weights     " + ctxs.map((x) => `ctx ${x}`.padStart(14)).join(""));
    for (const m of memory) lines.push(`${m.quant.padEnd(15)}${mib(m.weightBytes).padStart(11)} ` + ctxs.map((x) => mib(m.weightBytes + kvBytes(x)).padStart(14)).join(""));
    lines.push(`KV cache: ${ctxs.map((x) => `${mib(kvBytes(x))} at ${x}`).join(", ")} (f32)`);
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    f.close();
  }
  return 0;
}

function help(text: string): number {
  process.stdout.write(text + "\n");
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "run": return await run(rest);
      case "eval": return isCompareEval(rest) ? await evalCompareCmd(rest) : await evalCmd(rest);
      case "quantize": return await quantizeCmd(rest);
      case "info": return infoCmd(rest);
      case "build": return await buildCmd(rest);
      case undefined: case "-h": case "--help": case "help": return help(HELP_MAIN);
      default: throw new UsageError(`unknown command "${cmd}" (expected run, eval, info, quantize or build)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`int4 ${cmd ?? ""}: ${e.message}\nRun \`int4 ${cmd && ["run", "eval", "info"].includes(cmd) ? cmd + " " : ""}--help\` for usage.\n`);
      return 2;
    }
    process.stderr.write(`int4 ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
