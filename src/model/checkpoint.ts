/**
 * Loader for llama2.c "version 0" checkpoints (../shared/models/README.md): a 7 x int32 header,
 * then float32 arrays. Every defect is reported as one CheckpointError line naming the file and
 * what is wrong, before anything else is done with it.
 */
import { readFileSync } from 'node:fs';
import { headSize, kvDim, validateModel, type ModelConfig } from './config.ts';
import type { LayerWeights, ModelWeights } from './weights.ts';

export class CheckpointError extends Error {}

const HEADER_BYTES = 7 * 4;

export function parseCheckpoint(bytes: Uint8Array, name = 'checkpoint'): ModelWeights {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${name}: ${msg}`);
  };
  if (bytes.byteLength < HEADER_BYTES) fail(`${bytes.byteLength} bytes is shorter than the 28-byte llama2.c header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = h as [number, number, number, number, number, number, number];
  const fields = { dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads, seq_len: seqLen };
  for (const [k, v] of Object.entries(fields)) if (v <= 0 || v > 1 << 20) fail(`header field ${k} = ${v} is not a plausible size (is this a llama2.c checkpoint?)`);
  if (vocabRaw === 0 || Math.abs(vocabRaw) > 1 << 22) fail(`header field vocab_size = ${vocabRaw} is not a plausible size`);
  const config: ModelConfig = {
    name: name.replace(/^.*\//, '').replace(/\.bin$/, ''),
    family: 'llama',
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocabRaw),
    seqLen,
    sharedClassifier: vocabRaw > 0,
    normEps: 1e-5,
    ropeTheta: 10000,
  };
  try {
    validateModel(config);
  } catch (e) {
    fail((e as Error).message.replace(/^model [^:]*: /, 'header: '));
  }
  const kv = kvDim(config);
  const hs = headSize(config);
  const L = nLayers;
  const sizes: [string, number][] = [
    ['token_embedding', config.vocabSize * dim],
    ['rms_att', L * dim],
    ['wq', L * dim * dim],
    ['wk', L * kv * dim],
    ['wv', L * kv * dim],
    ['wo', L * dim * dim],
    ['rms_ffn', L * dim],
    ['w1', L * hiddenDim * dim],
    ['w2', L * dim * hiddenDim],
    ['w3', L * hiddenDim * dim],
    ['rms_final', dim],
    ['freq_cis (legacy RoPE tables)', seqLen * hs],
  ];
  if (!config.sharedClassifier) sizes.push(['wcls', config.vocabSize * dim]);
  const need = HEADER_BYTES + 4 * sizes.reduce((s, [, n]) => s + n, 0);
  if (bytes.byteLength < need) {
    let off = HEADER_BYTES;
    for (const [k, n] of sizes) {
      if (off + 4 * n > bytes.byteLength) fail(`truncated: ${bytes.byteLength} bytes, the header needs ${need}; '${k}' is cut short at byte ${bytes.byteLength}`);
      off += 4 * n;
    }
  }
  if (bytes.byteLength > need) fail(`${bytes.byteLength - need} unexpected trailing bytes after the ${need} the header describes`);
  // Copy into an aligned buffer once (the file buffer's offset need not be a multiple of 4).
  const all = new Float32Array(new Uint8Array(bytes.subarray(HEADER_BYTES, need)).buffer);
  let off = 0;
  const arrays = new Map<string, Float32Array>();
  for (const [k, n] of sizes) {
    const a = all.subarray(off, off + n);
    for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]!)) fail(`'${k}' holds a non-finite value at element ${i}`);
    arrays.set(k, a);
    off += n;
  }
  const get = (k: string) => arrays.get(k)!;
  const per = (k: string, layer: number, n: number) => get(k).subarray(layer * n, (layer + 1) * n);
  const layers: LayerWeights[] = Array.from({ length: L }, (_, l) => ({
    rmsAtt: per('rms_att', l, dim),
    wq: per('wq', l, dim * dim),
    wk: per('wk', l, kv * dim),
    wv: per('wv', l, kv * dim),
    wo: per('wo', l, dim * dim),
    rmsFfn: per('rms_ffn', l, dim),
    w1: per('w1', l, hiddenDim * dim),
    w2: per('w2', l, dim * hiddenDim),
    w3: per('w3', l, hiddenDim * dim),
  }));
  const tokenEmbedding = get('token_embedding');
  return { config, tokenEmbedding, layers, rmsFinal: get('rms_final'), wcls: config.sharedClassifier ? tokenEmbedding : get('wcls') };
}

export function loadCheckpoint(path: string): ModelWeights {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseCheckpoint(bytes, path);
}

/** Serialises weights in the same format (tests build malformed and synthetic checkpoints with it). */
export function writeCheckpoint(w: ModelWeights): Uint8Array {
  const c = w.config;
  const hs = headSize(c);
  const parts: Float32Array[] = [w.tokenEmbedding];
  const cat = (k: keyof (typeof w.layers)[number]) => w.layers.forEach((l) => parts.push(l[k]));
  cat('rmsAtt');
  cat('wq');
  cat('wk');
  cat('wv');
  cat('wo');
  cat('rmsFfn');
  cat('w1');
  cat('w2');
  cat('w3');
  parts.push(w.rmsFinal, new Float32Array(c.seqLen * hs));
  if (!c.sharedClassifier) parts.push(w.wcls);
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(HEADER_BYTES + 4 * n);
  const dv = new DataView(out.buffer);
  [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.sharedClassifier ? c.vocabSize : -c.vocabSize, c.seqLen].forEach((v, i) => dv.setInt32(i * 4, v, true));
  const f = new Float32Array(out.buffer, HEADER_BYTES);
  let off = 0;
  for (const p of parts) {
    f.set(p, off);
    off += p.length;
  }
  return out;
}

/** Deterministic random weights of a preset's shape (tests and the `tiny` model). */
export function randomWeights(config: ModelConfig, seed = 1): ModelWeights {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const mat = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
  const ones = (n: number) => Float32Array.from({ length: n }, () => 0.8 + 0.4 * rnd());
  const { dim, hiddenDim } = config;
  const kv = kvDim(config);
  const ws = 1 / Math.sqrt(dim);
  const tokenEmbedding = mat(config.vocabSize * dim, 1);
  return {
    config,
    tokenEmbedding,
    layers: Array.from({ length: config.nLayers }, () => ({
      rmsAtt: ones(dim),
      wq: mat(dim * dim, ws),
      wk: mat(kv * dim, ws),
      wv: mat(kv * dim, ws),
      wo: mat(dim * dim, ws),
      rmsFfn: ones(dim),
      w1: mat(hiddenDim * dim, ws),
      w2: mat(dim * hiddenDim, 1 / Math.sqrt(hiddenDim)),
      w3: mat(hiddenDim * dim, ws),
    })),
    rmsFinal: ones(dim),
    wcls: config.sharedClassifier ? tokenEmbedding : mat(config.vocabSize * dim, ws),
  };
}
