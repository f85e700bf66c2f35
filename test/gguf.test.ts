// GGUF reader: a real file, every metadata value type, and malformed files of every kind: each
// must give a clear GGUFError, never a crash and never a huge allocation.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { GGUFError, openGGUF } from "../src/index";
import { GGUFValueType as T } from "../src/gguf/types";
import { buildGGUF, f32Bytes, type KV } from "./ggufBuilder";

const models = path.resolve(__dirname, "../../shared/models");
const storiesPath = path.join(models, "stories260K-f32.gguf");
const haveStories = fs.existsSync(storiesPath);
if (!haveStories) console.warn(`skipping tests that need ${storiesPath} (shared test model absent)`);

const small = () =>
  buildGGUF({
    kv: [["general.architecture", T.STRING, "llama"], ["some.count", T.UINT32, 7]],
    tensors: [
      { name: "a", ne: [4, 2], type: 0, data: f32Bytes(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8])) },
      { name: "b", ne: [3], type: 0, data: f32Bytes(new Float32Array([9, 10, 11])) },
    ],
  });

const setU32 = (b: Uint8Array, off: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(off, v, true);
const setU64 = (b: Uint8Array, off: number, v: bigint) => new DataView(b.buffer, b.byteOffset).setBigUint64(off, v, true);

describe("GGUF reader", () => {
  it.runIf(haveStories)("reads stories260K: header, metadata, tensor table, data", () => {
    const f = openGGUF(storiesPath);
    try {
      expect(f.version).toBe(3);
      expect(f.alignment).toBe(32);
      expect(f.dataOffset % 32).toBe(0);
      expect(f.tensors).toHaveLength(48);
      expect(f.get("general.architecture")).toBe("llama");
      expect(f.get("llama.embedding_length")).toBe(64);
      const tokens = f.get("tokenizer.ggml.tokens") as { values: string[] };
      expect(tokens.values).toHaveLength(512);
      expect(tokens.values[3]).toBe("<0x00>");
      const emb = f.tensor("token_embd.weight")!;
      expect(emb.ne).toEqual([64, 512]);
      expect(emb.type.name).toBe("F32");
      expect(emb.byteLength).toBe(64 * 512 * 4);
      const bytes = f.readTensorBytes(emb);
      const whole = fs.readFileSync(storiesPath);
      expect(Buffer.from(bytes).equals(whole.subarray(emb.fileOffset, emb.fileOffset + emb.byteLength))).toBe(true);
    } finally {
      f.close();
    }
  });

  it("reads every metadata value type, nested arrays included, from v2 and v3 files", () => {
    const kv: KV[] = [
      ["u8", T.UINT8, 200], ["i8", T.INT8, -100], ["u16", T.UINT16, 60000], ["i16", T.INT16, -30000],
      ["u32", T.UINT32, 4000000000], ["i32", T.INT32, -2000000000], ["f32", T.FLOAT32, 1.5], ["bool", T.BOOL, true],
      ["str", T.STRING, "héllo ▁ 🎉"], ["u64", T.UINT64, 2n ** 60n], ["i64", T.INT64, -5], ["f64", T.FLOAT64, Math.PI],
      ["arr.i32", T.ARRAY, [1, -2, 3], T.INT32], ["arr.str", T.ARRAY, ["a", "", "ccc"], T.STRING],
      ["arr.nested", T.ARRAY, [[1, 2], [3]], T.ARRAY],
      ["arr.empty", T.ARRAY, [], T.FLOAT32],
    ];
    const fix = kv;
    for (const version of [2, 3]) {
      const buf = buildGGUFNested(version, fix);
      const f = openGGUF(buf);
      expect(f.version).toBe(version);
      expect(f.get("u8")).toBe(200);
      expect(f.get("i8")).toBe(-100);
      expect(f.get("u16")).toBe(60000);
      expect(f.get("i16")).toBe(-30000);
      expect(f.get("u32")).toBe(4000000000);
      expect(f.get("i32")).toBe(-2000000000);
      expect(f.get("f32")).toBe(1.5);
      expect(f.get("bool")).toBe(true);
      expect(f.get("str")).toBe("héllo ▁ 🎉");
      expect(f.get("u64")).toBe(2n ** 60n);
      expect(f.get("i64")).toBe(-5);
      expect(f.get("f64")).toBe(Math.PI);
      expect(Array.from((f.get("arr.i32") as { values: Int32Array }).values)).toEqual([1, -2, 3]);
      expect((f.get("arr.str") as { values: string[] }).values).toEqual(["a", "", "ccc"]);
      const nested = f.get("arr.nested") as { values: { type: number; values: Uint8Array }[] };
      expect(nested.values.map((a) => Array.from(a.values))).toEqual([[1, 2], [3]]);
      expect((f.get("arr.empty") as { values: Float32Array }).values).toHaveLength(0);
      expect(f.tensors).toHaveLength(0);
    }
  });

  it("reads tensor data of a small file, at the alignment", () => {
    const f = openGGUF(small());
    expect(f.tensors.map((t) => t.name)).toEqual(["a", "b"]);
    const a = f.tensor("a")!;
    expect(a.fileOffset % 32).toBe(0);
    expect(Array.from(new Float32Array(f.readTensorBytes(a).slice().buffer))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(f.tensor("b")!.fileOffset - a.fileOffset).toBe(32);
  });

  it("rejects a bad magic and unknown versions", () => {
    const b = small();
    b[0] = 0x47; b[1] = 0x47; b[2] = 0x4d; b[3] = 0x4c;
    expect(() => openGGUF(b)).toThrow(/not a GGUF file: expected magic "GGUF", got "GGML"/);
    // C1 controls too (JSON.stringify leaves U+007F..U+009F as they are; the fuzzer found 0x80)
    b[0] = 0x46; b[1] = 0x55; b[2] = 0x80; b[3] = 0x00;
    expect(() => openGGUF(b)).toThrow('got "FU\\u0080\\u0000" (0x46558000)');
    const be = small();
    setU32(be, 4, 0x03000000);
    expect(() => openGGUF(be)).toThrow(/big-endian GGUF files are not supported/);
    for (const v of [1, 4, 0xffffffff]) {
      const c = small();
      setU32(c, 4, v);
      expect(() => openGGUF(c)).toThrow(new RegExp(`unsupported GGUF version ${v} \\(supported: 2, 3\\)`));
    }
  });

  it("rejects a file truncated anywhere", () => {
    const b = small();
    const end = b.length - 20; // the last tensor's 12 bytes end 20 bytes before its padding does
    for (let n = 0; n < end; n++) {
      // cut inside the data: the tensor then runs past the end; cut before: the header is truncated
      expect(() => openGGUF(b.subarray(0, n)), `cut at ${n}`).toThrow(GGUFError);
    }
  });

  it.runIf(haveStories)("rejects stories260K truncated anywhere (sampled cut points)", () => {
    const whole = new Uint8Array(fs.readFileSync(storiesPath));
    const cuts = new Set<number>();
    for (let n = 0; n < 20000; n += 7) cuts.add(n);
    for (let n = 20000; n < whole.length; n += 9973) cuts.add(n);
    cuts.add(whole.length - 1);
    for (const n of cuts) expect(() => openGGUF(whole.subarray(0, n)), `cut at ${n}`).toThrow(/GGUF .*(truncated|past the end|cannot fit)/);
  });

  it("rejects absurd counts and lengths before allocating", () => {
    const before = process.memoryUsage().rss;
    const c1 = small();
    setU64(c1, 8, 2n ** 40n); // tensor count
    expect(() => openGGUF(c1)).toThrow(/tensor count 1099511627776 cannot fit/);
    const c2 = small();
    setU64(c2, 16, 2n ** 50n); // kv count
    expect(() => openGGUF(c2)).toThrow(/metadata count .* cannot fit/);
    const c3 = small();
    setU64(c3, 24, 2n ** 62n); // first key's length
    expect(() => openGGUF(c3)).toThrow(/metadata key #0 length \d+ is too large|string length .* runs past/);
    const c4 = small();
    setU64(c4, 24, 2n ** 40n);
    expect(() => openGGUF(c4)).toThrow(/string length 1099511627776 runs past the end of the file/);
    const arr = buildGGUF({ kv: [["big", T.ARRAY, [1, 2, 3], T.UINT8]], tensors: [] });
    setU64(arr, 24 + 8 + 3 + 4 + 4, 2n ** 45n); // array length
    expect(() => openGGUF(arr)).toThrow(/metadata "big": array of 35184372088832 elements cannot fit/);
    const strArr = buildGGUF({ kv: [["s", T.ARRAY, ["x"], T.STRING]], tensors: [] });
    setU64(strArr, 24 + 8 + 1 + 4 + 4, 2n ** 30n);
    expect(() => openGGUF(strArr)).toThrow(/array of 1073741824 elements cannot fit/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
  });

  it("rejects bad value types, dimensions and tensor types", () => {
    const badType = buildGGUF({ kv: [["k", 13 as number, 0]], tensors: [] });
    expect(() => openGGUF(badType)).toThrow(/metadata "k": unknown value type 13/);
    const dims5 = buildGGUF({ kv: [], tensors: [{ name: "t", ne: [1, 1, 1, 1, 1], type: 0, data: new Uint8Array(4) }] });
    expect(() => openGGUF(dims5)).toThrow(/tensor "t": 5 dimensions \(expected 1 to 4\)/);
    const zero = buildGGUF({ kv: [], tensors: [{ name: "t", ne: [4, 0], type: 0, data: new Uint8Array(0) }] });
    expect(() => openGGUF(zero)).toThrow(/tensor "t": dimension 1 is 0/);
    const unknown = buildGGUF({ kv: [], tensors: [{ name: "t", ne: [4], type: 99, data: new Uint8Array(16) }] });
    expect(() => openGGUF(unknown)).toThrow(/tensor "t": unknown ggml type id 99/);
    const rows = buildGGUF({ kv: [], tensors: [{ name: "q", ne: [33, 1], type: 2, data: new Uint8Array(36) }] });
    expect(() => openGGUF(rows)).toThrow(/tensor "q": row length 33 is not a multiple of Q4_0's block size 32/);
    const huge = buildGGUF({ kv: [], tensors: [{ name: "h", ne: [2 ** 20, 2 ** 20, 2 ** 20], type: 0, data: new Uint8Array(4) }] });
    expect(() => openGGUF(huge)).toThrow(/tensor "h": shape .* is too large/);
  });

  it("rejects tensor data past the end of the file and misaligned offsets", () => {
    const t = (offset: bigint) => buildGGUF({ kv: [], tensors: [{ name: "w", ne: [8], type: 0, data: new Uint8Array(32), offset }] });
    expect(() => openGGUF(t(64n))).toThrow(/tensor "w": data \[\d+, \d+\) runs past the end of the file/);
    expect(() => openGGUF(t(2n ** 52n))).toThrow(/runs past the end of the file/);
    expect(() => openGGUF(t(2n ** 63n))).toThrow(/offset 9223372036854775808 is too large/);
    expect(() => openGGUF(t(4n))).toThrow(/data offset 4 is not a multiple of the alignment 32/);
    const bigShape = buildGGUF({ kv: [], tensors: [{ name: "w", ne: [1024, 1024], type: 0, data: new Uint8Array(32) }] });
    expect(() => openGGUF(bigShape)).toThrow(/tensor "w": data .* runs past the end of the file/);
  });

  it("rejects duplicate tensor names and metadata keys, and a bad alignment", () => {
    const d = buildGGUF({ kv: [], tensors: [{ name: "x", ne: [8], type: 0, data: new Uint8Array(32) }, { name: "x", ne: [8], type: 0, data: new Uint8Array(32) }] });
    expect(() => openGGUF(d)).toThrow(/duplicate tensor name "x"/);
    const k = buildGGUF({ kv: [["a", T.UINT8, 1], ["a", T.UINT8, 2]], tensors: [] });
    expect(() => openGGUF(k)).toThrow(/duplicate metadata key "a"/);
    const al = buildGGUF({ kv: [["general.alignment", T.UINT32, 24]], tensors: [] });
    expect(() => openGGUF(al)).toThrow(/general.alignment: expected a power of two, got 24/);
    const al64 = buildGGUF({ kv: [["general.alignment", T.UINT32, 64]], tensors: [{ name: "x", ne: [8], type: 0, data: new Uint8Array(32) }], alignment: 64 });
    expect(openGGUF(al64).dataOffset % 64).toBe(0);
  });

  it("names the file when it cannot be opened", () => {
    expect(() => openGGUF("/nonexistent/model.gguf")).toThrow(/GGUF \/nonexistent\/model.gguf: cannot open/);
    expect(() => openGGUF(42 as unknown as string)).toThrow(TypeError);
  });
});

// nested arrays: [[1,2],[3]] as an array of u8 arrays
function buildGGUFNested(version: number, kv: KV[]): Uint8Array {
  const flat = kv.filter((e) => e[0] !== "arr.nested");
  const base = buildGGUF({ version, kv: flat, tensors: [] });
  // append the nested entry by hand: key, type ARRAY, elem type ARRAY, count 2, then [u8 x2], [u8 x1]
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  const u64 = (v: number) => { u32(v); u32(0); };
  const key = new TextEncoder().encode("arr.nested");
  u64(key.length); parts.push(...key);
  u32(T.ARRAY); u32(T.ARRAY); u64(2);
  u32(T.UINT8); u64(2); parts.push(1, 2);
  u32(T.UINT8); u64(1); parts.push(3);
  const out = new Uint8Array(base.length + parts.length);
  // header (24 bytes) + kv entries; no tensors, so the padding at the end can be dropped and re-added
  const headerAndKv = base.subarray(0, base.length);
  out.set(headerAndKv);
  out.set(parts, headerAndKv.length);
  setU64(out, 16, BigInt(flat.length + 1));
  return out;
}
