// `int4 chat`: a conversation with a model on the terminal. A chat session (src/chat/session.ts)
// holds the history and the model's worker keeps its KV cache, so each turn runs only its own
// tokens. Ctrl-C stops the reply being written (not the program); /reset, /exit, Ctrl-D.
import * as os from "node:os";
import * as readline from "node:readline";
import { BUILTIN_TEMPLATES } from "../chat/template";
import { loadModel } from "../model/model";
import { SAMPLER_ARGS, SAMPLER_HELP, fileArg, intArg, parseCli, quantArg, samplerArgs, showHelp } from "./args";
import { templateArg } from "./serve";

export const HELP_CHAT = `int4 chat: talk with a model on the terminal (it streams its replies).

In the chat: /reset forgets the conversation (keeps --system), /exit or Ctrl-D quits, Ctrl-C stops
a reply while it is written.

Options:
  --model FILE        GGUF model (required)
  --template NAME     chat template instead of the model's: ${Object.keys(BUILTIN_TEMPLATES).join(", ")}, or a Jinja file
  --system TEXT       a system message first
  -n, --n-predict N   most tokens per reply (default 512)
${SAMPLER_HELP}
  --threads N         default: available CPUs (${os.availableParallelism()})
  --quant Q           as for int4 run (default: native)
  --ctx N             KV cache length (default: min(model context, 2048))
  -h, --help`;

const HINT = "(/reset forgets the conversation, /exit or Ctrl-D quits, Ctrl-C stops a reply)";

export async function chatCmd(args: string[]): Promise<number> {
  const v = parseCli(args, {
    model: { type: "string" }, template: { type: "string" }, system: { type: "string" }, "n-predict": { type: "string", short: "n" },
    threads: { type: "string" }, quant: { type: "string" }, ctx: { type: "string" }, ...SAMPLER_ARGS,
  });
  if (v.help) return showHelp(HELP_CHAT);
  const file = fileArg("model", v.model, true)!;
  const template = templateArg(v.template as string | undefined);
  const maxTokens = intArg("n-predict", v["n-predict"], 1, 1 << 20) ?? 512;
  const sampler = samplerArgs(v);
  const model = await loadModel(file, {
    threads: intArg("threads", v.threads, 1, 256), ctx: intArg("ctx", v.ctx, 16, 1 << 22),
    quant: v.quant === undefined ? undefined : quantArg(v.quant as string),
  });
  try {
    const session = model.chat({ system: v.system as string | undefined, template }); // no template: a clear error
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: "> ", terminal: process.stdin.isTTY });
    let reply: AbortController | null = null;
    // in a terminal readline turns Ctrl-C into this event: stop the reply, or remind how to quit
    rl.on("SIGINT", () => {
      if (reply) reply.abort();
      else {
        process.stdout.write(`\n${HINT}\n`);
        rl.prompt();
      }
    });
    process.stdout.write(`int4 chat: ${file} ${HINT}\n`);
    rl.prompt();
    for await (const line of rl) {
      const text = line.trim();
      if (text === "/exit" || text === "/quit") break;
      if (text === "/reset") {
        session.reset();
        process.stdout.write("(conversation forgotten)\n");
      } else if (text.startsWith("/") && !text.startsWith("//")) {
        process.stdout.write(`unknown command ${text} ${HINT}\n`);
      } else if (text !== "") {
        reply = new AbortController();
        try {
          for await (const piece of session.send(line, { ...sampler, maxTokens, signal: reply.signal })) process.stdout.write(piece);
          process.stdout.write(reply.signal.aborted ? " [stopped]\n" : "\n");
        } catch (e) {
          process.stdout.write(`\n(error: ${(e as Error).message})\n`);
        } finally {
          reply = null;
        }
      }
      rl.prompt();
    }
    rl.close();
  } finally {
    model.dispose();
  }
  return 0;
}
