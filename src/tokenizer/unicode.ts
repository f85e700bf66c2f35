// Code point classes as llama.cpp's unicode.cpp sees them (its pre-tokenizers are defined by them,
// not by JavaScript's \s), and GPT-2's byte <-> unicode mapping of byte-level BPE.

/** Flags of a code point: one general category bit, plus WS. 0 = unassigned (llama.cpp's UNDEFINED). */
export const F_NUMBER = 1, F_LETTER = 2, F_PUNCT = 4, F_MARK = 8, F_SYMBOL = 16, F_OTHER = 32, F_WS = 64;

/**
 * llama.cpp's whitespace set (unicode_set_whitespace). Not JavaScript's \s: that one includes
 * U+FEFF and lacks U+0085, and the pre-tokenizers must split exactly where llama.cpp splits.
 */
const WHITESPACE = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];

// computed on first use per code point: a 1.1 MB table, cheaper than 1.1M regex tests up front
const flagTable = new Uint8Array(0x110000);
const COMPUTED = 128;
for (const c of WHITESPACE) flagTable[c] = COMPUTED | F_WS | categoryOf(c);

function categoryOf(c: number): number {
  const s = String.fromCodePoint(c);
  if (/\p{L}/u.test(s)) return F_LETTER;
  if (/\p{N}/u.test(s)) return F_NUMBER;
  if (/\p{P}/u.test(s)) return F_PUNCT;
  if (/\p{M}/u.test(s)) return F_MARK;
  if (/\p{S}/u.test(s)) return F_SYMBOL;
  if (/\p{Cn}/u.test(s)) return 0;
  return F_OTHER; // controls, format, private use, surrogates, separators
}

/** The flags of a code point (F_* bits; 0 for an unassigned one). */
export function cpFlags(c: number): number {
  let f = flagTable[c];
  if (f === 0) flagTable[c] = f = COMPUTED | categoryOf(c);
  return f & ~COMPUTED;
}

/** The code points of a string (a lone surrogate becomes U+FFFD, as UTF-8 encoding would make it). */
export function codePoints(s: string): Uint32Array {
  const out = new Uint32Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/**
 * GPT-2's byte -> character table: printable bytes stand for themselves, the others (controls,
 * space, 0x7F-0xA0, 0xAD) become U+0100 onwards, so every byte is a visible character of a token.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const t: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    t[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return t;
})();

/** The inverse of BYTE_TO_CHAR, by char code (-1: not a byte character). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => (t[ch.charCodeAt(0)] = b));
  return t;
})();
