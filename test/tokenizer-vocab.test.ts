// llama.cpp's own tokenizer test vectors (test-tokenizer-0) on its vocabulary-only GGUF files:
// SentencePiece (llama-spm, phi-3) and byte-level BPE (llama-bpe, qwen2, gpt-2), case for case.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { Tokenizer, openGGUF } from "../src/index";

const dir = path.resolve(__dirname, "../../shared/vocab");
const have = fs.existsSync(path.join(dir, "README.md"));
if (!have) console.warn(`skipping llama.cpp tokenizer vectors: ${dir} (shared test data) absent`);

export const VOCABS = ["llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2"];

export function loadVocab(name: string): Tokenizer {
  const f = openGGUF(path.join(dir, `ggml-vocab-${name}.gguf`));
  try {
    return Tokenizer.fromGGUF(f);
  } finally {
    f.close();
  }
}

/** The inputs and llama.cpp's ids (add_special = false, parse_special = false). */
export function vectors(name: string): { text: string; ids: number[] }[] {
  const inp = fs.readFileSync(path.join(dir, `ggml-vocab-${name}.gguf.inp`), "utf8");
  const texts: string[] = [];
  const sep = "\n__ggml_vocab_test__\n";
  let rest = inp;
  for (let at = rest.indexOf(sep); at >= 0; at = rest.indexOf(sep)) {
    texts.push(rest.slice(0, at));
    rest = rest.slice(at + sep.length);
  }
  const lines = fs.readFileSync(path.join(dir, `ggml-vocab-${name}.gguf.out`), "utf8").split("\n");
  return texts.map((text, i) => ({ text, ids: lines[i].trim() === "" ? [] : lines[i].trim().split(/\s+/).map(Number) }));
}

describe.runIf(have)("llama.cpp's tokenizer vectors", () => {
  for (const name of VOCABS) {
    it(`${name}: every case gives llama.cpp's ids, and decodes back`, () => {
      const t = loadVocab(name);
      const cases = vectors(name);
      expect(cases.length).toBeGreaterThan(40);
      const failed: string[] = [];
      for (const { text, ids } of cases) {
        const got = t.encode(text, { bos: false, eos: false, special: false });
        if (JSON.stringify(got) !== JSON.stringify(ids)) failed.push(`${JSON.stringify(text)}: got ${got.join(" ")}, llama.cpp ${ids.join(" ")}`);
      }
      expect(failed).toEqual([]);
      for (const { text, ids } of cases) {
        // SentencePiece drops the leading space it added; its text loses nothing else
        if (t.model === "gpt2") expect(t.decode(ids)).toBe(text);
      }
    });
  }
});

describe.runIf(have)("special tokens, BOS/EOS, stop tokens and decoding on real vocabularies", () => {
  it("Llama 3: control-token text is matched only with special: true; add_bos_token defaults on", () => {
    const t = loadVocab("llama-bpe");
    expect(t.addBos).toBe(true); // llama.cpp's default for the llama3 pre-tokenizer
    const hi = t.encode("Hi", { bos: false });
    expect(t.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", { bos: false, special: true }))
      .toEqual([128006, ...t.encode("user", { bos: false }), 128007, ...t.encode("\n\nHi", { bos: false }), 128009]);
    const plain = t.encode("Hi<|eot_id|>", { special: false });
    expect(plain[0]).toBe(128000);
    expect(plain).not.toContain(128009);
    expect(t.decode(plain)).toBe("Hi<|eot_id|>"); // the text survives as text
    expect(t.encode("Hi")).toEqual([128000, ...hi]);
    expect(t.encode("Hi", { eos: true, bos: false })).toEqual([...hi, 128001]);
    expect(t.eot).toBe(128009);
    expect([...t.stopTokens].sort()).toEqual(expect.arrayContaining([128001, 128009]));
  });

  it("decodes control tokens to nothing by default, to their text with special: true", () => {
    const t = loadVocab("llama-bpe");
    const ids = t.encode("<|begin_of_text|>Hello<|eot_id|>", { bos: false, special: true });
    expect(ids[0]).toBe(128000);
    expect(t.decode(ids)).toBe("Hello");
    expect(t.decode(ids, { special: true })).toBe("<|begin_of_text|>Hello<|eot_id|>");
    const d = t.decoder({ special: true });
    expect(ids.map((i) => d.push(i)).join("") + d.flush()).toBe("<|begin_of_text|>Hello<|eot_id|>");
    expect(() => t.decoder({ special: 1 as never })).toThrow(TypeError);
    expect(() => t.encode("x", { special: "yes" as never })).toThrow(TypeError);
  });

  it("Qwen2: <|im_end|> is the end-of-turn token, user-defined tokens always match, no BOS by default", () => {
    const t = loadVocab("qwen2");
    expect(t.addBos).toBe(false);
    expect(t.eot).toBe(151645);
    expect(t.stopTokens.has(151643) && t.stopTokens.has(151645)).toBe(true);
    const ids = t.encode("<|im_start|>user\nhi<|im_end|>\n", { special: true });
    expect(ids[0]).toBe(151644);
    expect(ids).toContain(151645);
    expect(t.encode("x[PAD151646]y")).toEqual([...t.encode("x"), 151646, ...t.encode("y")]);
    expect(t.encode("<|im_end|>")).not.toContain(151645);
  });

  it("Phi-3: spaces after a special token are dropped (llama.cpp's RSTRIP), the next text gets its leading space", () => {
    const t = loadVocab("phi-3");
    // </s> is USER_DEFINED in Phi-3's vocabulary: matched even without special
    expect(t.encode("a</s>  b", { bos: false })).toEqual([...t.encode("a", { bos: false }), 2, ...t.encode("b", { bos: false })]);
    expect(t.encode("<|user|>\nHi<|end|>", { bos: true, special: true })[1]).toBe(32010);
    expect(t.stopTokens.has(32000) && t.stopTokens.has(32007)).toBe(true);
  });

  it("round-trips arbitrary text through every byte-level vocabulary, streaming valid UTF-8", () => {
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (const name of ["llama-bpe", "qwen2", "gpt-2"]) {
      const t = loadVocab(name);
      for (let k = 0; k < 20; k++) {
        let text = "";
        for (let i = 0; i < 50; i++) {
          const r = rnd();
          text += r < 0.2 ? " " : r < 0.25 ? "\n" : String.fromCodePoint([0x41, 0xe9, 0x4e2d, 0x1f600, 0x3b1, 0x5d0][Math.floor(rnd() * 6)] + Math.floor(rnd() * 20));
        }
        const ids = t.encode(text, { bos: false });
        expect(t.decode(ids), name).toBe(text);
        const d = t.decoder();
        const pieces = ids.map((i) => d.push(i));
        for (const p of pieces) expect(p).not.toMatch(/\uFFFD/);
        expect(pieces.join("") + d.flush()).toBe(text);
      }
    }
  });
});
