/**
 * The generated flightllm_top in Verilator, one build for the whole file: stories260K compiled
 * for a 4 x 16 accelerator, and random programs (npm run fuzz runs more of them). RtlEngine compares every block with the golden model (logits
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
import { fuzzMain, GoldenRunner } from '../../src/fuzz/index.ts';
import { RtlRunner } from '../../src/sim/rtl-runner.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


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

describe('other formats on the same RTL', () => {
  it('2:4 sparse INT4 weights with INT8 activations (dynamic row scaling): 3 decode steps equal to the golden model', async () => {
    const compiled = compile({ model: w.config, weights: w, hw: COSIM_HW, options: { precision: 'int4', actBits: 8, pattern: { n: 2, m: 4 } } });
    const rtl = await RtlEngine.create(compiled);
    engines.push(rtl);
    const ids: number[] = [];
    let token = 1;
    for (let pos = 0; pos < 3; pos++) {
      const rows = await rtl.forward(token, pos);
      token = rows.indexOf(Math.max(...rows));
      ids.push(token);
    }
    expect(ids.length).toBe(3);
  }, 1_200_000);
});

describe('chunked programs on the same RTL', () => {
  it('K-split weight loads and chunked P x V (LOOP over a length register, accumulating MVs): prefill + 2 decode steps equal to the golden model', async () => {
    const options = { precision: 'int8', actBits: 8, pattern: 'dense', chunking: { attention: true, kWindows: 2 } } as const;
    const compiled = compile({ model: w.config, weights: w, hw: COSIM_HW, options });
    expect(compiled.plan.vChunk).toBeGreaterThan(0);
    const rtl = await RtlEngine.create(compiled);
    engines.push(rtl);
    const promptIds = [5, 9, 17];
    expect(await generateAsync(rtl, { tokens: 3, promptIds })).toEqual(generate(new GoldenEngine(compiled), { tokens: 3, promptIds }));
  }, 1_200_000);
});

describe('store-by-store checking', () => {
  it('--check-every-store: the RTL runs one instruction at a time and every ST matches the golden model when it completes', async () => {
    const compiled = compile({ model: w.config, weights: w, hw: COSIM_HW, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
    const rtl = await RtlEngine.create(compiled, { checkEveryStore: true });
    engines.push(rtl);
    const rows = await rtl.forward(1, 0);
    expect(Array.from(rows)).toEqual(Array.from(new GoldenEngine(compiled).forward(1, 0)));
  }, 1_200_000);
});

describe('random programs on the RTL against the golden model', () => {
  it('40 programs (10% with one bad instruction): same memory, same error class and instruction', async () => {
    const rtl = new RtlRunner();
    try {
      const s = await fuzzMain({ count: 40, seed: 1000, engine: rtl, reference: new GoldenRunner(), out: await mkdtemp(join(tmpdir(), 'fg-fuzz-')), hw: COSIM_HW, minimize: false });
      expect(s.failures.map((f) => f.text)).toEqual([]);
      expect(s.passed).toBe(40);
    } finally {
      await rtl.close();
    }
  }, 1_200_000);
});
