// AddressSanitizer + UndefinedBehaviorSanitizer (scripts/build-sanitize-tests.sh builds both into
// build-sanitize/): the C++ kernel tests, and the whole addon (binding, kernels, ops) under the JS
// tests that push bad, extreme and random input through it. No read past a row, a partial group or
// a buffer, no undefined behaviour, in any kernel table this CPU runs, including the thread pool,
// concurrent matmuls and Workers torn down mid-call.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const addon = path.join(root, "build-sanitize", "Release", "int4.node");
// The ASan runtime, preloaded into Node (which is not built with ASan) so that it comes first and
// intercepts malloc for the whole process; gcc answers the bare name when it has none.
const libasan = spawnSync("gcc", ["-print-file-name=libasan.so"], { encoding: "utf8" }).stdout?.trim() ?? "";
const haveAsan = path.isAbsolute(libasan) && fs.existsSync(libasan);
const sanitizerReport = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;

// The test files run against the sanitized addon: every input-validation and fuzz test that goes
// through the binding, Workers terminated mid-matmul, every ISA (isa.test.ts's children), the
// block-type and llama.cpp-quantizer tables, the model's native operators and batched decoding.
// 70-90 s under ASan on 2 cores.
const files = ["fuzz", "errors", "reliability", "block-types", "model.ops", "matmul", "isa", "quantize-ref",
  "llama-types", "quant", "model", "batch"].map((f) => `test/${f}.test.ts`);

describe.skipIf(!haveAsan)("under ASan + UBSan", () => {
  beforeAll(() => {
    // (incremental; from scratch about 4 min on 2 busy cores)
    execFileSync("bash", [path.join(root, "scripts", "build-sanitize-tests.sh")], { cwd: root, stdio: "pipe" });
  }, 1_200_000);

  it("build-sanitize/int4_kernel_tests passes with no sanitizer report", () => {
    const r = spawnSync(path.join(root, "build-sanitize", "int4_kernel_tests"), [], {
      encoding: "utf8",
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS: "print_stacktrace=1" },
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.status).toBe(0);
  }, 600_000);

  it(`the addon through the JS tests (${files.length} files) passes with no sanitizer report`, () => {
    const probe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "int4-sanitize-")), "loads.jsonl");
    // a vitest of its own (not this one's VITEST_* settings), every Node process of it started with
    // libasan preloaded, INT4_NATIVE (src/native.ts) naming the sanitized addon, and the probe
    // recording what each process loaded
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST")));
    Object.assign(env, {
      LD_PRELOAD: libasan,
      // Node and V8 keep allocations to the end of the process by design: LeakSanitizer would
      // report them at every exit. Native leaks are test/leak.test.ts's (liveMatrices, RSS).
      ASAN_OPTIONS: "detect_leaks=0",
      // (the build has -fno-sanitize-recover=all: the first finding aborts, with its stack)
      UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
      INT4_NATIVE: addon,
      INT4_SANITIZE_PROBE: probe,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${path.join(root, "test", "helpers", "sanitize-probe.cjs")}`.trim(),
    });
    const r = spawnSync(process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", ...files], {
      cwd: root, env, encoding: "utf8", maxBuffer: 1 << 28, timeout: 1_500_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    const report = output.split("\n").findIndex((l) => sanitizerReport.test(l));
    // the sanitizer's report with its stack, else the end of the run
    const shown = report >= 0 ? output.split("\n").slice(report, report + 60).join("\n") : output.slice(-6000);
    expect(report, shown).toBe(-1);
    expect(r.status, shown).toBe(0);
    // every file ran, or skipped whole (one that needs ../shared where it is absent)
    const summary = r.stdout.replace(/\x1b\[[0-9;]*m/g, "").match(/Test Files +(.*)/)?.[1] ?? "";
    const count = (what: string) => Number(summary.match(new RegExp(`(\\d+) ${what}`))?.[1] ?? 0);
    expect({ failed: count("failed"), ran: count("passed") + count("skipped") }, summary).toEqual({ failed: 0, ran: files.length });

    // every process (and Worker) that loaded int4 loaded the sanitized build only, with the ASan
    // runtime mapped; each test file's vitest process among them (dist/ stale if a model Worker is not)
    const loads = fs.readFileSync(probe, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { argv: string[]; files: string[]; asan: boolean; pid: number });
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
    for (const l of loads) expect({ argv: l.argv, files: l.files, asan: l.asan }).toEqual({ argv: l.argv, files: [addon], asan: true });
    const testProcesses = new Set(loads.filter((l) => l.argv.some((a) => a.includes(path.join("vitest", "dist")))).map((l) => l.pid));
    expect(testProcesses.size).toBeGreaterThanOrEqual(count("passed"));
    expect(testProcesses.size).toBeLessThanOrEqual(files.length);
  }, 1_800_000);
});

if (!haveAsan) console.warn(`sanitize.test.ts: skipped, gcc has no libasan.so (${libasan || "no gcc"}): install g++ (scripts/setup.sh)`);
