// The packed tarball, installed the way users install it (install scripts off, nothing built),
// on the platforms it promises: Debian 11 (glibc 2.31) with the official Node 20 in a chroot
// (x64) and under qemu-aarch64 with Debian 11's arm64 libraries (arm64), Windows x64 under wine with the official node.exe, and the from-source path (`npx int4 build`)
// plus the error a platform without a prebuild gets. Needs root (chroot) and what
// scripts/setup.sh installs: debootstrap's build-chroot/bullseye-run, wine64, build-node/.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceTreeHash } from "./helpers/sourceHash";

const root = path.resolve(__dirname, "..");
const npmDir = path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin");
const npmCli = path.join(npmDir, "npm-cli.js");
const npxCli = path.join(npmDir, "npx-cli.js");
const runRoot = path.join(root, "build-chroot", "bullseye-run");
const linuxNode = path.join(root, "build-node", "linux-x64", "package");
const winNode = path.join(root, "build-node", "win-x64", "package", "bin", "node.exe");
const wine = "/usr/lib/wine/wine64";
const expectedHash = sourceTreeHash(root);
const setupHint = "run bash scripts/setup.sh";

let tmp = "";
let project = "";
let nodeOnly: NodeJS.ProcessEnv = {};

interface CheckResult {
  ok: boolean; error?: string; exact: number[]; asyncY: number[]; asyncSame: boolean; errors: Record<string, number>;
  backend: { isa: string; kernels: string; available: string[]; threads: number; binary: string };
  hash: string; esm: boolean; platform: string; glibc: string | null; node: string;
}

function expectGood(r: CheckResult, binaryEnd: string): void {
  expect(r.error, "the check in the installed project failed").toBeUndefined();
  expect(r.ok).toBe(true);
  expect(r.exact).toEqual([10, -10]);
  expect(r.asyncY).toEqual([10, -10]);
  expect(r.asyncSame, "matmul.async gives matmul's result").toBe(true);
  expect(r.esm).toBe(true);
  expect(r.hash).toBe(expectedHash);
  expect(r.backend.binary.replace(/\\/g, "/").endsWith(binaryEnd), r.backend.binary).toBe(true);
  for (const [k, e] of Object.entries(r.errors)) expect(e, k).toBeLessThan(k.endsWith("float32") ? 1e-5 : 0.02);
}

function readResult(file: string): CheckResult {
  expect(fs.existsSync(file), `${file} was not written`).toBe(true);
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Runs the check with the host's node in `dir` (an installed project). */
function hostCheck(dir: string, env: NodeJS.ProcessEnv): CheckResult {
  const out = path.join(dir, `result-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(process.execPath, [path.join(dir, "install-check.cjs"), out], { cwd: dir, env, encoding: "utf8" });
  expect(r.stderr).toBe("");
  return readResult(out);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "int4-platforms-"));
  const out = execFileSync(process.execPath, [npmCli, "pack", "--pack-destination", tmp, "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const tarball = path.join(tmp, JSON.parse(out)[0].filename);
  const bin = path.join(tmp, "bin");
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, "node"));
  fs.symlinkSync("/bin/sh", path.join(bin, "sh"));  // npx runs bins through sh
  nodeOnly = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), ".npm") };
  project = path.join(tmp, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  execFileSync(process.execPath, [npmCli, "install", tarball, "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: project, env: nodeOnly, stdio: "pipe" });
  fs.copyFileSync(path.join(__dirname, "helpers", "install-check.cjs"), path.join(project, "install-check.cjs"));
}, 300_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the packed package ships what every platform needs", () => {
  it("prebuilds for linux-x64, linux-arm64, win32-x64, and the sources int4 build needs", () => {
    const pkg = path.join(project, "node_modules", "int4");
    for (const t of ["linux-x64", "linux-arm64", "win32-x64"]) expect(fs.existsSync(path.join(pkg, "prebuilds", t, "int4.napi.node")), t).toBe(true);
    for (const f of ["CMakeLists.txt", "cpp/platform/platform.cpp", "cmake/source_hash.cmake", "dist/bin.js", "dist/cli/build.js"])
      expect(fs.existsSync(path.join(pkg, f)), f).toBe(true);
    expect(fs.existsSync(path.join(pkg, "build")), "nothing was built at install").toBe(false);
    expect(sourceTreeHash(pkg), "the shipped sources hash as the tree").toBe(expectedHash);
  });
});

describe("Debian 11 (glibc 2.31), the official Node 20, no compiler", () => {
  it("the x64 prebuild loads and multiplies", () => {
    expect(fs.existsSync(path.join(runRoot, ".int4-ready")), `${runRoot} is missing: ${setupHint}`).toBe(true);
    expect(fs.existsSync(path.join(linuxNode, "bin", "node")), `${linuxNode} is missing: ${setupHint}`).toBe(true);
    const nodeDir = path.join(runRoot, "opt", "node20");
    if (!fs.existsSync(path.join(nodeDir, "bin", "node"))) fs.cpSync(linuxNode, nodeDir, { recursive: true });
    for (const tool of ["cc", "gcc", "g++", "cmake"]) expect(fs.existsSync(path.join(runRoot, "usr", "bin", tool)), `${tool} in the chroot`).toBe(false);
    const name = path.basename(tmp);
    const inside = path.join(runRoot, "tmp", name);
    fs.cpSync(project, inside, { recursive: true, verbatimSymlinks: true });
    try {
      const r = spawnSync("/usr/sbin/chroot", [runRoot, "/bin/sh", "-c", `cd /tmp/${name} && /opt/node20/bin/node install-check.cjs result.json`],
        { env: { PATH: "/usr/bin:/bin", HOME: "/root" }, encoding: "utf8" });
      expect(r.error).toBeUndefined();
      expect(r.stderr).toBe("");
      const res = readResult(path.join(inside, "result.json"));
      expectGood(res, "node_modules/int4/prebuilds/linux-x64/int4.napi.node");
      expect(res.glibc).toBe("2.31");
      expect(res.node).toMatch(/^v20\./);
    } finally {
      fs.rmSync(inside, { recursive: true, force: true });
    }
  });
});

describe("Debian 11 arm64 (glibc 2.31) under qemu-aarch64, the official Node 20", () => {
  const armRoot = path.join(root, "build-chroot", "bullseye-arm64");
  const armNode = path.join(root, "build-arm64", "node", "package", "bin", "node");
  const runArm = (env: Record<string, string>): CheckResult => {
    const out = path.join(project, `arm-${Math.random().toString(36).slice(2)}.json`);
    // -L: the dynamic loader and every library come from the Debian 11 arm64 root
    const r = spawnSync("qemu-aarch64", ["-L", armRoot, armNode, path.join(project, "install-check.cjs"), out],
      { cwd: project, env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME, ...env }, encoding: "utf8", timeout: 300_000 });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe("");
    return readResult(out);
  };

  it("the arm64 prebuild loads and multiplies, with every kernel set it offers", () => {
    expect(fs.existsSync(path.join(armRoot, ".int4-ready")), `${armRoot} is missing: ${setupHint}`).toBe(true);
    expect(fs.existsSync(armNode), `${armNode} is missing: ${setupHint}`).toBe(true);
    const res = runArm({});
    expectGood(res, "node_modules/int4/prebuilds/linux-arm64/int4.napi.node");
    expect(res.glibc).toBe("2.31");
    for (const isa of res.backend.available) {
      const r = runArm({ INT4_ISA: isa });
      expect(r.backend.isa, isa).toBe(isa);
      expectGood(r, "node_modules/int4/prebuilds/linux-arm64/int4.napi.node");
    }
  }, 600_000);
});

describe("Windows x64 under wine, the official node.exe", () => {
  const prefix = path.join(root, "build-node", "wine-prefix");
  const runWin = (env: Record<string, string>): CheckResult => {
    const out = path.join(project, `win-${Math.random().toString(36).slice(2)}.json`);
    const log = fs.openSync(path.join(tmp, "wine.log"), "a");
    const r = spawnSync(wine, [winNode, `Z:${path.join(project, "install-check.cjs")}`, `Z:${out}`], {
      cwd: project, stdio: ["ignore", log, log], timeout: 300_000,
      env: { HOME: process.env.HOME, PATH: process.env.PATH, WINEPREFIX: prefix, WINEDEBUG: "-all", NODE_SKIP_PLATFORM_CHECK: "1", ...env },
    });
    fs.closeSync(log);
    expect(r.error).toBeUndefined();
    return readResult(out);
  };

  it("the win32-x64 prebuild loads and multiplies, with every kernel set it offers", () => {
    expect(fs.existsSync(wine), `${wine} is missing: ${setupHint}`).toBe(true);
    expect(fs.existsSync(winNode), `${winNode} is missing: ${setupHint}`).toBe(true);
    const res = runWin({});
    expectGood(res, "node_modules/int4/prebuilds/win32-x64/int4.napi.node");
    expect(res.platform).toBe("win32");
    expect(res.backend.threads, "the process affinity mask's cores").toBe(os.availableParallelism());
    for (const isa of res.backend.available) {
      const r = runWin({ INT4_ISA: isa });
      expect(r.backend.isa, isa).toBe(isa);
      expectGood(r, "node_modules/int4/prebuilds/win32-x64/int4.napi.node");
    }
  }, 600_000);
});

describe("a platform without a prebuild", () => {
  it("gets an error naming what was found, the platforms with prebuilds, and npx int4 build", () => {
    const r = spawnSync(process.execPath, ["-e", "require('int4')"], { cwd: project, encoding: "utf8",
      env: { ...nodeOnly, npm_config_platform: "darwin", npm_config_arch: "arm64" } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("int4: no prebuilt binary for darwin-arm64.");
    expect(r.stderr).toContain("Prebuilt binaries ship for: linux-x64 (glibc >= 2.28), linux-arm64 (glibc >= 2.28), win32-x64");
    expect(r.stderr).toContain("needs a C++17 compiler and CMake");
    expect(r.stderr).toMatch(/\n {2}npx int4 build\n/);
  });

  it("npx int4 build without CMake says what to install", () => {
    const r = spawnSync(process.execPath, [npxCli, "--offline", "int4", "build"], { cwd: project, env: nodeOnly, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("int4 build: cmake was not found on the PATH. Install CMake >= 3.18 and a C++17 compiler");
    expect(fs.existsSync(path.join(project, "node_modules", "int4", "build"))).toBe(false);
  });

  it("npx int4 build rejects bad options clearly", () => {
    const r = spawnSync(process.execPath, [npxCli, "--offline", "int4", "build", "--jobs", "0"], { cwd: project, env: nodeOnly, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('int4 build: --jobs: expected an integer from 1 to 1024, got "0"');
  });
});

describe("from source: npx int4 build in the installed copy", () => {
  it("builds build/Release/int4.node, which is then loaded instead of the prebuild and passes", () => {
    const copy = path.join(tmp, "project-src");
    fs.cpSync(project, copy, { recursive: true, verbatimSymlinks: true });
    const env = { ...process.env, npm_config_platform: "darwin", npm_config_arch: "arm64" };
    // before: this "platform" has no prebuild
    const before = spawnSync(process.execPath, ["-e", "require('int4')"], { cwd: copy, env, encoding: "utf8" });
    expect(before.stderr).toContain("no prebuilt binary for darwin-arm64");
    const b = spawnSync(process.execPath, [npxCli, "--offline", "int4", "build"], { cwd: copy, env, encoding: "utf8" });
    expect(b.status, b.stderr.slice(-3000)).toBe(0);
    expect(b.stderr).toMatch(/int4 build: built .*build\/Release\/int4\.node/);
    const file = path.join(copy, "node_modules", "int4", "build", "Release", "int4.node");
    expect(fs.existsSync(file)).toBe(true);
    const res = hostCheck(copy, env);
    expectGood(res, "node_modules/int4/build/Release/int4.node");
    for (const isa of res.backend.available) {
      const r = hostCheck(copy, { ...env, INT4_ISA: isa });
      expect(r.backend.isa).toBe(isa);
      expectGood(r, "node_modules/int4/build/Release/int4.node");
    }
  }, 900_000);
});
