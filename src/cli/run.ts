// `int4 run`: stream a model's continuation of a prompt (the demo model without --model).
import * as os from "node:os";
import { backend } from "../index";
import { DEMO_CONFIG } from "../model/config";
import { DEMO_MODEL, loadModel } from "../model/model";
import { QUANT_NAMES } from "../model/quant";
import { fileArg, intArg, mib, numArg, parseCli, quantArg, showHelp } from "./args";

export const HELP_RUN = `int4 run: stream a model's continuation of a prompt to stdout; stats go to stderr.

Options:
  --model FILE        GGUF model (llama architecture; F32/F16/BF16/Q8_0/Q4_0/Q4_1 tensors).
                      Default: the built-in demo model (random weights, TinyLlama-1.1B shape)
  --prompt TEXT       default "Once upon a time"
  --special           control-token text in the prompt ("<|eot_id|>", "<|im_start|>")
                      becomes those tokens; default: it is plain text
  -n, --n-predict N   tokens to generate (default 128; 32 for the demo model)
  --temp T            temperature, 0 = greedy (default 0.8)
  --top-k K           default 40 (0 = off)
  --top-p P           default 0.95 (1 = off)
  --min-p P           default 0.05 (0 = off)
  --repeat-penalty R  default 1 (off)
  --seed S            default 1
  --threads N         default: available CPUs (${os.availableParallelism()})
  --quant Q           ${QUANT_NAMES.join(", ")} (default: native for a file of
                      quantized matrices, which runs them as stored; q4 for F32/F16/BF16 files)
  --ctx N             KV cache length (default: min(model context, 2048))
  -h, --help`;

const log = (s: string) => process.stderr.write(s + "\n");
const peakRss = () => process.resourceUsage().maxRSS * 1024;

export async function runCmd(args: string[]): Promise<number> {
  const v = parseCli(args, {
    model: { type: "string" }, prompt: { type: "string" }, "n-predict": { type: "string", short: "n" },
    temp: { type: "string" }, "top-k": { type: "string" }, "top-p": { type: "string" }, "min-p": { type: "string" },
    "repeat-penalty": { type: "string" }, seed: { type: "string" }, threads: { type: "string" },
    quant: { type: "string" }, ctx: { type: "string" }, special: { type: "boolean" },
  });
  if (v.help) return showHelp(HELP_RUN);
  const model = fileArg("model", v.model as string | undefined, false);
  const demo = model === undefined;
  const opts = {
    prompt: (v.prompt as string | undefined) ?? "Once upon a time",
    n: intArg("n-predict", v["n-predict"] as string, 1, 1 << 20) ?? (demo ? 32 : 128),
    temperature: numArg("temp", v.temp as string, 0, 100) ?? 0.8,
    topK: intArg("top-k", v["top-k"] as string, 0, 1 << 30) ?? 40,
    topP: numArg("top-p", v["top-p"] as string, 0, 1) ?? 0.95,
    minP: numArg("min-p", v["min-p"] as string, 0, 1) ?? 0.05,
    repeatPenalty: numArg("repeat-penalty", v["repeat-penalty"] as string, 0.01, 100) ?? 1,
    seed: intArg("seed", v.seed as string, 0, Number.MAX_SAFE_INTEGER) ?? 1,
    threads: intArg("threads", v.threads as string, 1, 256) ?? os.availableParallelism(),
    quant: v.quant === undefined ? undefined : quantArg(v.quant as string),
    ctx: intArg("ctx", v.ctx as string, 4, 1 << 22),
  };
  if (demo) {
    const c = DEMO_CONFIG;
    log(`int4: no --model given: the built-in demo model. Its weights are RANDOM (deterministic), at TinyLlama-1.1B's`);
    log(`shape (dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads}/${c.nKvHeads} heads, FFN ${c.hidden}, vocabulary ${c.vocab}), and its vocabulary is`);
    log(`synthetic: it shows INT4 speed and INT4 error, not language. The text below is random tokens.`);
    log(`Generating and quantizing ${((c.vocab * c.dim * 2 + c.nLayers * (c.dim * c.dim * 2 + c.dim * 256 * 2 + c.dim * c.hidden * 3)) / 1e9).toFixed(2)}B weights...`);
  }
  const t0 = performance.now();
  const m = await loadModel(model ?? DEMO_MODEL, { quant: opts.quant, threads: opts.threads, ctx: opts.ctx });
  const loadMs = performance.now() - t0;
  const info = m.info;
  log(`loaded ${demo ? "demo model" : model} (${info.config.arch}, quant ${info.quant}, ${info.threads} threads, kernels ${backend().isa}) in ${(loadMs / 1000).toFixed(2)} s`);
  if (info.demo) log(`INT4 weight error (relative RMS, vs the f32 random weights): ${(info.demo.weightRelRms * 100).toFixed(2)}%`);
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  // a closed pipe (`int4 run | head -1`) ends generation quietly
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") ac.abort();
    else throw e;
  });
  try {
    process.stdout.write(opts.prompt);
    for await (const piece of m.generate(opts.prompt, {
      maxTokens: opts.n, temperature: opts.temperature, topK: opts.topK, topP: opts.topP, minP: opts.minP,
      repeatPenalty: opts.repeatPenalty, seed: opts.seed, signal: ac.signal, special: v.special === true,
    })) {
      process.stdout.write(piece);
    }
    process.stdout.write("\n");
  } finally {
    process.off("SIGINT", onSig);
  }
  const s = m.lastStats!;
  log("");
  log(`load time:        ${(loadMs / 1000).toFixed(2)} s`);
  log(`prompt:           ${s.promptTokens} tokens in ${s.promptMs.toFixed(1)} ms = ${((s.promptTokens * 1000) / s.promptMs).toFixed(1)} tok/s`);
  log(`generation:       ${s.generatedTokens} tokens` + (s.generateForwards > 0 ? `, ${((s.generateForwards * 1000) / s.generateMs).toFixed(1)} tok/s` : "") + ` (stopped: ${s.stopReason})`);
  log(`weights:          ${mib(info.weightBytes)}, ${info.bitsPerWeight.toFixed(2)} bits/weight over ${(info.linearWeights / 1e6).toFixed(2)}M linear weights`);
  log(`KV cache:         ${mib(info.kvCacheBytes)} (${info.ctx} positions)`);
  log(`peak RSS:         ${mib(peakRss())}`);
  m.dispose();
  return 0;
}

