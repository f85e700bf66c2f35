// Stale binaries are caught: each committed prebuild must have been built from the native
// sources in this tree (the hash the binary carries equals the hash of cpp/, cmake/, CMakeLists.txt).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { sourceTreeHash } from "./helpers/sourceHash";

const root = path.resolve(__dirname, "..");
const expected = sourceTreeHash(root);

describe("committed prebuilds match cpp/", () => {
  for (const target of ["linux-x64", "linux-arm64", "win32-x64"]) {
    it(`prebuilds/${target}/int4.napi.node was built from these sources`, () => {
      const file = path.join(root, "prebuilds", target, "int4.napi.node");
      expect(fs.existsSync(file), `${file} is missing: run npm run prebuild`).toBe(true);
      const bytes = fs.readFileSync(file).toString("latin1");
      const found = bytes.match(/[0-9a-f]{64}/g) ?? [];
      expect(found.includes(expected), `prebuilds/${target} is stale (built from other sources): run npm run prebuild and commit prebuilds/`).toBe(true);
    });
  }

  it("the x64 prebuild loads and reports the same hash", () => {
    if (process.arch !== "x64") return;
    const addon = require(path.join(root, "prebuilds", "linux-x64", "int4.napi.node"));
    expect(addon.sourceHash(), "run npm run prebuild").toBe(expected);
  });

  it("the local build reports the hash of these sources", async () => {
    const { nativeSourceHash } = await import("../src/index");
    expect(nativeSourceHash(), "the local build is stale: run npm run compile").toBe(expected);
  });
});
