// Special tokens in text, as llama.cpp's tokenizer_st_partition: before the text is tokenized, it
// is cut at the texts of special tokens, longest token first, each occurrence becoming that
// token. User-defined tokens are always cut out (as Hugging Face tokenizers do); control and
// unknown tokens only when asked (parse_special), so text like "<|eot_id|>" typed by a user stays
// text by default.

export interface SpecialToken {
  id: number;
  text: string;
  /** control or unknown: only matched when parsing special tokens */
  control: boolean;
  /** whitespace left of / right of it is dropped (llama.cpp's LSTRIP / RSTRIP attributes) */
  lstrip: boolean;
  rstrip: boolean;
}

/** A piece of the text to tokenize, or a special token's id. */
export type Fragment = string | number;

// C isspace: what llama.cpp strips around LSTRIP/RSTRIP tokens
const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * Cuts `text` at special tokens. `specials` must be sorted longest text first (ties: lower id
 * first); the result alternates text and ids, with no empty text.
 */
export function partition(text: string, specials: readonly SpecialToken[], parseSpecial: boolean): Fragment[] {
  let frags: Fragment[] = text.length > 0 ? [text] : [];
  for (const sp of specials) {
    if (sp.control && !parseSpecial) continue;
    if (sp.text.length === 0 || !text.includes(sp.text)) continue; // cheap: most tokens never occur
    const out: Fragment[] = [];
    for (const f of frags) {
      if (typeof f === "number") { out.push(f); continue; }
      let from = 0;
      for (let at = f.indexOf(sp.text); at >= 0; at = f.indexOf(sp.text, from)) {
        let leftEnd = at;
        if (sp.lstrip) while (leftEnd > from && isSpace(f.charCodeAt(leftEnd - 1))) leftEnd--;
        if (leftEnd > from) out.push(f.slice(from, leftEnd));
        out.push(sp.id);
        from = at + sp.text.length;
        if (sp.rstrip) while (from < f.length && isSpace(f.charCodeAt(from))) from++;
      }
      if (from < f.length) out.push(from === 0 ? f : f.slice(from));
    }
    frags = out;
  }
  return frags;
}
