// The native binding, loaded once. node-gyp-build takes a local build (build/Release: `npm run
// compile`, or `npx int4 build` in an installed package) when there is one and otherwise the
// committed prebuild for this platform (prebuilds/<platform>-<arch>/), so an installed package
// needs no compiler and no install script. Where neither loads, the error says which platforms
// have prebuilds and how to build from the shipped sources (loadError).
// INT4_NATIVE=/path/to/int4.node loads that exact file instead (development: the AddressSanitizer
// build of scripts/build-sanitize-tests.sh, run by test/sanitize.test.ts); a path that does not load
// is an error naming it, never a silent fall back to another binary.
import * as path from "node:path";
import nodeGypBuild from "node-gyp-build";

/** Scheme as the binding numbers it: 0 symmetric, 1 asymmetric. */
export type NativeScheme = 0 | 1;

/** Activations as the binding numbers them: 0 int8, 1 float32. */
export type NativeActivations = 0 | 1;

export interface NativeQMatrix {
  /** threads: 0 means the default (backend().threads). */
  matmul(x: Float32Array, M: number, y: Float32Array, activations: NativeActivations, threads: number): void;
  matmulAsync(x: Float32Array, M: number, activations: NativeActivations, threads: number): Promise<Float32Array>;
  dispose(): void;
}

export interface NativeBinding {
  sourceHash(): string;
  /** liveMatrices: native matrices alive in the process, over all its threads (tests read it to find leaks). */
  backend(): { isa: string; kernels: string; available: string; threads: number; liveMatrices: number };
  quantize(w: Float32Array, N: number, K: number, groupSize: number, scheme: NativeScheme,
           codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null): number;
  dequantize(codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
             groupSize: number, scheme: NativeScheme, out: Float32Array): void;
  fromGGML(blocks: Uint8Array, N: number, K: number, scheme: NativeScheme, codes: Uint8Array,
           scales: Uint16Array, offsets: Uint16Array | null): void;
  toGGML(codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
         scheme: NativeScheme, out: Uint8Array): void;
  f16ToF32(src: Uint16Array, dst: Float32Array): void;
  bf16ToF32(src: Uint16Array, dst: Float32Array): void;
  QMatrix: {
    new (codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
         groupSize: number, scheme: NativeScheme): NativeQMatrix;
    /** A llama.cpp block type (GGUF id `type`) multiplied as stored. */
    new (type: number, blocks: Uint8Array, N: number, K: number): NativeQMatrix;
  };
  /** The native table of block types (cpp/ggml/types.cpp). */
  ggmlTypes(): { id: number; name: string; blockSize: number; blockBytes: number; quantize: boolean; hasMins: boolean }[];
  dequantizeGGML(type: number, blocks: Uint8Array, N: number, K: number, out: Float32Array): void;
  /** The first block of `blocks` whose scale is NaN or infinite, or -1. */
  firstNonFinite(type: number, blocks: Uint8Array): number;
  /** Row `row` of a block-type matrix -> out[outOffset .. outOffset + K). */
  getRowGGML(type: number, blocks: Uint8Array, N: number, K: number, row: number, out: Float32Array, outOffset: number): void;
  /**
   * llama.cpp's quantizer of `type` (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, Q8_K, IQ4_NL, IQ4_XS),
   * as llama-quantize runs it: nrows rows of nPerRow finite weights (a multiple of the block size)
   * into dst (exactly their blocks), imatrix one importance weight per column or null. Returns the
   * bytes written.
   */
  quantizeRowsGGML(type: string, src: Float32Array, nrows: number, nPerRow: number, imatrix: Float32Array | null,
                   dst: Uint8Array): number;
  /** ys[i] = x (M,K) @ ws[i]^T for up to 8 matrices of the same K, in one pass of the thread pool. */
  matmulShared(ws: NativeQMatrix[], x: Float32Array, M: number, ys: Float32Array[], activations: NativeActivations,
               threads: number): void;
}

/** The package root: one level above this file, in src/ (tests) and dist/ (installed) alike. */
export const packageRoot = path.resolve(__dirname, "..");

/** The platforms the package ships prebuilt binaries for (prebuilds/<platform>-<arch>/). */
export const PREBUILT_PLATFORMS: readonly { platform: string; arch: string; note: string }[] = [
  { platform: "linux", arch: "x64", note: "glibc >= 2.28" },
  { platform: "linux", arch: "arm64", note: "glibc >= 2.28" },
  { platform: "win32", arch: "x64", note: "Windows 10 or later" },
];

/** What the loader looks for: node-gyp-build's platform, arch and libc (with its env overrides). */
export interface PlatformInfo {
  platform: string;
  arch: string;
  /** "glibc 2.31", "musl", or "" off Linux. */
  libc: string;
}

export function currentPlatform(env: NodeJS.ProcessEnv = process.env): PlatformInfo {
  const platform = env.npm_config_platform || process.platform;
  const arch = env.npm_config_arch || process.arch;
  let libc = "";
  if (platform === "linux") {
    if (env.LIBC) libc = env.LIBC;
    else {
      const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
      libc = header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : "musl";
    }
  }
  return { platform, arch, libc };
}

/**
 * The error for a binding that did not load: what was found, which platforms have prebuilds,
 * and the command that builds one from the shipped sources.
 */
export function loadError(p: PlatformInfo, cause: unknown, file?: string): Error {
  const where = `${p.platform}-${p.arch}${p.libc ? ` (${p.libc})` : ""}`;
  const prebuilt = PREBUILT_PLATFORMS.find((t) => t.platform === p.platform && t.arch === p.arch);
  const reason = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0];
  const local = file !== undefined && !/[\\/]prebuilds[\\/]/.test(file);
  const lines = [
    local
      ? `int4: the local build ${file} did not load on ${where}: ${reason}. Rebuild it (below) or delete the build/ directory to use a prebuilt binary.`
      : prebuilt
        ? `int4: the prebuilt binary for ${where} did not load (it needs ${prebuilt.note}): ${reason}`
        : `int4: no prebuilt binary for ${where}.`,
    `Prebuilt binaries ship for: ${PREBUILT_PLATFORMS.map((t) => `${t.platform}-${t.arch} (${t.note})`).join(", ")}.`,
    "To build one from the shipped sources (needs a C++17 compiler and CMake >= 3.18), run in your project:",
    "  npx int4 build",
  ];
  const e = new Error(lines.join("\n"));
  (e as Error & { cause?: unknown }).cause = cause;
  return e;
}

/** The error for an INT4_NATIVE path that did not load. */
export function overrideError(file: string, cause: unknown): Error {
  const reason = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0];
  const e = new Error(`int4: INT4_NATIVE=${file} did not load: ${reason}. Point INT4_NATIVE at a built int4.node, or unset it to use the normal build or prebuilt binary.`);
  (e as Error & { cause?: unknown }).cause = cause;
  return e;
}

function load(): { binding: NativeBinding; file: string } {
  const override = process.env.INT4_NATIVE;
  if (override) {
    const file = path.resolve(override);
    try {
      return { binding: require(file) as NativeBinding, file };
    } catch (e) {
      throw overrideError(file, e);
    }
  }
  let file: string | undefined;
  try {
    file = nodeGypBuild.resolve(packageRoot);
    return { binding: require(file) as NativeBinding, file };
  } catch (e) {
    throw loadError(currentPlatform(), e, file);
  }
}

const loaded = load();

export const native: NativeBinding = loaded.binding;

/** The binary file the binding was loaded from. */
export const nativeFile: string = loaded.file;
