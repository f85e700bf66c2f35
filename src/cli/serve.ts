// `int4 serve`: an OpenAI-compatible server (src/serve/server.ts) for one model, with continuous
// batching of up to --parallel requests.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModel } from "../model/model";
import { BUILTIN_TEMPLATES } from "../chat/template";
import { Int4Server } from "../serve/server";
import { UsageError, fileArg, intArg, mib, parseCli, quantArg, showHelp } from "./args";

export const HELP_SERVE = `int4 serve: an OpenAI-compatible HTTP server for a GGUF model.

  POST /v1/chat/completions  (stream or not; temperature, top_p, max_tokens, stop, seed)
  POST /v1/completions       GET /v1/models       GET /health

Up to --parallel requests decode together (one pass of the weights gives each a token: continuous
batching); more wait, and past --queue waiting a request gets 429.

Options:
  --model FILE        GGUF model (required)
  --host H            default 127.0.0.1 (loopback only; 0.0.0.0 exposes it to the network)
  --port P            default 8080 (0: any free port; the address is printed)
  --parallel N        sequences decoded together, each with its own KV cache (default 8)
  --queue N           requests that may wait for a slot (default 64)
  --template NAME     chat template instead of the model's: ${Object.keys(BUILTIN_TEMPLATES).join(", ")}, or a Jinja file
  --ctx N             KV cache positions per sequence (default: min(model context, 2048))
  --threads N         default: available CPUs (${os.availableParallelism()})
  --quant Q           as for int4 run (default: native)
  --max-body BYTES    largest request body (default 1048576); past it, 413
  --exact-batches     pad batches of 1 to 3 sequences to 4 rows (the GEMM), so that a sequence's
                      tokens at temperature 0 never depend on which others share its steps; costs
                      compute when few streams run (default: off, see the README)
  -h, --help`;

/** --template: a built-in name, or a file with a Jinja template. */
export function templateArg(v: string | undefined): string | undefined {
  if (v === undefined || v in BUILTIN_TEMPLATES) return v;
  const file = fileArg("template", v, false);
  if (file === undefined) throw new UsageError(`--template: expected one of ${Object.keys(BUILTIN_TEMPLATES).join(", ")} or a Jinja file, got "${v}"`);
  return fs.readFileSync(file, "utf8");
}

export async function serveCmd(args: string[]): Promise<number> {
  const v = parseCli(args, {
    model: { type: "string" }, host: { type: "string" }, port: { type: "string" }, parallel: { type: "string" },
    queue: { type: "string" }, template: { type: "string" }, ctx: { type: "string" }, threads: { type: "string" },
    quant: { type: "string" }, "max-body": { type: "string" }, "exact-batches": { type: "boolean" },
  });
  if (v.help) return showHelp(HELP_SERVE);
  const file = fileArg("model", v.model, true)!;
  const host = (v.host as string | undefined) ?? "127.0.0.1";
  const port = intArg("port", v.port, 0, 65535) ?? 8080;
  const parallel = intArg("parallel", v.parallel, 1, 256) ?? 8;
  const maxQueue = intArg("queue", v.queue, 0, 1 << 20) ?? 64;
  const maxBody = intArg("max-body", v["max-body"], 1024, 1 << 30) ?? 1 << 20;
  const template = templateArg(v.template as string | undefined);
  const model = await loadModel(file, {
    parallel, exactBatches: v["exact-batches"] === true, ctx: intArg("ctx", v.ctx, 16, 1 << 22), threads: intArg("threads", v.threads, 1, 256),
    quant: v.quant === undefined ? undefined : quantArg(v.quant as string),
  });
  const modelName = path.basename(file).replace(/\.gguf$/i, "");
  if (!template && !model.chatTemplate) process.stderr.write(`int4 serve: ${modelName} has no chat template: /v1/chat/completions answers 400 (give --template NAME)\n`);
  const server = new Int4Server(model, { modelName, template, maxBody, maxQueue });
  const a = await server.listen(port, host);
  const i = model.info;
  process.stderr.write(`int4 serve: ${modelName} (${i.config.arch}, ${i.quant}, ${i.threads} threads), ${parallel} slots of ${i.ctx} positions (KV ${mib(i.kvCacheBytes)})\n`);
  process.stdout.write(`listening on http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}\n`);
  // Ctrl-C / SIGTERM: stop listening, end open streams, free the model
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  model.dispose();
  return 0;
}
