// Every ISA this host runs, forced in turn with INT4_ISA, against the scalar reference: through
// the public API in a child Node (test/isa-child.cjs) and in the C++ kernel test binary. Also: an
// unknown or unsupported INT4_ISA is a clear error at load.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { backend } from "../src/index";

const root = path.resolve(__dirname, "..");
const child = path.join(__dirname, "isa-child.cjs");
const kernelTests = path.join(root, "build", "int4_kernel_tests");

interface Case {
  scheme: string; G: number; M: number; N: number; K: number;
  yInt8: number[]; yF32: number[]; absSum: number[]; sameThreads: boolean; sameAsync: boolean;
}

function runChild(isa: string, extraEnv: Record<string, string> = {}): { backend: { isa: string; kernels: string; threads: number }; cases: Case[] } {
  const r = spawnSync(process.execPath, [child, root], { encoding: "utf8", env: { ...process.env, INT4_ISA: isa, ...extraEnv }, maxBuffer: 1 << 28 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

// Kernels may sum in another order than the scalar reference: f32 rounding of the sums, bounded
// by a few ulps of Σ|x·w| per 64 terms (the same bound the C++ kernel tests use).
const tolerance = (absSum: number, K: number) => 2e-6 * absSum * (1 + K / 64) + 1e-6;

describe("INT4_ISA: every ISA this host runs matches the scalar reference", () => {
  const available = backend().available;
  const scalar = runChild("scalar");

  it("scalar is always available and the default is the best one", () => {
    expect(available[0]).toBe("scalar");
    expect(scalar.backend.isa).toBe("scalar");
    expect(runChild("").backend.isa).toBe(available[available.length - 1]);
  });

  for (const isa of available) {
    it(`${isa}: public matmul (both schemes, all group sizes, M 1..40) within tolerance of scalar`, () => {
      const got = runChild(isa);
      expect(got.backend.isa).toBe(isa);
      expect(got.backend.threads).toBeGreaterThanOrEqual(1);
      let bad = 0;
      got.cases.forEach((c, i) => {
        const ref = scalar.cases[i];
        expect(c.sameThreads, `threads 1 vs 2: ${c.scheme} G=${c.G} M=${c.M}`).toBe(true);
        expect(c.sameAsync, `async in flight: ${c.scheme} G=${c.G} M=${c.M}`).toBe(true);
        for (let j = 0; j < c.yInt8.length; j++) {
          const tol = tolerance(c.absSum[j], c.K);
          if (!(Math.abs(c.yInt8[j] - ref.yInt8[j]) <= tol)) bad++;
          if (!(Math.abs(c.yF32[j] - ref.yF32[j]) <= tol)) bad++;
        }
      });
      expect(bad).toBe(0);
    });

    it(`${isa}: the model's operators treat NaN and infinities as the scalar reference does`, () => {
      const got = runChild(isa).nonFinite as Record<string, Record<string, string[]>>;
      const ref = (scalar as unknown as { nonFinite: Record<string, Record<string, string[]>> }).nonFinite;
      for (const bad of Object.keys(ref)) {
        for (const op of Object.keys(ref[bad])) {
          const r = ref[bad][op], g = got[bad][op];
          expect(r.some((c) => c !== "f"), `${op} ${bad}: the case must reach the output`).toBe(true);
          // finite vs finite may differ in rounding; every non-finite class must match exactly
          const diff = r.map((c, i) => (c === g[i] ? null : `${i}: ${c} vs ${g[i]}`)).filter(Boolean);
          expect(diff, `${op} with ${bad}`).toEqual([]);
        }
      }
    });

    it(`${isa}: attention with scale, soft-cap and sliding window, and the GELU gate, match the scalar reference`, () => {
      const got = (runChild(isa) as unknown as { archOps: Record<string, number[]> }).archOps;
      const ref = (scalar as unknown as { archOps: Record<string, number[]> }).archOps;
      for (const op of Object.keys(ref)) {
        // sums in another order and a polynomial exp: a few ulp of values about 1
        const bad = ref[op].filter((r, i) => !(Math.abs(got[op][i] - r) <= 1e-5 * (1 + Math.abs(r))));
        expect(bad.length, `${op}: ${bad.length} values differ`).toBe(0);
      }
    });

    it(`${isa}: C++ kernel tests of its tables`, () => {
      const r = spawnSync(kernelTests, [isa], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain(`kernels: ${isa}`);
      expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
      expect(r.status).toBe(0);
    });
  }

  it("INT4_AMX=0 turns the AMX GEMM off: plain AVX-512 kernels, same results within tolerance", () => {
    if (!available.includes("avx512")) return;
    const amx = runChild("avx512");
    const plain = runChild("avx512", { INT4_AMX: "0" });
    expect(plain.backend.kernels).toBe("avx512");
    let bad = 0;
    plain.cases.forEach((c, i) => {
      for (let j = 0; j < c.yInt8.length; j++) {
        if (!(Math.abs(c.yInt8[j] - amx.cases[i].yInt8[j]) <= tolerance(c.absSum[j], c.K))) bad++;
      }
    });
    expect(bad).toBe(0);
  });

  it("an unknown INT4_ISA is a clear error at load", () => {
    const r = spawnSync(process.execPath, [child, root], { encoding: "utf8", env: { ...process.env, INT4_ISA: "sse9" } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/INT4_ISA: expected one of scalar, avx2, avx512, neon, got "sse9"/);
  });

  it("an ISA this CPU or build cannot run is a clear error at load", () => {
    const missing = ["avx2", "avx512", "neon"].find((n) => !available.includes(n))!;
    const r = spawnSync(process.execPath, [child, root], { encoding: "utf8", env: { ...process.env, INT4_ISA: missing } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`INT4_ISA: "${missing}" is not supported by this CPU or build`);
  });
});

// The prebuilt addon must load on any x86-64: code compiled with AVX flags may only run after
// dispatch checked the CPU. Two ways that breaks, checked on the local build's objects: an ISA
// file defining an inline/template function with external linkage (a weak COMDAT copy the linker
// may pick for baseline callers), or baseline files using vector registers wider than SSE.
describe("ISA code stays behind dispatch", () => {
  const objDir = path.join(root, "build", "CMakeFiles", "int4_kernels.dir", "cpp", "int4");
  const objects = fs.existsSync(objDir) ? fs.readdirSync(objDir).filter((f) => f.endsWith(".o")) : [];

  it("the kernel objects were built", () => {
    expect(objects.length, `${objDir} has no objects: run npm run compile`).toBeGreaterThan(0);
  });

  it("ISA files define no weak (COMDAT) symbols: only their kernel tables are visible", () => {
    for (const f of objects.filter((o) => o.startsWith("kernels_"))) {
      const syms = execFileSync("nm", ["-C", path.join(objDir, f)], { encoding: "utf8" });
      const weak = syms.split("\n").filter((l) => / [WVu] /.test(l));
      expect(weak, f).toEqual([]);
    }
  });

  it("baseline files use no AVX registers", () => {
    if (process.arch !== "x64") return;
    for (const f of objects.filter((o) => !o.startsWith("kernels_"))) {
      const asm = execFileSync("objdump", ["-d", path.join(objDir, f)], { encoding: "utf8", maxBuffer: 1 << 28 });
      expect(/%[yz]mm\d|%k[0-7]\b|%tmm/.test(asm), f).toBe(false);
    }
  });
});
