// Gemma 2 (`gemma2`) and Gemma 3 (`gemma3`). Both: the embedding times sqrt(dim), RMSNorms after
// attention and after the FFN too (post_attention_norm, post_ffw_norm) before each residual add,
// a GELU (tanh) gate, NEOX-style RoPE, tied output, and layers that alternate a sliding window
// with full attention. Gemma's norms are (1 + w) in the reference code, but llama.cpp's converter
// stores w + 1 in the GGUF, so the file's weights are used as they are, as llama.cpp does.
// Query scale 1/sqrt(headDim), except the 27B models' 1/sqrt(dim / heads) (llama.cpp picks it by
// layer count: query_pre_attn_scalar is not in the GGUF).
//   gemma2: attention scores and logits soft-capped (default 50 and 30), window 4096 by default on
//           even layers (llama.cpp's swa pattern 2).
//   gemma3: per-head Q and K norms, no soft-capping, window on 5 of every 6 layers
//           (`sliding_window_pattern`), those layers with their own RoPE base (10000 by default,
//           `rope.freq_base_swa`) and no RoPE scaling; the global layers use rope.freq_base and
//           rope.scaling.
import { GGUFError, type GGUFFile } from "../../gguf/reader";
import { LLAMA_FIELDS, baseConfig, modelTensors, num, positive, posInt, slidingWindow, standardLayer, tensorList } from "./common";
import type { Architecture, ModelConfig } from "./types";

function common(f: GGUFFile, arch: string, bigLayers: number): ModelConfig {
  const c = baseConfig(f, arch, 2);
  c.embedScale = Math.fround(Math.sqrt(c.dim));
  c.act = "gelu";
  c.attnScale = Math.fround(1 / Math.sqrt(c.nLayers === bigLayers ? Math.trunc(c.dim / c.nHeads) : c.headDim));
  return c;
}

function gemma2Config(f: GGUFFile, arch: string): ModelConfig {
  const c = common(f, arch, 46);
  const k = (s: string) => `${arch}.${s}`;
  c.attnSoftcap = positive(f, k("attn_logit_softcapping"), num(f, k("attn_logit_softcapping"), 50));
  c.finalSoftcap = positive(f, k("final_logit_softcapping"), num(f, k("final_logit_softcapping"), 30));
  c.window = slidingWindow(f, arch, 4096);
  c.swaLayers = Array.from({ length: c.nLayers }, (_, l) => l % 2 === 0);
  return c;
}

function gemma3Config(f: GGUFFile, arch: string): ModelConfig {
  const c = common(f, arch, 62);
  const k = (s: string) => `${arch}.${s}`;
  const window = slidingWindow(f, arch);
  if (window > 0) {
    c.window = window;
    const key = k("attention.sliding_window_pattern");
    const arr = f.array(key);
    if (arr) {
      // per layer, as newer converters write it
      if (arr.values.length !== c.nLayers) throw new GGUFError(`GGUF ${f.path}: metadata "${key}" has ${arr.values.length} values, expected one per layer (${c.nLayers})`);
      c.swaLayers = Array.from(arr.values as ArrayLike<unknown>, (v) => Boolean(v));
    } else {
      const period = posInt(f, key, num(f, key, 6), 1 << 16);
      c.swaLayers = Array.from({ length: c.nLayers }, (_, l) => l % period < period - 1);
    }
    c.ropeBaseSwa = positive(f, k("rope.freq_base_swa"), num(f, k("rope.freq_base_swa"), 10000));
    c.ropeFreqScaleSwa = 1;
  }
  return c;
}

const layer2 = (_c: ModelConfig, l: number) => standardLayer(l, [...LLAMA_FIELDS, "postAttnNorm", "postFfnNorm"]);
const layer3 = (_c: ModelConfig, l: number) => standardLayer(l, [...LLAMA_FIELDS, "qNorm", "kNorm", "postAttnNorm", "postFfnNorm"]);

export const gemma2: Architecture = {
  names: ["gemma2"],
  config: gemma2Config,
  layer: layer2,
  tensors: (c) => tensorList(c, (l) => layer2(c, l), modelTensors(c)),
};

export const gemma3: Architecture = {
  names: ["gemma3"],
  config: gemma3Config,
  layer: layer3,
  tensors: (c) => tensorList(c, (l) => layer3(c, l), modelTensors(c)),
};
