// `int4 chat` on a terminal: driven through tmux (a real pseudo-terminal: readline in terminal
// mode, Ctrl-C as a key, not a signal), not by piping stdin. Skips without tmux or the model.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cli } from "./helpers/cliSetup";

const student = path.resolve(__dirname, "..", "..", "shared", "models", "student-k256", "student-k256-Q4_K_M.gguf");
// a slower model, so that Ctrl-C lands while a reply is being written (optional)
const slow = process.env.INT4_CHAT_SLOW_MODEL ?? path.resolve(__dirname, "..", "build-bench", "tinyllama-q4_k_m.gguf");
const haveTmux = spawnSync("tmux", ["-V"]).status === 0;
if (!haveTmux) console.warn("skipping int4 chat terminal tests: no tmux (apt-get install tmux)");

const sessions: string[] = [];
const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
// the pane's text without its blank end (the prompt then ends it: "\n>")
const screen = (s: string) => tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", s).replace(/\s+$/, "");
const alive = (s: string) => spawnSync("tmux", ["has-session", "-t", s]).status === 0;

function start(args: string[]): string {
  const s = `int4-chat-test-${process.pid}-${sessions.length}`;
  sessions.push(s);
  const cmd = [process.execPath, cli, "chat", ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  // the shell stays (remain-on-exit) so the exit status can be read
  const tm = ["new-session", "-d", "-s", s, "-x", "150", "-y", "50", `${cmd}; echo "[exit $?]"; sleep 30`];
  // a tmux server shutting down after the last test's session can refuse one start: retry once
  if (spawnSync("tmux", tm).status !== 0) {
    spawnSync("sleep", ["0.5"]);
    tmux(...tm);
  }
  return s;
}

/** Waits (bounded) until the screen matches. */
async function until(s: string, re: RegExp, ms = 60_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const text = screen(s);
    if (re.test(text)) return text;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re} on:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterEach(() => {
  for (const s of sessions.splice(0)) if (alive(s)) spawnSync("tmux", ["kill-session", "-t", s]);
});

describe.skipIf(!haveTmux || !fs.existsSync(student))("int4 chat in a terminal (tmux)", () => {
  it("streams replies, keeps the history, /reset, Ctrl-C at the prompt does not quit, /exit", async () => {
    const s = start(["--model", student, "--template", "chatml", "--temp", "0", "-n", "24", "--threads", "1", "--system", "Be brief."]);
    await until(s, /\n>$/);
    tmux("send-keys", "-t", s, "Once upon a time", "Enter");
    const first = await until(s, /> Once upon a time\n[^]+\n>$/);
    const reply1 = first.split("> Once upon a time\n")[1].split("\n>")[0].trim();
    expect(reply1.length).toBeGreaterThan(0);
    // a second turn: its prompt holds the first (the history), so its reply is not the one the
    // same words get in a new conversation (checked after /reset below)
    tmux("send-keys", "-t", s, "And then?", "Enter");
    const second = await until(s, /> And then\?\n[^]+\n>$/);
    const reply2 = second.split("> And then?\n")[1].split("\n>")[0].trim();
    expect(reply2.length).toBeGreaterThan(0);
    tmux("send-keys", "-t", s, "C-c");
    await until(s, /Ctrl-C stops a reply\)\n>$/);
    tmux("send-keys", "-t", s, "/reset", "Enter");
    await until(s, /\(conversation forgotten\)\n>$/);
    tmux("send-keys", "-t", s, "Once upon a time", "Enter");
    const again = await until(s, /forgotten\)\n> Once upon a time\n[^]+\n>$/);
    // after /reset the conversation is the same as the first: the same greedy reply
    expect(again.split("forgotten)\n> Once upon a time\n")[1].split("\n>")[0].trim()).toBe(reply1);
    tmux("send-keys", "-t", s, "/reset", "Enter");
    await until(s, /\(conversation forgotten\)\n>$/);
    tmux("send-keys", "-t", s, "And then?", "Enter");
    const fresh = await until(s, /forgotten\)\n> And then\?\n[^]+\n>$/);
    expect(fresh.split("forgotten)\n> And then?\n").at(-1)!.split("\n>")[0].trim()).not.toBe(reply2);
    tmux("send-keys", "-t", s, "/exit", "Enter");
    await until(s, /\[exit 0\]/);
  }, 90_000);

  it("--help, and a missing --model (exit 2)", () => {
    for (const cmd of ["chat", "serve"]) {
      const h = spawnSync(process.execPath, [cli, cmd, "--help"], { encoding: "utf8" });
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(/--template NAME/);
      const r = spawnSync(process.execPath, [cli, cmd], { encoding: "utf8" });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--model FILE is required/);
    }
  });

  it("a model without a chat template and no --template: a clear error, exit 1", async () => {
    const s = start(["--model", student]);
    const text = await until(s, /\[exit \d+\]/);
    expect(text).toMatch(/chat template/);
    expect(text).toMatch(/\[exit 1\]/);
  }, 60_000);

  it.skipIf(!fs.existsSync(slow))("Ctrl-C stops a reply, not the program", async () => {
    const s = start(["--model", slow, "--template", "chatml", "--temp", "0", "-n", "400", "--ctx", "512"]);
    await until(s, /\n>$/, 120_000);
    tmux("send-keys", "-t", s, "Hello", "Enter");
    await until(s, /> Hello\n.{10,}/, 60_000); // some of the reply is out
    tmux("send-keys", "-t", s, "C-c");
    const text = await until(s, /\[stopped\]\n>$/, 30_000);
    expect(text).not.toMatch(/\[exit/);
    tmux("send-keys", "-t", s, "C-d");
    await until(s, /\[exit 0\]/);
  }, 240_000);
});
