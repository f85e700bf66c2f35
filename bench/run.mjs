#!/usr/bin/env node
// npm run bench: INT4 matmul speed on this machine, against its measured read bandwidth.
//
//   node bench/run.mjs            the whole run (about 10-15 minutes on 2 cores)
//   node bench/run.mjs --quick    one shape, fewer repeats (a smoke test of this script)
//
// Each ISA the CPU runs is measured in its own child process (INT4_ISA=<isa> node bench/run.mjs
// --child ...), through the public API (matmul with `out`, so no allocation per call). Read
// bandwidth comes from the native helper build/int4_bench (a prefetched SSE2 sum of 64-bit words, 1 and 2
// threads), built by `npm run compile`. Results: bench/results/<stamp>.json and .md, and the
// latest table in bench/README.md between the RESULTS markers.
import { execFileSync, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const require = createRequire(import.meta.url);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const quick = process.argv.includes("--quick");
const SHAPES = quick ? [[4096, 4096]] : [[4096, 4096], [11008, 4096], [4096, 11008]]; // N x K
const GROUPS = [32, 128];
const THREADS = [1, 2];

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => Number(process.hrtime.bigint()) / 1e3; // microseconds

// ---------------------------------------------------------------- child: one ISA, INT4_ISA set
async function child(opts) {
  const int4 = require(path.join(root, "dist", "index.js"));
  const { Tensor, QTensor, matmul, backend } = int4;
  const b = backend();
  const slow = b.isa === "scalar";
  const out = (o) => process.stdout.write(JSON.stringify({ isa: b.isa, kernels: b.kernels, ...o }) + "\n");

  // random symmetric weights straight in the public layout: codes are random nibbles, scales a
  // spread of small fp16 values (content does not change the speed)
  function parts(N, K, G) {
    const codes = new Uint8Array(N * Math.ceil(K / 32) * 16);
    randomFillSync(codes);
    const scales = new Uint16Array(N * Math.ceil(K / G));
    for (let i = 0; i < scales.length; i++) scales[i] = 0x2000 + (i * 2654435761 % 0x400);
    return { dims: [N, K], groupSize: G, scheme: "symmetric", codes, scales };
  }
  const randX = (n) => new Float32Array(n).map(() => Math.random() * 2 - 1);

  for (const [N, K] of opts.shapes) {
    for (const G of GROUPS) {
      const p = parts(N, K, G);
      const weightBytes = p.codes.byteLength + p.scales.byteLength;
      const flops = (M) => 2 * M * N * K;
      const x1 = new Tensor(randX(K), [1, K]);
      const y1 = new Tensor(new Float32Array(N), [1, N]);
      // hot: one matrix over and over (as cache-resident as it gets)
      const hot = new QTensor(p);
      for (const threads of opts.gemmOnly ? [] : THREADS) {
        matmul(x1, hot, { threads, out: y1 });
        const reps = slow ? 5 : quick ? 50 : 200;
        const t = [];
        for (let i = 0; i < reps; i++) {
          const t0 = now();
          matmul(x1, hot, { threads, out: y1 });
          t.push(now() - t0);
        }
        out({ case: "gemv-hot", N, K, G, M: 1, threads, us: median(t), usMin: Math.min(...t), reps, weightBytes, gflops: flops(1) / median(t) / 1e3 });
      }
      // cold: distinct native copies totalling >= 1 GiB, each used once per pass, so the
      // weights stream from memory as in token generation
      const copies = opts.gemmOnly ? 0 : Math.ceil(GiB / weightBytes);
      const cold = [];
      for (let i = 0; i < copies; i++) {
        const q = new QTensor(p); // same JS parts; nativeMatrix() makes a distinct native copy
        q.nativeMatrix();
        cold.push(q);
      }
      for (const threads of opts.gemmOnly ? [] : THREADS) {
        const passes = slow ? 1 : quick ? 1 : 3;
        const t = [];
        for (let pass = 0; pass < passes + 1; pass++) {
          for (const q of cold) {
            const t0 = now();
            matmul(x1, q, { threads, out: y1 });
            if (pass > 0 || passes === 1) t.push(now() - t0);
          }
        }
        out({ case: "gemv-cold", N, K, G, M: 1, threads, us: median(t), usMin: Math.min(...t), reps: t.length, copies, weightBytes,
              gflops: flops(1) / median(t) / 1e3 });
      }
      for (const q of cold) q.dispose();
      cold.length = 0;
      // GEMM: prompt processing, M = 512
      const M = 512;
      const xM = new Tensor(randX(M * K), [M, K]);
      const yM = new Tensor(new Float32Array(M * N), [M, N]);
      for (const threads of THREADS) {
        if (slow && !(N === 4096 && K === 4096)) continue; // scalar: one shape is enough (seconds a call)
        const reps = slow ? 1 : quick ? 2 : 3;
        if (!slow) matmul(xM, hot, { threads, out: yM });
        const t = [];
        for (let i = 0; i < reps; i++) {
          const t0 = now();
          matmul(xM, hot, { threads, out: yM });
          t.push(now() - t0);
        }
        out({ case: "gemm", N, K, G, M, threads, us: median(t), usMin: Math.min(...t), reps, weightBytes, gflops: flops(M) / median(t) / 1e3 });
      }
      hot.dispose();
    }
  }

  // the cost of one call from JavaScript: tiny shapes, M = 1, threads default
  for (const n of opts.gemmOnly ? [] : [64, 256]) {
    const w = int4.quantize(new Tensor(randX(n * n), [n, n]));
    const x = new Tensor(randX(n), [n]);
    const y = new Tensor(new Float32Array(n), [n]);
    const batch = 2000;
    for (let i = 0; i < batch; i++) matmul(x, w, { out: y });
    const sync = [];
    for (let r = 0; r < 15; r++) {
      const t0 = now();
      for (let i = 0; i < batch; i++) matmul(x, w, { out: y });
      sync.push((now() - t0) / batch);
    }
    out({ case: "call-sync", N: n, K: n, G: 32, M: 1, us: median(sync), usMin: Math.min(...sync), reps: 15 * batch });
    const asyncT = [];
    for (let r = 0; r < 7; r++) {
      const t0 = now();
      for (let i = 0; i < 300; i++) await matmul.async(x, w);
      asyncT.push((now() - t0) / 300);
    }
    out({ case: "call-async", N: n, K: n, G: 32, M: 1, us: median(asyncT), usMin: Math.min(...asyncT), reps: 7 * 300 });
  }
}

// ---------------------------------------------------------------- parent
function bandwidth() {
  const bin = path.join(root, "build", "int4_bench");
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run npm run compile`);
  const res = [];
  for (const [bytes, reps] of [[8 * MiB, quick ? 50 : 400], [GiB, quick ? 3 : 10]]) {
    for (const threads of THREADS) {
      const line = execFileSync(bin, ["bandwidth", String(bytes), String(threads), String(reps)], { encoding: "utf8" });
      const r = JSON.parse(line);
      res.push({ bytes, threads, gbps: r.gbps_median, seconds: r.median_s });
      console.log(`read bandwidth ${bytes / MiB} MiB, ${threads} thread(s): ${r.gbps_median.toFixed(2)} GB/s`);
    }
  }
  return res;
}

// Native loops (build/int4_bench), best ISA: one generated token's products of the demo model
// (the weights' memory bound of generation, without the rest of the forward pass) and the f32
// GEMM of the reference path.
function nativeLoops() {
  const bin = path.join(root, "build", "int4_bench");
  const res = [];
  for (const threads of THREADS) {
    const d = JSON.parse(execFileSync(bin, ["decode", "avx512", String(threads), quick ? "3" : "20"], { encoding: "utf8" }));
    res.push({ case: "decode", threads, ms: d.median_s * 1e3, gbps: d.gbps_median, weightBytes: d.bytes });
    const g = JSON.parse(execFileSync(bin, ["sgemm", "512", "2048", "2048", String(threads), quick ? "1" : "5"], { encoding: "utf8" }));
    res.push({ case: "sgemm", threads, ms: g.median_s * 1e3, gflops: g.gbps_median });
    console.log(`decode token ${threads}T: ${(d.median_s * 1e3).toFixed(1)} ms (${d.gbps_median.toFixed(1)} GB/s); sgemm 512x2048x2048 ${threads}T: ${g.gbps_median.toFixed(0)} GFLOPS`);
  }
  return res;
}

function fmtUs(us) {
  return us >= 10000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(us < 10 ? 2 : 0)} us`;
}

function markdown(meta, bw, rows, loops) {
  const bwOf = (bytes, threads) => bw.find((b) => b.bytes === bytes && b.threads === threads).gbps;
  const L = [];
  L.push(`Machine: ${meta.cpu}, ${meta.cores} cores available, Node ${meta.node}, ${meta.date}. Median of repeats. ` +
    `1-minute load average ${meta.loadavgStart.toFixed(1)} at the start and ${meta.loadavgEnd.toFixed(1)} at the end ` +
    `(other jobs shared the machine: numbers above about ${meta.cores} mean this run had less than the whole CPU).`);
  L.push("");
  L.push("Read bandwidth (prefetched SSE2 sum, native; the better of the measurements at the start and at the end): " +
    bw.map((b) => `${b.bytes === GiB ? "1 GiB" : "8 MiB"} ${b.threads}T ${b.gbps.toFixed(1)} GB/s`).join(", ") + ".");
  L.push("");
  L.push("GEMV (M = 1, token generation): time, weight GB/s, and that as a fraction of the read bandwidth " +
    "with the same thread count (hot: 8 MiB figure, cold: 1 GiB figure).");
  L.push("");
  L.push("| ISA | N x K | G | threads | hot | hot GB/s | hot / bw | cold | cold GB/s | cold / bw | hot min | cold min |");
  L.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows.filter((r) => r.case === "gemv-hot")) {
    const c = rows.find((x) => x.case === "gemv-cold" && x.kernels === r.kernels && x.N === r.N && x.K === r.K && x.G === r.G && x.threads === r.threads);
    const hg = r.weightBytes / r.us / 1e3, cg = c ? c.weightBytes / c.us / 1e3 : NaN;
    L.push(`| ${r.kernels} | ${r.N} x ${r.K} | ${r.G} | ${r.threads} | ${fmtUs(r.us)} | ${hg.toFixed(1)} | ${(hg / bwOf(8 * MiB, r.threads) * 100).toFixed(0)}% | ` +
      `${c ? fmtUs(c.us) : "-"} | ${cg.toFixed(1)} | ${(cg / bwOf(GiB, r.threads) * 100).toFixed(0)}% | ${fmtUs(r.usMin)} | ${c ? fmtUs(c.usMin) : "-"} |`);
  }
  L.push("");
  L.push("GEMM (M = 512, prompt processing):");
  L.push("");
  L.push("| ISA | N x K | G | threads | time | GFLOPS | min time |");
  L.push("|---|---|---|---|---|---|---|");
  for (const r of rows.filter((r) => r.case === "gemm")) {
    L.push(`| ${r.kernels} | ${r.N} x ${r.K} | ${r.G} | ${r.threads} | ${fmtUs(r.us)} | ${r.gflops.toFixed(1)} | ${fmtUs(r.usMin)} |`);
  }
  L.push("");
  L.push("One call from JavaScript (M = 1, default threads):");
  L.push("");
  L.push("| ISA | shape | sync | async | sync min |");
  L.push("|---|---|---|---|---|");
  for (const r of rows.filter((r) => r.case === "call-sync")) {
    const a = rows.find((x) => x.case === "call-async" && x.kernels === r.kernels && x.N === r.N);
    L.push(`| ${r.kernels} | ${r.N} x ${r.K} | ${fmtUs(r.us)} | ${a ? fmtUs(a.us) : "-"} | ${fmtUs(r.usMin)} |`);
  }
  if (loops.length) {
    L.push("");
    L.push("Native loops (`build/int4_bench`, best kernels): `decode` is one generated token's products of the demo model " +
      "(TinyLlama-1.1B shape, G=32: Q, K, V and gate, up shared as the model runs them), its weights read once; " +
      "`sgemm` the f32 GEMM of the reference path, 512 x 2048 x 2048.");
    L.push("");
    L.push("| threads | decode, ms per token | decode weight GB/s | / 1 GiB read bandwidth | sgemm GFLOPS |");
    L.push("|---|---|---|---|---|");
    for (const t of [...new Set(loops.map((l) => l.threads))]) {
      const d = loops.find((l) => l.case === "decode" && l.threads === t), g = loops.find((l) => l.case === "sgemm" && l.threads === t);
      L.push(`| ${t} | ${d.ms.toFixed(1)} | ${d.gbps.toFixed(1)} | ${(d.gbps / bwOf(GiB, t) * 100).toFixed(0)}% | ${g.gflops.toFixed(0)} |`);
    }
  }
  return L.join("\n") + "\n";
}

async function parent() {
  const int4 = require(path.join(root, "dist", "index.js"));
  const isas = int4.backend().available;
  const meta = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: int4.backend().threads,
    node: process.version,
    quick,
    // the machine is shared: the 1-minute load average before and after says how much
    loadavgStart: os.loadavg()[0],
  };
  console.log(`int4 bench: ISAs ${isas.join(", ")}; ${meta.cores} threads available${quick ? " (quick)" : ""}`);
  const bw = bandwidth();
  const rows = [];
  // each ISA; where the AVX-512 choice uses AMX for GEMM, also the plain AVX-512 kernels (INT4_AMX=0)
  const runs = isas.map((isa) => ({ isa, env: {} }));
  if (isas.includes("avx512") && !quick) {
    const probe = spawnSync(process.execPath, ["-e", `process.stdout.write(require(${JSON.stringify(path.join(root, "dist", "index.js"))}).backend().kernels)`],
      { encoding: "utf8", env: { ...process.env, INT4_ISA: "avx512" } });
    if (probe.stdout === "avx512+amx") runs.splice(runs.findIndex((r) => r.isa === "avx512"), 0, { isa: "avx512", env: { INT4_AMX: "0" }, gemmOnly: true });
  }
  for (const { isa, env, gemmOnly } of runs) {
    const t0 = Date.now();
    const args = ["--child", ...(quick ? ["--quick"] : []), ...(gemmOnly ? ["--gemm-only"] : [])];
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      encoding: "utf8", env: { ...process.env, INT4_ISA: isa, ...env }, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`bench child for ${isa} failed (status ${r.status})`);
    for (const line of r.stdout.split("\n").filter(Boolean)) {
      const o = JSON.parse(line);
      rows.push(o);
      console.log(`${o.kernels.padEnd(10)} ${o.case.padEnd(10)} ${String(o.N).padStart(5)} x ${String(o.K).padEnd(5)} G=${String(o.G).padEnd(3)} M=${String(o.M).padEnd(3)} T=${o.threads ?? "-"}  ${fmtUs(o.us)}${o.gflops ? `  ${o.gflops.toFixed(1)} GFLOPS` : ""}`);
    }
    console.log(`  (${isa}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const loops = isas.includes("avx512") ? nativeLoops() : [];
  meta.loadavgEnd = os.loadavg()[0];
  // bandwidth again at the end; fractions use the better of the two (the machine is shared)
  const bwEnd = bandwidth();
  for (const b of bw) {
    const e = bwEnd.find((x) => x.bytes === b.bytes && x.threads === b.threads);
    b.gbpsStart = b.gbps;
    b.gbpsEnd = e.gbps;
    b.gbps = Math.max(b.gbps, e.gbps);
  }
  const md = markdown(meta, bw, rows, loops);
  const dir = path.join(here, "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = meta.date.replace(/[:.]/g, "-").slice(0, 19) + (quick ? "-quick" : "");
  fs.writeFileSync(path.join(dir, `${stamp}.json`), JSON.stringify({ meta, bandwidth: bw, rows, nativeLoops: loops }, null, 1) + "\n");
  fs.writeFileSync(path.join(dir, `${stamp}.md`), md);
  if (!quick) {
    const readme = path.join(here, "README.md");
    const text = fs.readFileSync(readme, "utf8");
    const begin = "<!-- RESULTS BEGIN -->", end = "<!-- RESULTS END -->";
    const i = text.indexOf(begin), j = text.indexOf(end);
    if (i >= 0 && j > i) {
      fs.writeFileSync(readme, text.slice(0, i + begin.length) + `\n\nFrom \`bench/results/${stamp}.json\`:\n\n` + md + "\n" + text.slice(j));
    }
  }
  console.log(`\nwrote bench/results/${stamp}.json and .md`);
}

if (process.argv.includes("--child")) {
  await child({ shapes: SHAPES, gemmOnly: process.argv.includes("--gemm-only") });
} else {
  await parent();
}
