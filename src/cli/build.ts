// `int4 build`: builds the native addon from the sources the package ships (cpp/, cmake/,
// CMakeLists.txt) with CMake and the system's C++ compiler, into build/Release/int4.node of the
// installed package, where the loader (node-gyp-build) looks before the prebuilds. For platforms
// without a prebuilt binary (macOS, musl, Windows arm64, ...), or to build for this very CPU.
// It must not load the binding (there may be none yet): it imports nothing that does.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

export const HELP_BUILD = `int4 build: compile the native addon from the shipped sources (CMake + a C++17 compiler).

The result, build/Release/int4.node inside the installed int4 package, is loaded in preference
to the prebuilt binaries. Needs CMake >= 3.18 and GCC or Clang (on Windows: MinGW-w64 GCC) on the
PATH; Node-API headers come with the package.

Options:
  --jobs N     parallel compile jobs (default: the number of CPUs)
  --clean      remove the previous build first
  -h, --help`;

/** The installed package: dist/cli/build.js (or src/cli/build.ts) is two levels below it. */
export const packageRoot = path.resolve(__dirname, "..", "..");

function run(cmd: string, args: string[], cwd: string): void {
  process.stderr.write(`> ${cmd} ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} failed (exit code ${r.status ?? r.signal}); see its output above`);
}

function resolveFrom(root: string, pkg: string): string {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`, { paths: [root] }));
  } catch {
    throw new Error(`the package ${pkg} (a dependency of int4) was not found: reinstall int4 (npm install int4)`);
  }
}

export async function buildCmd(args: string[]): Promise<number> {
  let v: { jobs?: string; clean?: boolean; help?: boolean };
  try {
    v = parseArgs({ args, options: { jobs: { type: "string" }, clean: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`int4 build: ${(e as Error).message}\nRun \`int4 build --help\` for usage.\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(HELP_BUILD + "\n");
    return 0;
  }
  const jobs = v.jobs === undefined ? Math.max(1, os.availableParallelism?.() ?? os.cpus().length) : Number(v.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) {
    process.stderr.write(`int4 build: --jobs: expected an integer from 1 to 1024, got ${JSON.stringify(v.jobs)}\n`);
    return 2;
  }
  try {
    build(packageRoot, jobs, !!v.clean);
    return 0;
  } catch (e) {
    process.stderr.write(`int4 build: ${(e as Error).message}\n`);
    return 1;
  }
}

export function build(root: string, jobs: number, clean: boolean): string {
  for (const f of ["CMakeLists.txt", "cpp", "cmake"])
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${path.join(root, f)} is missing: this int4 package does not ship its native sources`);
  const cmake = spawnSync("cmake", ["--version"], { encoding: "utf8" });
  if (cmake.error || cmake.status !== 0)
    throw new Error(
      "cmake was not found on the PATH. Install CMake >= 3.18 and a C++17 compiler (GCC or Clang; on Windows MinGW-w64), " +
        "e.g. `apt-get install cmake g++`, `apk add cmake g++ make`, `brew install cmake` (with Xcode's command line tools), then run `npx int4 build` again.",
    );
  const headers = resolveFrom(root, "node-api-headers");
  const addonApi = resolveFrom(root, "node-addon-api");
  const out = path.join(root, "build");
  if (clean) fs.rmSync(out, { recursive: true, force: true });
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.accessSync(out, fs.constants.W_OK);
  } catch {
    throw new Error(`cannot write ${out}: run \`npx int4 build\` as the user who installed int4`);
  }
  const configure = ["-S", root, "-B", out, "-DCMAKE_BUILD_TYPE=Release", `-DINT4_NAPI_INCLUDE=${path.join(headers, "include")}`,
    `-DNODE_ADDON_API_DIR=${addonApi}`];
  if (process.platform === "win32") {
    configure.push(`-DINT4_NAPI_DEF=${path.join(headers, "def", "node_api.def")}`);
    if (!process.env.CMAKE_GENERATOR) configure.push("-G", "MinGW Makefiles");
  }
  run("cmake", configure, root);
  run("cmake", ["--build", out, "--target", "int4", "--config", "Release", "--parallel", String(jobs)], root);
  const file = path.join(out, "Release", "int4.node");
  if (!fs.existsSync(file)) throw new Error(`the build finished but ${file} is missing`);
  // load it in a fresh process: it must load here, and report what it runs
  const check = spawnSync(process.execPath, ["-e", `const b = require(${JSON.stringify(file)}).backend(); console.log(b.kernels + ", " + b.threads + " threads")`], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`${file} was built but does not load: ${(check.stderr || "").trim()}`);
  process.stderr.write(`int4 build: built ${file} (kernels ${check.stdout.trim()}); int4 now loads it instead of a prebuilt binary.\n`);
  return file;
}
