// Preloaded (NODE_OPTIONS=--require) into every Node process of test/sanitize.test.ts's child run:
// each time a process (or one of its Workers) loads an int4 binary, one JSON line appended to
// $INT4_SANITIZE_PROBE with the int4 binaries then mapped and whether the ASan runtime is, so the
// test can check that every process that loaded int4 loaded the sanitized build and nothing else.
// (Recorded at load, not at exit: vitest ends its worker processes without an exit event.)
"use strict";
const fs = require("node:fs");
const out = process.env.INT4_SANITIZE_PROBE;
if (out) {
  const dlopen = process.dlopen;
  process.dlopen = function (module, filename, ...rest) {
    const r = dlopen.call(this, module, filename, ...rest);
    if (/int4[^/\\]*\.node$/.test(filename)) {
      const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\n").map((l) => l.split(/\s+/).slice(5).join(" "));
      const files = [...new Set(maps.filter((f) => /\/int4[^/]*\.node$/.test(f)))];
      const asan = maps.some((f) => /\/libasan\.so/.test(f));
      fs.appendFileSync(out, JSON.stringify({ pid: process.pid, argv: process.argv.slice(1, 3), files, asan }) + "\n");
    }
    return r;
  };
}
