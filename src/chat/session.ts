// A chat session: a conversation with a model in its chat template. Each send() renders the
// whole conversation and generates the reply; the model's worker keeps the KV cache of the
// previous turns and runs only the tokens that are new (the prompt's prefix it already holds is
// reused: Model.generate), so a turn costs its own tokens, not the conversation's.
import { rangeError, typeError } from "../errors";
import type { GenerateOptions, Model } from "../model/model";
import type { GenerateStats } from "../model/protocol";
import { BUILTIN_TEMPLATES, renderChat, type ChatMessage } from "./template";

export interface ChatOptions {
  /** A system message first. */
  system?: string;
  /** A Jinja chat template or a built-in name (chatml, llama3, llama2, mistral, gemma, phi3); default: the model's tokenizer.chat_template. */
  template?: string;
}

/** A reply being generated: iterate it for the text as it comes, or await it for the whole reply. */
export interface Reply extends AsyncIterable<string>, PromiseLike<string> {}

export class ChatSession {
  readonly #model: Model;
  readonly #template: string;
  #messages: ChatMessage[] = [];
  readonly #system: string | undefined;
  #busy = false;

  constructor(model: Model, template: string | null, options: ChatOptions = {}) {
    if (options === null || typeof options !== "object") throw typeError("chat options", "an object { system, template }", options);
    for (const k of Object.keys(options)) if (k !== "system" && k !== "template") throw rangeError("chat options", "system, template", `option "${k}"`);
    if (options.system !== undefined && typeof options.system !== "string") throw typeError("system", "a string", options.system);
    if (options.template !== undefined && typeof options.template !== "string") throw typeError("template", "a Jinja template or a name", options.template);
    const t = options.template ?? template;
    if (!t) {
      throw rangeError("chat template", `the model's tokenizer.chat_template or options.template (one of ${Object.keys(BUILTIN_TEMPLATES).join(", ")}, or Jinja)`, "a model without a chat template");
    }
    this.#model = model;
    this.#template = t;
    this.#system = options.system;
    this.reset();
  }

  /** The conversation so far (a copy). */
  get messages(): ChatMessage[] {
    return this.#messages.map((m) => ({ ...m }));
  }

  /** Statistics of the last reply (cachedTokens: the prompt tokens the KV cache already held). */
  get lastStats(): GenerateStats | null {
    return this.#model.lastStats;
  }

  /** Forgets the conversation (keeps the system message). */
  reset(): void {
    this.#messages = this.#system !== undefined ? [{ role: "system", content: this.#system }] : [];
  }

  /** The prompt text for the conversation so far, ending with the start of the assistant's turn. */
  prompt(): string {
    const tok = this.#model.tokenizer;
    return renderChat(this.#template, this.#messages, { bosToken: tok.bos >= 0 ? tok.piece(tok.bos) : "", eosToken: tok.piece(tok.eos) });
  }

  /** Sends a user message and generates the reply (generate's options; special tokens are parsed). */
  send(text: string, options: Omit<GenerateOptions, "special" | "bos"> = {}): Reply {
    if (typeof text !== "string") throw typeError("chat message", "a string", text);
    if (this.#busy) throw new Error("ChatSession: send() is already running; one at a time");
    const stream = this.#stream(text, options);
    let all: Promise<string> | null = null;
    const collect = async () => {
      let s = "";
      for await (const p of stream) s += p;
      return s;
    };
    return {
      [Symbol.asyncIterator]: () => stream,
      then: (ok, fail) => (all ??= collect()).then(ok, fail),
    };
  }

  async *#stream(text: string, options: GenerateOptions): AsyncGenerator<string, void, undefined> {
    this.#busy = true;
    this.#messages.push({ role: "user", content: text });
    let reply = "";
    try {
      const prompt = this.prompt();
      const tok = this.#model.tokenizer;
      // a template that writes BOS itself gets no second one from the tokenizer
      const bosText = tok.bos >= 0 ? tok.piece(tok.bos) : "";
      const bos = bosText !== "" && prompt.startsWith(bosText) ? false : undefined;
      for await (const piece of this.#model.generate(prompt, { ...options, special: true, bos })) {
        reply += piece;
        yield piece;
      }
      this.#messages.push({ role: "assistant", content: reply });
    } catch (e) {
      this.#messages.pop(); // the turn did not happen
      throw e;
    } finally {
      this.#busy = false;
    }
  }
}
