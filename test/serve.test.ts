// `int4 serve` under the official `openai` client (v6): streaming equals non-streaming, exact
// usage, 8 concurrent requests each answered as alone (continuous batching), malformed requests
// (400/404/413, OpenAI's error body; the server lives on), the queue limit (429), and a client
// that disconnects mid-stream (its generation stops, its slot is freed). Loopback only.
import * as fs from "node:fs";
import * as path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type Served } from "./helpers/serveSetup";

const file = path.resolve(__dirname, "..", "..", "shared", "models", "student-k256", "student-k256-Q4_K_M.gguf");
const have = fs.existsSync(file);
if (!have) console.warn(`skipping int4 serve tests: ${file} absent`);

const prompts = ["Once upon a time", "The little dog", "She said", "Tom and Lily went to the park", "One day", "The sun", "A big red ball", "Mom"];
const user = (content: string) => [{ role: "user" as const, content }];

async function health(url: string): Promise<{ busy: number; queued: number; tokens_generated: number }> {
  return (await fetch(`${url}/health`)).json() as never;
}

describe.skipIf(!have)("int4 serve (student-k256 Q4_K_M, chatml)", () => {
  let s: Served;
  let client: OpenAI;
  beforeAll(async () => {
    // --exact-batches: a sequence's tokens never depend on its batch (see test/batch.test.ts for the default's rounding)
    s = await startServer(["--model", file, "--template", "chatml", "--parallel", "8", "--threads", "1", "--max-body", "4096", "--exact-batches"]);
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "none", maxRetries: 0, timeout: 60_000 });
  }, 70_000);
  afterAll(async () => {
    await s?.stop();
  });

  it("lists its model and answers /health", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["student-k256-Q4_K_M"]);
    expect(await health(s.url)).toMatchObject({ busy: 0, queued: 0 });
  });

  it("streaming equals non-streaming at temperature 0, with the same exact usage", async () => {
    const req = { model: "student-k256-Q4_K_M", messages: user("Once upon a time"), temperature: 0, max_tokens: 40 };
    const whole = await client.chat.completions.create(req);
    const text = whole.choices[0].message.content!;
    expect(text.length).toBeGreaterThan(0);
    expect(whole.choices[0].finish_reason).toMatch(/^(stop|length)$/);
    const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
    let streamed = "", usage: OpenAI.CompletionUsage | undefined, finish: string | null = null;
    for await (const c of stream) {
      streamed += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
      usage = c.usage ?? usage;
    }
    expect(streamed).toBe(text);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(usage).toEqual(whole.usage);
    // the counts are the tokens: the rendered chatml prompt, and what was generated
    expect(whole.usage!.completion_tokens).toBe(whole.choices[0].finish_reason === "length" ? 40 : whole.usage!.completion_tokens);
    expect(whole.usage!.total_tokens).toBe(whole.usage!.prompt_tokens + whole.usage!.completion_tokens);
  });

  it("completions: a stop string cuts the text and ends with finish_reason stop", async () => {
    const a = await client.completions.create({ model: "m", prompt: "Once upon a time", temperature: 0, max_tokens: 30 });
    const full = a.choices[0].text;
    const word = full.trim().split(/\s+/)[2];
    const b = await client.completions.create({ model: "m", prompt: "Once upon a time", temperature: 0, max_tokens: 30, stop: [word] });
    expect(b.choices[0].text).toBe(full.slice(0, full.indexOf(word)));
    expect(b.choices[0].finish_reason).toBe("stop");
    expect(b.usage!.completion_tokens).toBeLessThan(a.usage!.completion_tokens);
    expect(b.usage!.prompt_tokens).toBe(a.usage!.prompt_tokens);
  });

  it("8 concurrent requests are all answered, each with the tokens it gets alone (temperature 0)", async () => {
    const ask = (p: string, seed: number) => client.chat.completions.create({ model: "m", messages: user(p), temperature: 0, max_tokens: 24, seed });
    const alone: string[] = [];
    for (const [i, p] of prompts.entries()) alone.push((await ask(p, i)).choices[0].message.content!);
    const before = (await health(s.url)).tokens_generated;
    const together = await Promise.all(prompts.map((p, i) => ask(p, i)));
    expect(together.map((r) => r.choices[0].message.content)).toEqual(alone);
    const total = together.reduce((n, r) => n + r.usage!.completion_tokens, 0);
    expect((await health(s.url)).tokens_generated - before).toBe(total);
  });

  it("malformed requests get 400 with OpenAI's error body, and the server lives on", async () => {
    const bad = async (body: unknown) => {
      try {
        await client.chat.completions.create(body as never);
      } catch (e) {
        return e as InstanceType<typeof OpenAI.APIError>;
      }
      throw new Error("expected an error");
    };
    const missing = await bad({ model: "m" });
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError);
    expect(missing.status).toBe(400);
    expect(missing.param).toBe("messages");
    expect((await bad({ model: "m", messages: "hi" })).param).toBe("messages");
    expect((await bad({ model: "m", messages: [{ role: "user", content: 3 }] })).param).toBe("messages[0].content");
    expect((await bad({ model: "m", messages: user("hi"), temperature: "hot" })).param).toBe("temperature");
    expect((await bad({ model: "m", messages: user("hi"), max_tokens: 10_000 })).code).toBe("context_length_exceeded");
    const long = await bad({ model: "m", messages: user("the dog ran. ".repeat(150)) });
    expect([long.status, long.code, long.param]).toEqual([400, "context_length_exceeded", "messages"]);
    // malformed JSON, a body past --max-body, an unknown route: raw HTTP
    const post = (p: string, body: string) => fetch(`${s.url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const j = await post("/v1/chat/completions", "{not json");
    expect(j.status).toBe(400);
    expect((await j.json()).error).toMatchObject({ type: "invalid_request_error", code: "invalid_json", param: null });
    const big = await post("/v1/completions", JSON.stringify({ prompt: "x".repeat(10_000) }));
    expect(big.status).toBe(413);
    expect((await big.json()).error.message).toMatch(/larger than 4096 bytes/);
    expect((await fetch(`${s.url}/v2/nothing`)).status).toBe(404);
    const ok = await client.chat.completions.create({ model: "m", messages: user("Mom"), temperature: 0, max_tokens: 4 });
    expect(ok.choices[0].message.content!.length).toBeGreaterThan(0);
  });

  it("a client that disconnects mid-stream stops its generation and frees its slot", async () => {
    const before = (await health(s.url)).tokens_generated;
    const stream = await client.completions.create({ model: "m", prompt: "Once", temperature: 0, max_tokens: 240, stream: true });
    let n = 0;
    for await (const c of stream) {
      void c;
      if (++n === 3) break; // ends the response: the connection closes
    }
    let h = await health(s.url);
    for (let i = 0; i < 100 && h.busy > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      h = await health(s.url);
    }
    expect(h.busy).toBe(0);
    // it stopped well before its 240 tokens (the abort is seen at the next step)
    expect(h.tokens_generated - before).toBeLessThan(200);
    const ok = await client.completions.create({ model: "m", prompt: "Once", temperature: 0, max_tokens: 4 });
    expect(ok.usage!.completion_tokens).toBe(4);
  });
});

describe.skipIf(!have)("int4 serve queue limit", () => {
  it("past --parallel running and --queue waiting, a request gets 429", async () => {
    const s = await startServer(["--model", file, "--template", "chatml", "--parallel", "1", "--queue", "0", "--threads", "1"]);
    try {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "none", maxRetries: 0, timeout: 60_000 });
      const stream = await client.completions.create({ model: "m", prompt: "Once", temperature: 0, max_tokens: 240, stream: true });
      const it = stream[Symbol.asyncIterator]();
      await it.next(); // it holds the one slot
      const e = await client.completions.create({ model: "m", prompt: "Once", max_tokens: 4 }).catch((x) => x);
      expect(e).toBeInstanceOf(OpenAI.RateLimitError);
      expect(e.status).toBe(429);
      await it.return?.();
    } finally {
      await s.stop();
    }
  }, 70_000);
});
