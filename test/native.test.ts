// The C++ kernel test binary (built by `npm run compile` with the addon): the scalar reference
// against double precision, and every kernel set this CPU runs against the scalar reference.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const binary = path.join(root, "build", "int4_kernel_tests");

describe("C++ kernel tests", () => {
  it("build/int4_kernel_tests passes", () => {
    expect(fs.existsSync(binary), `${binary} is missing: run npm run compile`).toBe(true);
    const r = spawnSync(binary, [], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.status).toBe(0);
  });
});
