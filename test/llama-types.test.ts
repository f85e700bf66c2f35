// int4's reading of llama-quantize's per-tensor type choice against the files llama-quantize made
// (../shared/models/k256 and student-k256: one source model quantized to each file type).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openGGUF } from "../src/gguf/reader";
import { configFromGGUF } from "../src/model/config";
import { LLAMA_FILE_TYPES, llamaQuantizeOrder, llamaTensorTypes, type LlamaFileType } from "../src/quant/llamaTypes";

const shared = path.resolve(__dirname, "..", "..", "shared", "models");

describe("llama-quantize's tensor types", () => {
  for (const [dir, source] of [["k256", "k256-f16.gguf"], ["student-k256", "student-k256-f32.gguf"]]) {
    const folder = path.join(shared, dir);
    const files = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => /\.gguf$/.test(f) && !f.includes("pure") && f !== source && !/BF16|f16|f32/.test(f)) : [];
    it.skipIf(files.length === 0)(`${dir}: every tensor of every file type as llama-quantize chose it`, () => {
      const src = openGGUF(path.join(folder, source));
      const c = configFromGGUF(src);
      const tensors = src.tensors.map((t) => ({ name: t.name, ne: t.ne }));
      const shape = { nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads, hasOutput: src.tensor("output.weight") !== undefined };
      src.close();
      let checked = 0;
      for (const file of files) {
        const ftype = file.replace(/^.*?-(?=[A-Z0-9_]+\.gguf$)/, "").replace(".gguf", "").toLowerCase() as LlamaFileType;
        expect(LLAMA_FILE_TYPES, file).toContain(ftype);
        const want = llamaTensorTypes(ftype, shape, tensors);
        const f = openGGUF(path.join(folder, file));
        for (const t of f.tensors) expect(`${file} ${t.name} ${want.get(t.name)}`).toBe(`${file} ${t.name} ${t.type.name.toLowerCase()}`);
        f.close();
        checked++;
      }
      expect(checked).toBe(files.length);
    });
  }
  if (!fs.existsSync(shared)) it.skip("../shared/models is absent: the llama-quantize files are not here", () => {});

  it("visits tensors in llama-quantize's order: by layer number, then name", () => {
    expect(llamaQuantizeOrder(["blk.10.a", "blk.2.b", "output.weight", "blk.2.a", "token_embd.weight"]))
      .toEqual(["output.weight", "token_embd.weight", "blk.2.a", "blk.2.b", "blk.10.a"]);
  });
});
