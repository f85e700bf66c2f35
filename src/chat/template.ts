// Chat templates: a model's `tokenizer.chat_template` (Jinja) rendered with @huggingface/jinja
// (the engine node-llama-cpp and transformers.js use), or one of the common templates by name for
// models without one. Rendering gives text; special-token text in it (`<|im_start|>`) becomes its
// token when the text is tokenized with `special: true`, as llama.cpp does with a chat prompt.
import { Template } from "@huggingface/jinja";
import { rangeError, typeError } from "../errors";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | (string & {});
  content: string;
}

export interface RenderOptions {
  /** End with the start of the assistant's turn (default true). */
  addGenerationPrompt?: boolean;
  /** The text of the model's BOS and EOS tokens (templates may write them). */
  bosToken?: string;
  eosToken?: string;
}

/** Common templates by name, for models whose file has none (`--template NAME`). */
export const BUILTIN_TEMPLATES: Readonly<Record<string, string>> = {
  chatml:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama3:
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  llama2:
    "{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% set msgs = messages[1:] %}{% else %}{% set sys = '' %}{% set msgs = messages %}{% endif %}" +
    "{% for message in msgs %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + (sys if loop.first else '') + message['content'] | trim + ' [/INST]' }}{% else %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}",
  mistral:
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
  gemma:
    "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}" +
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
  phi3:
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
};

const cache = new Map<string, Template>();

function compile(source: string): Template {
  let t = cache.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw rangeError("chat template", "a Jinja template", `one that does not parse: ${(e as Error).message}`);
    }
    if (cache.size > 16) cache.clear();
    cache.set(source, t);
  }
  return t;
}

function checkMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages)) throw typeError("messages", "an array of { role, content }", messages);
  return messages.map((m, i) => {
    if (m === null || typeof m !== "object") throw typeError(`messages[${i}]`, "an object { role, content }", m);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== "string" || role.length === 0) throw typeError(`messages[${i}].role`, "a non-empty string", role);
    if (typeof content !== "string") throw typeError(`messages[${i}].content`, "a string", content);
    return { role, content };
  });
}

/** The text of a conversation in a template (a model's Jinja source, or a BUILTIN_TEMPLATES name). */
export function renderChat(template: string, messages: readonly ChatMessage[], options: RenderOptions = {}): string {
  if (typeof template !== "string" || template.length === 0) throw typeError("chat template", "a Jinja source or a template name", template);
  const source = BUILTIN_TEMPLATES[template] ?? template;
  const msgs = checkMessages(messages);
  try {
    return compile(source).render({
      messages: msgs,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: options.bosToken ?? "",
      eos_token: options.eosToken ?? "",
    });
  } catch (e) {
    // templates raise errors of their own ("Conversation roles must alternate ...")
    throw rangeError("chat template", "a conversation the template accepts", (e as Error).message);
  }
}
