// A property test of the public API: random calls, valid and invalid, of Tensor, quantize,
// llama.cpp block-type QTensors (fromGGML / constructor / toGGML / matmul, random bytes included),
// matmul (sync and async), QTensor.fromGGML / toGGML, dequantize and Sampler. Valid calls must
// give the right result (matmul within the README's int8 bound of a float64 reference); invalid
// ones a TypeError or RangeError with a short message; nothing may crash.
import { BLOCK_TYPES, BLOCK_TYPE_NAMES, blockBytes, type GGMLType } from "../../src/blockTypes";
import { QTensor, Sampler, Tensor, matmul, quantize } from "../../src/index";
import { native } from "../../src/native";
import { judge, rng } from "./gguf-mutate";

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function junk(r: R): unknown {
  return pick(r, [undefined, null, 0, -1, 1.5, NaN, Infinity, 2 ** 53, "32", [], {}, new Float64Array(4), new Uint8Array(3),
    Object.create(Tensor.prototype), Object.create(QTensor.prototype), () => 1, Symbol("x"), 10n,
    new Proxy({}, { get: () => { throw new RangeError("a getter threw"); } })]);
}

function randomFloats(r: R, n: number): Float32Array {
  return new Float32Array(n).map(() => (r() * 2 - 1) * (r() < 0.1 ? 30 : 1));
}

/** One random call; returns the problem, or null. */
export function apiCase(r: R): string | null {
  const N = 1 + Math.floor(r() * 9), K = pick(r, [32, 64, 96, 17, 256, 40]), M = 1 + Math.floor(r() * 5);
  const groupSize = pick(r, [32, 64, 128, 256] as const), scheme = pick(r, ["symmetric", "asymmetric"] as const);
  try {
    switch (Math.floor(r() * 9)) {
      case 0: { // valid matmul against a float64 reference of the dequantized weights
        const w = quantize(new Tensor(randomFloats(r, N * K), [N, K]), { groupSize, scheme });
        const x = randomFloats(r, M * K);
        const wd = w.dequantize().data;
        const y = matmul(new Tensor(x, [M, K]), w, { threads: pick(r, [0, 1, 2]) }).data;
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let ref = 0, bound = 0;
            for (let k = 0; k < K; k++) {
              ref += x[m * K + k] * wd[n * K + k];
              let amax = 0;
              const b0 = k - (k % 32);
              for (let j = b0; j < Math.min(K, b0 + 32); j++) amax = Math.max(amax, Math.abs(x[m * K + j]));
              bound += (Math.abs(wd[n * K + k]) * amax) / 254;
            }
            if (!(Math.abs(y[m * N + n] - ref) <= bound * 1.01 + 1e-4)) return `matmul [${M},${K}]x[${N},${K}] ${scheme} G${groupSize}: y ${y[m * N + n]} vs ${ref} (bound ${bound})`;
          }
        return null;
      }
      case 1: { // matmul with one argument replaced by junk or a wrong shape
        const w = quantize(new Tensor(randomFloats(r, N * K), [N, K]));
        const x = new Tensor(randomFloats(r, M * K), [M, K]);
        const args: unknown[] = [x, w, { threads: 1 }];
        const i = Math.floor(r() * 3);
        const badOptions = [null, 0, "32", [], () => 1, 10n, { threads: -1 }, { threads: 1.5 }, { activations: "int4" }, { bogus: 1 }];
        args[i] = i === 2 && r() < 0.5 ? pick(r, badOptions) : r() < 0.5 && i < 2 ? junk(r) : i === 2 ? { out: new Tensor(new Float32Array(M * N + 1)) } : new Tensor(new Float32Array(M * (K + 1)), [M, K + 1]);
        (matmul as (...a: unknown[]) => unknown)(...args);
        return "matmul accepted a bad argument " + i;
      }
      case 2: { // quantize / Tensor with junk
        const which = Math.floor(r() * 3);
        if (which === 0) new Tensor(junk(r) as Float32Array, [N, K]);
        else if (which === 1) new Tensor(new Float32Array(N * K), junk(r) as number[]);
        else quantize(new Tensor(new Float32Array(N * K), [N, K]), { groupSize: junk(r) as 32 });
        return null; // some junk is valid (undefined options, dims omitted): only the error kind matters
      }
      case 3: { // fromGGML with random bytes (finite or not), wrong sizes, junk types
        const type = r() < 0.9 ? pick(r, ["q4_0", "q4_1"] as const) : (junk(r) as "q4_0");
        const Kb = 32 * (1 + Math.floor(r() * 4));
        const bs = type === "q4_1" ? 20 : 18;
        const bytes = new Uint8Array(N * (Kb / 32) * bs + (r() < 0.2 ? 1 : 0)).map(() => Math.floor(r() * 256));
        const q = QTensor.fromGGML(type, bytes, [N, Kb]);
        const back = q.toGGML();
        if (!back.every((v, i) => v === bytes[i])) return "fromGGML -> toGGML changed the bytes";
        return null;
      }
      case 4: { // Sampler on random logits with NaN / infinities
        const V = 1 + Math.floor(r() * 50);
        const s = new Sampler(V, { temperature: pick(r, [0, 0.5, 1, 2]), topK: pick(r, [0, 1, 5]), topP: pick(r, [1, 0.9, 0]), minP: pick(r, [0, 0.1, 1]), seed: Math.floor(r() * 1000) });
        const l = new Float32Array(V).map(() => pick(r, [NaN, Infinity, -Infinity, r() * 10 - 5, r() * 10 - 5, r() * 10 - 5]));
        const t = s.sample(l);
        if (!Number.isInteger(t) || t < 0 || t >= V || Number.isNaN(l[t])) return `Sampler returned ${t} for ${Array.from(l).join(",")}`;
        return null;
      }
      case 6: { // a block type from llama.cpp's quantizer: matmul within the int8 bound of its dequantized values
        const type = pick(r, BLOCK_TYPE_NAMES), t = BLOCK_TYPES.get(type)!;
        const Kb = t.blockSize * (1 + Math.floor(r() * 3));
        const bytes = new Uint8Array(blockBytes(t, N, Kb));
        native.quantizeRowsGGML(t.ggufName, randomFloats(r, N * Kb), N, Kb, null, bytes);
        const w = QTensor.fromGGML(type, bytes, [N, Kb]);
        if (!w.toGGML().every((v, i) => v === bytes[i])) return `${type}: fromGGML -> toGGML changed the bytes`;
        const x = randomFloats(r, M * Kb);
        const wd = w.dequantize().data;
        const y = matmul(new Tensor(x, [M, Kb]), w, { threads: pick(r, [0, 1, 2]) }).data;
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let ref = 0, bound = 0, mag = 0;
            for (let k = 0; k < Kb; k++) {
              ref += x[m * Kb + k] * wd[n * Kb + k];
              mag += Math.abs(x[m * Kb + k] * wd[n * Kb + k]);
              let amax = 0;
              const b0 = k - (k % 32);
              for (let j = b0; j < b0 + 32; j++) amax = Math.max(amax, Math.abs(x[m * Kb + j]));
              bound += (Math.abs(wd[n * Kb + k]) * amax) / 254;
            }
            if (!(Math.abs(y[m * N + n] - ref) <= bound * 1.01 + mag * 1e-5 + 1e-4)) return `matmul [${M},${Kb}]x${type}[${N},${Kb}]: y ${y[m * N + n]} vs ${ref} (bound ${bound})`;
          }
        w.dispose();
        return null;
      }
      case 7: { // block types: random bytes (NaN / infinite scales among them), wrong sizes and shapes, junk
        const type = r() < 0.9 ? pick(r, BLOCK_TYPE_NAMES) : (junk(r) as GGMLType);
        const t = BLOCK_TYPES.get(type) ?? BLOCK_TYPES.get("q4_k")!;
        const Kb = r() < 0.85 ? t.blockSize * (1 + Math.floor(r() * 3)) : pick(r, [32, 128, 255, 257, 0, -256, 256.5]);
        const nBytes = Math.max(0, Math.round(N * (Kb / t.blockSize) * t.blockBytes)) + (r() < 0.15 ? pick(r, [1, -1]) : 0);
        const bytes = new Uint8Array(Math.max(0, nBytes)).map(() => Math.floor(r() * 256));
        const dims = r() < 0.9 ? [N, Kb] : junk(r);
        const q = r() < 0.5 ? QTensor.fromGGML(type, bytes, dims as [number, number]) : new QTensor({ dims: dims as [number, number], type, blocks: bytes });
        if (!q.toGGML().every((v, i) => v === bytes[i])) return `${type}: fromGGML -> toGGML changed the bytes`;
        const x = new Tensor(randomFloats(r, M * Kb), [M, Kb]);
        const y = matmul(x, q).data;
        q.dequantize();
        if (y.length !== M * (dims as number[])[0]) return `${type}: matmul gave ${y.length} values`;
        return null;
      }
      case 8: { // block-type matmul with x of a wrong shape or junk, after dispose / releaseHost, mixed with int4 operands
        const type = pick(r, BLOCK_TYPE_NAMES), t = BLOCK_TYPES.get(type)!;
        const Kb = t.blockSize * (1 + Math.floor(r() * 2));
        const bytes = new Uint8Array(blockBytes(t, N, Kb));
        native.quantizeRowsGGML(t.ggufName, randomFloats(r, N * Kb), N, Kb, null, bytes);
        const w = QTensor.fromGGML(type, bytes, [N, Kb]);
        const which = Math.floor(r() * 5);
        if (which === 0) {
          matmul(new Tensor(randomFloats(r, M * (Kb + 32)), [M, Kb + 32]), w);
          return `${type}: matmul accepted x with K + 32`;
        }
        if (which === 1) {
          (matmul as (...a: unknown[]) => unknown)(junk(r), w);
          return `${type}: matmul accepted junk x`;
        }
        if (which === 2) {
          w.dispose();
          matmul(new Tensor(randomFloats(r, Kb)), w);
          return `${type}: matmul after dispose did not throw`;
        }
        if (which === 3) {
          w.releaseHost();
          const y = matmul(new Tensor(randomFloats(r, M * Kb), [M, Kb]), w);
          if (y.dims[0] !== M || y.dims[1] !== N) return `${type}: matmul after releaseHost gave dims [${y.dims.join(", ")}]`;
          w.toGGML();
          return `${type}: toGGML after releaseHost did not throw`;
        }
        // an int4 operand of another K next to it: each multiplies its own x
        const wi = quantize(new Tensor(randomFloats(r, N * (Kb + 32)), [N, Kb + 32]));
        matmul(new Tensor(randomFloats(r, Kb + 32)), wi);
        matmul(new Tensor(randomFloats(r, Kb)), w);
        (matmul as (...a: unknown[]) => unknown)(new Tensor(randomFloats(r, Kb)), wi);
        return `${type}: an int4 matmul accepted the block type's x`;
      }
      default: { // disposed operands
        const w = quantize(new Tensor(randomFloats(r, N * K), [N, K]));
        const x = new Tensor(randomFloats(r, K));
        if (r() < 0.5) w.dispose();
        else x.dispose();
        matmul(x, w);
        return "matmul on a disposed operand did not throw";
      }
    }
  } catch (e) {
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && /used after dispose|released by releaseHost/.test(e.message)) return null;
    return judge(e);
  }
}

export function fuzzAPI(seed: number, count: number): { seed: number; problem: string }[] {
  const out: { seed: number; problem: string }[] = [];
  for (let i = 0; i < count; i++) {
    const problem = apiCase(rng(seed + i));
    if (problem) out.push({ seed: seed + i, problem });
  }
  return out;
}
