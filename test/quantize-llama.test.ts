// `int4 quantize --format <llama.cpp file type> --method rtn` against llama-quantize's own files
// of the same source (../shared/models/student-k256 and k256): every tensor's type and bytes.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openGGUF } from "../src/gguf/reader";
import { quantizedTensorSpecs } from "../src/cli/quantize";
import { disposeQuantized, quantizeModel, type Format } from "../src/quant/wholeModel";
import { LLAMA_FILE_TYPES } from "../src/quant/llamaTypes";

const shared = path.resolve(__dirname, "..", "..", "shared", "models");
const root = path.resolve(__dirname, "..");

describe("llama.cpp file types written with rtn equal llama-quantize's", () => {
  for (const [dir, source] of [["student-k256", "student-k256-f32.gguf"], ["k256", "k256-f16.gguf"]]) {
    const folder = path.join(shared, dir);
    const files = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => /-(Q|IQ)[0-9A-Z_]+\.gguf$/.test(f) && !f.includes("pure")) : [];
    it.skipIf(files.length === 0)(`${dir}: ${files.length} files, every tensor's type and bytes`, async () => {
      const src = openGGUF(path.join(folder, source));
      for (const file of files) {
        const format = file.replace(/^.*-(?=(Q|IQ)[0-9A-Z_]+\.gguf$)/, "").replace(".gguf", "").toLowerCase() as Format;
        if (!(LLAMA_FILE_TYPES as readonly string[]).includes(format) || format === "q4_0" || format === "q4_1") continue;
        const qm = quantizeModel(src, { format, method: "rtn" });
        const specs = new Map(quantizedTensorSpecs(qm).map((s) => [s.name, s]));
        const ref = openGGUF(path.join(folder, file));
        for (const t of ref.tensors) {
          const s = specs.get(t.name)!;
          expect(`${file} ${t.name} ${s.type}`).toBe(`${file} ${t.name} ${t.type.name.toLowerCase()}`);
          const data = typeof s.data === "function" ? await s.data() : s.data;
          if (!Buffer.from(data).equals(Buffer.from(ref.readTensorBytes(t)))) expect.fail(`${file} ${t.name}: bytes differ from llama-quantize's`);
        }
        ref.close();
        disposeQuantized(qm);
      }
      src.close();
    }, 120_000);
  }

  it.skipIf(!fs.existsSync(path.join(shared, "student-k256")))("the CLI writes a q4_k_m file that loads as stored and runs", () => {
    const out = path.join(os.tmpdir(), `int4-q4km-${process.pid}.gguf`);
    try {
      execFileSync(process.execPath, [path.join(root, "dist", "cli.js"), "quantize", "--model", path.join(shared, "student-k256", "student-k256-f32.gguf"),
        "--out", out, "--format", "q4_k_m"], { stdio: "pipe" });
      const f = openGGUF(out);
      expect(f.metadata.get("general.file_type")).toBe(15);
      expect(new Set(f.tensors.map((t) => t.type.name))).toEqual(new Set(["F32", "Q4_K", "Q6_K"]));
      f.close();
      const text = execFileSync(process.execPath, [path.join(root, "dist", "cli.js"), "run", "--model", out, "--prompt", "Once upon a time", "-n", "12", "--temp", "0"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      expect(text).toMatch(/^Once upon a time, there was a little/);
    } finally {
      fs.rmSync(out, { force: true });
    }
  }, 60_000);
});

describe("llama.cpp file types: weights the type cannot hold", () => {
  it("a weight too large for the fp16 scales is a RangeError naming the tensor, not a bare 'blocks' error", async () => {
    const { tinyModel } = await import("./modelFixture");
    const tiny = tinyModel({ type: "F32", config: { dim: 256, hidden: 256, layers: 1 } });
    const bytes = tiny.bytes.slice();
    const f0 = openGGUF(bytes);
    const t = f0.tensor("blk.0.ffn_up.weight")!;
    new DataView(bytes.buffer).setFloat32(t.fileOffset + 4 * 300, 1e9, true); // row 1: d = 1e9 / 15 / 63 overflows fp16
    const f = openGGUF(bytes);
    expect(() => quantizeModel(f, { format: "q4_k_m", method: "rtn" })).toThrow(/tensor "blk\.0\.ffn_up\.weight" \(q4_k\): .*row 1/);
  });
});
