// What the committed prebuilds ask of the system they load on, read from the binaries (objdump):
// the Linux ones no glibc symbol version above 2.28 (Node 20's own floor) and no libstdc++ (it is
// linked in); the Windows one no DLL beyond Windows' own and node.exe (no MinGW runtime DLLs).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

function objdump(args: string[]): string {
  const r = spawnSync("objdump", args, { encoding: "utf8", maxBuffer: 1 << 26 });
  expect(r.error, "objdump (binutils) is needed: run bash scripts/setup.sh").toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** "2.28" -> [2, 28]; compares version lists. */
const cmp = (a: number[], b: number[]) => (a[0] - b[0]) || ((a[1] ?? 0) - (b[1] ?? 0)) || ((a[2] ?? 0) - (b[2] ?? 0));

describe("committed prebuilds: what they need at load", () => {
  for (const target of ["linux-x64", "linux-arm64"]) {
    it(`prebuilds/${target}: highest GLIBC symbol version <= 2.28, no libstdc++`, () => {
      const file = path.join(root, "prebuilds", target, "int4.napi.node");
      const dyn = objdump(["-T", file]);
      const versions = [...new Set([...dyn.matchAll(/\bGLIBC_(\d+(?:\.\d+)+)\b/g)].map((m) => m[1]))];
      expect(versions.length, "no GLIBC versions found: not a glibc binary?").toBeGreaterThan(0);
      const parsed = versions.map((v) => v.split(".").map(Number)).sort(cmp);
      const highest = parsed[parsed.length - 1].join(".");
      const over = dyn.split("\n").filter((l) => /GLIBC_(\d+\.\d+)/.test(l) && cmp(l.match(/GLIBC_(\d+(?:\.\d+)+)/)![1].split(".").map(Number), [2, 28]) > 0);
      expect(over, `symbols above GLIBC_2.28 (highest ${highest}): pin them in cpp/platform/glibc_compat.h`).toEqual([]);
      expect(dyn).not.toMatch(/GLIBCXX_|CXXABI_/);
      const needed = [...objdump(["-p", file]).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]);
      expect(needed.filter((n) => /stdc\+\+|libgcc_s/.test(n))).toEqual([]);
    });
  }

  it("prebuilds/win32-x64: imports only Windows' DLLs and node.exe", () => {
    const file = path.join(root, "prebuilds", "win32-x64", "int4.napi.node");
    expect(fs.existsSync(file), "run npm run prebuild").toBe(true);
    const dlls = [...objdump(["-p", file]).matchAll(/DLL Name:\s+(\S+)/g)].map((m) => m[1].toLowerCase()).sort();
    expect(dlls).toEqual(["kernel32.dll", "msvcrt.dll", "node.exe"]);
  });
});
