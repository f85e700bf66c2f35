// `int4 serve`: an OpenAI-compatible HTTP server on Node's own http module.
//
//   POST /v1/chat/completions   messages in the model's chat template (or --template); stream or not
//   POST /v1/completions        a plain prompt
//   GET  /v1/models             the one model
//   GET  /health                { status, slots, busy, queued, tokens_generated }
//
// Requests run concurrently on the model (loadModel({ parallel })): its worker decodes up to
// `parallel` of them in one forward pass each step (continuous batching, src/model/batch.ts); the
// rest wait in its queue, and past `maxQueue` waiting a request gets 429. A client that goes away
// aborts its generation, which leaves the batch at the next step and frees its slot.
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import { renderChat } from "../chat/template";
import type { GenerateStats } from "../model/protocol";
import type { Model } from "../model/model";
import { HttpError, badParam, sendError } from "./errors";
import { parseChat, parseCompletion, type Common } from "./requests";
import { StopMatcher } from "./stops";

export interface ServeOptions {
  /** The name /v1/models reports (and responses carry). */
  modelName: string;
  /** A chat template (Jinja or a built-in name) instead of the model's. */
  template?: string;
  /** Largest request body in bytes (default 1 MiB); past it, 413. */
  maxBody?: number;
  /** Requests that may wait for a slot (default 64); past them, 429. */
  maxQueue?: number;
}

type Kind = "chat" | "text";

export class Int4Server {
  readonly http: http.Server;
  readonly #template: string | null;
  readonly #maxBody: number;
  readonly #maxQueue: number;
  /** Requests generating or waiting for a slot. */
  #inflight = 0;
  /** Tokens generated since the start, aborted generations included (/health: shows that an abort stopped the work). */
  #generated = 0;

  constructor(readonly model: Model, readonly options: ServeOptions) {
    this.#template = options.template ?? model.chatTemplate;
    this.#maxBody = options.maxBody ?? 1 << 20;
    this.#maxQueue = options.maxQueue ?? 64;
    this.http = http.createServer((req, res) => {
      this.#handle(req, res).catch((e) => sendError(res, e instanceof HttpError ? e : new HttpError(500, (e as Error).message)));
    });
  }

  /** Listens on host:port (port 0: a free one); resolves with the address. */
  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, host, () => {
        this.http.off("error", reject);
        const a = this.http.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops listening and drops open connections (their generations abort). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    const route = `${req.method} ${path}`;
    if (route === "GET /health") return json(res, 200, { status: "ok", slots: this.model.info.parallel, busy: Math.min(this.#inflight, this.model.info.parallel), queued: Math.max(0, this.#inflight - this.model.info.parallel), tokens_generated: this.#generated });
    if (route === "GET /v1/models") return json(res, 200, { object: "list", data: [{ id: this.options.modelName, object: "model", created: 0, owned_by: "int4" }] });
    if (route !== "POST /v1/chat/completions" && route !== "POST /v1/completions") {
      const known = ["/health", "/v1/models", "/v1/chat/completions", "/v1/completions"].includes(path);
      throw new HttpError(known ? 405 : 404, known ? `${req.method} ${path}: method not allowed` : `no route ${req.method} ${path}`, null, known ? "method_not_allowed" : "not_found");
    }
    const raw = await readBody(req, this.#maxBody);
    if (route === "POST /v1/chat/completions") {
      const r = parseChat(raw);
      if (this.#template === null) throw new HttpError(400, "this model has no chat template: start the server with --template NAME (chatml, llama3, ...), or use /v1/completions", "messages", "no_chat_template");
      let text: string;
      try {
        const tok = this.model.tokenizer;
        text = renderChat(this.#template, r.messages, { bosToken: tok.bos >= 0 ? tok.piece(tok.bos) : "", eosToken: tok.piece(tok.eos) });
      } catch (e) {
        throw new HttpError(400, (e as Error).message, "messages", "invalid_value");
      }
      return this.#generate(res, r, this.#tokens(text, true), "chat");
    }
    const r = parseCompletion(raw);
    return this.#generate(res, r, this.#tokens(r.prompt, false), "text");
  }

  /** Tokenizes a prompt; a chat prompt's special-token text becomes those tokens, and a template that writes BOS gets no second one. */
  #tokens(text: string, chat: boolean): number[] {
    const tok = this.model.tokenizer, ctx = this.model.info.ctx, param = chat ? "messages" : "prompt";
    // a prompt that cannot fit is refused before the work of tokenizing it (on this thread)
    const least = tok.minTokens(text);
    if (least >= ctx) throw new HttpError(400, `${param}: at least ${least} tokens, the context holds ${ctx} (prompt and completion)`, param, "context_length_exceeded");
    const bosText = tok.bos >= 0 ? tok.piece(tok.bos) : "";
    const bos = chat && bosText !== "" && text.startsWith(bosText) ? false : undefined;
    return tok.encode(text, { special: chat, bos });
  }

  async #generate(res: http.ServerResponse, r: Common, tokens: number[], kind: Kind): Promise<void> {
    const ctx = this.model.info.ctx, param = kind === "chat" ? "messages" : "prompt";
    if (tokens.length === 0) throw badParam(param, "a prompt of at least one token", "an empty one");
    if (tokens.length >= ctx) throw new HttpError(400, `${param}: ${tokens.length} tokens, the context holds ${ctx} (prompt and completion)`, param, "context_length_exceeded");
    const room = ctx - tokens.length;
    if (r.maxTokens !== undefined && r.maxTokens > room) {
      throw badParam("max_tokens", `at most ${room} (the context of ${ctx} tokens less the prompt's ${tokens.length})`, r.maxTokens, "context_length_exceeded");
    }
    if (this.#inflight >= this.model.info.parallel + this.#maxQueue) {
      throw new HttpError(429, `busy: ${this.#inflight} requests running or waiting (--parallel ${this.model.info.parallel} plus a queue of ${this.#maxQueue}); retry later`, null, "rate_limit_exceeded");
    }
    this.#inflight++;
    // a client that goes away aborts its generation (which frees its slot at the next step)
    const ac = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      await this.#stream(res, r, tokens, kind, r.maxTokens ?? room, ac.signal);
    } finally {
      this.#inflight--;
    }
  }

  async #stream(res: http.ServerResponse, r: Common, tokens: number[], kind: Kind, maxTokens: number, signal: AbortSignal): Promise<void> {
    const id = (kind === "chat" ? "chatcmpl-" : "cmpl-") + randomUUID();
    const created = Math.floor(Date.now() / 1000), model = this.options.modelName;
    const object = kind === "chat" ? (r.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
    const choice = (text: string | null, finish: string | null) =>
      kind === "chat"
        ? { index: 0, delta: text === null ? {} : { content: text }, logprobs: null, finish_reason: finish }
        : { index: 0, text: text ?? "", logprobs: null, finish_reason: finish };
    const event = (o: object) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    if (r.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      if (kind === "chat") event({ id, object, created, model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
    }
    const stopper = new StopMatcher(r.stop);
    let all = "", generated = 0, stopped = false, stats: GenerateStats | null = null, done = false;
    const emit = (text: string) => {
      if (text === "") return;
      all += text;
      if (r.stream) event({ id, object, created, model, choices: [choice(text, null)] });
    };
    const it = this.model.generateTokens(tokens, { ...r.sampler, maxTokens, signal });
    try {
      for (;;) {
        const x = await it.next();
        if (x.done) {
          done = true;
          stats = x.value;
          break;
        }
        generated = x.value.tokens;
        const out = stopper.push(x.value.text);
        emit(out.text);
        if (out.stopped) {
          stopped = true;
          break;
        }
      }
    } finally {
      if (!done) await it.return(null); // a stop string came: stop generating
      this.#generated += stats?.generatedTokens ?? generated;
    }
    if (signal.aborted || stats === null && !stopped) return; // the client went away (or the model was disposed)
    if (!stopped) emit(stopper.flush());
    // exact counts: the tokens the worker generated (to the one that completed a stop string)
    const completion = stopped ? generated : stats!.generatedTokens;
    const usage = { prompt_tokens: tokens.length, completion_tokens: completion, total_tokens: tokens.length + completion };
    const finish = stopped || stats!.stopReason === "eos" ? "stop" : "length";
    if (r.stream) {
      event({ id, object, created, model, choices: [choice(null, finish)] });
      if (r.includeUsage) event({ id, object, created, model, choices: [], usage });
      res.end("data: [DONE]\n\n");
      return;
    }
    const c = kind === "chat"
      ? { index: 0, message: { role: "assistant", content: all }, logprobs: null, finish_reason: finish }
      : { index: 0, text: all, logprobs: null, finish_reason: finish };
    json(res, 200, { id, object, created, model, choices: [c], usage });
  }
}

function json(res: http.ServerResponse, status: number, body: object): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
  res.end(s);
}

/** The request body as text; past `limit` bytes, 413 (and the rest is not read). */
function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, `the body is larger than ${limit} bytes`, null, "request_too_large");
    if (Number(req.headers["content-length"] ?? 0) > limit) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume(); // drain, so the 413 can be read
        reject(tooLarge());
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
    // a client that goes away before sending the whole body: nothing to answer
    req.on("close", () => {
      if (!req.complete) reject(new HttpError(400, "the request ended before its body", null, "incomplete_body"));
    });
  });
}
