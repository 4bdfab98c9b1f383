import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/compile.ts';
import { GoldenEngine } from '../../src/golden/engine.ts';
import { loadCheckpoint } from '../../src/model/checkpoint.ts';
import { pruneModel, teacherForced } from '../../src/model/compare.ts';
import { SMALL_HW, STORIES } from './fixtures.ts';

const w = loadCheckpoint(STORIES);

describe('golden model on stories260K (teacher forced against the float reference)', () => {
  // Bounds sit below the measured figures (BENCHMARKS.md) with room for calibration noise,
  // and far above what a broken datapath gives (a wrong scale or layout drops top-1 below 20%).
  const cases = [
    { precision: 'int8', actBits: 16, pattern: 'dense', top1: 0.9, kl: 0.05 },
    { precision: 'int8', actBits: 8, pattern: 'dense', top1: 0.6, kl: 0.5 },
    { precision: 'int4', actBits: 16, pattern: 'dense', top1: 0.25, kl: 3 },
  ] as const;
  for (const c of cases) {
    const name = `${c.precision} weights, int${c.actBits} activations, ${c.pattern}`;
    it(name, () => {
      const compiled = compile({ model: w.config, weights: w, hw: SMALL_HW, options: { precision: c.precision, actBits: c.actBits, pattern: c.pattern } });
      const r = teacherForced(w, new GoldenEngine(compiled), 48);
      expect(r.top1).toBeGreaterThanOrEqual(c.top1);
      expect(r.meanKl).toBeLessThan(c.kl);
    }, 120_000);
  }

  it('2:4 sparse INT8 weights follow the float model with the same pruned weights (pruning itself is the loss)', () => {
    const c = w.config;
    const pattern = { n: 2, m: 4 } as const;
    const pruned = pruneModel(w, pattern);
    const compiled = compile({ model: c, weights: pruned, hw: SMALL_HW, options: { precision: 'int8', actBits: 16, pattern } });
    const r = teacherForced(pruned, new GoldenEngine(compiled), 48);
    expect(r.top1).toBeGreaterThanOrEqual(0.9);
    expect(r.meanKl).toBeLessThan(0.05);
  }, 120_000);
});
