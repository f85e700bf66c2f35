// Chat templates: the models' own Jinja (from ../shared/vocab) and the built-in common ones,
// rendered for a fixed conversation, and bad input refused clearly.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_TEMPLATES, renderChat, type ChatMessage } from "../src/chat/template";
import { openGGUF } from "../src/gguf/reader";

const vocab = path.resolve(__dirname, "..", "..", "shared", "vocab");
const conversation: ChatMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Hi!" },
  { role: "assistant", content: "Hello." },
  { role: "user", content: "And then?" },
];

describe("chat templates", () => {
  it.skipIf(!fs.existsSync(vocab))("Qwen2's template from its GGUF (ChatML)", () => {
    const f = openGGUF(path.join(vocab, "ggml-vocab-qwen2.gguf"));
    const t = f.string("tokenizer.chat_template")!;
    f.close();
    expect(renderChat(t, conversation)).toBe(
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n" +
      "<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n");
    // the template's default system prompt when the conversation has none
    expect(renderChat(t, [{ role: "user", content: "Hi!" }], { addGenerationPrompt: false })).toBe(
      "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n");
  });

  it.skipIf(!fs.existsSync(vocab))("Phi-3's template from its GGUF (BOS written by the template)", () => {
    const f = openGGUF(path.join(vocab, "ggml-vocab-phi-3.gguf"));
    const t = f.string("tokenizer.chat_template")!;
    f.close();
    expect(renderChat(t, conversation.slice(1), { bosToken: "<s>" })).toBe(
      "<s><|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nAnd then?<|end|>\n<|assistant|>\n");
  });

  it("the built-in common templates", () => {
    expect(renderChat("chatml", conversation.slice(0, 2))).toBe("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    expect(renderChat("llama3", conversation.slice(0, 2), { bosToken: "<|begin_of_text|>" })).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect(renderChat("gemma", conversation.slice(1, 3), { bosToken: "<bos>", addGenerationPrompt: false })).toBe(
      "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n");
    expect(renderChat("mistral", conversation.slice(1, 3), { bosToken: "<s>", eosToken: "</s>" })).toBe("<s>[INST] Hi![/INST]Hello.</s>");
    expect(Object.keys(BUILTIN_TEMPLATES).sort()).toEqual(["chatml", "gemma", "llama2", "llama3", "mistral", "phi3"]);
  });

  it("refuses bad input with TypeError / RangeError", () => {
    expect(() => renderChat("chatml", "hi" as never)).toThrow(TypeError);
    expect(() => renderChat("chatml", [{ role: "user" } as never])).toThrow(/messages\[0\]\.content/);
    expect(() => renderChat("", conversation)).toThrow(TypeError);
    expect(() => renderChat("{% for %}", conversation)).toThrow(/does not parse/);
    expect(() => renderChat("{{ raise_exception('roles must alternate') }}", conversation)).toThrow(/roles must alternate/);
  });
});

// The rendered prompt's token ids: int4's tokenizer (special: true, the model's BOS rule) against
// llama.cpp's on the same text (node-llama-cpp, vocabulary-only load), for the vocabularies with
// templates in ../shared/vocab and the common templates on the Llama 3 vocabulary.
import { Tokenizer } from "../src/tokenizer";
// @ts-expect-error: an .mjs module of the benchmarks without types
import { LlamaCpp, findNodeLlamaCpp } from "../bench/lib/llamacpp.mjs";

const haveLlama = fs.existsSync(vocab) && (findNodeLlamaCpp() as { dir: string | null }).dir !== null;
describe.skipIf(!haveLlama)("chat prompts tokenize as llama.cpp tokenizes them", () => {
  const cases: [string, string | null][] = [["qwen2", null], ["phi-3", null], ["llama-bpe", "llama3"], ["qwen2", "chatml"]];
  for (const [name, builtin] of cases) {
    it(`${name}: ${builtin ?? "its own template"}`, async () => {
      const file = path.join(vocab, `ggml-vocab-${name}.gguf`);
      const f = openGGUF(file);
      const tok = Tokenizer.fromGGUF(f);
      const template = builtin ?? f.string("tokenizer.chat_template")!;
      f.close();
      const bosText = tok.bos === null || tok.bos === undefined ? "" : tok.piece(tok.bos);
      const text = renderChat(template, conversation, { bosToken: bosText, eosToken: tok.piece(tok.eos) });
      // a template that writes BOS itself: no second one from the tokenizer (as llama.cpp's chat path)
      const ids = tok.encode(text, { special: true, bos: text.startsWith(bosText) && bosText !== "" ? false : undefined });
      const l = await LlamaCpp.start();
      try {
        await l.loadVocab(file);
        let ref: number[] = await l.tokenize(text, { special: true });
        if (bosText !== "" && text.startsWith(bosText) && ref[0] === tok.bos && ref[1] === tok.bos) ref = ref.slice(1);
        expect(ids).toEqual(ref);
      } finally {
        await l.close();
      }
    }, 60_000);
  }
});
if (!haveLlama) describe("chat prompts tokenize as llama.cpp tokenizes them", () => it.skip("../shared/vocab or node-llama-cpp is absent", () => {}));
