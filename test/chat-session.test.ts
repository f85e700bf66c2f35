// Chat sessions and the KV cache kept between generations: a prompt that begins with the tokens
// the cache holds runs only the rest, with the same result as running it whole.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel, renderChat, type Model } from "../src/index";
import { loadEngine } from "../src/model/engine";

const file = path.resolve(__dirname, "..", "..", "shared", "models", "student-k256", "student-k256-Q4_K_M.gguf");
const greedy = { temperature: 0, maxTokens: 24 };

async function collect(it: AsyncIterable<string>): Promise<string> {
  let s = "";
  for await (const p of it) s += p;
  return s;
}

describe.skipIf(!fs.existsSync(file))("KV cache reuse and chat sessions (student-k256 Q4_K_M)", () => {
  const models: Model[] = [];
  const load = async () => {
    const m = await loadModel(file, { threads: 1 });
    models.push(m);
    return m;
  };
  afterAll(() => models.forEach((m) => m.dispose()));

  it("a prompt that begins with the cached tokens runs only the rest and gives the same text", async () => {
    const m = await load();
    const a = await collect(m.generate("Once upon a time", greedy));
    expect(m.lastStats!.cachedTokens).toBe(0);
    const b = await collect(m.generate("Once upon a time", greedy));
    expect(b).toBe(a);
    expect(m.lastStats!.cachedTokens).toBe(m.lastStats!.promptTokens - 1);
    expect(await collect(m.generate("Once upon a time", { ...greedy, reuseCache: false }))).toBe(a);
    expect(m.lastStats!.cachedTokens).toBe(0); // asked to run the whole prompt
    // the prompt plus what was generated: the tokens fed while generating are reused too
    await collect(m.generate("Once upon a time" + a, greedy));
    expect(m.lastStats!.cachedTokens).toBeGreaterThan(m.lastStats!.promptTokens / 2);
  });

  it("the logits after a prefix run, then the rest, are those of the whole run (to GEMV/GEMM rounding)", () => {
    const e = loadEngine({ source: { kind: "gguf", path: file }, quant: "native", threads: 1, ctx: 256 });
    const ids = e.tokenizer.encode("Once upon a time, there was a little girl named Lily. She loved to play outside.");
    const whole = e.transformer.forward(ids, 0).slice();
    e.transformer.forward(ids.slice(0, 9), 0);
    for (let i = 9; i < 12; i++) e.transformer.forward([ids[i]], i); // token by token, as generation feeds
    const split = e.transformer.forward(ids.slice(12), 12);
    let d = 0, mag = 0;
    for (let i = 0; i < whole.length; i++) d = Math.max(d, Math.abs(whole[i] - split[i])), mag = Math.max(mag, Math.abs(whole[i]));
    // not bit for bit: tokens fed one at a time run the GEMV, a batch the GEMM (AMX / VNNI), whose
    // f32 sums round differently, and the next layer's int8 rounding of its input can amplify
    // that to ~0.5 % of the largest logit; a wrong position or stale cache entry moves them by O(1)
    expect(d).toBeLessThan(1e-2 * mag);
  });

  it("a two-turn chat equals one generate() over the rendered conversation, running only the new turn", async () => {
    const m = await load();
    const chat = m.chat({ system: "You tell stories.", template: "chatml" });
    const first = await chat.send("Tell me about a cat.", greedy);
    expect(first.length).toBeGreaterThan(0);
    const pieces: string[] = [];
    for await (const p of chat.send("And then?", greedy)) pieces.push(p);
    const second = pieces.join("");
    const stats = chat.lastStats!;
    expect(stats.cachedTokens).toBeGreaterThan(0);
    expect(stats.promptTokens - stats.cachedTokens).toBeLessThan(stats.promptTokens / 2);
    expect(chat.messages.map((x) => x.role)).toEqual(["system", "user", "assistant", "user", "assistant"]);
    // the same conversation, rendered and run whole on a model with an empty cache
    const again = await load();
    const msgs = chat.messages;
    const text = renderChat("chatml", msgs.slice(0, 4), { bosToken: again.tokenizer.piece(again.tokenizer.bos), eosToken: again.tokenizer.piece(again.tokenizer.eos) });
    expect(await collect(again.generate(text, { ...greedy, special: true }))).toBe(second);
    expect(again.lastStats!.cachedTokens).toBe(0);
  });

  it("a model without a chat template needs options.template; bad options are refused", async () => {
    const m = models[0] ?? (await load());
    expect(m.chatTemplate).toBeNull();
    expect(() => m.chat()).toThrow(/options.template/);
    expect(() => m.chat({ template: 3 } as never)).toThrow(TypeError);
    expect(() => m.chat({ bogus: 1 } as never)).toThrow(RangeError);
    expect(() => m.chat({ template: "chatml" }).send(5 as never)).toThrow(TypeError);
  });
});
if (!fs.existsSync(file)) describe("KV cache reuse and chat sessions", () => it.skip("../shared/models/student-k256 is absent", () => {}));
