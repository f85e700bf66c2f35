// The packed package, installed the way users install it: npm pack, then npm install of the tarball
// in a fresh project with install scripts disabled and a PATH that holds node and nothing else
// (no compiler, no cmake, no make). require() and import() must both load the prebuilt binary.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const npmCli = path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
let tmp = "";
let project = "";
let env: NodeJS.ProcessEnv = {};

const check = `
  const assert = require("node:assert");
  const check = (int4) => {
    const { Tensor, quantize, matmul } = int4;
    const data = new Float32Array(64);
    data.set([1, 2, 3, 4], 0);
    data.set([-1, -2, -3, -4], 32);
    const w = new Tensor(data, [2, 32]);
    const q = quantize(w);
    const y = matmul(new Tensor(new Float32Array(32).fill(1), [1, 32]), q, { activations: "float32" });
    assert.deepStrictEqual(Array.from(y.data), [10, -10]);
    return int4.nativeSourceHash();
  };
`;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "int4-pack-"));
  // pack (runs `prepare`, which compiles src/ to dist/)
  const out = execFileSync(process.execPath, [npmCli, "pack", "--pack-destination", tmp, "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const tarball = path.join(tmp, JSON.parse(out)[0].filename);
  // a PATH with node only
  const bin = path.join(tmp, "bin");
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, "node"));
  env = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), ".npm") };
  project = path.join(tmp, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  execFileSync(process.execPath, [npmCli, "install", tarball, "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: project, env, stdio: "pipe" });
}, 300_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("installed from the packed tarball, no compiler, no install scripts", () => {
  it("the PATH really has no compiler or cmake", () => {
    for (const tool of ["cc", "gcc", "g++", "c++", "clang", "cmake", "make"]) {
      const r = spawnSync(tool, ["--version"], { env });
      expect(r.error, `${tool} should not be found`).toBeDefined();
    }
    expect(fs.existsSync(path.join(project, "node_modules", "int4", "build"))).toBe(false);
    expect(fs.existsSync(path.join(project, "node_modules", "int4", "prebuilds", "linux-x64", "int4.napi.node"))).toBe(true);
  });

  it('require("int4") loads and a small matmul is right', () => {
    const r = spawnSync(process.execPath, ["-e", `${check}; console.log(check(require("int4")))`], { cwd: project, env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('import("int4") loads and a small matmul is right', () => {
    const code = `${check}; import("int4").then((m) => { console.log(check(m)); console.log(typeof m.default.matmul, typeof m.matmul.async); })`;
    const r = spawnSync(process.execPath, ["-e", code], { cwd: project, env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")[1]).toBe("function function");
  });

  it("the ESM entry exports every name the CommonJS entry does", () => {
    const code = `const c = Object.keys(require("int4")).sort(); import("int4").then((m) => console.log(JSON.stringify([c, Object.keys(m).filter((k) => k !== "default").sort()])))`;
    const r = spawnSync(process.execPath, ["-e", code], { cwd: project, env, encoding: "utf8" });
    const [cjs, esm] = JSON.parse(r.stdout);
    expect(esm).toEqual(cjs);
  });
});
