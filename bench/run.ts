/**
 * `npm run bench`: every figure the project tracks, as a table and bench/results.json.
 * Timings are noisy on shared machines: each item reports the median of several runs.
 */
import { execa } from 'execa';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../src/generate.ts';
import { DEFAULT_CONFIG } from '../src/arch/config.ts';
import { VerilatorSim } from '../src/sim/verilator.ts';
import { denseChainVectors } from '../src/arch/chain/vectors.ts';
import { mpeTileCycles } from '../src/arch/mpe/mpe.ts';
import { chainGeometry, modeTable, parsePattern, patternName, type Pattern } from '../src/sparsity/pattern.ts';
import { synthXilinx, carryCount, ffCount, lutCount } from '../src/synth/xilinx.ts';
import { expectedCascadeLinks } from '../src/arch/mac/dsp48e2.ts';
import type { DspBackend } from '../src/arch/mac/mac-slice.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BenchItem {
  name: string;
  value: number;
  unit: string;
  command: string;
  runs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timeGen(chains: number, runs: number): Promise<BenchItem> {
  const dir = await mkdtemp(join(tmpdir(), 'fg-bench-'));
  const args = ['bin/flightgen.js', 'gen', '--chains', String(chains), '--out', join(dir, 'out'), '-q'];
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await execa('node', args, { cwd: ROOT });
    times.push(performance.now() - t0);
  }
  await rm(dir, { recursive: true, force: true });
  return { name: `gen --chains ${chains} (wall, incl. node start)`, value: median(times) / 1000, unit: 's', command: `node bin/flightgen.js gen --chains ${chains}`, runs };
}

async function chainSim(length: number, cycles: number, runs: number): Promise<BenchItem[]> {
  const g = generate({ ...DEFAULT_CONFIG, top: 'chain', chainLength: length });
  const builds: number[] = [];
  let sim: VerilatorSim | undefined;
  for (let i = 0; i < runs; i++) {
    const cache = await mkdtemp(join(tmpdir(), 'fg-bench-cache-'));
    sim = await VerilatorSim.build(g.top, g.files, { cacheDir: cache });
    builds.push(sim.buildMs);
    await rm(cache, { recursive: true, force: true });
  }
  sim = await VerilatorSim.build(g.top, g.files);
  const { inputs } = denseChainVectors({ length, aWidth: 8, bWidth: 8 }, { cycles, seed: 1 });
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await sim.run(inputs);
    rates.push(cycles / ((performance.now() - t0) / 1000));
  }
  return [
    { name: `verilator build, dense chain L=${length} (cold cache)`, value: median(builds) / 1000, unit: 's', command: 'VerilatorSim.build (bench/run.ts)', runs },
    { name: `verilator sim, dense chain L=${length}, ${cycles} cycles (incl. vector I/O)`, value: median(rates) / 1e6, unit: 'M cycles/s', command: 'VerilatorSim.run (bench/run.ts)', runs },
  ];
}

/**
 * Effective dense-equivalent MACs per DSP per cycle of the MPE for one 4096 x 4096 MV tile
 * (a LLaMA2-7B projection in decode), from the MPE's cycle formula, which the Verilator MPE
 * test checks cycle for cycle against the RTL.
 */
function mpeEfficiency(): BenchItem[] {
  const patterns = 'dense,2:4,1:4,2:8,4:8,2:16,4:16,8:16'.split(',').map(parsePattern);
  const p = { chains: 32, length: 16, groupSize: 2, patterns: patterns.filter((q) => q !== 'dense'), aWidth: 8, bWidth: 8, actDepth: 512, weightDepth: 4096, accDepth: 4096 };
  const rows = 4096;
  const K = 4096;
  return patterns.map((q, mode) => {
    const g = chainGeometry(q, p.length, p.groupSize);
    const batches = Math.ceil(rows / (p.chains * g.segments));
    const cycles = mpeTileCycles(p, { mode, batches, tokens: 1, windows: Math.ceil(K / p.length) });
    return { name: `MPE 32x16 MV 4096x4096, ${patternName(q)}: dense-equivalent MACs/DSP/cycle`, value: (rows * K) / cycles / (p.chains * p.length), unit: 'MAC', command: 'mpeTileCycles (bench/run.ts)', runs: 1 };
  });
}

/** Prefill (MM, 128 tokens) on the same MPE with and without --pack 2: MACs per DSP per cycle. */
function mpePacking(): BenchItem[] {
  const base = { chains: 32, length: 16, groupSize: 2, patterns: [], aWidth: 8, bWidth: 8, actDepth: 512, weightDepth: 4096, accDepth: 4096 };
  return ([1, 2] as const).map((pack) => {
    const cycles = mpeTileCycles({ ...base, pack }, { mode: 0, batches: 4096 / 32, tokens: 128, windows: 4096 / 16 });
    return { name: `MPE 32x16 MM 4096x4096 x 128 tokens, dense, pack ${pack}: MACs/DSP/cycle`, value: (4096 * 4096 * 128) / cycles / (32 * 16), unit: 'MAC', command: 'mpeTileCycles (bench/run.ts)', runs: 1 };
  });
}

/**
 * Yosys synth_xilinx -family xcup (hierarchical) of the default 32-chain x 16-MAC MPE: DSP48E2
 * count against the generator's MAC count, cascade links in the netlist against the chain
 * geometry, and LUT/FF per MAC for the whole MPE and for the chains alone (sparse muxes, input
 * skew, control), per sparsity configuration.
 */
async function synthMpe(sparsity: readonly Pattern[], backend: DspBackend): Promise<BenchItem[]> {
  const config = { ...DEFAULT_CONFIG, top: 'mpe' as const, sparsity, dspBackend: backend };
  const g = generate(config);
  const r = await synthXilinx(g.files, g.top.name, { exclude: g.manifest.simModelFiles });
  const C = config.chains;
  const L = config.chainLength;
  const modes = modeTable(sparsity);
  const expected = expectedCascadeLinks(C, modes.map((q) => chainGeometry(q, L, config.groupSize).segmentLength), L);
  const chain = r.modules[Object.keys(r.modules).find((n) => n.startsWith('sparse_chain'))!] ?? {};
  const slice = r.modules[Object.keys(r.modules).find((n) => n.startsWith('mac_slice'))!] ?? {};
  const label = `MPE ${C}x${L}, ${backend}, modes ${modes.map(patternName).join(',')}`;
  const command = `synthXilinx (bench/run.ts): gen --top mpe --dsp-backend ${backend} --sparsity ${sparsity.length ? sparsity.map(patternName).join(',') : 'dense'}; yosys synth_xilinx -family xcup -noiopad -noclkbuf (hierarchical)`;
  const item = (what: string, value: number, unit: string): BenchItem => ({ name: `${label}: ${what}`, value, unit, command, runs: 1 });
  return [
    item('synth_xilinx wall time', r.seconds, 's'),
    item(`DSP48E2 (generator: ${g.manifest.dsps})`, r.dsps, 'DSP'),
    item(`PCOUT->PCIN links (geometry: ${expected.length}, neighbouring pairs: ${C * (L - 1)})`, r.cascades.length, 'links'),
    item('LUT per MAC, whole MPE', r.luts / g.manifest.macs, 'LUT'),
    // LUT1s are mostly buffers left by Yosys' wide-LUT (MUXF7/8) decomposition; Vivado removes them.
    item('of which LUT1', (r.total.LUT1 ?? 0) / g.manifest.macs, 'LUT'),
    item('FF per MAC, whole MPE', r.ffs / g.manifest.macs, 'FF'),
    item('LUT per MAC, chains only', (lutCount(chain) * C + lutCount(slice) * C * L) / g.manifest.macs, 'LUT'),
    item('FF per MAC, chains only', (ffCount(chain) * C + ffCount(slice) * C * L) / g.manifest.macs, 'FF'),
    item('CARRY4/8 in the chains', carryCount(chain) * C + carryCount(slice) * C * L, 'cells'),
    item('RAMB18E2/36E2 + URAM288', r.brams + r.urams, 'cells'),
  ];
}

/** About a minute each on 2 cores; --quick keeps the first three. */
const SYNTH_CONFIGS: { sparsity: string; backend: DspBackend }[] = [
  { sparsity: '', backend: 'xilinx-dsp48e2' },
  { sparsity: '2:4', backend: 'xilinx-dsp48e2' },
  { sparsity: '2:4,1:4,2:8', backend: 'xilinx-dsp48e2' },
  { sparsity: '1:4,2:8', backend: 'xilinx-dsp48e2' },
  { sparsity: '2:4,1:4,2:8,4:8,2:16,4:16,8:16', backend: 'xilinx-dsp48e2' },
  { sparsity: '2:4,1:4,2:8', backend: 'behavioral' },
];

export async function runBench(o: { quick: boolean }): Promise<void> {
  const runs = o.quick ? 3 : 5;
  const items: BenchItem[] = [];
  // FLIGHTGEN_BENCH_ONLY=<regexp> runs only the steps whose label matches (e.g. synth_xilinx).
  const only = process.env.FLIGHTGEN_BENCH_ONLY ? new RegExp(process.env.FLIGHTGEN_BENCH_ONLY) : undefined;
  const step = async (label: string, f: () => Promise<BenchItem | BenchItem[]>) => {
    if (only && !only.test(label)) return;
    process.stderr.write(`bench: ${label}...\n`);
    const r = await f();
    items.push(...(Array.isArray(r) ? r : [r]));
  };
  for (const c of [32, 256, 1024]) await step(`gen --chains ${c}`, () => timeGen(c, runs));
  await step('verilator dense chain L=16', () => chainSim(16, o.quick ? 100_000 : 400_000, runs));
  await step('MPE efficiency per pattern', async () => mpeEfficiency());
  await step('MPE packing', async () => mpePacking());
  for (const c of o.quick ? SYNTH_CONFIGS.slice(0, 3) : SYNTH_CONFIGS) {
    await step(`synth_xilinx MPE 32x16 ${c.backend} ${c.sparsity || 'dense'}`, () => synthMpe(c.sparsity ? c.sparsity.split(',').map(parsePattern) : [], c.backend));
  }
  await step('golden model accuracy and speed, llama2-7b compile', async () => {
    const { modelBenchItems } = await import('./model.ts');
    return modelBenchItems(o.quick, (line) => process.stderr.write(`bench:   ${line}\n`));
  });

  await step('rtl: flightllm_top build and stories260K on the RTL', async () => {
    const { rtlBenchItems } = await import('./rtl.ts');
    return rtlBenchItems(o.quick, (line) => process.stderr.write(`bench:   ${line}\n`));
  });

  const verilator = (await execa('verilator', ['--version'])).stdout.trim();
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, verilator, date: new Date().toISOString() };
  await mkdir(join(ROOT, 'bench'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results.json'), `${JSON.stringify({ machine, items }, null, 2)}\n`);
  const w = Math.max(...items.map((i) => i.name.length));
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${verilator}\n`);
  for (const i of items) process.stdout.write(`${i.name.padEnd(w)}  ${i.value.toFixed(3).padStart(9)} ${i.unit}  (median of ${i.runs})\n`);
}
