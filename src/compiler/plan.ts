/**
 * The compile plan: how a model maps onto a hardware configuration (matrix tiles, on-chip
 * buffer map, external memory map, activation scales). Everything the program emitter, the
 * memory-image writer and the runtime need, computed once from (model, hardware, options).
 */
import type { GenConfig } from '../arch/config.ts';
import { headSize, kvDim, type ModelConfig } from '../model/config.ts';
import { chainGeometry, modeTable, patternName, type Pattern } from '../sparsity/pattern.ts';
import { maxGroupMultiplier, weightStreamBytes, type WeightPrecision } from '../numerics/quant.ts';
import { MemoryLayout, type Region } from './memory.ts';

export class CompileError extends Error {
  override name = 'CompileError';
}

export interface CompileOptions {
  readonly precision: WeightPrecision;
  readonly actBits: 8 | 16;
  /** N:M pattern of the linear layers (must be in the design's mode table). */
  readonly pattern: Pattern;
  /** GPTQ error feedback when quantizing weights (default on when calibration data exists). */
  readonly gptq?: boolean;
  /** Width of the attention operands: q, the K/V cache, probabilities (default: actBits). */
  readonly attnBits?: 8 | 16;
  /** Per-token scaling of the matmul inputs (SFU ewr/erd; default: INT8 activations only). */
  readonly dynamicActs?: boolean;
  /**
   * Plan overrides for tests and experiments (kept in compile.json): `attention` runs P x V in
   * chunks even when whole V^T tiles fit the KV buffer; `kWindows` caps the windows of one
   * weight load, splitting longer row batches over K.
   */
  readonly chunking?: { readonly attention?: boolean; readonly kWindows?: number };
}

export const MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w3', 'w2'] as const;
export type MatrixName = (typeof MATRICES)[number] | 'cls';

/** A window range of a row batch: one weight-buffer load and one MV/MM over those K columns. */
export interface KChunk {
  readonly win0: number;
  readonly wins: number;
}

export interface Tile {
  readonly row0: number;
  readonly rows: number;
  readonly beat0: number;
  readonly beats: number;
  /**
   * The tile's K windows, one weight load each: a single chunk (all windows) unless one row
   * batch is longer than half the weight buffer; then the tile is one batch whose partial
   * products accumulate in the acc buffer (MV/MM `acc`) before one requant.
   */
  readonly chunks: readonly KChunk[];
}

export interface MatrixPlan {
  readonly key: string;
  readonly name: MatrixName;
  readonly layer: number;
  readonly rows: number;
  readonly K: number;
  readonly pattern: Pattern;
  readonly mode: number;
  readonly precision: WeightPrecision;
  readonly grouped: boolean;
  readonly batches: number;
  readonly windows: number;
  readonly rowsPerBatch: number;
  /** Row tiles of the decode block (one token) and of the prefill block (`prefillTokens`). */
  readonly tiles: readonly Tile[];
  readonly prefillTiles: readonly Tile[];
  readonly weights: Region;
  readonly meta?: Region;
  readonly scales: Region;
}

/** On-chip element addresses (one map per buffer). */
export interface OnChip {
  act: { in: number; q: number; qPitch: number; k: number; v: number; p: number };
  global: { x: number; qf: number; kf: number; r: number; h1: number; h3: number; sc: number; logits: number; logitsHalf: number };
  /** Tile result halves hold `tileRows x tokens` entries (decode: tokens = 1). */
  acc: { sc: number; ao: number; tile: [number, number] };
  /** Weight/meta buffer halves, as beat addresses. */
  weight: [number, number];
  scale: [number, number];
  kv: { k: [number, number]; v: [number, number]; kRegion: number; vRegion: number };
  bias: { gamma: [[number, number], [number, number]]; gammaFinal: number; rope: number };
}

export interface Plan {
  readonly model: ModelConfig;
  readonly hw: GenConfig;
  readonly options: CompileOptions;
  readonly modes: Pattern[];
  readonly C: number;
  readonly L: number;
  readonly hs: number;
  readonly kv: number;
  /** Bytes of one activation element (KV cache and act buffer). */
  readonly ab: number;
  /** Bits of the attention operands (q, K/V cache, probabilities). */
  readonly attnBits: 8 | 16;
  readonly seqPad: number;
  readonly maxTileRows: number;
  /** Tokens per prefill chunk (the MM block); 0 when the buffers hold too little for two. */
  readonly prefillTokens: number;
  /** Geometry of the attention operands in the KV buffer. */
  readonly kWindows: number;
  readonly kBatchesMax: number;
  readonly vBatches: number;
  readonly vWindowsMax: number;
  /**
   * Positions per V^T chunk (0: the whole context in one V^T tile). Designs with more chains
   * than the head size pad every V^T beat to C rows; when two such tiles do not fit the KV
   * buffer, P x V runs over chunks of C positions with accumulating MVs (block.ts).
   */
  readonly vChunk: number;
  /** Context lengths are padded to this (the CTXPAD register): L, or vChunk when chunked. */
  readonly ctxAlign: number;
  readonly matrices: ReadonlyMap<string, MatrixPlan>;
  readonly layout: MemoryLayout;
  readonly onchip: OnChip;
}

const up = (x: number, m: number) => Math.ceil(x / m) * m;

export function matrixKey(name: MatrixName, layer: number): string {
  return name === 'cls' ? 'cls' : `${name}.${layer}`;
}

export function makePlan(model: ModelConfig, hw: GenConfig, options: CompileOptions): Plan {
  if (model.family !== 'llama') throw new CompileError(`model ${model.name}: the compiler handles llama-family models (RMSNorm, RoPE, SwiGLU); ${model.family} is not supported yet`);
  const C = hw.chains;
  const L = hw.chainLength;
  const modes = modeTable(hw.sparsity);
  const mode = modes.findIndex((p) => patternName(p) === patternName(options.pattern));
  if (mode < 0) throw new CompileError(`sparsity ${patternName(options.pattern)} is not in the design's mode table (${modes.map(patternName).join(', ')}); add it to --sparsity`);
  if (!hw.weightPrecisions.includes(options.precision)) throw new CompileError(`weight precision ${options.precision} is not enabled in the design (--precision ${hw.weightPrecisions.join(',')})`);
  if (hw.actWidth < options.actBits) throw new CompileError(`INT${options.actBits} activations need --act-width >= ${options.actBits} (the design has ${hw.actWidth})`);
  if ((hw.pack ?? 1) !== 1) throw new CompileError('the compiler does not target --pack 2 designs yet');
  const hs = headSize(model);
  const kv = kvDim(model);
  if (hs % 2) throw new CompileError(`head size ${hs} is odd`);
  if (!(hs % L === 0 || hs < L)) throw new CompileError(`head size ${hs} must be a multiple of the chain length ${L} or smaller than it`);
  if (!(hs % C === 0 || hs < C)) throw new CompileError(`head size ${hs} must be a multiple of the chain count ${C} or smaller than it`);
  if ((C * L) % 32 !== 0) throw new CompileError(`a weight beat of ${C} x ${L} lanes must be a multiple of 32 lanes (the stored weight block)`);
  if (hw.weightDepth > 2 ** 20) throw new CompileError(`weight buffer of ${hw.weightDepth} beats passes the 20-bit on-chip beat address (--weight-depth <= ${2 ** 20})`);
  if (hw.actDepth * L > 2 ** 20) throw new CompileError(`activation buffer of ${hw.actDepth} windows x ${L} passes the 20-bit on-chip element address`);
  const attnBits = options.attnBits ?? options.actBits;
  if (hw.actWidth < attnBits) throw new CompileError(`INT${attnBits} attention operands need --act-width >= ${attnBits} (the design has ${hw.actWidth})`);
  const ab = attnBits / 8;
  const grouped = maxGroupMultiplier(options.precision, hw.weightWidth) > 1;

  // On-chip maps for blocks of up to T tokens (rows token-major, pitch = row length). Regions
  // are L-aligned where the MPE reads windows. T is the largest power of two <= 128 dividing
  // seq_len for which everything fits; the decode block uses the same map with one token.
  const qPitch = hs % L === 0 ? hs : L;
  const segMax = (p: Pattern) => chainGeometry(p, L, hw.groupSize).segments;
  const rowsPerBatchMax = C * segMax(options.pattern);
  const halfBeats = Math.floor(hw.weightDepth / 2);

  // KV buffer: K tiles (rows = positions) and V^T tiles (rows = head dimensions), two heads.
  const kWindows = Math.ceil(hs / L);
  const kBatchesMax = Math.ceil(model.seqLen / C);
  const vBatches = Math.ceil(hs / C);
  const vWindowsMax = Math.ceil(model.seqLen / L);
  const kRegion = kBatchesMax * kWindows * C * L;
  let vChunk = 0;
  let vRegion = vBatches * vWindowsMax * C * L;
  if (2 * (kRegion + vRegion) > hw.kvDepth || options.chunking?.attention) {
    // Chunks of C positions (loop count KBATCH) when C is whole windows, else one window (VWIN).
    const positions = C % L === 0 ? C : L;
    const chunked = vBatches * (positions / L) * C * L;
    if (2 * (kRegion + chunked) > hw.kvDepth) throw new CompileError(`KV buffer too small: ${2 * (kRegion + vRegion)} elements needed for two heads at ${model.seqLen} tokens, the design has ${hw.kvDepth}`);
    // The chunk loop steps one length register through positions, which are also the V cache's byte offsets only for 1-byte elements.
    if (ab !== 1) throw new CompileError(`chunked attention (P x V over positions) needs INT8 attention operands, not INT${attnBits}${options.chunking?.attention ? '' : ` (without it the KV buffer needs ${2 * (kRegion + vRegion)} elements, the design has ${hw.kvDepth})`}`);
    vChunk = positions;
    vRegion = chunked;
  }
  const ctxAlign = vChunk || L;
  const seqPad = up(model.seqLen, ctxAlign);
  // Decode classifier tiles hold at most this many rows (tilesFor: whole row batches within half the weight buffer).
  const clsRows = Math.min(Math.ceil(model.vocabSize / rowsPerBatchMax), Math.max(1, Math.floor(halfBeats / Math.ceil(model.dim / L)))) * rowsPerBatchMax;
  const layoutFor = (T: number): { onchip: OnChip; maxTileRows: number; need?: string } => {
    const onchip = {} as OnChip;
    let a = 0;
    const takeA = (n: number) => {
      const r = a;
      a += up(n, L);
      return r;
    };
    onchip.act = { in: takeA(T * up(Math.max(model.dim, model.hiddenDim), L)), q: takeA(T * qPitch * model.nHeads), qPitch, k: takeA(T * kv), v: takeA(T * kv), p: takeA(seqPad) };
    if (a > hw.actDepth * L) return { onchip, maxTileRows: 0, need: `activation buffer too small: ${a} elements needed, the design has ${hw.actDepth * L} (--act-depth ${Math.ceil(a / L)})` };
    let g = 0;
    const takeG = (n: number) => {
      const r = g;
      g += up(n, 16);
      return r;
    };
    const accFree = hw.accDepth - seqPad - up(hs, 16);
    const maxTileRows = Math.floor(accFree / 2 / T / rowsPerBatchMax) * rowsPerBatchMax;
    if (maxTileRows < rowsPerBatchMax) return { onchip, maxTileRows: 0, need: `accumulation buffer too small: ${seqPad + up(hs, 16) + 2 * T * rowsPerBatchMax} entries needed, the design has ${hw.accDepth}` };
    // logits: two classifier tiles (each T x tile rows), stored to DDR tile by tile.
    const decodeRows = Math.floor(accFree / 2 / rowsPerBatchMax) * rowsPerBatchMax;
    const logitsHalf = Math.max(Math.min(decodeRows, clsRows), T * Math.min(maxTileRows, clsRows));
    onchip.global = { x: takeG(T * model.dim), qf: takeG(T * model.dim), kf: takeG(T * kv), r: takeG(T * model.dim), h1: takeG(T * model.hiddenDim), h3: takeG(T * model.hiddenDim), sc: takeG(seqPad), logits: takeG(2 * logitsHalf), logitsHalf };
    if (g > hw.globalDepth) return { onchip, maxTileRows: 0, need: `global buffer too small: ${g} elements needed, the design has ${hw.globalDepth}` };
    onchip.acc = { sc: 0, ao: seqPad, tile: [seqPad + up(hs, 16), seqPad + up(hs, 16) + maxTileRows * T] };
    return { onchip, maxTileRows };
  };
  const one = layoutFor(1);
  if (one.need) throw new CompileError(one.need);
  let prefillTokens = 0;
  for (let T = 128; T >= 2; T /= 2) {
    if (model.seqLen % T === 0 && !layoutFor(T).need) {
      prefillTokens = T;
      break;
    }
  }
  const { onchip, maxTileRows } = layoutFor(Math.max(1, prefillTokens));
  const prefillTileRows = maxTileRows;
  const decodeTileRows = one.maxTileRows;
  onchip.weight = [0, halfBeats]; // beat addresses
  onchip.scale = [0, decodeTileRows];
  onchip.kv = { k: [0, kRegion], v: [2 * kRegion, 2 * kRegion + vRegion], kRegion, vRegion };
  {
    const d = up(model.dim, 16);
    onchip.bias = { gamma: [[0, d], [2 * d, 3 * d]], gammaFinal: 4 * d, rope: 5 * d };
    if (5 * d + hs / 2 > hw.biasDepth) throw new CompileError(`bias buffer too small: ${5 * d + hs / 2} elements needed, the design has ${hw.biasDepth}`);
  }

  // External memory map.
  const layout = new MemoryLayout();
  const matrices = new Map<string, MatrixPlan>();
  const addMatrix = (name: MatrixName, layer: number, rows: number, K: number) => {
    const pattern = options.pattern;
    const g = chainGeometry(pattern, L, hw.groupSize);
    const rowsPerBatch = C * g.segments;
    const windows = Math.ceil(K / L);
    const batches = Math.ceil(rows / rowsPerBatch);
    // Row batches longer than half the weight buffer split over K into equal window chunks.
    const kCap = options.chunking?.kWindows;
    if (kCap !== undefined && !(Number.isInteger(kCap) && kCap >= 1)) throw new CompileError(`K chunk of ${kCap} windows: must be a positive integer`);
    const nChunks = Math.ceil(windows / Math.min(halfBeats, kCap ?? halfBeats));
    const chunkWins = Math.ceil(windows / nChunks);
    const chunks: KChunk[] = Array.from({ length: nChunks }, (_, j) => ({ win0: j * chunkWins, wins: Math.min(chunkWins, windows - j * chunkWins) }));
    const tilesFor = (tileRows: number): Tile[] => {
      if (halfBeats < 1) throw new CompileError(`weight buffer of ${hw.weightDepth} beats cannot hold two tiles (--weight-depth >= 2)`);
      const batchesPerTile = nChunks > 1 ? 1 : Math.min(Math.floor(halfBeats / windows), tileRows / rowsPerBatch);
      const tiles: Tile[] = [];
      for (let b = 0; b < batches; b += batchesPerTile) {
        const nb = Math.min(batchesPerTile, batches - b);
        tiles.push({ row0: b * rowsPerBatch, rows: Math.min(rows, (b + nb) * rowsPerBatch) - b * rowsPerBatch, beat0: b * windows, beats: nb * windows, chunks });
      }
      return tiles;
    };
    const tiles = tilesFor(decodeTileRows);
    const prefillTiles = prefillTokens ? tilesFor(prefillTileRows) : [];
    const lanes = batches * windows * C * L;
    const key = matrixKey(name, layer);
    const weights = layout.alloc(`${key}.w`, 'hbm', weightStreamBytes(lanes, options.precision, grouped));
    const meta = pattern === 'dense' ? undefined : layout.alloc(`${key}.meta`, 'hbm', lanes / 2);
    const scales = layout.alloc(`${key}.scale`, 'hbm', rows * 4);
    matrices.set(key, { key, name, layer, rows, K, pattern, mode, precision: options.precision, grouped, batches, windows, rowsPerBatch, tiles, prefillTiles, weights, meta, scales });
  };
  for (let l = 0; l < model.nLayers; l++) {
    addMatrix('wq', l, model.dim, model.dim);
    addMatrix('wk', l, kv, model.dim);
    addMatrix('wv', l, kv, model.dim);
    addMatrix('wo', l, model.dim, model.dim);
    addMatrix('w1', l, model.hiddenDim, model.dim);
    addMatrix('w3', l, model.hiddenDim, model.dim);
    addMatrix('w2', l, model.dim, model.hiddenDim);
    layout.alloc(`kcache.${l}`, 'hbm', model.seqLen * kv * ab);
    layout.alloc(`vcache.${l}`, 'hbm', kv * model.seqLen * ab);
  }
  addMatrix('cls', 0, model.vocabSize, model.dim);
  for (let l = 0; l < model.nLayers; l++) layout.alloc(`gamma.${l}`, 'ddr', 2 * model.dim * 4);
  layout.alloc('gamma.final', 'ddr', model.dim * 4);
  layout.alloc('rope', 'ddr', (hs / 2) * 4);
  layout.alloc('embedding', 'ddr', model.vocabSize * model.dim * 4);
  // Staging: the host writes the fx embedding rows of a block's tokens here, reads logits back.
  const Tmax = Math.max(1, prefillTokens);
  layout.alloc('input', 'ddr', Tmax * model.dim * 4);
  layout.alloc('logits', 'ddr', Tmax * model.vocabSize * 4);

  return { model, hw, options, modes, C, L, hs, kv, ab, attnBits, seqPad, maxTileRows: decodeTileRows, prefillTokens, kWindows, kBatchesMax, vBatches, vWindowsMax, vChunk, ctxAlign, matrices, layout, onchip };
}
