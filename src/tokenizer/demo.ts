// The built-in demo model's synthetic vocabulary.
import { SPACE, TokenType, type Vocabulary } from "./vocabulary";

/**
 * The demo model's vocabulary (32000 pieces): <unk>, <s>, </s>, the 256 byte tokens, printable
 * ASCII, then word pieces ("▁" plus letters) and letter pairs and triples. Synthetic: it tokenizes
 * any text, but it was not learned from data, and the demo's random weights produce random text.
 */
export function demoVocabulary(size = 32000): Vocabulary {
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.Unknown, TokenType.Control, TokenType.Control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.Byte);
  }
  const seen = new Set<string>();
  const add = (t: string) => {
    if (tokens.length >= size || seen.has(t)) return;
    seen.add(t);
    tokens.push(t);
    types.push(TokenType.Normal);
  };
  add(SPACE);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c));
  const words = ("the of and to in is was he for it with as his on be at by had are but from or have an they which one you were " +
    "her all she there would their we him been has when who will more no if out so said what up its about into than them can only " +
    "other new some could time these two may then do first any my now such like our over man me even most made after also did many " +
    "before must through back years where much your way well down should because each just those people how too little state good " +
    "very make world still own see men work long get here between both life being under never day same another know while last " +
    "might us great old year off come since against go came right used take three once upon girl boy named lily tom ball park play").split(" ");
  for (const w of words) for (let i = 2; i <= w.length + 1; i++) add(SPACE + w.slice(0, i - 1));
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (const a of letters) for (const b of letters) add(a + b);
  for (const a of letters) for (const b of letters) add(SPACE + a + b);
  for (const a of letters) for (const b of letters) for (const c of letters) add(a + b + c);
  for (const a of letters) for (const b of letters) for (const c of letters) for (const d of letters) add(a + b + c + d);
  const scores = new Float32Array(tokens.length).map((_, i) => -i);
  return { tokens, scores, types: Int32Array.from(types), bos: 1, eos: 2, unk: 0, addBos: true, addSpacePrefix: true };
}
