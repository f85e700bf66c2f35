#!/usr/bin/env node
// The `int4` executable. `int4 build` is dispatched before anything loads the native binding: it
// is the command for platforms where there is none yet. Everything else is src/cli.ts.
const [cmd, ...rest] = process.argv.slice(2);
const run: Promise<number> = cmd === "build" ? require("./cli/build").buildCmd(rest) : require("./cli").main(process.argv.slice(2));
run.then((code) => {
  process.exitCode = code;
});
