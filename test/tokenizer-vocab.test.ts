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
