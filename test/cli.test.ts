// The int4 command line (dist/cli.js, built by `npm run compile`): help, argument errors (exit 2),
// and run / eval / info on stories260K.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { cli, have, models, root, stories } from "./helpers/cliSetup";

if (!have) console.warn(`skipping CLI tests that need ${stories} (shared test model absent)`);

const int4 = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("int4 CLI", () => {
  it("has a shebang so it runs as a bin", () => {
    expect(fs.readFileSync(cli, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(fs.statSync(cli).mode & 0o111).not.toBe(0); // executable after compile:ts / prepare
  });

  it("--help on every command", () => {
    for (const args of [[], ["--help"], ["run", "--help"], ["eval", "--help"], ["info", "-h"]]) {
      const r = int4(...args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.out).toMatch(/int4/);
    }
    expect(int4("run", "--help").out).toMatch(/--top-p P/);
    expect(int4("eval", "--help").out).toMatch(/second half of each context/);
    expect(int4("info", "--help").out).toMatch(/--model FILE/);
  });

  it("bad arguments: a clear message and exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["run", "--bogus"], /Unknown option '--bogus'/],
      [["run", "-n", "abc"], /--n-predict: expected an integer in \[1, \d+\], got "abc"/],
      [["run", "--temp=-1"], /--temp: expected a number in \[0, 100\], got "-1"/],
      [["run", "--quant", "q3"], /--quant: expected one of native, q4, f32/],
      [["run", "--model", "/nonexistent.gguf"], /--model: no such file/],
      [["run", "stray"], /positional/i],
      [["eval"], /--model FILE is required/],
      // any existing file: --quant is refused before the model is read
      [["eval", "--model", cli, "--quant", "f32"], /--quant: expected one of native, q4, q4_g32_sym/],
      [["info"], /--model FILE is required/],
      [["info", "--model", "/nonexistent.gguf"], /no such file/],
    ];
    for (const [args, msg] of cases) {
      const r = int4(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(msg);
    }
  });

  it("a file that is not a model: exit code 1 and the reason", () => {
    const p = path.join(os.tmpdir(), `int4-cli-${process.pid}.gguf`);
    fs.writeFileSync(p, "not a gguf file at all");
    try {
      const r = int4("info", "--model", p);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/not a GGUF file/);
    } finally {
      fs.rmSync(p);
    }
  });

  it("info on a file of a type int4 cannot load says so, after the table (and in --json)", async () => {
    const { tinyModel } = await import("./modelFixture");
    const p = path.join(os.tmpdir(), `int4-cli-q8_1-${process.pid}.gguf`);
    fs.writeFileSync(p, tinyModel({ type: "Q8_1", only: (n) => n === "output.weight" }).bytes);
    try {
      const r = int4("info", "--model", p);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/int4 cannot load this file: 1 tensor of type Q8_1 \(first: output\.weight\); it loads F32, F16, BF16, Q4_0/);
      expect(JSON.parse(int4("info", "--model", p, "--json").out).unsupported).toEqual([{ name: "output.weight", type: "Q8_1" }]);
      expect(int4("info", "--model", stories).out).not.toMatch(/cannot load/);
    } finally {
      fs.rmSync(p);
    }
  });

  it("eval (quant mode) on an already quantized file notes that its f32 is the dequantized file and points to eval base", async () => {
    const { tinyModel } = await import("./modelFixture");
    const p = path.join(os.tmpdir(), `int4-cli-q8_0-${process.pid}.gguf`);
    fs.writeFileSync(p, tinyModel({ type: "Q8_0" }).bytes);
    try {
      const r = int4("eval", "--model", p, "--ctx", "16", "--chunks", "1", "--threads", "1", "--json");
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/is already quantized: "f32" here is its dequantized weights.*int4 eval base --base SOURCE\.gguf/);
      expect(JSON.parse(r.out).quant).toBe("q4");
    } finally {
      fs.rmSync(p);
    }
  });

  it.runIf(have)("run streams the greedy continuation and prints stats to stderr", () => {
    const ref = JSON.parse(fs.readFileSync(path.join(models, "stories260K_greedy.json"), "utf8")).runs[0];
    const r = int4("run", "--model", stories, "--quant", "f32", "--temp", "0", "-n", String(ref.ids.length - ref.prompt_ids.length), "--threads", "1");
    expect(r.code).toBe(0);
    expect(r.out).toBe(ref.text);
    for (const k of ["load time:", "prompt:", "tok/s", "generation:", "weights:", "bits/weight", "KV cache:", "peak RSS:"]) expect(r.err).toContain(k);
    const q = int4("run", "--model", stories, "-n", "20", "--seed", "3", "--top-k", "10", "--top-p", "0.9", "--min-p", "0.1", "--repeat-penalty", "1.1", "--ctx", "64");
    expect(q.code).toBe(0);
    expect(q.out.startsWith("Once upon a time")).toBe(true);
    expect(q.err).toMatch(/4\.\d\d bits\/weight/);
  });

  it.runIf(have)("info prints the architecture, the tensor table and memory per quant", () => {
    const r = int4("info", "--model", stories);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/architecture:\s+llama/);
    expect(r.out).toMatch(/dim 64, layers 5, heads 8 \(KV 4, head size 8\), FFN 172, vocabulary 512/);
    expect(r.out).toMatch(/blk\.0\.ffn_down\.weight\s+F32\s+\[172, 64\]\s+44032/);
    expect(r.out).toMatch(/q4_g128_asym/);
    const j = JSON.parse(int4("info", "--model", stories, "--json").out);
    expect(j.tensors).toHaveLength(48);
    expect(j.memory.find((m: { quant: string }) => m.quant === "f32").weightBytes).toBe(j.tensors.reduce((s: number, t: { bytes: number }) => s + t.bytes, 0));
  });

  it.runIf(have)("eval reports perplexity, KL divergence and top-1 agreement (self-sampled and --text)", () => {
    const r = int4("eval", "--model", stories, "--ctx", "128", "--chunks", "2", "--json", "--threads", "1");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ quant: "q4", ctx: 128, chunks: 2, scoredTokens: 126 });
    for (const k of ["pplRef", "pplQuant", "klMean", "klP99", "top1Agreement"]) expect(Number.isFinite(j[k]), k).toBe(true);
    const text = path.join(os.tmpdir(), `int4-eval-${process.pid}.txt`);
    fs.writeFileSync(text, "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ".repeat(20));
    try {
      const t = int4("eval", "--model", stories, "--ctx", "64", "--text", text, "--quant", "q4_g64_asym");
      expect(t.code).toBe(0);
      expect(t.out).toMatch(/perplexity:\s+f32 [\d.]+\s+q4_g64_asym [\d.]+/);
      expect(t.out).toMatch(/KL divergence:\s+mean [\d.]+\s+p99 [\d.]+/);
      expect(t.out).toMatch(/top-1 agreement:\s+[\d.]+%/);
    } finally {
      fs.rmSync(text);
    }
  });
});
