// `int4 quantize`: a GGUF model in, a quantized GGUF model out (README "Quantization methods").
//   int4 quantize --model in.gguf --out out.gguf --format q4_0 --method gptq --calib text.txt
// Calibration (--calib) runs the f32 model over the text (src/quant/calibrate.ts); the tensors are
// quantized by src/quant/wholeModel.ts and written atomically by src/gguf/writer.ts with all the
// source's metadata plus the method, format, group size, calibration hash and int4's version.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toWriterValue } from "../gguf/metadata";
import { openGGUF, type GGUFFile } from "../gguf/reader";
import { ggufTensorFromFloat, ggufTensorFromQTensor, writeGGUF, type GGUFTensorSpec, type GGUFValue } from "../gguf/writer";
import { configFromGGUF } from "../model/config";
import { loadEngine } from "../model/engine";
import { packageRoot } from "../native";
import { calibrate, progressBar, type Calibration } from "../quant/calibrate";
import type { SequentialCalibration } from "../quant/wholeModel";
import {
  FORMATS, LLAMA_FORMATS, MODEL_METHODS, NEEDS_CALIBRATION, disposeQuantized, formatSpec, isLlamaFormat, matrixBits, parseFormat, quantizeModel,
  type Format, type ModelMethod, type QuantizedModel,
} from "../quant/wholeModel";
import { int4FormatName } from "../formatNames";
import { LLAMA_FTYPE_ID, type LlamaFileType } from "../quant/llamaTypes";
import { Tensor } from "../tensor";
import { Tokenizer } from "../tokenizer";
import { UsageError, fileArg, intArg, mib, numArg, parseCli } from "./args";

export const HELP_QUANTIZE = `int4 quantize: write a quantized GGUF model.

Usage:
  int4 quantize --model in.gguf --out out.gguf --format F --method M [--calib text.txt]

Options:
  --model FILE    source GGUF model (llama architecture; usually F32 or F16)
  --out FILE      the quantized model (written atomically: temporary file, fsync, rename)
  --format F      q4_0, q4_1: llama.cpp's Q4_0 / Q4_1 blocks (group 32); llama.cpp loads the file.
                  Tensor types as llama-quantize: norms F32, output.weight Q8_0, matrices whose rows
                  are not a multiple of 32 F16, the rest Q4_0 / Q4_1.
                  ${LLAMA_FORMATS.join(", ")}:
                  llama.cpp's file types with llama-quantize's tensor types per tensor (e.g. q4_k_m:
                  Q4_K, with Q6_K for output.weight and some attn_v / ffn_down); --method rtn writes
                  llama-quantize's bytes (no importance matrix); mse is llama.cpp's importance-
                  weighted search with diag(H) of --calib; gptq (Q4_K, Q5_K, Q6_K, IQ4_XS) chooses
                  the codes and sub-block scales at the same types and sizes (awq: as mse / gptq).
                  q4_g32|q4_g64|q4_g128 with _sym (default) or _asym: int4's layouts (GGUF extension
                  types; llama.cpp rejects them as unknown types). output.weight Q8_0.
  --method M      ${MODEL_METHODS.join(", ")} (default rtn). awq, gptq and awq+gptq need --calib;
                  mse uses --calib's input energies as importance when given.
  --calib FILE    calibration text (UTF-8); the f32 model runs over it in contexts of --ctx tokens
  --ctx N         calibration context length (default 128)
  --sequential    calibrate one pass per layer, with the layers before it already quantized (as
                  gptq's reference implementation; slower); default: one pass of the f32 model
  --all-4bit      every matrix 4-bit (output.weight and rows not a multiple of 32 included)
  --damp R        gptq damping, relative to mean(diag H) (default 0.01; 0.1 for the K-quant / IQ4_XS
                  super-block types of the llama.cpp formats)
  --threads N     threads for the calibration forward pass (default: available CPUs)
  -h, --help`;

export function formatArg(v: unknown, required = true): Format | undefined {
  if (v === undefined) {
    if (required) throw new UsageError(`--format is required (one of ${FORMATS.join(", ")})`);
    return undefined;
  }
  const s = String(v);
  // llama-quantize's spelling (Q4_K_M, IQ4_XS) as well as int4's lower case
  const f = parseFormat(s) ?? parseFormat(s.toLowerCase());
  if (!f) throw new UsageError(`--format: expected one of ${FORMATS.join(", ")} (or q4_g32, q4_g64, q4_g128: _sym), got "${s}"`);
  return f;
}

export function methodArg(name: string, v: string): ModelMethod {
  if (!(MODEL_METHODS as readonly string[]).includes(v)) throw new UsageError(`--${name}: expected one of ${MODEL_METHODS.join(", ")}, got "${v}"`);
  return v as ModelMethod;
}

const log = (s: string) => process.stderr.write(s + "\n");

export interface CalibrationText {
  tokens: number[];
  bos: number;
  sha256: string;
}

/** Reads and tokenizes a calibration text (BOS first) and hashes its bytes. */
export function readCalibrationText(model: string, textFile: string, ctx: number): CalibrationText {
  const text = fs.readFileSync(textFile);
  const sha256 = createHash("sha256").update(text).digest("hex");
  const f = openGGUF(model);
  let tok: Tokenizer;
  try {
    configFromGGUF(f);
    tok = Tokenizer.fromGGUF(f);
  } finally {
    f.close();
  }
  const tokens = tok.encode(text.toString("utf8"), { bos: true });
  if (tokens.length < ctx) throw new UsageError(`--calib: "${textFile}" has ${tokens.length} tokens, fewer than one context of --ctx ${ctx}`);
  return { tokens, bos: tok.bos, sha256 };
}

/**
 * The calibration of `int4 quantize` / `eval methods`: one pass of the f32 model (default), or
 * sequential (--sequential: statistics of each layer collected with the layers before it
 * quantized). rowHessians: also the per-row Hessians of ffn_gate / ffn_up / output (gptq methods).
 */
export function prepareCalibration(model: string, textFile: string, ctx: number, threads: number, sequential: boolean, quiet = false,
                                   rowHessians: boolean | "output" = false):
    { calibration?: Calibration; sequential?: SequentialCalibration; sha256: string; tokens: number } {
  const ct = readCalibrationText(model, textFile, ctx);
  const transformer = loadEngine({ source: { kind: "gguf", path: model }, quant: "f32", threads, ctx }).transformer;
  const used = Math.floor(ct.tokens.length / ctx) * ctx;
  if (sequential) {
    if (!quiet) log(`calibration: ${used} tokens (${used / ctx} contexts of ${ctx}), sequential: one pass per layer, each with the layers before it quantized`);
    return { sequential: { transformer, tokens: ct.tokens, ctx, bos: ct.bos }, sha256: ct.sha256, tokens: used };
  }
  const cal = calibrate(transformer, ct.tokens, ctx, ct.bos, quiet ? undefined : progressBar("calibration", "contexts"), rowHessians);
  if (!quiet) {
    const distinct = new Set(cal.inputs.values()).size;
    log(`calibration: ${cal.tokens} tokens (${cal.contexts} contexts of ${ctx}) in ${cal.seconds.toFixed(1)} s; ` +
      `statistics of ${distinct} distinct layer inputs: ${mib(cal.bytes)}; peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`);
  }
  return { calibration: cal, sha256: ct.sha256, tokens: used };
}

function int4Version(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageRoot, "package.json"), "utf8")).version as string;
  } catch {
    return "unknown";
  }
}

export interface QuantizeInfo {
  format: Format;
  method: ModelMethod;
  allFourBit: boolean;
  calibration?: { sha256: string; tokens: number; ctx: number };
}

/** The source's metadata, with file type and int4's quantization keys set. */
export function quantizedMetadata(f: GGUFFile, qi: QuantizeInfo): [string, GGUFValue][] {
  const out: [string, GGUFValue][] = [];
  const own = new Set(["general.file_type", "general.quantization_version"]);
  for (const [k, v] of f.metadata) {
    if (own.has(k) || k.startsWith("int4.")) continue;
    out.push([k, toWriterValue(f.metadataTypes.get(k)!, v)]);
  }
  // llama_ftype (only for files llama.cpp can load whole)
  if (!qi.allFourBit && (qi.format === "q4_0" || qi.format === "q4_1" || isLlamaFormat(qi.format))) {
    out.push(["general.file_type", { type: "u32", value: LLAMA_FTYPE_ID[qi.format as LlamaFileType] }]);
  }
  out.push(["general.quantization_version", { type: "u32", value: 2 }]);
  const { groupSize, scheme } = formatSpec(qi.format);
  out.push(["int4.version", { type: "string", value: int4Version() }]);
  out.push(["int4.quantize.method", { type: "string", value: qi.method }]);
  out.push(["int4.quantize.format", { type: "string", value: qi.format }]);
  out.push(["int4.quantize.group_size", { type: "u32", value: groupSize }]);
  out.push(["int4.quantize.scheme", { type: "string", value: scheme }]);
  out.push(["int4.quantize.all_4bit", { type: "bool", value: qi.allFourBit }]);
  if (qi.calibration) {
    out.push(["int4.quantize.calibration.sha256", { type: "string", value: qi.calibration.sha256 }]);
    out.push(["int4.quantize.calibration.tokens", { type: "u32", value: qi.calibration.tokens }]);
    out.push(["int4.quantize.calibration.ctx", { type: "u32", value: qi.calibration.ctx }]);
  }
  return out;
}

/** GGUF tensor specs of a quantized model, in the source's order. */
export function quantizedTensorSpecs(qm: QuantizedModel): GGUFTensorSpec[] {
  return qm.tensors.map((t) => {
    if (t.q) return ggufTensorFromQTensor(t.name, t.q);
    return ggufTensorFromFloat(t.name, new Tensor(t.values!, t.dims), t.type as "f32" | "f16" | "q8_0");
  });
}

export async function quantizeCmd(args: string[]): Promise<number> {
  const v = parseCli(args, {
    model: { type: "string" }, out: { type: "string" }, format: { type: "string" }, method: { type: "string" },
    calib: { type: "string" }, ctx: { type: "string" }, "all-4bit": { type: "boolean" }, damp: { type: "string" },
    threads: { type: "string" }, sequential: { type: "boolean" },
  });
  if (v.help) {
    process.stdout.write(HELP_QUANTIZE + "\n");
    return 0;
  }
  const model = fileArg("model", v.model, true)!;
  if (v.out === undefined) throw new UsageError("--out FILE is required");
  const out = String(v.out);
  if (!fs.existsSync(path.dirname(path.resolve(out)))) throw new UsageError(`--out: no such directory "${path.dirname(out)}"`);
  if (path.resolve(out) === path.resolve(model)) throw new UsageError("--out: must differ from --model");
  const format = formatArg(v.format)!;
  const method = methodArg("method", (v.method as string | undefined) ?? "rtn");
  const calibFile = fileArg("calib", v.calib, false);
  if (NEEDS_CALIBRATION.includes(method) && !calibFile) throw new UsageError(`--method ${method} needs --calib FILE (a text to run the model over)`);
  const ctx = intArg("ctx", v.ctx, 8, 1 << 16) ?? 128;
  const damp = numArg("damp", v.damp, 0, 100);
  const threads = intArg("threads", v.threads, 1, 256) ?? os.availableParallelism();
  const allFourBit = v["all-4bit"] === true;
  const t0 = performance.now();
  // per-row Hessians (gptq): int4's formats; llama.cpp's types gain nothing measurable from them on
  // student-k256 (output.weight is Q6_K there) and the FFN's cost minutes (README)
  const rowHessians = method.includes("gptq") && !isLlamaFormat(format);
  const calib = calibFile ? prepareCalibration(model, calibFile, ctx, threads, v.sequential === true, false, rowHessians) : undefined;
  const f = openGGUF(model);
  try {
    const qm = quantizeModel(f, {
      format, method, allFourBit, calibration: calib?.calibration, sequential: calib?.sequential, dampRatio: damp,
      rowHessians,
      progress: progressBar("quantize", "tensors"),
    });
    const metadata = quantizedMetadata(f, {
      format, method, allFourBit, calibration: calib && { sha256: calib.sha256, tokens: calib.tokens, ctx },
    });
    const bytes = await writeGGUF(out, { metadata, tensors: quantizedTensorSpecs(qm) });
    const b = matrixBits(qm);
    const types = new Map<string, number>();
    for (const t of qm.tensors) {
      const name = t.q ? (t.q.ggmlType ?? int4FormatName(t.q.groupSize, t.q.scheme)) : t.type;
      types.set(name, (types.get(name) ?? 0) + 1);
    }
    log(`wrote ${out}: ${mib(bytes)} (source ${mib(f.fileSize)}), ${b.fileBitsPerWeight.toFixed(3)} bits/weight over the matrices ` +
      `(nominal ${b.nominalBitsPerWeight.toFixed(3)}, ${b.bitsPerWeight.toFixed(3)} in memory); ` +
      `tensor types: ${[...types].map(([k, n]) => `${n} ${k}`).join(", ")}`);
    if (Object.keys(qm.awqAlpha).length) log(`awq α: ${Object.entries(qm.awqAlpha).map(([k, a]) => `${k} ${a.toFixed(2)}`).join(", ")}`);
    log(`method ${method}, format ${format}${allFourBit ? ", all 4-bit" : ""}: ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`);
    disposeQuantized(qm);
  } finally {
    f.close();
  }
  return 0;
}
