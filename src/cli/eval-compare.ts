// The compare modes of `int4 eval` (./eval.ts): `int4 eval base --base FULL.gguf --model
// QUANT.gguf`, a quantized file against its source, and `int4 eval methods --model in.gguf
// --methods rtn,mse,... --format F`, several methods on the same text.
// Both score with src/model/eval.ts (llama.cpp's protocol: contexts of --ctx tokens, BOS first,
// second half scored); the quantized model runs as stored (quant "stored": 4-bit tensors as they
// are, F16/Q8_0 matrices at exactly their stored values).
import * as fs from "node:fs";
import * as os from "node:os";
import { openGGUF, type GGUFFile } from "../gguf/reader";
import { MODEL_TENSORS, layerTensor } from "../model/arch";
import { configFromGGUF } from "../model/config";
import { loadEngine, type Engine } from "../model/engine";
import { evaluate, selfSample, type EvalResult } from "../model/eval";
import { Transformer } from "../model/transformer";
import { tensorToF32 } from "../model/weights";
import { UsageError, fileArg, intArg, parseCli } from "./args";
import { formatArg, methodArg, prepareCalibration } from "./quantize";
import { disposeQuantized, isLlamaFormat, matrixBits, quantizeModel, toModelWeights, NEEDS_CALIBRATION, type ModelMethod } from "../quant/wholeModel";
import { Tokenizer } from "../tokenizer";

export const HELP_EVAL_COMPARE = `int4 eval base / methods: quantized models against full precision.

Usage:
  int4 eval base --base FULL.gguf --model QUANT.gguf [--text FILE] [--ctx N] [--json]
  int4 eval methods --model in.gguf --methods rtn,mse,awq,gptq --format F [--calib FILE] [--all-4bit] [--text FILE] [--json]
(without the mode name, as before: --base selects base, --methods selects methods)

base: the quantized file (--model) runs as stored against its source (--base) at f32. Prints the
KL divergence of its next-token distributions from the source's (mean ± standard error, median,
p99, max), top-1 agreement, RMS of the change in the correct token's probability, both
perplexities (± standard error) and their ratio; then the relative RMS error and SQNR of every
quantized matrix against the source, worst ten first.
methods: quantizes --model in memory with each method (as \`int4 quantize\` would) and prints one
table: bits/weight, mean KLD, top-1 agreement, PPL ratio.

Options:
  --ctx N       tokens per context (default 128); BOS first, the second half of each is scored
  --text FILE   text to score; default: text the f32 model samples itself (--seed, temperature 0.8)
  --chunks N    contexts at most (default: all of --text; 16 of self-sampled text)
  --seed S      seed of self-sampled text (default 1)
  --format F    (methods) q4_0, q4_1, q4_g32|64|128[_sym|_asym]
  --calib FILE  (methods) calibration text: needed by awq, gptq, awq+gptq (use a different text than --text)
  --all-4bit    (methods) every matrix 4-bit
  --sequential  (methods) calibrate layer by layer (see int4 quantize --help)
  --threads N   default: available CPUs
  --json        print the result as JSON
  -h, --help`;

const OPTIONS = {
  base: { type: "string" }, model: { type: "string" }, methods: { type: "string" }, format: { type: "string" },
  calib: { type: "string" }, "all-4bit": { type: "boolean" }, text: { type: "string" }, ctx: { type: "string" },
  chunks: { type: "string" }, seed: { type: "string" }, threads: { type: "string" }, json: { type: "boolean" },
  sequential: { type: "boolean" },
} as const;

export interface TensorError {
  name: string;
  type: string;
  relRms: number;
  sqnrDb: number;
  note?: string;
}

/**
 * Relative RMS error and SQNR of every matrix of `quant` whose type differs from `base`'s. awq
 * files hold W·diag(s) with the norm before them divided by s: s is recovered from the two norms
 * (attn_norm for q/k/v, ffn_norm for gate/up, output_norm for output) and undone; ffn_down's
 * scales went into ffn_up's rows and cannot be recovered exactly, so it is marked.
 */
export function tensorErrors(base: GGUFFile, quant: GGUFFile): TensorError[] {
  const awq = (quant.string("int4.quantize.method") ?? "").startsWith("awq");
  // the norm before each matrix awq scales (its input's producer), by tensor name
  const norms = new Map<string, string>([[MODEL_TENSORS.output, MODEL_TENSORS.outputNorm]]);
  const c = configFromGGUF(quant);
  for (let l = 0; l < c.nLayers; l++) {
    for (const m of ["wq", "wk", "wv"] as const) norms.set(layerTensor(l, m), layerTensor(l, "attnNorm"));
    for (const m of ["gate", "up"] as const) norms.set(layerTensor(l, m), layerTensor(l, "ffnNorm"));
  }
  const normOf = (name: string): string | null => norms.get(name) ?? null;
  const out: TensorError[] = [];
  for (const t of quant.tensors) {
    const b = base.tensor(t.name);
    if (!b || t.ne.length !== 2 || b.type.id === t.type.id) continue;
    const w = tensorToF32(base, b);
    const q = tensorToF32(quant, t);
    const K = t.ne[0];
    let note: string | undefined;
    const nn = awq ? normOf(t.name) : null;
    if (nn && base.tensor(nn) && quant.tensor(nn)) {
      const gb = tensorToF32(base, base.tensor(nn)!), gq = tensorToF32(quant, quant.tensor(nn)!);
      for (let i = 0; i < q.length; i++) {
        const k = i % K;
        if (gb[k] !== 0) q[i] *= gq[k] / gb[k]; // s_k = g_base / g_quant: W·s -> W
      }
    } else if (awq && /ffn_down/.test(t.name)) note = "awq-scaled columns (scales folded into ffn_up): error includes the scaling";
    let sig = 0, noise = 0;
    for (let i = 0; i < w.length; i++) {
      sig += w[i] * w[i];
      noise += (w[i] - q[i]) ** 2;
    }
    out.push({ name: t.name, type: t.type.name, relRms: sig > 0 ? Math.sqrt(noise / sig) : 0, sqnrDb: noise > 0 ? 10 * Math.log10(sig / noise) : Infinity, note });
  }
  return out.sort((a, b) => b.relRms - a.relRms);
}

const log = (s: string) => process.stderr.write(s + "\n");
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

interface Common {
  ctx: number;
  threads: number;
  json: boolean;
  text?: string;
  chunks?: number;
  seed: number;
}

function tokensFor(c: Common, tok: Tokenizer, base: Engine): { tokens: number[]; source: string } {
  if (c.text !== undefined) {
    let tokens = tok.encode(fs.readFileSync(c.text, "utf8"), { bos: true });
    if (c.chunks !== undefined) tokens = tokens.slice(0, c.chunks * c.ctx);
    if (tokens.length < c.ctx) throw new UsageError(`--text: "${c.text}" has ${tokens.length} tokens, fewer than one context of --ctx ${c.ctx}`);
    return { tokens, source: c.text };
  }
  const n = (c.chunks ?? 16) * c.ctx;
  const tokens = selfSample(base.transformer, n, tok.bos, tok.eos, c.seed);
  return { tokens, source: `self-sampled by the f32 model (seed ${c.seed}, temperature 0.8, ${tokens.length} tokens)` };
}

function summary(r: EvalResult) {
  return {
    klMean: r.klMean, klStdErr: r.klStdErr, klMedian: r.klMedian, klP99: r.klP99, klMax: r.klMax,
    top1Agreement: r.top1Agreement, dpRms: r.dpRms, pplRef: r.pplRef, pplRefErr: r.pplRefErr,
    pplQuant: r.pplQuant, pplQuantErr: r.pplQuantErr, pplRatio: r.pplRatio, pplRatioErr: r.pplRatioErr,
    chunks: r.chunks, scoredTokens: r.scoredTokens,
  };
}

async function baseMode(v: Record<string, string | boolean | undefined>, c: Common): Promise<number> {
  const basePath = fileArg("base", v.base, true)!;
  const model = fileArg("model", v.model, true)!;
  for (const k of ["format", "calib", "all-4bit"]) if (v[k] !== undefined) throw new UsageError(`--${k} goes with int4 eval methods, not with int4 eval base`);
  const bf = openGGUF(basePath);
  const qf = openGGUF(model);
  try {
    const tok = Tokenizer.fromGGUF(bf);
    const cb = configFromGGUF(bf), cq = configFromGGUF(qf);
    if (cb.dim !== cq.dim || cb.nLayers !== cq.nLayers || cb.vocab !== cq.vocab || cb.hidden !== cq.hidden) {
      throw new UsageError(`--model and --base are not the same architecture (dim ${cq.dim} vs ${cb.dim}, layers ${cq.nLayers} vs ${cb.nLayers}, vocabulary ${cq.vocab} vs ${cb.vocab})`);
    }
    const t0 = performance.now();
    const base = loadEngine({ source: { kind: "gguf", path: basePath }, quant: "f32", threads: c.threads, ctx: c.ctx });
    const q = loadEngine({ source: { kind: "gguf", path: model }, quant: "stored", threads: c.threads, ctx: c.ctx });
    const { tokens, source } = tokensFor(c, tok, base);
    const r = evaluate(base.transformer, q.transformer, tokens, c.ctx, tok.bos);
    const tensors = tensorErrors(bf, qf);
    // bits per weight of the file's matrices as stored
    let mBits = 0, mWeights = 0;
    for (const t of qf.tensors) if (t.ne.length === 2) { mBits += t.byteLength * 8; mWeights += t.elements; }
    const fileBitsPerWeight = mBits / mWeights;
    const res = {
      base: basePath, model, text: source, ctx: c.ctx, ...summary(r),
      bitsPerWeight: fileBitsPerWeight, weightBytes: q.info.weightBytes, baseWeightBytes: base.info.weightBytes,
      fileBytes: qf.fileSize, baseFileBytes: bf.fileSize,
      method: qf.string("int4.quantize.method") ?? null, tensors, seconds: (performance.now() - t0) / 1000,
    };
    if (c.json) process.stdout.write(JSON.stringify(res, null, 2) + "\n");
    else {
      const p = (x: number, d = 4) => x.toFixed(d);
      const lines = [
        `base:              ${basePath}`,
        `model:             ${model} (${mib(qf.fileSize)} vs ${mib(bf.fileSize)}; ${fileBitsPerWeight.toFixed(3)} bits/weight over its matrices)`,
        `text:              ${source}`,
        `contexts:          ${r.chunks} x ${c.ctx} tokens, ${r.scoredTokens} scored (second halves)`,
        `KL divergence:     mean ${p(r.klMean, 5)} ± ${p(r.klStdErr, 5)}   median ${p(r.klMedian, 5)}   p99 ${p(r.klP99, 5)}   max ${p(r.klMax, 5)}`,
        `top-1 agreement:   ${(r.top1Agreement * 100).toFixed(2)}%`,
        `RMS Δp:            ${(r.dpRms * 100).toFixed(3)}% (change in the correct token's probability)`,
        `perplexity:        base ${p(r.pplRef)} ± ${p(r.pplRefErr)}   model ${p(r.pplQuant)} ± ${p(r.pplQuantErr)}   ratio ${p(r.pplRatio)} ± ${p(r.pplRatioErr)}`,
        "",
        `quantized matrices: ${tensors.length}; worst ten by relative RMS error:`,
        "tensor                          type            rel RMS    SQNR dB",
        ...tensors.slice(0, 10).map((t) => `${t.name.padEnd(32)}${t.type.padEnd(16)}${(t.relRms * 100).toFixed(2).padStart(6)}%   ${t.sqnrDb.toFixed(2).padStart(7)}${t.note ? "  (" + t.note + ")" : ""}`),
      ];
      process.stdout.write(lines.join("\n") + "\n");
    }
    return 0;
  } finally {
    bf.close();
    qf.close();
  }
}

async function methodsMode(v: Record<string, string | boolean | undefined>, c: Common): Promise<number> {
  const model = fileArg("model", v.model, true)!;
  const methods = String(v.methods).split(",").map((m) => methodArg("methods", m.trim()));
  if (methods.length === 0) throw new UsageError("--methods: expected a comma-separated list of methods");
  const format = formatArg(v.format)!;
  const calibFile = fileArg("calib", v.calib, false);
  const need = methods.filter((m) => NEEDS_CALIBRATION.includes(m));
  if (need.length && !calibFile) throw new UsageError(`--methods ${need.join(",")} need --calib FILE (a text to run the model over)`);
  const allFourBit = v["all-4bit"] === true;
  const f = openGGUF(model);
  try {
    const tok = Tokenizer.fromGGUF(f);
    const base = loadEngine({ source: { kind: "gguf", path: model }, quant: "f32", threads: c.threads, ctx: c.ctx });
    const { tokens, source } = tokensFor(c, tok, base);
    const seqMode = v.sequential === true;
    const oneCal = calibFile && !seqMode ? prepareCalibration(model, calibFile, c.ctx, c.threads, false, c.json, methods.some((m) => m.includes("gptq")) && !isLlamaFormat(format)).calibration : undefined;
    const rows: Record<string, unknown>[] = [];
    for (const method of methods as ModelMethod[]) {
      const t0 = performance.now();
      // sequential calibration modifies its model: a fresh one per method
      const seq = calibFile && seqMode ? prepareCalibration(model, calibFile, c.ctx, c.threads, true, true).sequential : undefined;
      const qm = quantizeModel(f, { format, method, allFourBit, calibration: oneCal, sequential: seq, rowHessians: method.includes("gptq") && !isLlamaFormat(format) });
      const transformer = new Transformer(qm.config, toModelWeights(qm), { ctx: c.ctx, threads: c.threads });
      const r = evaluate(base.transformer, transformer, tokens, c.ctx, tok.bos);
      const bits = matrixBits(qm);
      rows.push({ method, format, allFourBit, bitsPerWeight: bits.bitsPerWeight, fileBitsPerWeight: bits.fileBitsPerWeight, nominalBitsPerWeight: bits.nominalBitsPerWeight, ...summary(r), awqAlpha: qm.awqAlpha, seconds: (performance.now() - t0) / 1000 });
      disposeQuantized(qm);
      if (!c.json) log(`${method}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (c.json) process.stdout.write(JSON.stringify({ model, format, allFourBit, text: source, ctx: c.ctx, calib: calibFile ?? null, results: rows }, null, 2) + "\n");
    else {
      const lines = [
        `model: ${model}   format: ${format}${allFourBit ? " (all 4-bit)" : ""}   text: ${source}, ctx ${c.ctx}`,
        "method     bits/weight  mean KLD (± se)        top-1     PPL ratio",
        ...rows.map((r) => `${String(r.method).padEnd(11)}${(r.bitsPerWeight as number).toFixed(3).padStart(11)}  ` +
          `${(r.klMean as number).toFixed(5)} ± ${(r.klStdErr as number).toFixed(5)}   ${((r.top1Agreement as number) * 100).toFixed(2).padStart(6)}%   ${(r.pplRatio as number).toFixed(4)}`),
      ];
      process.stdout.write(lines.join("\n") + "\n");
    }
    return 0;
  } finally {
    f.close();
  }
}

/** `int4 eval base` and `int4 eval methods`. */
export async function evalCompareCmd(mode: "base" | "methods", args: string[]): Promise<number> {
  const v = parseCli(args, OPTIONS);
  if (v.help) {
    process.stdout.write(HELP_EVAL_COMPARE + "\n");
    return 0;
  }
  const text = fileArg("text", v.text, false);
  const c: Common = {
    ctx: intArg("ctx", v.ctx, 8, 1 << 16) ?? 128,
    threads: intArg("threads", v.threads, 1, 256) ?? os.availableParallelism(),
    json: v.json === true,
    text,
    chunks: intArg("chunks", v.chunks, 1, 1 << 20),
    seed: intArg("seed", v.seed, 0, Number.MAX_SAFE_INTEGER) ?? 1,
  };
  if (mode === "base" && v.methods !== undefined) throw new UsageError("--methods goes with int4 eval methods, not with int4 eval base");
  if (mode === "methods" && v.base !== undefined) throw new UsageError("--base goes with int4 eval base, not with int4 eval methods");
  if (mode === "methods" && v.methods === undefined) throw new UsageError("--methods M1,M2,... is required");
  return mode === "base" ? await baseMode(v, c) : await methodsMode(v, c);
}
