// The command line's one argument parser and its checks: every command parses with parseCli and
// reports a bad command line as a UsageError (printed by main with the command's usage hint, exit
// code 2).
import * as fs from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { QUANT_NAMES, type QuantName } from "../model/quant";

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
