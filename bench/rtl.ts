/**
 * RTL bench items: the Verilator build of flightllm_top, stories260K decode on the simulated
 * RTL (tokens/s, simulated cycles/s, cycles per token split by engine) beside the golden model,
 * and the golden model's MPE cycle model against the RTL's MX busy cycles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MX_SETUP_CYCLES } from '../src/arch/mpe/mx.ts';
import { compile } from '../src/compiler/compile.ts';
import { STORIES_HW } from '../src/fuzz/hw.ts';
import { generate as generateRtl } from '../src/generate.ts';
import { GoldenEngine } from '../src/golden/engine.ts';
import { loadCheckpoint } from '../src/model/checkpoint.ts';
import { generate, generateAsync } from '../src/model/engine.ts';
import { AccelSim } from '../src/sim/accel.ts';
import { RtlEngine, type RtlBlockReport } from '../src/sim/rtl-engine.ts';
import { STORIES } from './model.ts';
import type { BenchItem } from './run.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function rtlBenchItems(quick: boolean, log: (s: string) => void): Promise<BenchItem[]> {
  const items: BenchItem[] = [];
  const hw = STORIES_HW;
  const label = `flightllm_top ${hw.chains}x${hw.chainLength} (src/fuzz/hw.ts STORIES_HW)`;

  // A cold build into a fresh cache folder.
  const gen = generateRtl(hw);
  const cache = await mkdtemp(join(tmpdir(), 'fg-bench-verilator-'));
  try {
    log('verilator build of flightllm_top (cold cache)');
    const sim = await AccelSim.build(gen.files, gen.manifest.top, { cacheDir: cache });
    items.push({ name: `${label}: Verilator build (cold cache)`, value: sim.buildMs / 1000, unit: 's', command: 'AccelSim.build (bench/rtl.ts)', runs: 1 });
  } finally {
    await rm(cache, { recursive: true, force: true });
  }

  // stories260K: BOS + a prompt through the prefill block, then decode steps, checked against the golden model.
  const w = loadCheckpoint(STORIES);
  const compiled = compile({ model: w.config, weights: w, hw, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
  const tokens = quick ? 8 : 24;
  const promptIds = [5, 9, 17];
  const reports: RtlBlockReport[] = [];
  const rtl = await RtlEngine.create(compiled, { check: false, onBlock: (r) => reports.push(r) });
  let ids: number[];
  const t0 = performance.now();
  try {
    ids = await generateAsync(rtl, { tokens, promptIds });
  } finally {
    await rtl.close();
  }
  const wall = (performance.now() - t0) / 1000;
  const g0 = performance.now();
  const golden = new GoldenEngine(compiled);
  // Per decode position: the golden model's MPE cycle model (mpeTileCycles + the MX engine's setup per MV/MM).
  const mxModel = new Map<number, number>();
  let last = { cycles: 0, n: 0 };
  const gids = generate(golden, {
    tokens,
    promptIds,
    onLogits: (pos) => {
      const st = golden.machine.stats;
      const now = { cycles: st.mpeCycles, n: (st.perOp.MV ?? 0) + (st.perOp.MM ?? 0) };
      mxModel.set(pos, now.cycles - last.cycles + (now.n - last.n) * MX_SETUP_CYCLES);
      last = now;
    },
  });
  const gWall = (performance.now() - g0) / 1000;
  if (gids.join() !== ids.join()) throw new Error('bench: RTL and golden model generated different tokens');
  const decode = reports.filter((r) => r.block === 'decode');
  const cyc = decode.map((r) => r.cycles);
  const positions = reports.reduce((s, r) => s + r.tokens, 0);
  const cmd = `npm run infer -- --checkpoint ../shared/models/stories260K.bin --engine rtl --tokens ${tokens} --prompt-ids ${promptIds.join(',')} (STORIES_HW buffers)`;
  const it = (name: string, value: number, unit: string, runs = 1): BenchItem => ({ name: `stories260K on ${label}: ${name}`, value, unit, command: cmd, runs });
  items.push(it('tokens/s (simulated RTL, wall clock)', positions / wall, 'tokens/s'));
  items.push(it('tokens/s (golden model, same program)', positions / gWall, 'tokens/s'));
  items.push(it('simulated cycles/s', median(decode.map((r) => r.cycles / (r.wallMs / 1000))), 'cycles/s', decode.length));
  items.push(it('decode cycles per token', median(cyc), 'cycles', decode.length));
  for (const e of ['ld', 'st', 'mx', 'sfu'] as const) items.push(it(`decode busy cycles per token, ${e.toUpperCase()} engine`, median(decode.map((r) => r.busy[e])), 'cycles', decode.length));
  const prefill = reports.filter((r) => r.block === 'prefill');
  if (prefill.length) items.push(it(`prefill block cycles (${compiled.plan.prefillTokens}-token chunk)`, median(prefill.map((r) => r.cycles)), 'cycles', prefill.length));

  const errors = decode.map((r) => (mxModel.get(r.pos)! - r.busy.mx) / r.busy.mx);
  items.push(it('golden MPE cycle model vs RTL MX busy cycles per decode block (median error)', median(errors) * 100, '%', errors.length));
  items.push(it('golden MPE cycle model vs RTL MX busy cycles per decode block (largest |error|)', Math.max(...errors.map(Math.abs)) * 100, '%', errors.length));
  return items;
}
