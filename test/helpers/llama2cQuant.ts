// Quantizes every layer matrix of a llama2c model (test/helpers/llama2c.ts) with one method and
// returns the model with the dequantized weights (and awq's folded norms): weight-only
// quantization, compared by the tests through the model's next-token distributions.
import { Tensor, activationStats, awqFoldIntoNorm, awqFoldIntoRows, awqQuantize, hessianFromActivations, quantize } from "../../src/index";
import type { GroupSize, Scheme } from "../../src/index";
import { MATRICES, forward, matrixDims, type Layer, type Llama2c, type MatrixName, type Site } from "./llama2c";

export type Method = "rtn" | "mse" | "gptq" | "awq";

/** Inputs of every linear layer over the calibration sequences: site -> layer -> rows [T, K]. */
export type Calibration = Record<Exclude<Site, "final">, Tensor[]>;

export function calibrate(m: Llama2c, seqs: number[][]): Calibration {
  const rows: Record<string, number[][][]> = { attn: [], wo: [], ffn: [], w2: [] };
  for (const key of Object.keys(rows)) rows[key] = m.layers.map(() => []);
  for (const s of seqs) {
    forward(m, s, (site, l, x) => { if (site !== "final") rows[site][l].push(Array.from(x)); });
  }
  const toTensor = (r: number[][]) => new Tensor(Float32Array.from(r.flat()), [r.length, r[0].length]);
  return { attn: rows.attn.map(toTensor), wo: rows.wo.map(toTensor), ffn: rows.ffn.map(toTensor), w2: rows.w2.map(toTensor) };
}

const SITE: Record<MatrixName, Exclude<Site, "final">> = { wq: "attn", wk: "attn", wv: "attn", wo: "wo", w1: "ffn", w3: "ffn", w2: "w2" };

export function quantizeModel(m: Llama2c, method: Method, groupSize: GroupSize, scheme: Scheme, calib: Calibration): Llama2c {
  const layers: Layer[] = m.layers.map((L, l) => {
    const out: Layer = { ...L };
    const q = (name: MatrixName, w: Float32Array, base: "rtn" | "mse" | "gptq" = method === "awq" ? "rtn" : (method as "rtn" | "mse" | "gptq")) => {
      const [N, K] = matrixDims(m, name);
      const x = calib[SITE[name]][l];
      const t = new Tensor(w, [N, K]);
      const qt = base === "rtn" ? quantize(t, { groupSize, scheme })
        : base === "mse" ? quantize(t, { groupSize, scheme, method: "mse", importance: activationStats(x).meanSquare })
        : quantize(t, { groupSize, scheme, method: "gptq", hessian: hessianFromActivations(x) });
      return qt.dequantize().data;
    };
    if (method !== "awq") {
      for (const name of MATRICES) out[name] = q(name, L[name]);
      return out;
    }
    // awq: (wq, wk, wv) after attn_norm, (w1, w3) after ffn_norm, w2 folded into w3's rows; wo
    // (input: attention output, shared across GQA heads, nothing to fold into) stays rtn.
    const attn = awqQuantize(["wq", "wk", "wv"].map((n) => new Tensor(L[n as MatrixName], matrixDims(m, n as MatrixName))), { activations: calib.attn[l], groupSize, scheme });
    out.rmsAtt = awqFoldIntoNorm(L.rmsAtt, attn.scales);
    [out.wq, out.wk, out.wv] = attn.quantized.map((qt) => qt.dequantize().data);
    const down = awqQuantize([new Tensor(L.w2, matrixDims(m, "w2"))], { activations: calib.w2[l], groupSize, scheme });
    out.w2 = down.quantized[0].dequantize().data;
    const w3 = awqFoldIntoRows(new Tensor(L.w3, matrixDims(m, "w3")), down.scales);
    const ffn = awqQuantize([new Tensor(L.w1, matrixDims(m, "w1")), w3], { activations: calib.ffn[l], groupSize, scheme });
    out.rmsFfn = awqFoldIntoNorm(L.rmsFfn, ffn.scales);
    [out.w1, out.w3] = ffn.quantized.map((qt) => qt.dequantize().data);
    out.wo = q("wo", L.wo, "rtn");
    return out;
  });
  return { ...m, layers };
}
