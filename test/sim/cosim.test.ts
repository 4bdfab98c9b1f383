/**
 * Co-simulation: stories260K compiled for a 4 x 16 accelerator runs on the generated
 * flightllm_top in Verilator. RtlEngine compares every block with the golden model (logits
 * and the whole HBM/DDR image, KV cache included) and throws on the first difference, so a
 * passing run is a bit-for-bit agreement.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/compile.ts';
import { GoldenEngine } from '../../src/golden/engine.ts';
import { loadCheckpoint } from '../../src/model/checkpoint.ts';
import { generate, generateAsync } from '../../src/model/engine.ts';
import { RtlEngine, type RtlBlockReport } from '../../src/sim/rtl-engine.ts';
import { STORIES } from '../golden/fixtures.ts';
import { COSIM_HW } from './fixtures.ts';


const w = loadCheckpoint(STORIES);
const engines: RtlEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

describe('stories260K on the RTL (Verilator) against the golden model', () => {
  it('prefill of BOS + a 5-token prompt, then 6 decode steps: equal ids, logits and memory at every block', async () => {
    const compiled = compile({ model: w.config, weights: w, hw: COSIM_HW, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
    const reports: RtlBlockReport[] = [];
    const rtl = await RtlEngine.create(compiled, { onBlock: (r) => reports.push(r) });
    engines.push(rtl);
    const promptIds = [5, 9, 17, 200, 33];
    const ids = await generateAsync(rtl, { tokens: 6, promptIds });
    expect(ids).toEqual(generate(new GoldenEngine(compiled), { tokens: 6, promptIds }));
    expect(reports.some((r) => r.block === 'prefill')).toBe(compiled.plan.prefillTokens > 0);
    expect(reports.filter((r) => r.block === 'decode').length).toBeGreaterThanOrEqual(5);
    for (const r of reports) {
      expect(r.cycles).toBeGreaterThan(1000);
      expect(r.busy.mx).toBeGreaterThan(0);
      expect(r.busy.sfu).toBeGreaterThan(0);
    }
  }, 1_200_000);
});
