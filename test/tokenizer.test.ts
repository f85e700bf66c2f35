// The SentencePiece-style tokenizer against llama2.c's reference encodings, byte fallback, UTF-8
// round trips and streaming decoding.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { GGUFError, Tokenizer, openGGUF } from "../src/index";
import { GGUFValueType as T } from "../src/gguf/types";
import { demoVocabulary } from "../src/tokenizer";
import { buildGGUF } from "./ggufBuilder";

const models = path.resolve(__dirname, "../../shared/models");
const storiesPath = path.join(models, "stories260K-f32.gguf");
const have = fs.existsSync(storiesPath);
if (!have) console.warn(`skipping tokenizer tests that need ${storiesPath} (shared test model absent)`);
const tok = () => {
  const f = openGGUF(storiesPath);
  try {
    return Tokenizer.fromGGUF(f);
  } finally {
    f.close();
  }
};

// deterministic random strings over many scripts, emoji and control characters
function randomText(seed: number, n: number): string {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const ranges = [[0x20, 0x7e], [0x00, 0x1f], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x4e00, 0x9fff], [0x1f300, 0x1f6ff], [0x10000, 0x10ffff]];
  let out = "";
  for (let i = 0; i < n; i++) {
    const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)];
    let cp = lo + Math.floor(rnd() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    out += rnd() < 0.15 ? " " : String.fromCodePoint(cp);
  }
  return out;
}

describe.runIf(have)("tokenizer of stories260K (tokenizer.ggml.*)", () => {
  it("encodes the reference texts to the reference ids", () => {
    const t = tok();
    expect(t.encode("Once upon a time")).toEqual([1, 403, 407, 261, 378]);
    const logits = JSON.parse(fs.readFileSync(path.join(models, "stories260K_logits.json"), "utf8"));
    expect(t.encode(logits.text)).toEqual(logits.token_ids);
    const greedy = JSON.parse(fs.readFileSync(path.join(models, "stories260K_greedy.json"), "utf8")).runs[0];
    expect(t.encode(greedy.prompt)).toEqual(greedy.prompt_ids);
    expect(t.bos).toBe(1);
    expect(t.eos).toBe(2);
  });

  it("decodes the reference ids to the reference text (leading space of the first piece removed)", () => {
    const t = tok();
    const greedy = JSON.parse(fs.readFileSync(path.join(models, "stories260K_greedy.json"), "utf8")).runs[0];
    expect(t.decode(greedy.ids) + "\n").toBe(greedy.text);
    expect(t.decode(t.encode("  two leading spaces"))).toBe("  two leading spaces");
  });

  it("falls back to byte tokens for characters outside the vocabulary", () => {
    const t = tok();
    // 世 is not a piece of this 512-token vocabulary: its UTF-8 bytes E4 B8 96 become byte tokens
    const ids = t.encode("世");
    expect(ids.map((i) => t.piece(i))).toEqual(["<s>", "▁", "<0xE4>", "<0xB8>", "<0x96>"]);
    expect(t.decode(ids)).toBe("世");
    const emoji = t.encode("🎉", { bos: false });
    expect(emoji.map((i) => t.piece(i))).toEqual(["▁", "<0xF0>", "<0x9F>", "<0x8E>", "<0x89>"]);
  });

  it("round-trips arbitrary UTF-8", () => {
    const t = tok();
    for (let seed = 1; seed <= 40; seed++) {
      const s = randomText(seed, 1 + (seed * 7) % 60);
      expect(t.decode(t.encode(s)), `seed ${seed}`).toBe(s);
    }
    expect(t.encode("", { bos: true })).toEqual([1]);
    expect(t.encode("", { bos: false })).toEqual([]);
  });

  it("streams valid UTF-8: a character split over byte tokens appears once it is complete", () => {
    const t = tok();
    const ids = t.encode("a🎉b", { bos: true });
    const d = t.decoder();
    const pieces = ids.map((i) => d.push(i));
    expect(pieces.join("") + d.flush()).toBe("a🎉b");
    for (const p of pieces) expect(p).not.toMatch(/\uFFFD/);
    expect(pieces.filter((p) => p === "")).not.toHaveLength(0); // the first bytes of 🎉 wait
    expect(() => d.push(100000)).toThrow(RangeError);
  });
});

describe("tokenizer errors and the demo vocabulary", () => {
  it("rejects tokenizers other than SentencePiece-style llama and byte-level BPE gpt2", () => {
    const f = openGGUF(buildGGUF({ kv: [["tokenizer.ggml.model", T.STRING, "bert"], ["tokenizer.ggml.tokens", T.ARRAY, ["a"], T.STRING]], tensors: [] }));
    expect(() => Tokenizer.fromGGUF(f)).toThrow(GGUFError);
    expect(() => Tokenizer.fromGGUF(f)).toThrow(/unsupported tokenizer "bert"/);
    const g = openGGUF(buildGGUF({ kv: [], tensors: [] }));
    expect(() => Tokenizer.fromGGUF(g)).toThrow(/unsupported tokenizer null/);
  });

  it("rejects an unknown pre-tokenizer by name, and a gpt2 vocabulary without merges", () => {
    const kv = (pre: string) => [["tokenizer.ggml.model", T.STRING, "gpt2"], ["tokenizer.ggml.pre", T.STRING, pre],
      ["tokenizer.ggml.tokens", T.ARRAY, ["a", "b", "ab"], T.STRING], ["tokenizer.ggml.merges", T.ARRAY, ["a b"], T.STRING]] as const;
    const f = openGGUF(buildGGUF({ kv: kv("no-such-pre") as never, tensors: [] }));
    expect(() => Tokenizer.fromGGUF(f)).toThrow(GGUFError);
    expect(() => Tokenizer.fromGGUF(f)).toThrow(/unknown pre-tokenizer "no-such-pre" \(tokenizer.ggml.pre; supported: default, llama3/);
    const ok = Tokenizer.fromGGUF(openGGUF(buildGGUF({ kv: kv("gpt-2") as never, tensors: [] })));
    expect(ok.model).toBe("gpt2");
    expect(ok.encode("abab ba", { bos: false })).toEqual([2, 2, 1, 0]); // " " is no token here: dropped, as llama.cpp drops it
    const noMerges = openGGUF(buildGGUF({ kv: [["tokenizer.ggml.model", T.STRING, "gpt2"], ["tokenizer.ggml.tokens", T.ARRAY, ["a"], T.STRING]], tensors: [] }));
    expect(() => Tokenizer.fromGGUF(noMerges)).toThrow(/tokenizer.ggml.merges should be an array of strings/);
    const v = { ...demoVocabulary(300), model: "gpt2" as const, merges: [], pre: "nope" };
    expect(() => new Tokenizer(v)).toThrow(RangeError);
    expect(() => new Tokenizer({ ...v, merges: undefined })).toThrow(TypeError);
  });

  it("rejects a token list of the wrong kind and ids out of range", () => {
    const f = openGGUF(buildGGUF({ kv: [["tokenizer.ggml.model", T.STRING, "llama"], ["tokenizer.ggml.tokens", T.ARRAY, [1, 2], T.INT32]], tensors: [] }));
    expect(() => Tokenizer.fromGGUF(f)).toThrow(/tokenizer.ggml.tokens should be an array of strings/);
    const g = openGGUF(buildGGUF({
      kv: [["tokenizer.ggml.model", T.STRING, "llama"], ["tokenizer.ggml.tokens", T.ARRAY, ["a", "b"], T.STRING], ["tokenizer.ggml.bos_token_id", T.UINT32, 7]],
      tensors: [],
    }));
    expect(() => Tokenizer.fromGGUF(g)).toThrow(/bos_token_id = 7 is not a token id in \[0, 2\)/);
  });

  it("the demo vocabulary has 32000 pieces and round-trips text", () => {
    const t = new Tokenizer(demoVocabulary());
    expect(t.vocabSize).toBe(32000);
    for (let seed = 1; seed <= 10; seed++) {
      const s = randomText(seed, 40);
      expect(t.decode(t.encode(s))).toBe(s);
    }
    const ids = t.encode("once upon a time");
    expect(ids.length).toBeLessThan(8); // word pieces merge
  });
});
