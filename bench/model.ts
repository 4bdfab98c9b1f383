/**
 * Model-side bench items: golden-model accuracy on stories260K against the float reference
 * (teacher forced over the float engine's greedy sequence), golden and float tokens/s, and the
 * LLaMA2-7B compile (time, instruction bytes, length-adaptive storage ratio).
 */
import { DEFAULT_CONFIG, type GenConfig } from '../src/arch/config.ts';
import { compile } from '../src/compiler/compile.ts';
import { lengthAdaptiveReport } from '../src/compiler/storage.ts';
import { GoldenEngine } from '../src/golden/engine.ts';
import { loadCheckpoint } from '../src/model/checkpoint.ts';
import { MODEL_PRESETS } from '../src/model/config.ts';
import { generate } from '../src/model/engine.ts';
import { pruneModel, teacherForced } from '../src/model/compare.ts';
import { FloatEngine } from '../src/model/float-ref.ts';
import type { ModelWeights } from '../src/model/weights.ts';
import type { WeightPrecision } from '../src/numerics/quant.ts';
import { patternName, type Pattern } from '../src/sparsity/pattern.ts';
import type { BenchItem } from './run.ts';

export const STORIES = new URL('../../shared/models/stories260K.bin', import.meta.url).pathname;
/** The accelerator the golden figures use: DEFAULT_CONFIG with INT16-capable activations. */
export const GOLDEN_HW: GenConfig = { ...DEFAULT_CONFIG, actWidth: 16 };
/** Buffers large enough for LLaMA2-7B 16-token prefill chunks (the default design's hold 1). */
export const PREFILL_HW: GenConfig = { ...DEFAULT_CONFIG, actWidth: 16, actDepth: 65536, globalDepth: 1 << 20, accDepth: 65536 };

export interface AccuracyRow {
  precision: WeightPrecision;
  act: 8 | 16;
  /** Width of the attention operands (q, K/V cache, probabilities). */
  attn: 8 | 16;
  sparsity: string;
  weightWidth: number;
  top1: number;
  meanKl: number;
  /** Against the float model with the same pruned weights (sparse rows only). */
  top1VsPruned?: number;
  meanKlVsPruned?: number;
  goldenTokensPerSec: number;
}

export function accuracyTable(w: ModelWeights, positions: number, log: (s: string) => void = () => {}): AccuracyRow[] {
  const rows: AccuracyRow[] = [];
  const configs: { precision: WeightPrecision; act: 8 | 16; pattern: Pattern; weightWidth: number; attn?: 8 | 16 }[] = [];
  for (const pattern of ['dense', { n: 2, m: 4 }] as Pattern[]) for (const precision of ['int8', 'int4'] as const) for (const act of [16, 8] as const) configs.push({ precision, act, pattern, weightWidth: 16 });
  configs.push({ precision: 'int8', act: 16, pattern: 'dense', weightWidth: 8 });
  configs.push({ precision: 'int8', act: 8, pattern: 'dense', weightWidth: 16, attn: 16 });
  for (const c of configs) {
    const hw = { ...GOLDEN_HW, weightWidth: c.weightWidth };
    const options = { precision: c.precision, actBits: c.act, attnBits: c.attn, pattern: c.pattern };
    const compiled = compile({ model: w.config, weights: w, hw, options });
    const t0 = performance.now();
    const r = teacherForced(w, new GoldenEngine(compiled), positions);
    const tps = positions / ((performance.now() - t0) / 1000);
    const row: AccuracyRow = { precision: c.precision, act: c.act, attn: c.attn ?? c.act, sparsity: patternName(c.pattern), weightWidth: c.weightWidth, ...r, goldenTokensPerSec: tps };
    if (c.pattern !== 'dense') {
      const pw = pruneModel(w, c.pattern);
      const vs = teacherForced(pw, new GoldenEngine(compile({ model: w.config, weights: pw, hw, options })), positions);
      row.top1VsPruned = vs.top1;
      row.meanKlVsPruned = vs.meanKl;
    }
    log(`W${c.precision.slice(3)}A${c.act}${row.attn !== c.act ? ` (attention INT${row.attn})` : ''} ${row.sparsity} lanes${c.weightWidth}: top1 ${(row.top1 * 100).toFixed(1)}% KL ${row.meanKl.toFixed(4)}${row.top1VsPruned !== undefined ? ` (vs pruned float: ${(row.top1VsPruned * 100).toFixed(1)}%, KL ${row.meanKlVsPruned!.toFixed(4)})` : ''}, golden ${tps.toFixed(1)} tokens/s`);
    rows.push(row);
  }
  return rows;
}

export function modelBenchItems(quick: boolean, log: (s: string) => void): BenchItem[] {
  const items: BenchItem[] = [];
  const positions = quick ? 64 : 256;
  const w = loadCheckpoint(STORIES);
  for (const r of accuracyTable(w, positions, log)) {
    const tag = `W${r.precision.slice(3)}A${r.act} ${r.sparsity}${r.weightWidth !== 16 ? ` (${r.weightWidth}-bit lanes)` : ''}${r.attn !== r.act ? ` (INT${r.attn} attention)` : ''}`;
    const cmd = `npm run bench (golden vs float, stories260K, ${positions} teacher-forced positions)`;
    items.push({ name: `golden top-1 agreement, ${tag}`, value: r.top1, unit: 'fraction', command: cmd, runs: 1 });
    items.push({ name: `golden mean KL, ${tag}`, value: r.meanKl, unit: 'nats', command: cmd, runs: 1 });
    if (r.top1VsPruned !== undefined) items.push({ name: `golden top-1 vs pruned float, ${tag}`, value: r.top1VsPruned, unit: 'fraction', command: cmd, runs: 1 });
  }
  const fe = new FloatEngine(w);
  let t0 = performance.now();
  generate(fe, { tokens: 256 });
  items.push({ name: 'float engine speed, stories260K', value: 256 / ((performance.now() - t0) / 1000), unit: 'tokens/s', command: 'npm run infer -- --checkpoint ../shared/models/stories260K.bin --engine float --tokens 256', runs: 1 });
  const times: number[] = [];
  let report;
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    t0 = performance.now();
    const c = compile({ model: MODEL_PRESETS['llama2-7b']!, hw: PREFILL_HW, options: { precision: 'int4', actBits: 8, pattern: 'dense' } });
    times.push(performance.now() - t0);
    report = lengthAdaptiveReport(c);
  }
  times.sort((a, b) => a - b);
  const cmd7 = 'npm run compile -- --model llama2-7b --precision int4 --act-precision int8 --no-weights --act-depth 65536 --global-depth 1048576 --acc-depth 65536 --out OUT';
  items.push({ name: 'compile llama2-7b (no weights)', value: times[Math.floor(times.length / 2)]! / 1000, unit: 's', command: cmd7, runs: times.length });
  items.push({ name: 'llama2-7b instruction bytes (length-adaptive)', value: report!.instructionBytes, unit: 'bytes', command: cmd7, runs: 1 });
  items.push({ name: 'llama2-7b instruction bytes (one static stream per length)', value: report!.naiveInstructionBytes, unit: 'bytes', command: cmd7, runs: 1 });
  items.push({ name: 'llama2-7b storage ratio', value: report!.storageRatio, unit: 'x', command: cmd7, runs: 1 });
  return items;
}
