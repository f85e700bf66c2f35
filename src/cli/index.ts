// The int4 command line: every command is a file of this folder, registered in COMMANDS, from
// which the help is made. main() runs one and turns its errors into messages and exit codes:
// a UsageError (a bad command line) exits with 2 and the usage hint, any other error with 1.
import { UsageError, showHelp } from "./args";
import { buildCmd } from "./build";
import { chatCmd } from "./chat";
import { evalCmd } from "./eval";
import { infoCmd } from "./info";
import { quantizeCmd } from "./quantize";
import { runCmd } from "./run";
import { serveCmd } from "./serve";

interface Command {
  name: string;
  /** Lines of the main help: usage and what it does. */
  usage: [string, string][];
  run(args: string[]): number | Promise<number>;
}

export const COMMANDS: readonly Command[] = [
  { name: "run", usage: [["int4 run  [--model FILE.gguf] [--prompt TEXT] [-n N] [sampling options]", "generate text"]], run: runCmd },
  { name: "chat", usage: [["int4 chat --model FILE.gguf [--template NAME] [--system TEXT] [sampling options]", "chat on the terminal"]], run: chatCmd },
  { name: "serve", usage: [["int4 serve --model FILE.gguf [--port 8080] [--host 127.0.0.1] [--parallel 8]", "OpenAI-compatible server"]], run: serveCmd },
  {
    name: "eval",
    usage: [
      ["int4 eval [quant] --model FILE.gguf [--quant Q] [--text FILE] [--ctx N] [--json]", "quantization error vs f32"],
      ["int4 eval base --base FULL.gguf --model QUANT.gguf [--text FILE]", "a quantized file vs its source"],
      ["int4 eval methods --model in.gguf --methods rtn,mse,awq,gptq --format F [--calib FILE]", "compare methods"],
    ],
    run: evalCmd,
  },
  { name: "info", usage: [["int4 info --model FILE.gguf", "what is in a GGUF file"]], run: infoCmd },
  { name: "quantize", usage: [["int4 quantize --model in.gguf --out out.gguf --format F --method M [--calib FILE]", "write a quantized GGUF"]], run: quantizeCmd },
  { name: "build", usage: [["int4 build", "compile the addon from the shipped sources"]], run: buildCmd },
];

export const HELP_MAIN = `int4: INT4 inference on the CPU

Usage:
${COMMANDS.flatMap((c) => c.usage).map(([u, what]) => `  ${u.padEnd(82)} ${what}`).join("\n")}

Without --model, \`int4 run\` uses the built-in demo model: random weights at TinyLlama-1.1B's
shape. It shows speed and INT4 error, not language.
Run \`int4 <command> --help\` for the options of each command.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const command = COMMANDS.find((c) => c.name === cmd);
  try {
    if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") return showHelp(HELP_MAIN);
    if (!command) throw new UsageError(`unknown command "${cmd}" (expected ${COMMANDS.map((c) => c.name).join(", ")})`);
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`int4 ${cmd ?? ""}: ${e.message}\nRun \`int4 ${command ? cmd + " " : ""}--help\` for usage.\n`);
      return 2;
    }
    process.stderr.write(`int4 ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}
