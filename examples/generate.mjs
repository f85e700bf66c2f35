// Streams a model's continuation of a prompt with the public API.
//   node examples/generate.mjs [model.gguf] [prompt]
// Without a model file it uses the built-in demo model (random weights: speed, not language).
import { DEMO_MODEL, loadModel } from "int4";

const file = process.argv[2] ?? DEMO_MODEL;
const prompt = process.argv[3] ?? "Once upon a time";
const model = await loadModel(file, { quant: "q4" });
const ac = new AbortController();
process.once("SIGINT", () => ac.abort()); // Ctrl-C stops generation cleanly
process.stdout.write(prompt);
for await (const piece of model.generate(prompt, { maxTokens: file === DEMO_MODEL ? 16 : 128, temperature: 0.8, seed: 1, signal: ac.signal })) {
  process.stdout.write(piece);
}
const s = model.lastStats;
console.log(`\n[${s.promptTokens} prompt tokens in ${s.promptMs.toFixed(0)} ms, ${s.generatedTokens} generated, stopped: ${s.stopReason}]`);
model.dispose();
