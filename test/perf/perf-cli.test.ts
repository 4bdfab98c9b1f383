/**
 * `flightgen perf` (src/cli/commands/perf.ts) through its own commander program (the command is
 * registered in src/cli/main.ts separately), and the model-level pieces it relies on: sampled
 * decode integration against every position, and the roofline bytes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerPerf } from '../../src/cli/commands/perf.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { compile } from '../../src/compiler/compile.ts';
import { STORIES_HW } from '../../src/fuzz/hw.ts';
import { MODEL_PRESETS } from '../../src/model/config.ts';
import { HARNESS_DEFAULT_TIMING, memoryTiming } from '../../src/perf/memory.ts';
import { decodeHbmBytes, PerfModel, samplePositions } from '../../src/perf/model.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs `perf` with `args`; returns stdout, or throws what the action threw. */
async function perf(args: string[]): Promise<string> {
  const program = new Command('flightgen').exitOverride();
  registerPerf(program);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(['perf', '-q', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

// llama2-7b compiles on the U280 preset's MPE only with fewer chains and deeper weight/global
// buffers (docs/perf.md, "llama2-7b on the presets").

describe('flightgen perf', () => {
  it('llama2-7b on the flightllm-u280 preset as is: report and JSON contract', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-perf-'));
    dirs.push(dir);
    const json = join(dir, 'perf.json');
    const out = await perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--ld-ports', '1', '--prefill', '16', '--decode', '64', '--samples', '5', '--json', json]);
    expect(out).toMatch(/decode 64 tokens at positions 16\.\.79: [\d.]+ ms per token/);
    expect(out).toMatch(/roofline \(same weight format\)/);
    expect(out).toMatch(/what bounds a decode token/);
    const r = JSON.parse(await readFile(json, 'utf8'));
    for (const k of ['prefillLatencyMs', 'decodeTokensPerSec', 'rooflineTokensPerSec', 'rooflineRatio', 'bandwidthUtilization', 'clockMHz']) expect(typeof r[k], k).toBe('number');
    expect(r.clockMHz).toBe(225);
    // int4 weights with group multipliers: about 3.8 GB per token, 460.8 GB/s: ~120 tokens/s bound.
    expect(r.rooflineTokensPerSec).toBeGreaterThan(100);
    expect(r.rooflineTokensPerSec).toBeLessThan(140);
    expect(r.decodeTokensPerSec).toBeGreaterThan(0);
    expect(r.rooflineRatio).toBeCloseTo(r.decodeTokensPerSec / r.rooflineTokensPerSec, 9);
    expect(r.bandwidthUtilization).toBeGreaterThan(0);
    expect(r.bandwidthUtilization).toBeLessThan(1);
    expect(r.prefillLatencyMs).toBeGreaterThan(0);
    // One 256-bit port at 225 MHz: at most 7.2 GB/s, i.e. below 1.6% of the HBM peak.
    expect(r.bandwidthUtilization).toBeLessThan(7.2 / 460.8 + 1e-9);
  }, 120_000);

  it("--paper-points: the paper's six evaluation points beside its U280 figures, in the text and the JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-perf-'));
    dirs.push(dir);
    const json = join(dir, 'perf.json');
    const out = await perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--prefill', '0', '--decode', '1', '--samples', '2', '--paper-points', '--json', json]);
    expect(out).toMatch(/the paper's evaluation points \(llama2-7b on flightllm-u280/);
    expect(out).toMatch(/paper, decode: FlightLLM U280 \(paper Fig\. 1\) 55 tokens\/s/);
    const e = JSON.parse(await readFile(json, 'utf8')).evaluation;
    expect(e.points.map((p: { prefill: number; decode: number }) => `${p.prefill}+${p.decode}`)).toEqual(['128+512', '128+1024', '128+1536', '512+512', '512+1024', '512+1536']);
    for (const p of e.points) {
      expect(p.totalMs).toBeCloseTo(p.prefillMs + p.decodeMsPerToken * p.decode, 6);
      expect(p.rooflineRatio).toBeGreaterThan(0);
      expect(p.rooflineRatio).toBeLessThan(1);
    }
    // Longer prompts cost more; later positions read more KV cache.
    expect(e.points[3].prefillMs).toBeGreaterThan(e.points[0].prefillMs);
    expect(e.points[2].decodeMsPerToken).toBeGreaterThan(e.points[0].decodeMsPerToken);
  }, 120_000);

  it('--clock: time per token falls, but less than the clock rises (memory in ns)', async () => {
    const run = async (clock: string[]) => {
      const dir = await mkdtemp(join(tmpdir(), 'fg-perf-'));
      dirs.push(dir);
      await perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--ld-ports', '1', '--prefill', '0', '--decode', '4', ...clock, '--json', join(dir, 'p.json')]);
      return JSON.parse(await readFile(join(dir, 'p.json'), 'utf8'));
    };
    const a = await run([]);
    const b = await run(['--clock', '450']);
    expect(b.clockMHz).toBe(450);
    // At 450 MHz the memory latencies double in cycles and the one port gets half a beat per
    // cycle through the HBM switch (7.2 GB/s): faster, but not 2x.
    const speedup = a.decodeLatencyMs / b.decodeLatencyMs;
    expect(speedup).toBeGreaterThan(1.2);
    expect(speedup).toBeLessThan(2);
    expect(b.memory.hbm.bandwidth).toEqual({ num: 1, den: 2 });
  }, 120_000);

  it('--ld-ports: rows striped over the LD read ports; the preset default is one port per HBM pseudo-channel', async () => {
    const run = async (ports: string[]) => {
      const dir = await mkdtemp(join(tmpdir(), 'fg-perf-'));
      dirs.push(dir);
      const out = await perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', ...ports, '--prefill', '0', '--decode', '4', '--samples', '2', '--json', join(dir, 'p.json')]);
      return { out, r: JSON.parse(await readFile(join(dir, 'p.json'), 'utf8')) };
    };
    const one = await run(['--ld-ports', '1']);
    const eight = await run(['--ld-ports', '8']);
    const preset = await run([]);
    expect(one.r.hardware.ldPorts).toBe(1);
    expect(eight.r.hardware.ldPorts).toBe(8);
    expect(preset.r.hardware.ldPorts).toBe(32);
    expect(eight.out).toMatch(/8 LD read ports/);
    expect(eight.out).not.toMatch(/WHAT-IF/);
    // Eight pipelines: the weight streams expand 8 times as fast; K/V rows and the shared write ports keep it below 8x.
    const speedup = eight.r.decodeTokensPerSec / one.r.decodeTokensPerSec;
    expect(speedup).toBeGreaterThan(4);
    expect(speedup).toBeLessThan(8);
    expect(preset.r.decodeTokensPerSec).toBeGreaterThan(eight.r.decodeTokensPerSec);
    await expect(perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--ld-ports', '5'])).rejects.toThrow(/--ld-ports must be a power of two from 1 to 32, got '5'/);
  }, 240_000);

  it('errors are one line (UsageError): a design too small for the model, OPT, bad numbers', async () => {
    await expect(perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--global-depth', '4096'])).rejects.toThrow(UsageError);
    await expect(perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--global-depth', '4096'])).rejects.toThrow(/compile llama2-7b for flightllm-u280: global buffer too small/);
    await expect(perf(['--preset', 'flightllm-vhk158', '--model', 'opt-6.7b'])).rejects.toThrow(/llama-family/);
    await expect(perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--prefill', 'x'])).rejects.toThrow(/--prefill must be a non-negative integer/);
    await expect(perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--prefill', '2000', '--decode', '100'])).rejects.toThrow(/pass llama2-7b's 2048 positions/);
    await expect(perf(['--preset', 'flightllm-u280', '--model', 'llama2-7b', '--clock', '-5'])).rejects.toThrow(/--clock must be a positive number/);
  }, 60_000);
});

describe('performance model pieces', () => {
  it('samplePositions: trapezoid weights sum to the step count and cover both ends', () => {
    for (const [from, n, k] of [[0, 512, 17], [128, 1000, 9], [5, 7, 17], [0, 2, 2]] as const) {
      const s = samplePositions(from, n, k);
      expect(s.reduce((a, x) => a + x.w, 0)).toBeCloseTo(n, 9);
      expect(s[0]!.pos).toBe(from);
      expect(s[s.length - 1]!.pos).toBe(from + n - 1);
      expect(s.length).toBeLessThanOrEqual(Math.max(k, 2));
    }
  });

  it('sampled decode matches the sum over every position within 0.5% (stories260K)', () => {
    const model = MODEL_PRESETS.stories260K!;
    const compiled = compile({ model, hw: STORIES_HW, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
    const pm = new PerfModel(compiled, memoryTiming('u280', STORIES_HW));
    const every = pm.decode(40, 200, 1000);
    const sampled = pm.decode(40, 200, 9);
    expect(every.runs).toBe(200);
    expect(Math.abs(sampled.cycles - every.cycles) / every.cycles).toBeLessThan(0.005);
    // The prefill pass: chunks of the prefill block (4 tokens) over 64 tokens.
    const p = pm.prefill(64);
    expect(p.tokens).toBe(64);
    expect(p.cycles).toBeGreaterThan(pm.block('prefill', 0).cycles * 15);
  });

  it('the roofline counts every weight stream once and the KV cache up to the position', () => {
    const model = MODEL_PRESETS.stories260K!;
    const compiled = compile({ model, hw: STORIES_HW, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
    const kvRow = compiled.plan.kv * compiled.plan.ab;
    expect(decodeHbmBytes(compiled, 10) - decodeHbmBytes(compiled, 9)).toBe(model.nLayers * 2 * kvRow);
    // Harness defaults and the U280 timing agree on HBM (the defaults are the Shuhai latency).
    expect(memoryTiming('u280', STORIES_HW).hbm).toEqual(HARNESS_DEFAULT_TIMING.hbm);
  });
});
