// SentencePiece encoding word by word (spmEncode splits where no merge can cross and caches
// words) equals llama.cpp's merge over the whole text (encodePieces), on both SentencePiece
// vocabularies of ../shared/vocab and texts with runs of spaces, newlines, punctuation, digits,
// accents, CJK and emoji.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openGGUF } from "../src/gguf/reader";
import { encodePieces, spmEncode } from "../src/tokenizer/spm";
import { SPACE } from "../src/tokenizer/vocabulary";
import { rng } from "./helpers/ggmlRef";

const vocab = path.resolve(__dirname, "..", "..", "shared", "vocab");
const pieces = ["the", " ", "  ", "   ", "\n", "\n\n", "cat", "Hello", ",", ".", "!", "123", "4567", "é", "naïve", "你好", "世界", "🙂", "a", "Z", "--", "(x)", "\t", "don't", "   indented", "x y"];

describe.skipIf(!fs.existsSync(vocab))("SentencePiece word by word equals the whole-text merge", () => {
  for (const name of ["llama-spm", "phi-3"]) {
    it(name, () => {
      const f = openGGUF(path.join(vocab, `ggml-vocab-${name}.gguf`));
      const tokens = f.array("tokenizer.ggml.tokens")!.values as ArrayLike<string>;
      const scores = f.array("tokenizer.ggml.scores")!.values as ArrayLike<number>;
      f.close();
      const ids = new Map<string, number>();
      const byteIds = new Int32Array(256).fill(-1);
      for (let i = 0; i < tokens.length; i++) {
        if (!ids.has(tokens[i])) ids.set(tokens[i], i);
        const b = /^<0x([0-9A-F]{2})>$/.exec(tokens[i]);
        if (b) byteIds[parseInt(b[1], 16)] = i;
      }
      const m = { ids, scores, byteIds, unk: 0, addSpacePrefix: true };
      const r = rng(7);
      for (let c = 0; c < 200; c++) {
        let text = "";
        const n = 1 + Math.floor(r() * 30);
        for (let i = 0; i < n; i++) text += pieces[Math.floor(r() * pieces.length)];
        const whole = encodePieces(m, (" " + text).replaceAll(" ", SPACE), []);
        expect(spmEncode(m, text, []), JSON.stringify(text)).toEqual(whole);
      }
    });
  }
});
if (!fs.existsSync(vocab)) describe("SentencePiece word by word", () => it.skip("../shared/vocab is absent", () => {}));
