/**
 * The LD engine with 4 AXI read ports (ldPorts = 4, rows striped over 4 read pipelines) in the
 * whole flightllm_top on Verilator: stories260K (prefill and decode) and random programs must
 * agree bit for bit with the golden model (RtlEngine / the fuzz runner compare every block's
 * logits and both memories), and the loads must really spread over the ports. One Verilator
 * build (the same 4 x 16 design as test/sim/rtl.test.ts, with 4 read ports).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/compile.ts';
import { fuzzMain, GoldenRunner } from '../../src/fuzz/index.ts';
import { GoldenEngine } from '../../src/golden/engine.ts';
import { loadCheckpoint } from '../../src/model/checkpoint.ts';
import { generate, generateAsync } from '../../src/model/engine.ts';
import { RtlEngine, type RtlBlockReport } from '../../src/sim/rtl-engine.ts';
import type { MemoryTiming } from '../../src/perf/memory.ts';
import { RtlRunner } from '../../src/sim/rtl-runner.ts';
import { STORIES } from '../golden/fixtures.ts';
import { COSIM_HW } from './fixtures.ts';

const HW4 = { ...COSIM_HW, ldPorts: 4 };
const w = loadCheckpoint(STORIES);
const engines: RtlEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

describe('4 LD read ports: stories260K on the RTL against the golden model', () => {
  it('prefill of BOS + a 3-token prompt, then 3 decode steps: equal ids, logits and memories; every port reads', async () => {
    const compiled = compile({ model: w.config, weights: w, hw: HW4, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
    const reports: RtlBlockReport[] = [];
    const rtl = await RtlEngine.create(compiled, { onBlock: (r) => reports.push(r) });
    engines.push(rtl);
    const promptIds = [5, 9, 17];
    const ids = await generateAsync(rtl, { tokens: 3, promptIds });
    expect(ids).toEqual(generate(new GoldenEngine(compiled), { tokens: 3, promptIds }));
    expect(reports.filter((r) => r.block === 'decode').length).toBeGreaterThanOrEqual(2);
    for (const r of reports) {
      expect(r.portReadBeats.length).toBe(4);
      // Weight rows stripe over all four ports.
      for (const beats of r.portReadBeats) expect(beats).toBeGreaterThan(0.1 * r.portReadBeats.reduce((a, b) => a + b, 0));
    }
  }, 1_200_000);
});

/** A slow memory with a channel map: R beats with gaps, AR held back, per-burst local and crossing rates. */
const SLOW: MemoryTiming = {
  hbm: { readLatency: 60, writeLatency: 30, bandwidth: { num: 1, den: 2 }, localBandwidth: { num: 3, den: 4 } },
  ddr: { readLatency: 45, writeLatency: 20, bandwidth: { num: 2, den: 3 } },
  ifLatency: 5,
  outstanding: { reads: 3, writes: 4 },
  channelMap: { bytes: 4096, count: 32, perSwitch: 2 },
};

describe('4 LD read ports: random programs against the golden model', () => {
  for (const [label, timing, seed] of [['U280 memory timing', undefined, 4000], ['a slow memory with a channel map', SLOW, 4100]] as const) {
    it(`16 programs, ${label} (10% with one bad instruction): same memory, same error class and instruction`, async () => {
      const rtl = new RtlRunner(timing ? { timing } : {});
      try {
        const s = await fuzzMain({ count: 16, seed, engine: rtl, reference: new GoldenRunner(), out: await mkdtemp(join(tmpdir(), 'fg-fuzz-')), hw: HW4, minimize: false });
        expect(s.failures.map((f) => f.text)).toEqual([]);
        expect(s.passed).toBe(16);
      } finally {
        await rtl.close();
      }
    }, 1_200_000);
  }
});
