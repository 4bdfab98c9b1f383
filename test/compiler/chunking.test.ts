/**
 * K-split weight loads and chunked P x V (plan.ts, block.ts): the programs change, the
 * arithmetic does not (exact INT32 partial sums, probabilities past the context are zero), so
 * the logits must be bit-identical to the plain program's. test/sim/rtl.test.ts runs the same
 * chunked program on the RTL.
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/compile.ts';
import { GoldenEngine } from '../../src/golden/engine.ts';
import { loadCheckpoint } from '../../src/model/checkpoint.ts';
import { MODEL_PRESETS } from '../../src/model/config.ts';
import { PRESETS } from '../../src/targets/presets.ts';
import { STORIES_HW } from '../../src/fuzz/hw.ts';
import { STORIES } from '../golden/fixtures.ts';

const w = loadCheckpoint(STORIES);
const opts = { precision: 'int8', actBits: 8, pattern: 'dense' } as const;

describe('K-split weight tiles and chunked P x V', () => {
  it('stories260K: prefill and 30 decode steps give bit-identical logits to the plain program', () => {
    const plain = compile({ model: w.config, weights: w, hw: STORIES_HW, options: opts });
    const split = compile({ model: w.config, weights: w, hw: STORIES_HW, options: { ...opts, chunking: { attention: true, kWindows: 2 } } });
    expect(plain.plan.vChunk).toBe(0);
    // C = 4 chains of L = 16: one-window chunks; every 4-window matrix splits in two, w2 in six.
    expect(split.plan.vChunk).toBe(16);
    expect(split.plan.matrices.get('w2.0')!.tiles[0]!.chunks.length).toBe(Math.ceil(w.config.hiddenDim / 16 / 2));
    expect(split.instrs.some((i) => i.op === 'LOOP')).toBe(true);
    const a = new GoldenEngine(plain);
    const b = new GoldenEngine(split);
    const prompt = [1, 5, 9, 17, 200, 33];
    const pa = a.prefill(prompt, 0);
    const pb = b.prefill(prompt, 0);
    for (let i = 0; i < prompt.length; i++) expect(Array.from(pb[i]!)).toEqual(Array.from(pa[i]!));
    for (let p = prompt.length; p < prompt.length + 30; p++) expect(Array.from(b.forward(p % 300, p))).toEqual(Array.from(a.forward(p % 300, p)));
  }, 120_000);

  it('a forced split survives compile.json (the plan is rebuilt from the manifest)', async () => {
    const { programManifest } = await import('../../src/compiler/files.ts');
    const c = compile({ model: w.config, hw: STORIES_HW, options: { ...opts, chunking: { attention: true, kWindows: 3 } } });
    expect(programManifest(c).options.chunking).toEqual({ attention: true, kWindows: 3 });
    expect(() => compile({ model: w.config, hw: STORIES_HW, options: { ...opts, chunking: { kWindows: 0 } } })).toThrow(/K chunk of 0 windows/);
    // P x V chunks step a position counter that is also a byte offset: INT8 attention only.
    expect(() => compile({ model: w.config, hw: STORIES_HW, options: { ...opts, actBits: 16, chunking: { attention: true } } })).toThrow(/needs INT8 attention operands/);
  });

  for (const preset of ['flightllm-u280', 'flightllm-vhk158'] as const) {
    it(`llama2-7b compiles on the ${preset} preset: C-position V^T chunks, every weight load within half the weight buffer`, () => {
      const hw = PRESETS[preset].config;
      const c = compile({ model: MODEL_PRESETS['llama2-7b']!, hw, options: { precision: 'int4', actBits: 8, pattern: 'dense' } });
      const p = c.plan;
      expect(p.vChunk).toBe(hw.chains);
      expect(p.ctxAlign).toBe(hw.chains);
      const w2 = p.matrices.get('w2.0')!;
      expect(w2.windows).toBe(11008 / 16);
      const halfBeats = Math.floor(hw.weightDepth / 2);
      for (const t of w2.tiles) for (const k of t.chunks) expect(k.wins).toBeLessThanOrEqual(halfBeats);
      expect(w2.tiles[0]!.chunks.reduce((s, k) => s + k.wins, 0)).toBe(w2.windows);
      // Everything on chip within the design's buffers (the onchip map is what the emitter uses).
      expect(2 * (p.onchip.kv.kRegion + p.onchip.kv.vRegion)).toBeLessThanOrEqual(hw.kvDepth);
      expect(c.blocks.map((b) => b.name)).toEqual(['decode', 'prefill']);
    }, 60_000);
  }
});
