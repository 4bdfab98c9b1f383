/**
 * `flightgen synth` (docs/synthesis.md): per-module Yosys synthesis multiplied by instance
 * counts, the device fit verdict, the JSON report and the one-line errors. Synthesis runs are
 * kept small (the tiny preset; single-module designs elsewhere).
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bool, defineModule, Design, emitDesign, externModule, UInt, type Expr, type Instance } from '../../src/hdl/index.ts';
import { generate, type Generated } from '../../src/generate.ts';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { PRESETS } from '../../src/targets/presets.ts';
import { U280, VHK158 } from '../../src/targets/devices.ts';
import { abcChunks, cascadeAnalysis, countResources, LARGE_MODULE_LINES, logicLines, RESOURCE_KEYS, SynthError, synthesizeDesign, type SynthReport } from '../../src/synth/report.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'flightgen.js');
const run = (args: string[]) => execa('node', [CLI, ...args], { reject: false });
const tmp = () => mkdtemp(join(tmpdir(), 'fg-synth-'));

/** The JSON report's required shape; the numbers are checked against each other. */
function checkSchema(r: SynthReport): void {
  for (const k of ['schema', 'target', 'estimate', 'used', 'available', 'utilisation', 'fits', 'cascadeLinks', 'modules', 'macs', 'dspRange', 'seconds', 'logDir']) expect(r, k).toHaveProperty(k);
  for (const part of [r.used, r.available, r.utilisation]) expect(Object.keys(part).sort()).toEqual([...RESOURCE_KEYS].sort());
  for (const k of RESOURCE_KEYS) {
    // used = sum over modules of per-instance cells x instances; utilisation = used / available.
    expect(r.used[k], k).toBeCloseTo(r.modules.reduce((s, m) => s + m.perInstance[k] * m.instances, 0), 9);
    expect(r.utilisation[k], k).toBeCloseTo(r.used[k] / r.available[k], 12);
    for (const m of r.modules) expect(m.total[k]).toBeCloseTo(m.perInstance[k] * m.instances, 9);
  }
  expect(r.fits).toBe(RESOURCE_KEYS.every((k) => r.used[k] <= r.available[k]));
  expect(r.cascadeLinks).toBe(r.modules.reduce((s, m) => s + m.cascadeLinksPerInstance * m.instances, 0));
  for (const m of r.modules) {
    expect(typeof m.name).toBe('string');
    expect(m.instances).toBeGreaterThan(0);
    expect(m.unknownCells).toEqual({});
  }
}

describe('counting rules', () => {
  it('LUTs (INV, LUT-as-memory by LUTs used), FFs, DSPs, RAMB18 as half a BRAM, URAM; wide muxes are free; unknown types kept aside', () => {
    const { resources, unknown } = countResources({ LUT6: 10, LUT1: 2, INV: 1, RAM64M: 2, SRLC32E: 3, FDRE: 7, FDCE: 1, DSP48E2: 4, DSP58: 1, RAMB36E2: 3, RAMB18E2: 3, URAM288: 2, CARRY8: 5, CARRY4: 1, MUXF7: 9, MUXF8: 4, BUFG: 1 });
    expect(resources).toEqual({ lut: 13 + 8 + 3, ff: 8, dsp: 5, bram: 4.5, uram: 2, carry: 6, lutAsMemory: 11 });
    expect(unknown).toEqual({ BUFG: 1 });
  });

  it('cascade links: a PCIN bus that is exactly another cell\'s PCOUT bus; module ports that are such buses become cascade ports', () => {
    const known = new Map([['DSP48E2', { outs: ['PCOUT'], ins: ['PCIN'] }]]);
    const bus = (from: number) => Array.from({ length: 4 }, (_, i) => from + i);
    const mod = {
      ports: { pcin: { direction: 'input', bits: bus(10) }, pcout: { direction: 'output', bits: bus(30) } },
      cells: {
        d0: { type: 'DSP48E2', connections: { PCIN: bus(10), PCOUT: bus(20) } },
        d1: { type: 'DSP48E2', connections: { PCIN: bus(20), PCOUT: bus(30) } },
        // Constant PCIN, and a PCIN fed by a shuffled bus: no link.
        d2: { type: 'DSP48E2', connections: { PCIN: ['0', '0', '0', '0'], PCOUT: bus(40) } },
        d3: { type: 'DSP48E2', connections: { PCIN: [41, 40, 42, 43], PCOUT: bus(50) } },
      },
    };
    expect(cascadeAnalysis(mod, known)).toEqual({ links: 1, ports: { outs: ['pcout'], ins: ['pcin'] } });
  });
});

describe('chunked LUT mapping of large modules', () => {
  it('selects source lines in blocks of 100 (no leading zeros: block 0 is `?` and `??`)', () => {
    expect(abcChunks('m.v', 450, 200)).toEqual(['a:src=m.v:?.* a:src=m.v:??.* a:src=m.v:1??.*', 'a:src=m.v:2??.* a:src=m.v:3??.*', 'a:src=m.v:4??.*']);
    expect(() => abcChunks('m.v', 450, 150)).toThrow(RangeError);
  });

  it('"large" counts logic lines (assign, <=), not declarations or instance port lists', () => {
    const v = ['module m (input wire a, output wire y);', '  wire t;', '  assign t = a;', '  always @(posedge clk) r <= t;', '  sub u (', '    .a (t),', '    .y (y)', '  );', 'endmodule'].join('\n');
    expect(logicLines(v)).toBe(2);
    // The U280 MPE top wires 384 chain units together: thousands of lines, few gates.
    const g = generate(PRESETS['flightllm-u280'].config, { locators: false });
    const top = g.files.get(`${g.top.name}.v`)!;
    expect(top.split('\n').length).toBeGreaterThan(LARGE_MODULE_LINES);
    expect(logicLines(top)).toBeLessThan(LARGE_MODULE_LINES / 10);
  });

  it('a chunked module keeps its FF/DSP/RAM counts and about its LUT count', async () => {
    // Only the module's own cells matter: a one-chain MPE with small buffers.
    const g = generate({ ...PRESETS.tiny.config, chains: 1, chainLength: 8, sparsity: [{ n: 2, m: 4 }] });
    const whole = await synthesizeDesign(g, U280, { logDir: await tmp() });
    const chunked = await synthesizeDesign(g, U280, { logDir: await tmp(), largeModuleLines: 0, abcChunkLines: 100 });
    const top = (r: SynthReport) => r.modules.find((m) => m.generator === 'mpe')!;
    expect(top(whole).lutMapping).toBe('whole');
    expect(top(chunked).lutMapping).toBe('chunked');
    for (const k of ['ff', 'dsp', 'bram', 'uram', 'carry'] as const) expect(top(chunked).perInstance[k], k).toBe(top(whole).perInstance[k]);
    const ratio = top(chunked).perInstance.lut / top(whole).perInstance.lut;
    console.log(`MPE top LUTs: whole ${top(whole).perInstance.lut}, chunked ${top(chunked).perInstance.lut}`);
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.15);
  });
});

describe('flightgen synth: bad input is one line, exit 2, before any synthesis', () => {
  const oneLine = (r: { stderr: string; stdout: string; exitCode?: number }, re: RegExp) => {
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  };

  it('a configuration larger than the device is refused', async () => {
    oneLine(await run(['synth', '--chains', '2000', '--target', 'u280']), /^flightgen: error: configuration does not fit u280 \(resource estimate, before synthesis\): DSP 32000 \/ 9024 \(354\.6%\)/);
    oneLine(await run(['synth', '--preset', 'tiny', '--chains', '2000']), /does not fit u280.*DSP 32000/);
    // Memory-bound: a weight buffer of 65536 beats x 6144 lanes.
    oneLine(await run(['synth', '--preset', 'flightllm-u280', '--weight-depth', '65536']), /does not fit u280 .*URAM 16384 \/ 960/);
  });

  it('unknown target or preset, missing target', async () => {
    oneLine(await run(['synth', '--preset', 'tiny', '--target', 'zu9']), /^flightgen: error: --target: unknown device 'zu9' \(expected one of u280, vhk158\)$/);
    oneLine(await run(['synth', '--preset', 'huge', '--target', 'u280']), /^flightgen: error: --preset: unknown preset 'huge'/);
    oneLine(await run(['synth', '--chains', '2']), /^flightgen: error: --target is required without --preset/);
  });

  it('`npm run synth` is `flightgen synth`', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
    expect(pkg.scripts.synth).toBe('node bin/flightgen.js synth');
    const r = await run(['synth', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/--target <device>/);
    expect(r.stdout).toMatch(/--json <file>/);
  });
});

describe('flightgen synth --preset tiny --target u280 (DSP48E2 backend)', () => {
  it('prints the table and `fits`; DSP48E2 = manifest MACs; every neighbouring pair cascades; the JSON agrees', async () => {
    const dir = await tmp();
    const gen = await run(['gen', '--preset', 'tiny', '--dsp-backend', 'xilinx-dsp48e2', '--out', join(dir, 'gen'), '-q']);
    expect(gen.exitCode).toBe(0);
    const manifest = JSON.parse(await readFile(join(dir, 'gen', 'manifest.json'), 'utf8'));
    const r = await run(['synth', '--preset', 'tiny', '--dsp-backend', 'xilinx-dsp48e2', '--target', 'u280', '--json', join(dir, 'report.json'), '--log-dir', join(dir, 'logs')]);
    expect(r.exitCode, r.stderr).toBe(0);
    console.log(r.stdout);
    const tiny = PRESETS.tiny.config;
    expect(r.stdout).toMatch(/^module +inst +LUT +FF +DSP +BRAM +URAM/m);
    expect(r.stdout).toMatch(/^total used /m);
    expect(r.stdout).toMatch(/^available +1303680 +2607360 +9024 +2016 +960$/m);
    expect(r.stdout).toMatch(/^used % /m);
    expect(r.stdout).toMatch(/^verdict: fits /m);
    expect(r.stdout).not.toMatch(/ESTIMATE/);
    // Progress: a start and a done line per module, on stderr.
    expect(r.stderr.match(/^\[\d\/4\] synthesizing /gm)).toHaveLength(4);

    const rep = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as SynthReport;
    checkSchema(rep);
    expect(rep.target).toBe('u280');
    expect(rep.estimate).toBe(false);
    expect(rep.fits).toBe(true);
    expect(rep.preset).toBe('tiny');
    expect(rep.available).toEqual(U280.resources);
    expect(rep.macs).toBe(manifest.macs);
    expect(rep.used.dsp).toBe(manifest.macs);
    expect(rep.dspCells).toEqual({ DSP48E2: manifest.macs });
    const pairs = tiny.chains * (tiny.chainLength - 1);
    expect(rep.chainNeighbourPairs).toBe(pairs);
    expect(rep.cascadeLinks).toBe(pairs);
    expect(r.stdout).toContain(`cascade links (PCOUT -> PCIN): ${pairs} of ${pairs} neighbouring MAC-slice pairs`);
    // One row per unique module, with the manifest's instance counts; the slice is the bare DSP.
    expect(rep.modules.map((m) => [m.name, m.instances])).toEqual(manifest.modules.filter((m: { generator: string }) => m.generator !== 'extern').map((m: { name: string; instances: number }) => [m.name, m.instances]));
    const slice = rep.modules.find((m) => m.generator === 'mac_slice')!;
    expect(slice.cells).toEqual({ DSP48E2: 1 });
    // The MPE's acc buffer (256 x 32, ram_style block) is one RAMB18.
    expect(rep.used.bram).toBe(0.5);
    for (const m of rep.modules) expect((await stat(join(dir, 'logs', `${m.name}.log`))).size).toBeGreaterThan(0);
  });
});

describe('VHK158: an estimate', () => {
  it('the CLI labels it and gives the DSP58 range', async () => {
    const dir = await tmp();
    const r = await run(['synth', '--top', 'mac', '--target', 'vhk158', '--json', join(dir, 'r.json'), '-q']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ESTIMATE for AMD Versal HBM VHK158/);
    expect(r.stdout).toMatch(/^verdict: fits \(estimate\)/m);
    const rep = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8')) as SynthReport;
    checkSchema(rep);
    expect(rep.estimate).toBe(true);
    expect(rep.available).toEqual(VHK158.resources);
    // The behavioural slice infers one DSP48E2, standing in for one DSP58.
    expect(rep.used.dsp).toBe(1);
    expect(rep.dspRange).toEqual({ min: 1, max: 1 });
  });

  it('DSP58 instances stay black boxes: counted as DSPs, cascades through them found', async () => {
    const dsp58 = externModule({
      name: 'DSP58',
      primitive: true,
      ports: [
        { name: 'CLK', dir: 'input', type: Bool },
        { name: 'A', dir: 'input', type: UInt(27) },
        { name: 'B', dir: 'input', type: UInt(24) },
        { name: 'PCIN', dir: 'input', type: UInt(58) },
        { name: 'P', dir: 'output', type: UInt(58) },
        { name: 'PCOUT', dir: 'output', type: UInt(58) },
      ],
      combPaths: {},
      source: 'module DSP58(input CLK, input [26:0] A, input [23:0] B, input [57:0] PCIN, output reg [57:0] P, output [57:0] PCOUT);\n  always @(posedge CLK) P <= A * B + PCIN;\n  assign PCOUT = P;\nendmodule\n',
    });
    const Chain = defineModule<Record<string, never>>('mac_slice', () => 'dsp58_chain3', (m) => {
      const a = m.input('a', UInt(27));
      const b = m.input('b', UInt(24));
      const dsps: Instance[] = [];
      for (let i = 0; i < 3; i++) {
        const pcin: Expr = i === 0 ? m.wire('pc0', UInt(58), a.ext(58)) : dsps[i - 1]!.out('PCOUT');
        dsps.push(m.externInstance(`dsp${i}`, dsp58, { CLK: m.clock, A: a, B: b, PCIN: pcin }));
      }
      m.output('p', UInt(58)).assign(dsps[2]!.out('P'));
      m.unused(dsps[0]!.out('P'), dsps[1]!.out('P'), dsps[2]!.out('PCOUT'));
    });
    const design = new Design();
    const top = design.elaborate(Chain, {});
    const counts = design.instanceCounts(top);
    const gen = {
      design,
      top,
      files: emitDesign(design, top),
      manifest: { config: { ...DEFAULT_CONFIG, top: 'mac' }, top: top.name, macs: 3, dsps: 3, modules: design.reachable(top).map((d) => ({ name: d.name, generator: d.generator, params: d.params, instances: counts.get(d) ?? 0 })) },
    } as unknown as Generated;
    const rep = await synthesizeDesign(gen, VHK158, { logDir: await tmp() });
    checkSchema(rep);
    expect(rep.dspCells).toEqual({ DSP58: 3 });
    expect(rep.cascadeLinks).toBe(2);
    expect(rep.dspRange).toEqual({ min: 1, max: 3 });
    expect(rep.estimate).toBe(true);
  });
});

describe('a Yosys failure', () => {
  it('is a SynthError naming the module, with the whole log written to the log folder', async () => {
    const g = generate({ ...DEFAULT_CONFIG, top: 'mac' });
    const files = new Map(g.files);
    files.set(`${g.top.name}.v`, `${files.get(`${g.top.name}.v`)!}\nthis is not verilog;\n`);
    const logDir = await tmp();
    const err = await synthesizeDesign({ ...g, files }, U280, { logDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthError);
    const e = err as SynthError;
    expect(e.message).toMatch(new RegExp(`^yosys failed on module ${g.top.name}: .*ERROR`));
    expect(e.message).not.toContain('\n');
    expect(e.logPath).toBe(join(logDir, `${g.top.name}.log`));
    expect(await readFile(e.logPath, 'utf8')).toMatch(/ERROR/);
  });
});
