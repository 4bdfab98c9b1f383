/**
 * Compiler entry: (model config or weights) + hardware configuration -> instruction stream,
 * memory image and a summary. See docs/compiler.md for the memory map and the decode protocol.
 */
import type { GenConfig } from '../arch/config.ts';
import { encodeProgram } from '../isa/encode.ts';
import type { Instr } from '../isa/instr.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { FX, packColumnScale, ropeFreqTurns, toFx, toMultiplier } from '../numerics/fixed.ts';
import { encodeIndexStream, encodeWeightStream, quantizeMatrix } from '../numerics/quant.ts';
import { patternName } from '../sparsity/pattern.ts';
import { emitBlock } from './block.ts';
import { MemoryImage } from './memory.ts';
import { makePlan, MATRICES, type CompileOptions, type MatrixName, type Plan } from './plan.ts';
import { calibrate, scalesFromStats, unitStats, type ActScales, type ActStats, type LayerTensor } from './scales.ts';

export interface Block {
  readonly name: string;
  /** Tokens the block processes (decode: 1, prefill: the chunk size). */
  readonly tokens: number;
  /** Index of the block's first instruction and its byte offset in program.bin. */
  readonly start: number;
  readonly byteOffset: number;
  readonly count: number;
  readonly bytes: number;
}

export interface Compiled {
  readonly plan: Plan;
  readonly scales: ActScales;
  readonly instrs: Instr[];
  readonly program: Uint8Array;
  readonly blocks: readonly Block[];
  readonly memory?: MemoryImage;
  /** Float scale of one logit step (logits are fx in DDR: value / 2^16). */
  readonly logitScale: number;
}

export interface CompileInput {
  readonly model: ModelConfig;
  readonly weights?: ModelWeights;
  readonly hw: GenConfig;
  readonly options: CompileOptions;
  /** Calibration statistics (computed from the weights when omitted). */
  readonly stats?: ActStats;
}

type LayerMatrix = (typeof MATRICES)[number];

/** Row-major float weights of a named matrix. */
function matrixWeights(w: ModelWeights, name: MatrixName, layer: number): Float32Array {
  if (name === 'cls') return w.wcls;
  return w.layers[layer]![name as LayerMatrix];
}

/** The activation tensor each matrix reads (one table for its scale and its GPTQ statistics). */
const MATRIX_INPUT: Record<MatrixName, LayerTensor | 'xf'> = { wq: 'xn', wk: 'xn', wv: 'xn', wo: 'ao', w1: 'xn2', w3: 'xn2', w2: 'hm', cls: 'xf' };

/** Calibration key of each matrix's input (see scales.ts). */
function inputKey(name: MatrixName, layer: number): string {
  const t = MATRIX_INPUT[name];
  return t === 'xf' ? t : `${t}.${layer}`;
}

/** Input activation scale of a matrix, and its output scale when it writes quantized values (wv -> the V cache) rather than fx. */
function matrixIO(sc: ActScales, name: MatrixName, layer: number): { inScale: number; outScale: number | null } {
  const t = MATRIX_INPUT[name];
  return { inScale: t === 'xf' ? sc.xf : sc.layers[layer]![t], outScale: name === 'wv' ? sc.layers[layer]!.v : null };
}

export function compile(input: CompileInput): Compiled {
  const { model, weights, hw, options } = input;
  if (weights && weights.config !== model) {
    for (const k of ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'vocabSize', 'seqLen'] as const) {
      if (weights.config[k] !== model[k]) throw new RangeError(`weights do not match model ${model.name}: ${k} ${weights.config[k]} vs ${model[k]}`);
    }
  }
  const plan = makePlan(model, hw, options);
  const stats = input.stats ?? (weights ? calibrate(weights) : unitStats(model));
  const scales = scalesFromStats(stats, options.actBits, plan.attnBits);
  const instrs: Instr[] = [];
  const blocks: Block[] = [];
  const parts: Uint8Array[] = [];
  let bytes = 0;
  const add = (name: string, tokens: number) => {
    const block = emitBlock(plan, scales, tokens).finish();
    const code = encodeProgram(block);
    blocks.push({ name, tokens, start: instrs.length, byteOffset: bytes, count: block.length, bytes: code.length });
    for (const i of block) instrs.push(i);
    parts.push(code);
    bytes += code.length;
  };
  add('decode', 1);
  if (plan.prefillTokens > 0) add('prefill', plan.prefillTokens);
  const program = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    program.set(p, at);
    at += p.length;
  }
  const memory = weights ? buildMemory(plan, scales, weights, options.gptq === false ? undefined : stats.hessians) : undefined;
  return { plan, scales, instrs, program, blocks, memory, logitScale: 2 ** -FX };
}

function buildMemory(plan: Plan, sc: ActScales, w: ModelWeights, hessians?: ReadonlyMap<string, Float64Array>): MemoryImage {
  const { layout, model, hw, C, L, hs } = plan;
  const mem = new MemoryImage(layout.size('hbm'), layout.size('ddr'));
  const shape = { chains: C, length: L, groupSize: hw.groupSize };
  for (const m of plan.matrices.values()) {
    const qm = quantizeMatrix(matrixWeights(w, m.name, m.layer), m.rows, m.K, m.pattern, m.precision, shape, hw.weightWidth, hessians?.get(inputKey(m.name, m.layer)));
    mem.write(m.weights, encodeWeightStream(qm, m.grouped));
    if (m.meta) mem.write(m.meta, encodeIndexStream(qm.idx));
    const io = matrixIO(sc, m.name, m.layer);
    const col = Array.from({ length: m.rows }, (_, r) => {
      const c = io.outScale === null ? qm.rowScale[r]! * io.inScale * 2 ** FX : (qm.rowScale[r]! * io.inScale) / io.outScale;
      return packColumnScale(toMultiplier(c, [0, 47]));
    });
    mem.writeInt32(m.scales, col);
  }
  const fx = (a: Float32Array) => Array.from(a, toFx);
  for (let l = 0; l < model.nLayers; l++) mem.writeInt32(layout.get(`gamma.${l}`), [...fx(w.layers[l]!.rmsAtt), ...fx(w.layers[l]!.rmsFfn)]);
  mem.writeInt32(layout.get('gamma.final'), fx(w.rmsFinal));
  mem.writeInt32(layout.get('rope'), Array.from({ length: hs / 2 }, (_, i) => ropeFreqTurns(i, hs, model.ropeTheta) | 0));
  mem.writeInt32(layout.get('embedding'), fx(w.tokenEmbedding));
  return mem;
}

/** Summary written as compile.json. */
export function compileSummary(c: Compiled, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const perOp: Record<string, number> = {};
  for (const i of c.instrs) {
    const k = i.op === 'SFU' ? `SFU.${i.fn}` : i.op === 'SYS' ? `SYS.${i.fn}` : i.op;
    perOp[k] = (perOp[k] ?? 0) + 1;
  }
  const p = c.plan;
  return {
    model: p.model.name,
    hardware: { chains: p.C, chainLength: p.L, groupSize: p.hw.groupSize, modes: p.modes.map(patternName), actWidth: p.hw.actWidth, weightWidth: p.hw.weightWidth },
    options: { precision: p.options.precision, actPrecision: `int${p.options.actBits}`, sparsity: patternName(p.options.pattern) },
    instructionCount: c.instrs.length,
    instructionBytes: c.program.length,
    blocks: c.blocks,
    perOp,
    memory: { hbmBytes: p.layout.size('hbm'), ddrBytes: p.layout.size('ddr'), regions: Object.fromEntries([...p.layout.regions].map(([k, r]) => [k, r])) },
    logitScale: c.logitScale,
    ...extra,
  };
}

