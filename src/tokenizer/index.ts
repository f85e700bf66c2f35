// The tokenizer: a vocabulary (vocabulary.ts, read from GGUF metadata), its encoding (spm.ts:
// SentencePiece-style, as llama.cpp's llm_tokenizer_spm) and a streaming decoder (decoder.ts).
import type { GGUFFile } from "../gguf/reader";
import { StreamDecoder } from "./decoder";
import { spmEncode, type SpmModel } from "./spm";
import { SPACE, TokenType, checkVocabulary, vocabularyFromGGUF, type Vocabulary } from "./vocabulary";

export { StreamDecoder } from "./decoder";
export { demoVocabulary } from "./demo";
export { TokenType, type Vocabulary } from "./vocabulary";

/**
 * Text to token ids and back for a vocabulary. `encode` follows llama.cpp's tokenizer for the
 * vocabulary's model (SentencePiece-style, spm.ts); `decoder()` streams complete UTF-8.
 */
export class Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly addBos: boolean;
  readonly #v: Vocabulary;
  readonly #ids = new Map<string, number>();
  readonly #byteIds = new Int32Array(256).fill(-1);
  readonly #pieceBytes: Uint8Array[];
  #maxPieceBytes = 1;
  readonly #spm: SpmModel;

  constructor(v: Vocabulary) {
    checkVocabulary(v);
    this.#v = v;
    this.vocabSize = v.tokens.length;
    this.bos = v.bos;
    this.eos = v.eos;
    this.addBos = v.addBos;
    const enc = new TextEncoder();
    this.#pieceBytes = new Array(v.tokens.length);
    v.tokens.forEach((t, id) => {
      const type = v.types[id] ?? TokenType.Normal;
      if (type === TokenType.Byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
        if (m) this.#byteIds[parseInt(m[1], 16)] = id;
        this.#pieceBytes[id] = m ? Uint8Array.of(parseInt(m[1], 16)) : new Uint8Array(0);
      } else if (type === TokenType.Control || type === TokenType.Unused) {
        this.#pieceBytes[id] = new Uint8Array(0);
      } else {
        this.#pieceBytes[id] = enc.encode(t.replaceAll(SPACE, " "));
      }
      this.#maxPieceBytes = Math.max(this.#maxPieceBytes, Buffer.byteLength(t, "utf8"));
      // only text pieces match text (control and byte tokens never do); first id wins for duplicates
      if ((type === TokenType.Normal || type === TokenType.UserDefined) && !this.#ids.has(t)) this.#ids.set(t, id);
    });
    this.#spm = { ids: this.#ids, scores: v.scores, byteIds: this.#byteIds, unk: v.unk, addSpacePrefix: v.addSpacePrefix };
  }

  /** The tokenizer of a GGUF file; "unsupported tokenizer" unless tokenizer.ggml.model is "llama". */
  static fromGGUF(f: GGUFFile): Tokenizer {
    return new Tokenizer(vocabularyFromGGUF(f));
  }

  /**
   * A lower bound of encode(text).length without tokenizing: no token covers more of the text's
   * UTF-8 bytes than the longest piece of the vocabulary. O(1) in the work of encode().
   */
  minTokens(text: string, options: { bos?: boolean } = {}): number {
    if (typeof text !== "string") throw new TypeError(`minTokens text: expected a string, got ${typeof text}`);
    const bos = (options.bos ?? this.addBos) ? 1 : 0;
    return bos + Math.ceil(Buffer.byteLength(text, "utf8") / this.#maxPieceBytes);
  }

  /** The piece of a token as stored in the vocabulary. */
  piece(id: number): string {
    return this.#v.tokens[id];
  }

  /** Text -> token ids (BOS first when `bos`, default: the file's add_bos_token). */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    if (typeof text !== "string") throw new TypeError(`encode text: expected a string, got ${typeof text}`);
    const out: number[] = [];
    if (options.bos ?? this.addBos) out.push(this.bos);
    return spmEncode(this.#spm, text, out);
  }

  /** Token ids -> text (the leading space of the first piece removed, as llama.cpp and llama2.c). */
  decode(ids: ArrayLike<number>): string {
    const d = this.decoder();
    let s = "";
    for (let i = 0; i < ids.length; i++) s += d.push(ids[i]);
    return s + d.flush();
  }

  /** A streaming decoder: push ids one at a time, get the text that is complete so far. */
  decoder(): StreamDecoder {
    return new StreamDecoder(this.#pieceBytes, this.#v.addSpacePrefix);
  }
}
