// The command line's one argument parser and its checks: every command parses with parseCli and
// reports a bad command line as a UsageError (printed by main with the command's usage hint, exit
// code 2).
import * as fs from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { QUANT_NAMES, type QuantName } from "../model/quant";
import type { SamplerOptions } from "../sampler";

/** A bad command line: printed with the command's usage hint, exit code 2. */
export class UsageError extends Error {}

export type Values = Record<string, string | boolean | undefined>;

export function parseCli(args: string[], options: ParseArgsConfig["options"]): Values {
  try {
    return parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: false, strict: true }).values as Values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function intArg(name: string, v: unknown, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  const n = Number(s);
  if (!/^\s*-?\d+\s*$/.test(s) || !Number.isSafeInteger(n) || n < lo || n > hi) throw new UsageError(`--${name}: expected an integer in [${lo}, ${hi}], got "${s}"`);
  return n;
}

export function numArg(name: string, v: unknown, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n < lo || n > hi) throw new UsageError(`--${name}: expected a number in [${lo}, ${hi}], got "${s}"`);
  return n;
}

export function fileArg(name: string, v: unknown, required: boolean): string | undefined {
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} FILE is required`);
    return undefined;
  }
  const s = String(v);
  if (!fs.existsSync(s) || !fs.statSync(s).isFile()) throw new UsageError(`--${name}: no such file "${s}"`);
  return s;
}

/** --quant Q: one of QUANT_NAMES (f32 only where allowed). */
export function quantArg(v: string | undefined, allowF32 = true): QuantName {
  const q = v ?? "q4";
  if (!(QUANT_NAMES as readonly string[]).includes(q) || (!allowF32 && q === "f32")) {
    throw new UsageError(`--quant: expected one of ${QUANT_NAMES.filter((x) => allowF32 || x !== "f32").join(", ")}, got "${q}"`);
  }
  return q as QuantName;
}

/** Prints a command's help text; exit code 0. */
export function showHelp(text: string): number {
  process.stdout.write(text + "\n");
  return 0;
}

export const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The sampling options of the commands that generate (chat; run lists the same ones). */
export const SAMPLER_ARGS = {
  temp: { type: "string" }, "top-k": { type: "string" }, "top-p": { type: "string" }, "min-p": { type: "string" },
  "repeat-penalty": { type: "string" }, seed: { type: "string" },
} as const;

export const SAMPLER_HELP = `  --temp T            temperature, 0 = greedy (default 0.8)
  --top-k K           default 40 (0 = off)
  --top-p P           default 0.95 (1 = off)
  --min-p P           default 0.05 (0 = off)
  --repeat-penalty R  default 1 (off)
  --seed S            default: random`;

/** The sampler options given on the command line (SAMPLER_ARGS); the library's defaults for the rest. */
export function samplerArgs(v: Values): SamplerOptions {
  const o: SamplerOptions = {
    temperature: numArg("temp", v.temp, 0, 100),
    topK: intArg("top-k", v["top-k"], 0, 1 << 30),
    topP: numArg("top-p", v["top-p"], 0, 1),
    minP: numArg("min-p", v["min-p"], 0, 1),
    repeatPenalty: numArg("repeat-penalty", v["repeat-penalty"], 0.01, 100),
    seed: intArg("seed", v.seed, 0, Number.MAX_SAFE_INTEGER),
  };
  for (const k of Object.keys(o) as (keyof SamplerOptions)[]) if (o[k] === undefined) delete o[k];
  return o;
}
