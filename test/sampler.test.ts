// The sampler: greedy, seeded randomness, and what each filter keeps.
import { describe, expect, it } from "vitest";
import { Sampler } from "../src/index";

const logits = () => Float32Array.from([1, 5, 3, 4.9, -2, 0, 4.5, 2]);

describe("Sampler", () => {
  it("temperature 0 is argmax", () => {
    const s = new Sampler(8, { temperature: 0 });
    expect(s.sample(logits())).toBe(1);
    expect(s.sample(Float32Array.from([0, 0, 9, 0, 0, 0, 0, 0]))).toBe(2);
  });

  it("the same seed gives the same tokens; another seed differs", () => {
    const run = (seed: number) => {
      const s = new Sampler(8, { temperature: 1.5, topK: 0, topP: 1, minP: 0, seed });
      return Array.from({ length: 200 }, () => s.sample(logits()));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    expect(new Set(run(42)).size).toBeGreaterThan(4);
  });

  const support = (opts: ConstructorParameters<typeof Sampler>[1]) => {
    const s = new Sampler(8, { temperature: 2, seed: 7, ...opts });
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(s.sample(logits()));
    return [...seen].sort();
  };

  it("top-k keeps the k most likely", () => {
    expect(support({ topK: 1, topP: 1, minP: 0 })).toEqual([1]);
    expect(support({ topK: 3, topP: 1, minP: 0 })).toEqual([1, 3, 6]);
    expect(support({ topK: 0, topP: 1, minP: 0 })).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("top-p keeps the smallest set reaching p (at temperature 1)", () => {
    // softmax of logits: p(1) ≈ 0.35, p(3) ≈ 0.32, p(6) ≈ 0.21, p(2) ≈ 0.05 ...
    expect(support({ topK: 0, topP: 0.3, minP: 0 })).toEqual([1]);
    expect(support({ topK: 0, topP: 0.6, minP: 0 })).toEqual([1, 3]);
    expect(support({ topK: 0, topP: 0.8, minP: 0 })).toEqual([1, 3, 6]);
  });

  it("min-p drops tokens less likely than minP times the best", () => {
    // p(x)/p(best) = exp(logit - 5): 4.9 -> 0.90, 4.5 -> 0.61, 3 -> 0.14
    expect(support({ topK: 0, topP: 1, minP: 0.95 })).toEqual([1]);
    expect(support({ topK: 0, topP: 1, minP: 0.5 })).toEqual([1, 3, 6]);
    expect(support({ topK: 0, topP: 1, minP: 0.1 })).toEqual([1, 2, 3, 6]);
  });

  it("repetition penalty lowers recent tokens", () => {
    const s = new Sampler(8, { temperature: 0, repeatPenalty: 1.1 });
    expect(s.sample(logits())).toBe(1);
    s.accept(1);
    expect(s.sample(logits())).toBe(3); // 5 / 1.1 < 4.9
    const neg = new Sampler(3, { temperature: 0, repeatPenalty: 2 });
    neg.accept(0);
    expect(neg.sample(Float32Array.from([-1, -1.5, -3]))).toBe(1); // -1 * 2 < -1.5
  });

  it("rejects bad options with clear errors", () => {
    expect(() => new Sampler(8, { temperature: -1 })).toThrow(/temperature: expected a number in \[0, 100\], got number -1/);
    expect(() => new Sampler(8, { topK: 1.5 })).toThrow(RangeError);
    expect(() => new Sampler(8, { topP: "0.5" as unknown as number })).toThrow(TypeError);
    expect(() => new Sampler(8, { seed: -3 })).toThrow(/seed/);
    expect(() => new Sampler(8, {}).sample(new Float32Array(3))).toThrow(/logits: expected at least 8 values/);
  });
});
