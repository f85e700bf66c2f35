// Starts `int4 serve` (the compiled CLI) on 127.0.0.1 with a free port, for the server tests;
// stop() ends it (SIGTERM, then SIGKILL if it lingers).
import { spawn, type ChildProcess } from "node:child_process";
import { cli } from "./cliSetup";

export interface Served {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export function startServer(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [cli, "serve", "--host", "127.0.0.1", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      void stop();
      reject(new Error(`int4 serve did not start: ${err}`));
    }, 60_000);
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1], proc, stderr: () => err, stop });
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`int4 serve exited with ${code}: ${err}`));
    });
  });
}
