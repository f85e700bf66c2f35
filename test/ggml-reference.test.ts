// int4's dequantization and quantization of every block type against llama.cpp's own functions,
// bit for bit: the libggml-base library of node-llama-cpp (installed by scripts/setup.sh into
// build-llamacpp/) loaded by a small program (cpp/tests/ggml_reference.cpp) that this test
// compiles with the host's C++ compiler. Skips with a message where either is missing.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BLOCK_TYPES, BLOCK_TYPE_NAMES } from "../src/index";
import { native } from "../src/native";
import { randomBlocks } from "./helpers/blocks";
import { randn, rng } from "./helpers/ggmlRef";
// @ts-expect-error: an .mjs module of the benchmarks without types
import { findNodeLlamaCpp } from "../bench/lib/llamacpp.mjs";

const root = path.resolve(__dirname, "..");
const found = findNodeLlamaCpp() as { dir: string | null; reason?: string };
const lib = found.dir ? path.join(path.dirname(found.dir), "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "libggml-base.so") : null;
const hasCompiler = spawnSync("c++", ["--version"]).status === 0;
const why = !lib || !fs.existsSync(lib) ? `llama.cpp's libggml-base is not installed (${found.reason ?? lib}): bash scripts/setup.sh` : !hasCompiler ? "no C++ compiler (c++)" : null;
/** ggml's function suffix of a type: q4_K, iq4_nl. */
const ggmlSuffix = (name: string) => name.replace(/_k$/, "_K");

describe.skipIf(why !== null)("bit for bit with llama.cpp's libggml-base", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "int4-ggml-"));
  const exe = path.join(root, "build", "ggml_reference");
  const run = (...args: string[]) => execFileSync(exe, [lib!, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  it("compiles the reference program", () => {
    fs.mkdirSync(path.dirname(exe), { recursive: true });
    execFileSync("c++", ["-O1", "-o", exe, path.join(root, "cpp", "tests", "ggml_reference.cpp"), "-ldl"], { stdio: "pipe" });
  });

  for (const name of BLOCK_TYPE_NAMES) {
    it(`${name}: dequantize_row_${ggmlSuffix(name)} gives the same bits`, () => {
      const t = BLOCK_TYPES.get(name)!;
      const blocks = randomBlocks(t, 1, 64 * t.blockSize, 300 + t.id);
      fs.writeFileSync(path.join(tmp, "in.bin"), blocks);
      run("dequantize", ggmlSuffix(name), String(t.blockBytes), path.join(tmp, "in.bin"), path.join(tmp, "out.bin"));
      const ref = new Uint32Array(new Uint8Array(fs.readFileSync(path.join(tmp, "out.bin"))).buffer);
      const ours = new Float32Array(64 * t.blockSize);
      native.dequantizeGGML(t.id, blocks, 1, ours.length, ours);
      const bits = new Uint32Array(ours.buffer);
      const bad = bits.findIndex((b, i) => b !== ref[i]);
      expect(ref.length).toBe(bits.length);
      expect(bad, bad >= 0 ? `value ${bad}: ${ours[bad]} vs llama.cpp's ${new Float32Array(ref.buffer)[bad]}` : "").toBe(-1);
    });

    it(`${name}: quantize_${ggmlSuffix(name)} writes the same bytes, with and without an importance matrix`, () => {
      const t = BLOCK_TYPES.get(name)!;
      const K = 2 * 256, N = 6;
      const x = randn(N * K, 400 + t.id);
      const r = rng(500 + t.id);
      for (let i = 0; i < x.length; i += 97) x[i] *= 8; // outliers
      for (let i = 0; i < 40; i++) x[Math.floor(r() * 32)] = 0; // a block with zeros
      const imatrix = Float32Array.from({ length: K }, () => 0.01 + r() * r() * 10);
      fs.writeFileSync(path.join(tmp, "x.bin"), new Uint8Array(x.buffer));
      fs.writeFileSync(path.join(tmp, "imatrix.bin"), new Uint8Array(imatrix.buffer));
      // Q8_K (llama.cpp's activation type) has only a row quantizer, without an importance matrix
      for (const im of name === "q8_k" ? [null] : [null, imatrix]) {
        const args = ["quantize", ggmlSuffix(name), String(K), path.join(tmp, "x.bin"), ...(im ? [path.join(tmp, "imatrix.bin")] : []), path.join(tmp, "q.bin")];
        run(...args);
        const ref = fs.readFileSync(path.join(tmp, "q.bin"));
        const ours = new Uint8Array((N * K / t.blockSize) * t.blockBytes);
        native.quantizeRowsGGML(t.ggufName, x, N, K, im, ours);
        expect(Buffer.from(ours).equals(ref), `${name} ${im ? "with" : "without"} an importance matrix`).toBe(true);
      }
    });
  }
});
if (why !== null) describe("bit for bit with llama.cpp's libggml-base", () => it.skip(why, () => {}));
