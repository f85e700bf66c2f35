// `int4 info`: what is in a GGUF file: architecture, hyperparameters, tensors, memory per quant.
import { escapeControls, openGGUF, valueText, type GGUFValue } from "../gguf/reader";
import { configFromGGUF } from "../model/config";
import { parseQuant, QUANT_NAMES } from "../model/quant";
import { isLoadableType, LOADABLE_TYPES, weightBytesOf } from "../model/weights";
import { fileArg, mib, parseCli, showHelp } from "./args";

const HELP_INFO = `int4 info: architecture, hyperparameters, tensors, and memory per quantization.

Options:
  --model FILE   GGUF file (required)
  --json         print as JSON
  -h, --help`;

/** A metadata value for the terminal: strings as they are but with control characters escaped and cut. */
const shown = (v: GGUFValue | undefined) => (v === undefined ? "-" : typeof v === "string" ? escapeControls(v.length > 200 ? v.slice(0, 200) + "…" : v) : valueText(v));

export function infoCmd(args: string[]): number {
  const v = parseCli(args, { model: { type: "string" }, json: { type: "boolean" } });
  if (v.help) return showHelp(HELP_INFO);
  const model = fileArg("model", v.model as string | undefined, true)!;
  const f = openGGUF(model);
  try {
    const c = configFromGGUF(f);
    const tensors = f.tensors.map((t) => ({ name: t.name, type: t.type.name, shape: t.ne, bytes: t.byteLength }));
    const kvBytes = (ctx: number) => 2 * c.nLayers * Math.ceil(ctx / 16) * 16 * c.nKvHeads * c.headDim * 4; // as Transformer allocates it
    const memory = QUANT_NAMES.map((qn) => ({ quant: qn, weightBytes: weightBytesOf(f, parseQuant(qn)) }));
    const ctxs = [...new Set([512, 2048, c.ctx].filter((x) => x <= c.ctx))].sort((a, b) => a - b);
    // tensors of a type int4 has no kernels for: the file does not load (the table above is then moot)
    const unsupported = tensors.filter((t) => !isLoadableType(t.type)).map((t) => ({ name: t.name, type: t.type }));
    if (v.json) {
      process.stdout.write(JSON.stringify({ file: model, version: f.version, config: c, tensors, memory, kvCache: ctxs.map((x) => ({ ctx: x, bytes: kvBytes(x) })), unsupported }, null, 2) + "\n");
      return 0;
    }
    const lines = [
      `file:          ${model} (GGUF v${f.version}, ${mib(f.fileSize)}, ${f.tensors.length} tensors, alignment ${f.alignment})`,
      `name:          ${shown(f.get("general.name"))}`,
      `architecture:  ${c.arch}`,
      `dim ${c.dim}, layers ${c.nLayers}, heads ${c.nHeads} (KV ${c.nKvHeads}, head size ${c.headDim}), FFN ${c.hidden}, vocabulary ${c.vocab}`,
      `context ${c.ctx}, RMSNorm eps ${c.eps}, RoPE base ${c.ropeBase} over ${c.nRot} dims (normal), output ${f.tensor("output.weight") ? "separate" : "tied to token_embd"}`,
      `tokenizer:     ${shown(f.get("tokenizer.ggml.model"))}`,
      "",
      "tensor                                  type     shape (ne)            bytes",
    ];
    for (const t of tensors) lines.push(`${escapeControls(t.name).padEnd(40)}${t.type.padEnd(9)}${("[" + t.shape.join(", ") + "]").padEnd(22)}${t.bytes}`);
    lines.push("", "memory by quant (weights; + KV cache at each context length):");
    lines.push("quant          weights     " + ctxs.map((x) => `ctx ${x}`.padStart(14)).join(""));
    for (const m of memory) lines.push(`${m.quant.padEnd(15)}${mib(m.weightBytes).padStart(11)} ` + ctxs.map((x) => mib(m.weightBytes + kvBytes(x)).padStart(14)).join(""));
    lines.push(`KV cache: ${ctxs.map((x) => `${mib(kvBytes(x))} at ${x}`).join(", ")} (f32)`);
    if (unsupported.length > 0) {
      const types = [...new Set(unsupported.map((t) => t.type))].join(", ");
      lines.push("", `int4 cannot load this file: ${unsupported.length} tensor${unsupported.length > 1 ? "s" : ""} of type ${types} (first: ${escapeControls(unsupported[0].name)}); it loads ${LOADABLE_TYPES.join(", ")} and int4's INT4_G* types`);
    }
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    f.close();
  }
  return 0;
}

