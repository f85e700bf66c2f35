// Messages between a Model (main thread) and its worker (src/model/worker.ts).
// Generated token ids travel through a SharedArrayBuffer, not messages: the worker writes
// ids[i], bumps ctrl[COUNT] and notifies; the main thread waits with Atomics.waitAsync. The
// main thread asks for a stop by setting ctrl[ABORT]; the worker checks it before every token.
import type { LoadSpec, ModelInfo } from "./engine";
import type { SamplerOptions } from "../sampler";

export const COUNT = 0;
export const DONE = 1;
export const ABORT = 2;
/** Int32 slots before the token ids. */
export const HEADER = 4;

export type StopReason = "eos" | "maxTokens" | "abort" | "context";

export interface GenerateStats {
  promptTokens: number;
  promptMs: number;
  generatedTokens: number;
  /** Time from the first generated token to the last: `generateForwards` forward passes (M = 1) and samplings. */
  generateMs: number;
  generateForwards: number;
  stopReason: StopReason;
}

export type ToWorker =
  | { type: "load"; spec: LoadSpec }
  | { type: "generate"; id: number; tokens: Int32Array; maxTokens: number; sampler: SamplerOptions; shared: SharedArrayBuffer };

export type FromWorker =
  | { type: "loaded"; info: ModelInfo }
  | { type: "done"; id: number; stats: GenerateStats }
  | { type: "error"; id: number | null; name: string; message: string };
