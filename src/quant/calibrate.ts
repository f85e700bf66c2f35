// Calibration for model quantization: run the full-precision model over a text and collect what
// each linear layer sees. Per distinct input (q/k/v share the attention norm's output, gate/up the
// FFN norm's output; attn_output, ffn_down and output have their own):
//   H = XᵀX [K, K] (float64 sums of f32 batch products; gptq's Hessian, also awq's error metric),
//   Σ|x_k| and Σx_k² per input channel (awq's statistic, mse's importance),
// over every position of every context (contexts of `ctx` tokens, BOS first, as eval).
// Memory: one K x K float64 matrix per distinct input (5 per layer + 1), independent of the text
// length; time: one f32 forward pass over the text plus T·K²/2 multiply-adds per input. With
// rowHessians also a K x K matrix per row of ffn_gate, ffn_up and output.weight (InputStats.rowH);
// rowHessians "output": of output.weight only (the FFN's cost a K x K product per row and token).
import type { Transformer } from "../model/transformer";
import type { LayerWeights, Linear, ModelWeights } from "../model/weights";
import { MODEL_TENSORS, layerTensor } from "../model/arch";
import type { Tensor } from "../tensor";
import { ops } from "../model/nativeOps";

/** Statistics of one linear layer's inputs. */
export interface InputStats {
  K: number;
  /** Rows seen. */
  rows: number;
  /** Σ xᵀx, row-major K x K, symmetric (both triangles filled by finish()). */
  H: Float64Array;
  absSum: Float64Array;
  sqSum: Float64Array;
  /**
   * ffn_gate / ffn_up with `rowHessians`: per output row n a Hessian Σ_t a_tn x_t x_tᵀ ([N, K, K]),
   * a_tn = (∂h_tn/∂y_tn)² for h = silu(gate) ⊙ up: silu'(g)²·u² for gate rows, silu(g)² for up rows.
   * The error of row n matters as much as it moves h, token by token.
   * output.weight with `rowHessians`: a_tn = p_tn (1 - p_tn), p the softmax of the logits (the
   * diagonal of the KL divergence's Hessian in the logits): a row matters where its token is probable.
   * When present, gptq quantizes each row with its own Hessian and awq's α search is judged by them.
   */
  rowH?: Float64Array;
}

export interface Calibration {
  /** Tensor name (e.g. "blk.0.attn_k.weight") -> the statistics of its input (shared objects for shared inputs). */
  inputs: Map<string, InputStats>;
  tokens: number;
  contexts: number;
  ctx: number;
  seconds: number;
  /** Bytes of the statistics (Hessians and channel sums). */
  bytes: number;
}

function newStats(K: number): InputStats {
  return { K, rows: 0, H: new Float64Array(K * K), absSum: new Float64Array(K), sqSum: new Float64Array(K) };
}

// Scratch for accumulate(): Xᵀ (K, M) and the batch's XᵀX (K, K) in f32.
let xt = new Float32Array(0);
let hb = new Float32Array(0);

/** Adds the rows of x (M, K) to s: H += XᵀX (one native f32 product per batch, summed in float64), and the channel sums. */
function accumulate(s: InputStats, x: Tensor): void {
  const M = x.dims[0], K = x.dims[1];
  const d = x.data, H = s.H;
  if (xt.length < M * K) xt = new Float32Array(M * K);
  if (hb.length < K * K) hb = new Float32Array(K * K);
  for (let m = 0; m < M; m++) {
    const row = m * K;
    for (let i = 0; i < K; i++) {
      const xi = d[row + i];
      s.absSum[i] += Math.abs(xi);
      s.sqSum[i] += xi * xi;
      xt[i * M + m] = xi;
    }
  }
  // Xᵀ (K, M) @ (Xᵀ)ᵀ -> (K, K)
  ops.sgemm(xt, K, M, xt, K, hb, 1);
  for (let i = 0; i < K * K; i++) H[i] += hb[i];
  s.rows += M;
}

let ys = new Float32Array(0);
let xs = new Float32Array(0);

/** Per-row Hessians of gate and up (see InputStats.rowH) for the rows x (M, K), weights Wg, Wu (N, K). */
function accumulateRows(g: InputStats, u: InputStats, x: Tensor, wg: Float32Array, wu: Float32Array, N: number): void {
  const M = x.dims[0], K = x.dims[1];
  if (ys.length < 2 * M * N) ys = new Float32Array(2 * M * N);
  if (xs.length < M * K) xs = new Float32Array(M * K);
  if (hb.length < K * K) hb = new Float32Array(K * K);
  const G = ys.subarray(0, M * N), U = ys.subarray(M * N, 2 * M * N);
  ops.sgemm(x.data, M, K, wg, N, G, 1); // x (M,K) @ Wgᵀ -> (M,N)
  ops.sgemm(x.data, M, K, wu, N, U, 1);
  for (let n = 0; n < N; n++) {
    for (const which of [0, 1]) {
      for (let m = 0; m < M; m++) {
        const gv = G[m * N + n], uv = U[m * N + n];
        const sg = 1 / (1 + Math.exp(-gv));
        // h = g·σ(g)·u: ∂h/∂g = (σ + g·σ·(1-σ))·u, ∂h/∂u = g·σ
        const a = which === 0 ? (sg + gv * sg * (1 - sg)) * uv : gv * sg;
        for (let k = 0; k < K; k++) xs[k * M + m] = x.data[m * K + k] * a;
      }
      ops.sgemm(xs, K, M, xs, K, hb, 1);
      const R = (which === 0 ? g : u).rowH!;
      const off = n * K * K;
      for (let i = 0; i < K * K; i++) R[off + i] += hb[i];
    }
  }
}

let zs = new Float32Array(0);

/**
 * Per-row Hessians of the output projection (see InputStats.rowH) for the rows x (M, K), weight W
 * (V, K): a_tn = p_tn (1 - p_tn), p = softmax(x Wᵀ), the diagonal of the KL divergence's Hessian
 * in the logits (diag(p) - ppᵀ): a logit's error matters as much as its token is probable.
 */
function accumulateOutputRows(o: InputStats, x: Tensor, w: Float32Array, V: number): void {
  const M = x.dims[0], K = x.dims[1];
  if (zs.length < M * V) zs = new Float32Array(M * V);
  if (xs.length < M * K) xs = new Float32Array(M * K);
  if (hb.length < K * K) hb = new Float32Array(K * K);
  const Z = zs.subarray(0, M * V);
  ops.sgemm(x.data, M, K, w, V, Z, 1); // x (M,K) @ Wᵀ -> logits (M,V)
  for (let m = 0; m < M; m++) {
    let max = -Infinity, sum = 0;
    for (let n = 0; n < V; n++) max = Math.max(max, Z[m * V + n]);
    for (let n = 0; n < V; n++) sum += Z[m * V + n] = Math.exp(Z[m * V + n] - max);
    for (let n = 0; n < V; n++) { const p = Z[m * V + n] / sum; Z[m * V + n] = p * (1 - p); }
  }
  const R = o.rowH!;
  for (let n = 0; n < V; n++) {
    let any = false;
    for (let m = 0; m < M; m++) {
      const a = Math.sqrt(Z[m * V + n]);
      if (a > 0) any = true;
      for (let k = 0; k < K; k++) xs[k * M + m] = x.data[m * K + k] * a;
    }
    if (!any) continue;
    ops.sgemm(xs, K, M, xs, K, hb, 1);
    const off = n * K * K;
    for (let i = 0; i < K * K; i++) R[off + i] += hb[i];
  }
}

function finish(s: InputStats): void {
  // symmetrize (f32 products may differ in the last bit between the triangles)
  const K = s.K;
  for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) s.H[i * K + j] = s.H[j * K + i] = 0.5 * (s.H[i * K + j] + s.H[j * K + i]);
}

/** Which tensors own a distinct input: [tensor names sharing it] per Linear that receives it first. */
function inputGroups(w: ModelWeights): Map<Linear, string[]> {
  const m = new Map<Linear, string[]>();
  w.layers.forEach((l, i) => {
    const name = (field: keyof LayerWeights) => layerTensor(i, field);
    m.set(l.wq, [name("wq"), name("wk"), name("wv")]);
    m.set(l.wo, [name("wo")]);
    m.set(l.gate, [name("gate"), name("up")]);
    m.set(l.down, [name("down")]);
  });
  m.set(w.output, [MODEL_TENSORS.output]);
  return m;
}

/**
 * Runs `transformer` (an f32 model) over `tokens` in contexts of `ctx` tokens (BOS first; a last partial
 * context is dropped) and returns the statistics of every linear layer's input. `progress(done,
 * total)` is called after each context.
 */
export function calibrate(transformer: Transformer, tokens: ArrayLike<number>, ctx: number, bos: number,
                          progress?: (done: number, total: number) => void, rowHessians: boolean | "output" = false): Calibration {
  const t0 = performance.now();
  const contexts = Math.floor(tokens.length / ctx);
  if (contexts < 1) throw new RangeError(`calibration text: expected at least ${ctx} tokens (one context of --ctx), got ${tokens.length}`);
  const groups = inputGroups(transformer.weights);
  const byLinear = new Map<Linear, InputStats>();
  const inputs = new Map<string, InputStats>();
  for (const [l, names] of groups) {
    const s = newStats(l.K);
    byLinear.set(l, s);
    for (const n of names) inputs.set(n, s);
  }
  const ffn = new Map<Linear, { up: Linear; g: InputStats; u: InputStats }>();
  let outRows: InputStats | null = null;
  if (rowHessians) {
    if (rowHessians === true) transformer.weights.layers.forEach((L, i) => {
      if (L.gate.kind !== "f32" || L.up.kind !== "f32") return;
      const shared = byLinear.get(L.gate)!;
      const g: InputStats = { ...shared }, u: InputStats = { ...shared };
      g.rowH = new Float64Array(L.gate.N * L.gate.K * L.gate.K);
      u.rowH = new Float64Array(L.up.N * L.up.K * L.up.K);
      ffn.set(L.gate, { up: L.up, g, u });
      inputs.set(layerTensor(i, "gate"), g);
      inputs.set(layerTensor(i, "up"), u);
    });
    const out = transformer.weights.output;
    if (out.kind === "f32") {
      outRows = { ...byLinear.get(out)! };
      outRows.rowH = new Float64Array(out.N * out.K * out.K);
      inputs.set(MODEL_TENSORS.output, outRows);
    }
  }
  transformer.onLinearInput = (l, x) => {
    const s = byLinear.get(l);
    if (s) accumulate(s, x);
    const f = ffn.get(l);
    if (f && l.kind === "f32" && f.up.kind === "f32") accumulateRows(f.g, f.u, x, l.w, f.up.w, l.N);
    if (outRows && l === transformer.weights.output && l.kind === "f32") accumulateOutputRows(outRows, x, l.w, l.N);
  };
  try {
    const chunk = new Array<number>(ctx);
    for (let c = 0; c < contexts; c++) {
      for (let i = 0; i < ctx; i++) chunk[i] = tokens[c * ctx + i];
      chunk[0] = bos;
      transformer.forwardAll(chunk, 0);
      progress?.(c + 1, contexts);
    }
  } finally {
    transformer.onLinearInput = null;
  }
  let bytes = 0;
  for (const s of byLinear.values()) {
    finish(s);
    bytes += s.H.byteLength + s.absSum.byteLength + s.sqSum.byteLength;
  }
  for (const [gate, f] of ffn) {
    f.g.rows = f.u.rows = byLinear.get(gate)!.rows;
    bytes += f.g.rowH!.byteLength + f.u.rowH!.byteLength;
  }
  if (outRows) {
    outRows.rows = byLinear.get(transformer.weights.output)!.rows;
    bytes += outRows.rowH!.byteLength;
  }
  return { inputs, tokens: contexts * ctx, contexts, ctx, seconds: (performance.now() - t0) / 1000, bytes };
}

/** A progress bar on stderr: "label [#####.....] done/total unit, N s left" (redrawn in place on a TTY). */
export function progressBar(label: string, unit: string): (done: number, total: number) => void {
  const t0 = performance.now();
  const tty = process.stderr.isTTY === true;
  let lastLine = -1;
  return (done, total) => {
    const el = (performance.now() - t0) / 1000;
    const left = done > 0 ? (el / done) * (total - done) : 0;
    const w = 24, f = Math.round((done / total) * w);
    const line = `${label} [${"#".repeat(f)}${".".repeat(w - f)}] ${done}/${total} ${unit}, ${el.toFixed(1)} s, ${left.toFixed(1)} s left`;
    if (tty) process.stderr.write(`\r${line}` + (done === total ? "\n" : ""));
    else {
      // not a terminal: a line at each quarter and at the end
      const q = Math.floor((done / total) * 4);
      if (q !== lastLine || done === total) {
        lastLine = q;
        process.stderr.write(line + "\n");
      }
    }
  };
}
