// A short run of the fuzzers (test/fuzz/) in every `npm test`, and a replay of every input that
// ever broke the contract (test/fuzz/regressions/). `npm run fuzz` runs them for longer.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fuzzAPI } from "./fuzz/api-props";
import { FUZZ_QUANTS, fuzzGGUF, runOne } from "./fuzz/gguf-mutate";

const regressions = path.join(__dirname, "fuzz", "regressions");
// npm test: seed 1, the counts below. `npm run fuzz`: a new seed (printed) and 40 times the cases;
// inputs that break the contract are written to regressions/ (named by their seed) to be kept.
const scale = Number(process.env.INT4_FUZZ_SCALE ?? 1);
const seed = Number(process.env.INT4_FUZZ_SEED ?? (scale === 1 ? 1 : Date.now() % 1e9));
const save = process.env.INT4_FUZZ_SAVE === "1";
if (scale !== 1) console.log(`fuzzing from seed ${seed}, ${scale}x the cases`);

describe("fuzzing", () => {
  it(`mutated GGUF files: success or a clear GGUFError/RangeError/TypeError (${1500 * scale} cases)`, () => {
    const found = fuzzGGUF(seed, 1500 * scale);
    if (save) for (const f of found) fs.writeFileSync(path.join(regressions, `seed-${f.seed}.gguf`), f.bytes);
    expect(found.map((f) => `seed ${f.seed}: ${f.problem}`)).toEqual([]);
  }, 3_600_000);

  it(`random public API calls: right results or clear errors (${3000 * scale} cases)`, () => {
    expect(fuzzAPI(seed, 3000 * scale).map((f) => `seed ${f.seed}: ${f.problem}`)).toEqual([]);
  }, 3_600_000);

  const files = fs.existsSync(regressions) ? fs.readdirSync(regressions).filter((f) => f.endsWith(".gguf")) : [];
  it(`replays the ${files.length} kept inputs`, () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(regressions, f)));
      for (const quant of FUZZ_QUANTS) expect(runOne(bytes, quant), `${f} (${quant})`).toBeNull();
    }
  });
});
