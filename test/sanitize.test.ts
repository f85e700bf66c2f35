// The C++ kernel tests built with AddressSanitizer + UndefinedBehaviorSanitizer
// (scripts/build-sanitize-tests.sh): no read past a row, a partial group or a buffer, in any kernel
// table this CPU runs, including the thread pool and concurrent matmuls.
import { execFileSync, spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

describe("kernel tests under ASan + UBSan", () => {
  it("build-sanitize/int4_kernel_tests passes with no sanitizer report", () => {
    execFileSync("bash", [path.join(root, "scripts", "build-sanitize-tests.sh")], { cwd: root, stdio: "pipe" });
    const r = spawnSync(path.join(root, "build-sanitize", "int4_kernel_tests"), [], {
      encoding: "utf8",
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS: "print_stacktrace=1" },
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.status).toBe(0);
  }, 600_000);
});
