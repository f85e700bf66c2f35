// The bodies of POST /v1/chat/completions and /v1/completions, checked field by field: a wrong
// field is a 400 that names it (badParam). Fields int4 does not use (user, logprobs: false, ...)
// are ignored, as most OpenAI-compatible servers do; ones that change the answer and that int4
// cannot honour (n > 1, tools) are refused rather than silently dropped.
import type { ChatMessage } from "../chat/template";
import type { SamplerOptions } from "../sampler";
import { HttpError, badParam } from "./errors";

export interface Common {
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
  stop: string[];
  sampler: SamplerOptions;
}

export interface ChatRequest extends Common {
  messages: ChatMessage[];
}

export interface CompletionRequest extends Common {
  prompt: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function num(body: Record<string, unknown>, name: string, lo: number, hi: number, integer = false): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw badParam(name, `a number in [${lo}, ${hi}]`, v, "invalid_type");
  if (v < lo || v > hi || (integer && !Number.isInteger(v))) throw badParam(name, `${integer ? "an integer" : "a number"} in [${lo}, ${hi}]`, v);
  return v;
}

function common(body: Record<string, unknown>): Common {
  const stream = body.stream ?? false;
  if (typeof stream !== "boolean") throw badParam("stream", "a boolean", stream, "invalid_type");
  const so = body.stream_options;
  if (so !== undefined && so !== null && !isObject(so)) throw badParam("stream_options", "an object { include_usage }", so, "invalid_type");
  const includeUsage = isObject(so) && so.include_usage === true;
  const n = num(body, "n", 1, 1, true);
  void n; // one choice only
  const maxTokens = num(body, "max_completion_tokens", 1, 1 << 24, true) ?? num(body, "max_tokens", 1, 1 << 24, true);
  let stop: string[] = [];
  const s = body.stop;
  if (typeof s === "string") stop = [s];
  else if (Array.isArray(s)) {
    if (s.length > 4 || !s.every((x) => typeof x === "string")) throw badParam("stop", "a string or up to 4 strings", s, "invalid_type");
    stop = s as string[];
  } else if (s !== undefined && s !== null) throw badParam("stop", "a string or up to 4 strings", s, "invalid_type");
  stop = stop.filter((x) => x.length > 0);
  const sampler: SamplerOptions = {};
  const temperature = num(body, "temperature", 0, 2);
  if (temperature !== undefined) sampler.temperature = temperature;
  const topP = num(body, "top_p", 0, 1);
  if (topP !== undefined) sampler.topP = topP;
  const seed = num(body, "seed", -(2 ** 53) + 1, 2 ** 53 - 1, true);
  if (seed !== undefined) sampler.seed = Math.abs(seed);
  // llama.cpp's extensions, which its users send
  const topK = num(body, "top_k", 0, 2 ** 31, true);
  if (topK !== undefined) sampler.topK = topK;
  const minP = num(body, "min_p", 0, 1);
  if (minP !== undefined) sampler.minP = minP;
  const rp = num(body, "repeat_penalty", 0.01, 100);
  if (rp !== undefined) sampler.repeatPenalty = rp;
  if (body.tools !== undefined && body.tools !== null) throw badParam("tools", "no tools (int4 serve does not call tools)", "tools", "unsupported_parameter");
  return { stream, includeUsage, maxTokens, stop, sampler };
}

function parseBody(raw: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (e) {
    throw new HttpError(400, `the body is not valid JSON: ${(e as Error).message}`, null, "invalid_json");
  }
  if (!isObject(body)) throw new HttpError(400, `the body: expected a JSON object, got ${Array.isArray(body) ? "an array" : JSON.stringify(body)}`, null, "invalid_json");
  return body;
}

/** A message's content: a string, or the array of parts the API allows (text parts only). */
function content(v: unknown, i: number): string {
  if (typeof v === "string") return v;
  if (v === null) return "";
  if (Array.isArray(v)) {
    return v.map((p, j) => {
      if (!isObject(p) || p.type !== "text" || typeof p.text !== "string") throw badParam(`messages[${i}].content[${j}]`, 'a part { type: "text", text }', p, "invalid_type");
      return p.text;
    }).join("");
  }
  throw badParam(`messages[${i}].content`, "a string or an array of text parts", v, "invalid_type");
}

export function parseChat(raw: string): ChatRequest {
  const body = parseBody(raw);
  const m = body.messages;
  if (m === undefined) throw badParam("messages", "an array of { role, content }", undefined, "missing_required_parameter");
  if (!Array.isArray(m)) throw badParam("messages", "an array of { role, content }", m, "invalid_type");
  if (m.length === 0) throw badParam("messages", "at least one message", m);
  const messages = m.map((x, i): ChatMessage => {
    if (!isObject(x)) throw badParam(`messages[${i}]`, "an object { role, content }", x, "invalid_type");
    if (typeof x.role !== "string" || !["system", "developer", "user", "assistant", "tool"].includes(x.role)) {
      throw badParam(`messages[${i}].role`, "one of system, developer, user, assistant, tool", x.role);
    }
    // "developer" is the newer name of "system"; templates know only the latter
    return { role: x.role === "developer" ? "system" : x.role, content: content(x.content, i) };
  });
  return { ...common(body), messages };
}

export function parseCompletion(raw: string): CompletionRequest {
  const body = parseBody(raw);
  let p = body.prompt;
  if (Array.isArray(p) && p.length === 1) p = p[0]; // one prompt per request
  if (p === undefined) throw badParam("prompt", "a string", undefined, "missing_required_parameter");
  if (typeof p !== "string") throw badParam("prompt", "a string", p, "invalid_type");
  return { ...common(body), prompt: p };
}
