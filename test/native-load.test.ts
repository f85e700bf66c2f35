// The error a user gets where the binding does not load (src/native.ts loadError), for the kinds
// of platform there are: no prebuild at all, and a prebuild that exists but cannot load.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { currentPlatform, loadError, PREBUILT_PLATFORMS } from "../src/native";

const cause = new Error("No native build was found for platform=darwin arch=arm64 runtime=node abi=115 uv=1 armv=8 libc=glibc node=20.20.2\n    loaded from: /x");

describe("loadError", () => {
  for (const [platform, arch, libc] of [["darwin", "arm64", ""], ["darwin", "x64", ""], ["win32", "arm64", ""], ["freebsd", "x64", ""]]) {
    it(`${platform}-${arch}: no prebuild, says so and how to build`, () => {
      const e = loadError({ platform, arch, libc }, cause);
      expect(e.message.split("\n")).toEqual([
        `int4: no prebuilt binary for ${platform}-${arch}.`,
        "Prebuilt binaries ship for: linux-x64 (glibc >= 2.28), linux-arm64 (glibc >= 2.28), win32-x64 (Windows 10 or later).",
        "To build one from the shipped sources (needs a C++17 compiler and CMake >= 3.18), run in your project:",
        "  npx int4 build",
      ]);
      expect((e as Error & { cause: unknown }).cause).toBe(cause);
    });
  }

  it("musl (Alpine): the glibc prebuild does not load; names the libc and what the prebuild needs", () => {
    const e = loadError({ platform: "linux", arch: "x64", libc: "musl" }, new Error("Error relocating int4.napi.node: __memcpy_chk: symbol not found"));
    expect(e.message).toMatch(/^int4: the prebuilt binary for linux-x64 \(musl\) did not load \(it needs glibc >= 2\.28\): Error relocating/);
    expect(e.message).toContain("\n  npx int4 build");
  });

  it("an old glibc: the loader's message, first line only", () => {
    const e = loadError({ platform: "linux", arch: "arm64", libc: "glibc 2.27" }, new Error("/lib/libc.so.6: version `GLIBC_2.28' not found\nmore"));
    expect(e.message.split("\n")[0]).toBe("int4: the prebuilt binary for linux-arm64 (glibc 2.27) did not load (it needs glibc >= 2.28): /lib/libc.so.6: version `GLIBC_2.28' not found");
  });

  it("a local build that does not load is named as such, with the way back to the prebuilds", () => {
    const e = loadError({ platform: "linux", arch: "x64", libc: "glibc 2.36" }, new Error("invalid ELF header"), "/p/node_modules/int4/build/Release/int4.node");
    expect(e.message.split("\n")[0]).toBe("int4: the local build /p/node_modules/int4/build/Release/int4.node did not load on linux-x64 (glibc 2.36): invalid ELF header. Rebuild it (below) or delete the build/ directory to use a prebuilt binary.");
    const p = loadError({ platform: "linux", arch: "x64", libc: "glibc 2.17" }, new Error("x"), "/p/node_modules/int4/prebuilds/linux-x64/int4.napi.node");
    expect(p.message).toMatch(/^int4: the prebuilt binary for linux-x64 \(glibc 2\.17\) did not load/);
  });

  it("currentPlatform: this host, and node-gyp-build's overrides", () => {
    const here = currentPlatform({});
    expect(here.platform).toBe(process.platform);
    expect(here.arch).toBe(process.arch);
    if (process.platform === "linux") expect(here.libc).toMatch(/^(glibc \d+\.\d+|musl)$/);
    expect(currentPlatform({ npm_config_platform: "darwin", npm_config_arch: "arm64" })).toEqual({ platform: "darwin", arch: "arm64", libc: "" });
    expect(currentPlatform({ npm_config_platform: "linux", LIBC: "musl" }).libc).toBe("musl");
    expect(PREBUILT_PLATFORMS.map((t) => `${t.platform}-${t.arch}`)).toEqual(["linux-x64", "linux-arm64", "win32-x64"]);
  });

  it("INT4_NATIVE loads that exact file, and one that does not load is an error naming it", () => {
    const root = path.resolve(__dirname, "..");
    const load = (file: string) => spawnSync(process.execPath, ["-e", "console.log(require(process.argv[1]).nativeFile)", path.join(root, "dist", "native.js")],
      { encoding: "utf8", env: { ...process.env, INT4_NATIVE: file } });
    const built = path.join(root, "build", "Release", "int4.node");
    expect(load(built).stdout.trim()).toBe(built);
    const r = load("/nonexistent/int4.node");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("int4: INT4_NATIVE=/nonexistent/int4.node did not load: Cannot find module '/nonexistent/int4.node'.");
  });
});
