#!/usr/bin/env node
// The int4 command line (src/cli/: one file per command). The installed executable is bin.ts,
// which runs `int4 build` before anything loads the native binding; this entry runs the rest.
import { main } from "./cli/index";

export { main };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
