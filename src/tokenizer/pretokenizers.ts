// Byte-level BPE pre-tokenizers: how a text is cut into words before merges, keyed by the GGUF
// tokenizer.ggml.pre name, as llama.cpp's llm_tokenizer_bpe (src/llama-vocab.cpp) and
// unicode_regex_split (src/unicode.cpp) do it. Each type is a list of regexes applied in turn, each
// one cutting the pieces the previous ones left (the text between matches stays a piece too).
// llama.cpp runs most regexes on a "collapsed" text (every non-ASCII code point replaced by one
// character per Unicode category, non-ASCII whitespace by \v), and the GPT-2 and Llama-3 patterns
// on hand-written scanners; both are reproduced here, quirks included, so the words are the same.
import { F_LETTER, F_MARK, F_NUMBER, F_PUNCT, F_SYMBOL, F_WS, codePoints, cpFlags } from "./unicode";

export interface PreTokenizer {
  /** The regexes, in llama.cpp's spelling (the custom scanners are recognised by their text). */
  regexes: readonly string[];
  /** A word that is a whole token is that token, merges or not (llama.cpp's ignore_merges). */
  ignoreMerges: boolean;
  /** add_bos_token when the file does not say. */
  addBos: boolean;
  /** The BOS id is none (chatglm). */
  noBos?: boolean;
}

const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
export const GPT2_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
export const LLAMA3_RE = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2_RE = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const PORO_RE = " ?[^(\\s|.,!?…。，、।۔،)]+";
const TEKKEN_RE = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT4O_RE = `[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const t = (regexes: string[], o: Partial<PreTokenizer> = {}): PreTokenizer => ({ regexes, ignoreMerges: false, addBos: false, ...o });
const LLAMA3 = t([LLAMA3_RE], { ignoreMerges: true, addBos: true });
const GPT2 = t([GPT2_RE]);
const STARCODER = t(["\\p{N}", GPT2_RE]);
const QWEN2 = t([QWEN2_RE]);
const PORO = t([PORO_RE]);

/** The pre-tokenizer types, by tokenizer.ggml.pre (the names llama.cpp maps to each). */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizer>> = {
  default: t(["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RE, "\\p{N}+", "[0-9][0-9][0-9]"]),
  ...Object.fromEntries(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"].map((n) => [n, LLAMA3])),
  dbrx: t([LLAMA3_RE]),
  "smaug-bpe": t([LLAMA3_RE]),
  "deepseek-llm": t([
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
  ]),
  "deepseek-coder": t(["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"]),
  "deepseek-v3": t([
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
  ]),
  falcon: t(["[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_RE, "[0-9][0-9][0-9]"]),
  ...Object.fromEntries(["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"].map((n) => [n, STARCODER])),
  ...Object.fromEntries(["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
    "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"].map((n) => [n, GPT2])),
  ...Object.fromEntries(["qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "solar-open"].map((n) => [n, QWEN2])),
  ...Object.fromEntries(["poro-chat", "bloom", "gpt3-finnish"].map((n) => [n, PORO])),
  viking: t([PORO_RE, "\\p{N}"]),
  ...Object.fromEntries(["glm4", "chatglm-bpe"].map((n) => [n, t([LLAMA3_RE], { noBos: true })])),
  tekken: t([TEKKEN_RE], { ignoreMerges: true, addBos: true }),
  ...Object.fromEntries(["gpt-4o", "llama4"].map((n) => [n, t([GPT4O_RE])])),
  "seed-coder": t([`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`]),
  "grok-2": QWEN2,
};

// ---- splitting ----

/** Cuts code points [a, b) into pieces: calls cut(end) at the end of each piece, in order. */
type Scanner = (cps: Uint32Array, a: number, b: number, cut: (end: number) => void) => void;

const isLower = (c: number, ch: string) => c === ch.charCodeAt(0) || c === ch.charCodeAt(0) - 32;

/** The length of a contraction ('s 't 're 've 'm 'll 'd) at pos, or 0. */
function contraction(cps: Uint32Array, pos: number, b: number, anyCase: boolean): number {
  if (cps[pos] !== 0x27 || pos + 1 >= b) return 0;
  const is = (c: number, ch: string) => (anyCase ? isLower(c, ch) : c === ch.charCodeAt(0));
  const c1 = cps[pos + 1];
  if (is(c1, "s") || is(c1, "t") || is(c1, "m") || is(c1, "d")) return 2;
  if (pos + 2 >= b) return 0;
  const c2 = cps[pos + 2];
  return (is(c1, "r") && is(c2, "e")) || (is(c1, "v") && is(c2, "e")) || (is(c1, "l") && is(c2, "l")) ? 3 : 0;
}

// llama.cpp's scanners treat an unassigned code point (flags 0) as matching neither \p{..} nor
// [^\s\p{L}\p{N}]: it becomes a piece of its own. Kept, for the same words.
const WLN = F_WS | F_LETTER | F_NUMBER;

/** GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
const gpt2Scanner: Scanner = (cps, a, b, cut) => {
  const fl = (i: number) => (i < b ? cpFlags(cps[i]) : 0);
  for (let pos = a; pos < b; ) {
    const c = cps[pos];
    const k = contraction(cps, pos, b, false);
    if (k) { cut((pos += k)); continue; }
    const f2 = c === 0x20 ? fl(pos + 1) : fl(pos);
    const run = (test: (f: number) => boolean) => {
      if (c === 0x20) pos++;
      while (pos < b && test(fl(pos))) pos++;
      cut(pos);
    };
    if (f2 & F_LETTER) { run((f) => (f & F_LETTER) !== 0); continue; }
    if (f2 & F_NUMBER) { run((f) => (f & F_NUMBER) !== 0); continue; }
    if (!(f2 & WLN) && f2 !== 0) { run((f) => !(f & WLN) && f !== 0); continue; }
    let n = 0;
    while (fl(pos + n) & F_WS) n++;
    if (n > 1 && pos + n < b) pos += n - 1; // \s+(?!\S): the last space goes with the next word
    else if (n > 0) pos += n;
    else pos++;
    cut(pos);
  }
};

/** Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
const llama3Scanner: Scanner = (cps, a, b, cut) => {
  const fl = (i: number) => (i < b ? cpFlags(cps[i]) : 0);
  const isNl = (i: number) => i < b && (cps[i] === 0x0d || cps[i] === 0x0a);
  for (let pos = a; pos < b; ) {
    const c = cps[pos], f = fl(pos);
    const k = contraction(cps, pos, b, true);
    if (k) { cut((pos += k)); continue; }
    if (!isNl(pos) && !(f & F_NUMBER) && ((f & F_LETTER) || (fl(pos + 1) & F_LETTER))) {
      pos++;
      while (fl(pos) & F_LETTER) pos++;
      cut(pos);
      continue;
    }
    if (f & F_NUMBER) {
      let ini = pos;
      while (fl(pos) & F_NUMBER) if (++pos - ini >= 3) { cut(pos); ini = pos; }
      cut(pos);
      continue;
    }
    let f2 = c === 0x20 ? fl(pos + 1) : f;
    if (!(f2 & WLN) && f !== 0) { // llama.cpp tests f here, not f2: " " before an unassigned code point is a piece
      if (c === 0x20) pos++;
      while (!(f2 & WLN) && f2 !== 0) f2 = fl(++pos);
      while (isNl(pos)) pos++;
      cut(pos);
      continue;
    }
    let n = 0, lastNl = 0;
    for (; fl(pos + n) & F_WS; n++) if (isNl(pos + n)) lastNl = pos + n + 1;
    if (lastNl > 0) pos = lastNl; // \s*[\r\n]+
    else if (n > 1 && pos + n < b) pos += n - 1;
    else if (n > 0) pos += n;
    else pos++;
    cut(pos);
  }
};

const CATEGORY_RE: Record<string, number> = {
  "\\p{N}": F_NUMBER, "\\p{L}": F_LETTER, "\\p{P}": F_PUNCT, "\\p{M}": F_MARK, "\\p{S}": F_SYMBOL,
  "\\p{Lu}": F_LETTER, "\\p{Ll}": F_LETTER, "\\p{Lt}": F_LETTER, "\\p{Lm}": F_LETTER, "\\p{Lo}": F_LETTER,
};
/** The collapsed character of each category, and the ASCII characters llama.cpp counts in it (no "~" in \p{S}: its table). */
const CATEGORY_CLASS = new Map<number, [string, string]>([
  [F_NUMBER, ["\u00D1", "0-9"]], [F_LETTER, ["\u00D2", "A-Za-z"]],
  [F_PUNCT, ["\u00D3", "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"]], [F_MARK, ["\u00D4", ""]], [F_SYMBOL, ["\u00D5", "\\$\\+<->\\^`\\|"]],
]);
const OTHER_CHAR = "\u00D0";

/**
 * A regex of llama.cpp's list as a JavaScript RegExp. With a \p{..} it runs on the collapsed text
 * (categories become their collapsed characters); without, on the text with non-ASCII whitespace
 * as \v. Either way \s means ASCII whitespace and \v, as C++ std::regex's \s does.
 */
function compile(expr: string): { re: RegExp; collapsed: boolean } {
  const collapsed = Object.keys(CATEGORY_RE).some((k) => expr.includes(k));
  let out = "", inside = false;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (ch === "[" && expr[i - 1] !== "\\") { inside = true; out += ch; continue; }
    if (ch === "]" && inside && expr[i - 1] !== "\\") { inside = false; out += ch; continue; }
    if (ch === "\\" && expr[i + 1] === "p" && expr[i + 2] === "{") {
      const close = expr.indexOf("}", i + 3);
      const cat = CATEGORY_RE[expr.slice(i, close + 1)];
      if (cat !== undefined) {
        const [c, ascii] = CATEGORY_CLASS.get(cat)!;
        out += inside ? c + ascii : `[${c}${ascii}]`;
        i = close;
        continue;
      }
    }
    if (ch === "\\" && (expr[i + 1] === "s" || expr[i + 1] === "S")) {
      if (inside && expr[i + 1] === "S") throw new Error(`pre-tokenizer regex ${expr}: \\S in a class is not supported`);
      out += inside ? "\\t-\\r " : expr[i + 1] === "s" ? "[\\t-\\r ]" : "[^\\t-\\r ]";
      i++;
      continue;
    }
    if (ch === "\\") { out += ch + expr[i + 1]; i++; continue; }
    out += ch;
  }
  return { re: new RegExp(out, "gu"), collapsed };
}

/** Splits text into the words of a pre-tokenizer type (substrings of the text, in order). */
export class Splitter {
  readonly #steps: ({ scan: Scanner } | { re: RegExp; collapsed: boolean })[];

  constructor(regexes: readonly string[]) {
    this.#steps = regexes.map((e) => (e === GPT2_RE ? { scan: gpt2Scanner } : e === LLAMA3_RE ? { scan: llama3Scanner } : compile(e)));
  }

  split(text: string): string[] {
    const cps = codePoints(text);
    const n = cps.length;
    // UTF-16 offset of each code point (lone surrogates became one U+FFFD: still one unit)
    const u16 = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) u16[i + 1] = u16[i] + (cps[i] > 0xffff ? 2 : 1);
    let bounds = [0, n]; // piece boundaries in code points
    let collapsed: string | undefined, plain: string | undefined, cpAt: Int32Array | undefined;
    for (const step of this.#steps) {
      const next = [0];
      const cut = (end: number) => { if (end > next[next.length - 1]) next.push(end); };
      for (let p = 0; p + 1 < bounds.length; p++) {
        const a = bounds[p], b = bounds[p + 1];
        if ("scan" in step) { step.scan(cps, a, b, cut); cut(b); continue; }
        let s: string, base: number, toCp: (i: number) => number;
        if (step.collapsed) {
          collapsed ??= collapse(cps);
          s = collapsed.slice(a, b);
          toCp = (i) => a + i;
        } else {
          plain ??= plainText(text, cps, u16);
          if (!cpAt) {
            cpAt = new Int32Array(u16[n] + 1);
            for (let i = 0; i <= n; i++) cpAt[u16[i]] = i;
          }
          base = u16[a];
          s = plain.slice(base, u16[b]);
          const map = cpAt;
          toCp = (i) => map[base + i];
        }
        const re = step.re;
        re.lastIndex = 0;
        for (let m = re.exec(s); m !== null; m = re.exec(s)) {
          if (m[0].length === 0) { re.lastIndex += 1; continue; }
          cut(toCp(m.index)); // the text before the match is a piece too
          cut(toCp(m.index + m[0].length));
        }
        cut(b);
      }
      bounds = next;
    }
    const words: string[] = new Array(bounds.length - 1);
    for (let p = 0; p + 1 < bounds.length; p++) words[p] = text.slice(u16[bounds[p]], u16[bounds[p + 1]]);
    return words;
  }
}

/** One character per code point: ASCII as is, other whitespace \v, others their category's character. */
function collapse(cps: Uint32Array): string {
  const parts: string[] = [];
  for (let i = 0; i < cps.length; i += 8192) {
    const chunk = new Array<string>(Math.min(8192, cps.length - i));
    for (let j = 0; j < chunk.length; j++) {
      const c = cps[i + j];
      if (c < 128) { chunk[j] = String.fromCharCode(c); continue; }
      const f = cpFlags(c);
      chunk[j] = f & F_WS ? "\v" : (CATEGORY_CLASS.get(f & (F_NUMBER | F_LETTER | F_PUNCT | F_MARK | F_SYMBOL))?.[0] ?? OTHER_CHAR);
    }
    parts.push(chunk.join(""));
  }
  return parts.join("");
}

/** The text with non-ASCII whitespace as \v (same UTF-16 layout) and lone surrogates as U+FFFD. */
function plainText(text: string, cps: Uint32Array, u16: Int32Array): string {
  let out = "", last = 0;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    if ((c >= 128 && cpFlags(c) & F_WS) || (c === 0xfffd && text.charCodeAt(u16[i]) !== 0xfffd)) {
      out += text.slice(last, u16[i]) + (c === 0xfffd ? "\ufffd" : "\v");
      last = u16[i + 1];
    }
  }
  return last === 0 ? text : out + text.slice(last);
}
