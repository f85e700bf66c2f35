// Messages between a Model (main thread) and its worker (src/model/worker.ts).
// Generated token ids travel through a SharedArrayBuffer, not messages: the worker writes
// ids[i] and ctrl[COUNT] (or, at the end, ctrl[DONE]), then bumps ctrl[SEQ] and notifies on it;
// the main thread reads SEQ before it looks at COUNT and DONE and waits with Atomics.waitAsync on
// SEQ, so an event between its look and its wait is never missed (waiting on COUNT alone missed
// a DONE that came in that gap, and generate() hung). The main thread asks for a stop by setting
// ctrl[ABORT]; the worker checks it before every token.
import type { LoadSpec, ModelInfo } from "./engine";
import type { SamplerOptions } from "../sampler";

export const COUNT = 0;
export const DONE = 1;
export const ABORT = 2;
export const SEQ = 3;

/** Publishes an event (a token or the end) written to ctrl before this call. */
export function publish(ctrl: Int32Array): void {
  Atomics.add(ctrl, SEQ, 1);
  Atomics.notify(ctrl, SEQ);
}
/** Int32 slots before the token ids. */
export const HEADER = 4;

export type StopReason = "eos" | "maxTokens" | "abort" | "context";

export interface GenerateStats {
  promptTokens: number;
  /** Of promptTokens, those whose keys and values the KV cache already held (the prompt began with them): not run again. */
  cachedTokens: number;
  promptMs: number;
  generatedTokens: number;
  /** Time from the first generated token to the last: `generateForwards` forward passes (M = 1) and samplings. */
  generateMs: number;
  generateForwards: number;
  stopReason: StopReason;
}

export type ToWorker =
  | { type: "load"; spec: LoadSpec }
  /** `stop`: the tokens that end generation (the tokenizer's stopTokens: EOS, end of turn, ...) */
  | { type: "generate"; id: number; tokens: Int32Array; maxTokens: number; sampler: SamplerOptions; shared: SharedArrayBuffer; stop: Int32Array; reuseCache: boolean }
  /** Long prompts are tokenized here, off the caller's event loop. */
  | { type: "tokenize"; id: number; text: string; special: boolean; bos?: boolean };

export type FromWorker =
  | { type: "loaded"; info: ModelInfo }
  | { type: "done"; id: number; stats: GenerateStats }
  | { type: "tokens"; id: number; tokens: Int32Array }
  | { type: "error"; id: number | null; name: string; message: string };
