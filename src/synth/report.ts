/**
 * Per-module synthesis report (`flightgen synth`, docs/synthesis.md): every unique module of a
 * generated design is synthesized once with Yosys `synth_xilinx -family xcup`, bottom-up, its
 * submodules read as black boxes (`read_verilog -lib`), so a module's cells are its own; the
 * design's use is the sum of each module's cells times its instance count. This is the
 * hierarchical (not flattened) synthesis of ../shared/TOOLCHAIN.md, split into one Yosys run per
 * module for progress, per-module timing and a log per module.
 *
 * Cascade links (PCOUT -> PCIN) are found bottom-up on the same netlists: a module port that
 * is exactly a DSP's PCOUT (PCIN) bus is a cascade output (input) of that module, so a link
 * between two DSPs in different submodule instances is seen in the module that wires them.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { runYosys } from '@yowasp/yosys';
import { join } from 'node:path';
import type { GenConfig } from '../arch/config.ts';
import type { Generated } from '../generate.ts';
import type { ModuleDef } from '../hdl/index.ts';
import type { Device } from '../targets/devices.ts';
import { checkFits, DEFAULT_HEADROOM, estimateResources, type FitReport, type Headroom } from '../targets/estimate.ts';

export const RESOURCE_KEYS = ['lut', 'ff', 'dsp', 'bram', 'uram'] as const;
export type ResourceKey = (typeof RESOURCE_KEYS)[number];
export type Resources = Record<ResourceKey, number>;
export type CellCounts = Record<string, number>;

/** Resources of a cell list, plus the fabric carry chains and the LUTs used as memory. */
export interface CellResources extends Resources {
  /** CARRY4 / CARRY8 cells. */
  readonly carry: number;
  /** LUTs used as distributed RAM or shift registers (included in `lut`). */
  readonly lutAsMemory: number;
}

/** Cells with no LUT/FF/DSP/RAM cost of their own (CLB wide-function muxes) or no resource at all. */
const FREE_CELLS = /^(MUXF[789]|GND|VCC|\$scopeinfo)$/;
/** LUTs a distributed-RAM or shift-register cell occupies (UG574). */
const LUTRAM_LUTS: Readonly<Record<string, number>> = {
  RAM16X1S: 1, RAM16X1D: 2, RAM32X1S: 1, RAM32X1D: 2, RAM64X1S: 1, RAM64X1D: 2, RAM128X1S: 2, RAM128X1D: 4,
  RAM256X1S: 4, RAM256X1D: 8, RAM512X1S: 8, RAM32M: 4, RAM32M16: 8, RAM64M: 4, RAM64M8: 8, SRL16E: 1, SRLC16E: 1, SRLC32E: 1,
};

function classify(type: string): { key: ResourceKey | 'carry' | 'free'; weight: number; lutAsMemory?: boolean } | undefined {
  // INV is a LUT1 on the device.
  if (/^(LUT[1-6]|INV)$/.test(type)) return { key: 'lut', weight: 1 };
  if (type in LUTRAM_LUTS) return { key: 'lut', weight: LUTRAM_LUTS[type]!, lutAsMemory: true };
  if (/^(FD[RSCP]E|LD[CP]E)$/.test(type)) return { key: 'ff', weight: 1 };
  if (/^DSP(48E[12]|58)$/.test(type)) return { key: 'dsp', weight: 1 };
  if (/^RAMB36E[125]$/.test(type)) return { key: 'bram', weight: 1 };
  // A RAMB18 is half a RAMB36 site.
  if (/^RAMB18E[125]$/.test(type)) return { key: 'bram', weight: 0.5 };
  if (/^URAM288(E5|_BASE)?$/.test(type)) return { key: 'uram', weight: 1 };
  if (/^CARRY[48]$/.test(type)) return { key: 'carry', weight: 1 };
  if (FREE_CELLS.test(type)) return { key: 'free', weight: 0 };
  return undefined;
}

/**
 * LUT / FF / DSP / BRAM (RAMB36 equivalents) / URAM of a cell list. Cell types it does not know
 * are returned in `unknown` (so nothing disappears silently); submodule instances must be
 * removed from `cells` first.
 */
export function countResources(cells: CellCounts): { resources: CellResources; unknown: CellCounts } {
  const r = { lut: 0, ff: 0, dsp: 0, bram: 0, uram: 0, carry: 0, lutAsMemory: 0 };
  const unknown: CellCounts = {};
  for (const [type, n] of Object.entries(cells)) {
    const c = classify(type);
    if (!c) {
      unknown[type] = n;
      continue;
    }
    if (c.key === 'free') continue;
    r[c.key] += n * c.weight;
    if (c.lutAsMemory) r.lutAsMemory += n * c.weight;
  }
  return { resources: r, unknown };
}

export interface ModuleReport {
  readonly name: string;
  /** The generator that wrote it (manifest `modules[].generator`). */
  readonly generator: string;
  /** Instances in the whole design (manifest `modules[].instances`). */
  readonly instances: number;
  /** Wall time of this module's Yosys run, seconds. */
  readonly seconds: number;
  /** LUT mapping in one ABC run, or in source-line chunks (large modules, see abcChunks). */
  readonly lutMapping: 'whole' | 'chunked';
  /** Mapped cells of one instance, by type, without its submodule instances. */
  readonly cells: CellCounts;
  /** Submodule instances in one instance, by module name. */
  readonly submodules: Record<string, number>;
  /** Resources of one instance (own cells only). */
  readonly perInstance: CellResources;
  /** perInstance x instances. */
  readonly total: CellResources;
  /** total / device resources (fractions). */
  readonly utilisation: Resources;
  /** PCOUT -> PCIN links wired in one instance (between its own cells / submodule instances). */
  readonly cascadeLinksPerInstance: number;
  /** Cell types the counting rules do not know (not counted anywhere). */
  readonly unknownCells: CellCounts;
}

export const REPORT_SCHEMA = 'flightgen-synth-report/1';

export interface SynthReport {
  readonly schema: typeof REPORT_SCHEMA;
  readonly target: string;
  readonly device: { readonly name: string; readonly board: string; readonly part: string; readonly dsp: string };
  /** True when the numbers are an estimate (VHK158: Yosys has no Versal family). */
  readonly estimate: boolean;
  /** How the numbers were obtained, one sentence. */
  readonly method: string;
  readonly preset?: string;
  readonly top: string;
  readonly config: unknown;
  /** The synth_xilinx command each module went through (without `-top`). */
  readonly synthCommand: string;
  /** MAC slices (manifest.dsps) and INT8 MACs per cycle (manifest.macs). */
  readonly macSlices: number;
  readonly macs: number;
  readonly used: Resources;
  readonly available: Resources;
  /** used / available, fractions. */
  readonly utilisation: Resources;
  /** Verdict: every resource at most 100% of the device. */
  readonly fits: boolean;
  readonly fitRule: string;
  /** The estimate's headroom rule (docs/targets.md) applied to the synthesized DSP/BRAM/URAM, for information. */
  readonly headroom: { readonly limits: Headroom; readonly within: boolean };
  /** DSPs as a range on devices with a denser INT8 mode: max = `used.dsp` (one DSP per MAC slice). */
  readonly dspRange: { readonly min: number; readonly max: number };
  /** DSP cells by primitive (DSP48E2 inferred or instantiated, DSP58 black boxes). */
  readonly dspCells: CellCounts;
  /** PCOUT -> PCIN links in the whole design (instances multiplied out). */
  readonly cascadeLinks: number;
  /** Neighbouring MAC-slice pairs in the chains (what a full cascade links), instances multiplied out. */
  readonly chainNeighbourPairs: number;
  readonly modules: readonly ModuleReport[];
  /** Extra cells of the whole design: CARRY and LUT-as-memory totals. */
  readonly carry: number;
  readonly lutAsMemory: number;
  readonly yosys: string;
  /** Wall time of all Yosys runs, seconds. */
  readonly seconds: number;
  /** Folder holding each module's Yosys log. */
  readonly logDir: string;
}

/** A Yosys run that failed; `logPath` holds its whole log. */
export class SynthError extends Error {
  override name = 'SynthError';
  constructor(
    message: string,
    readonly logPath: string,
  ) {
    super(message);
  }
}

export interface ModuleProgress {
  readonly phase: 'start' | 'done';
  /** 1-based position in the bottom-up order, and the number of modules. */
  readonly index: number;
  readonly count: number;
  readonly module: string;
  readonly instances: number;
  /** Set on 'start' when the module is LUT-mapped in chunks: how many. */
  readonly abcChunks?: number;
  readonly report?: ModuleReport;
}

export interface SynthOptions {
  /** Folder for the per-module Yosys logs (created). */
  readonly logDir: string;
  readonly preset?: string;
  /**
   * Let ABC map to 7- and 8-input functions (two or four LUT6 joined by MUXF7/MUXF8), Yosys's
   * default. Off by default: the decomposition leaves LUT1 buffers in front of the MUXF inputs
   * (docs/synthesis.md), so a LUT6-only mapping (`-nowidelut`) counts the LUTs more truthfully.
   */
  readonly widelut?: boolean;
  /**
   * Modules whose Verilog has more logic lines (see logicLines) than this get their LUT
   * mapping (ABC) in chunks of `abcChunkLines` source lines (see abcChunks); default
   * LARGE_MODULE_LINES.
   */
  readonly largeModuleLines?: number;
  readonly abcChunkLines?: number;
  readonly onProgress?: (p: ModuleProgress) => void;
}

/**
 * Runs Yosys with the log streamed to `logPath` as it is printed (a long module can be
 * followed with `tail -f`); returns the files Yosys wrote. Throws SynthError on failure.
 */
async function yosysLogged(script: string, files: ReadonlyMap<string, string>, logPath: string, what: string): Promise<Record<string, string>> {
  const input: Record<string, string> = {};
  for (const [n, t] of files) input[n] = t;
  const fd = openSync(logPath, 'w');
  let firstError: string | undefined;
  let partial = '';
  const sink = (b: Uint8Array | null) => {
    if (!b) return;
    writeSync(fd, b);
    if (firstError) return;
    const lines = (partial + Buffer.from(b).toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    firstError = lines.find((l) => /ERROR|Assert|Found and reported [1-9]/.test(l));
  };
  let out: Record<string, unknown> | undefined;
  try {
    out = (await runYosys(['-p', script], input, { stdout: sink, stderr: sink })) as Record<string, unknown> | undefined;
  } catch (e) {
    const line = firstError ?? (/ERROR|Assert/.test(partial) ? partial : undefined) ?? (e as Error).message;
    throw new SynthError(`yosys failed on ${what}: ${line.trim()}`, logPath);
  } finally {
    closeSync(fd);
  }
  const result: Record<string, string> = {};
  for (const [k, v] of Object.entries(out ?? {})) {
    if (typeof v === 'string') result[k] = v;
    else if (v instanceof Uint8Array) result[k] = Buffer.from(v).toString('utf8');
  }
  return result;
}

/** Above this many logic lines a module is LUT-mapped in chunks (docs/synthesis.md). */
export const LARGE_MODULE_LINES = 4000;

/**
 * Lines of a generated module that make gates: continuous assignments and register updates
 * (`assign ...`, `... <= ...`). Declarations and instance port lists do not count: a top that
 * only wires hundreds of submodule instances together has thousands of lines but few gates.
 */
export function logicLines(verilog: string): number {
  let n = 0;
  for (const line of verilog.split('\n')) if (/^\s*assign\b|<=/.test(line)) n++;
  return n;
}
/** Source lines per ABC chunk (a multiple of 100). */
export const ABC_CHUNK_LINES = 200;

/**
 * Yosys selections splitting the gate-level cells of `file` (a module's Verilog of `lines`
 * lines) by the source line they come from (`src` attribute), `chunkLines` lines per chunk.
 * Yosys 0.55's `abc` pass takes time growing about quadratically with the number of gates it
 * extracts at once (measured: 37k gates 21 s, 14k gates 3.6 s, a 300k-gate MPE top over an hour),
 * so a large flat module is mapped one chunk at a time (`abc` maps only the selected cells;
 * logic shared across chunks sees chunk boundaries as inputs/outputs). Cells matched by no
 * chunk are mapped by synth_xilinx's own `abc` afterwards.
 */
export function abcChunks(file: string, lines: number, chunkLines = ABC_CHUNK_LINES): string[] {
  if (chunkLines % 100 !== 0 || chunkLines <= 0) throw new RangeError(`ABC chunk size must be a positive multiple of 100 lines, got ${chunkLines}`);
  const per = chunkLines / 100;
  const chunks: string[] = [];
  for (let first = 0; first * 100 <= lines; first += per) {
    const pats: string[] = [];
    for (let h = first; h < first + per && h * 100 <= lines; h++) {
      // Line numbers have no leading zeros: block h >= 1 is `h??`, block 0 is `?` and `??`.
      if (h === 0) pats.push(`a:src=${file}:?.*`, `a:src=${file}:??.*`);
      else pats.push(`a:src=${file}:${h}??.*`);
    }
    chunks.push(pats.join(' '));
  }
  return chunks;
}

/** Ports of a primitive DSP that form the dedicated cascade. */
const PRIMITIVE_CASCADE: Readonly<Record<string, CascadePorts>> = {
  DSP48E1: { outs: ['PCOUT'], ins: ['PCIN'] },
  DSP48E2: { outs: ['PCOUT'], ins: ['PCIN'] },
  DSP58: { outs: ['PCOUT'], ins: ['PCIN'] },
};

interface CascadePorts {
  readonly outs: readonly string[];
  readonly ins: readonly string[];
}

type Bits = readonly (number | string)[];
interface JsonModule {
  ports?: Record<string, { direction: string; bits: Bits }>;
  cells?: Record<string, { type: string; connections: Record<string, Bits> }>;
}

/**
 * Cascade links wired inside one module and the module's own cascade ports. A link is a cell
 * whose cascade input bus is, bit for bit, another cell's cascade output bus (no constants).
 */
export function cascadeAnalysis(mod: JsonModule, known: ReadonlyMap<string, CascadePorts>): { links: number; ports: CascadePorts } {
  const key = (bits: Bits | undefined) => (bits && bits.length > 0 && bits.every((b) => typeof b === 'number') ? bits.join(',') : undefined);
  const drivers = new Map<string, string>();
  const sinks: { cell: string; key: string }[] = [];
  for (const [name, cell] of Object.entries(mod.cells ?? {})) {
    const cp = known.get(cell.type);
    if (!cp) continue;
    for (const p of cp.outs) {
      const k = key(cell.connections[p]);
      if (k) drivers.set(k, name);
    }
    for (const p of cp.ins) {
      const k = key(cell.connections[p]);
      if (k) sinks.push({ cell: name, key: k });
    }
  }
  const links = sinks.filter((s) => {
    const from = drivers.get(s.key);
    return from !== undefined && from !== s.cell;
  }).length;
  const sinkKeys = new Set(sinks.map((s) => s.key));
  const outs: string[] = [];
  const ins: string[] = [];
  for (const [name, port] of Object.entries(mod.ports ?? {})) {
    const k = key(port.bits);
    if (!k) continue;
    if (port.direction === 'output' && drivers.has(k)) outs.push(name);
    if (port.direction === 'input' && sinkKeys.has(k)) ins.push(name);
  }
  return { links, ports: { outs, ins } };
}

const unescape = (n: string) => n.replace(/^\\/, '');

function scaled(r: CellResources, n: number): CellResources {
  return { lut: r.lut * n, ff: r.ff * n, dsp: r.dsp * n, bram: r.bram * n, uram: r.uram * n, carry: r.carry * n, lutAsMemory: r.lutAsMemory * n };
}

function ratio(used: Resources, available: Resources): Resources {
  const f = (k: ResourceKey) => (available[k] > 0 ? used[k] / available[k] : used[k] > 0 ? Infinity : 0);
  return { lut: f('lut'), ff: f('ff'), dsp: f('dsp'), bram: f('bram'), uram: f('uram') };
}

/** The chain generators whose MAC slices form a cascade, with their length parameter. */
const CHAIN_GENERATORS = new Set(['dense_chain', 'sparse_chain', 'packed_chain']);

/**
 * Refuses, before any synthesis, a configuration whose resource estimate (estimate.ts: DSPs
 * from the MAC slices, block RAM / UltraRAM from the buffers) exceeds the whole device.
 * Returns the estimate's fit report against 100%.
 */
export function precheckFits(config: GenConfig, device: Device): FitReport {
  const full = { dsp: 1, bram: 1, uram: 1 };
  return checkFits(estimateResources(config, device, full), device, full);
}

/** Direct submodules of `d` with their instance counts. */
function children(d: ModuleDef): Map<ModuleDef, number> {
  const m = new Map<ModuleDef, number>();
  for (const i of d.instances) m.set(i.def, (m.get(i.def) ?? 0) + 1);
  return m;
}

/**
 * Synthesizes every unique module of `gen` for `device` (xcup flow; on a device Yosys cannot
 * target, the same flow is an estimate) and adds the modules up by instance count.
 * Throws SynthError (with the log path) when Yosys fails.
 */
export async function synthesizeDesign(gen: Generated, device: Device, opts: SynthOptions): Promise<SynthReport> {
  await mkdir(opts.logDir, { recursive: true });
  const instances = new Map(gen.manifest.modules.map((m) => [m.name, m.instances]));
  const order = gen.design.reachable(gen.top).filter((d) => !d.extern?.primitive);
  const cascade = new Map<string, CascadePorts>(Object.entries(PRIMITIVE_CASCADE));
  const modules: ModuleReport[] = [];
  let yosysVersion = '';
  const synthCommand = `synth_xilinx -family xcup -noiopad -noclkbuf${opts.widelut ? '' : ' -nowidelut'}`;
  const t0 = performance.now();

  for (const [i, d] of order.entries()) {
    const count = instances.get(d.name) ?? 0;
    const subs = children(d);
    const files = new Map<string, string>();
    const reads: string[] = [];
    for (const s of subs.keys()) {
      // Submodules are black boxes: only their ports are read. A primitive without a model file
      // (none today) must be a cell Yosys knows.
      const text = gen.files.get(`${s.name}.v`);
      if (text === undefined) continue;
      files.set(`${s.name}.v`, text);
      reads.push(`read_verilog -lib ${s.name}.v`);
    }
    const own = gen.files.get(`${d.name}.v`);
    if (own === undefined) throw new Error(`no Verilog file for module ${d.name}`);
    files.set(`${d.name}.v`, own);
    reads.push(`read_verilog ${d.name}.v`);
    const cascadeTypes = [...cascade.keys()].filter((t) => PRIMITIVE_CASCADE[t] || [...subs.keys()].some((s) => s.name === t));
    const lines = own.split('\n').length;
    const chunked = logicLines(own) > (opts.largeModuleLines ?? LARGE_MODULE_LINES);
    const chunks = chunked ? abcChunks(`${d.name}.v`, lines, opts.abcChunkLines) : [];
    opts.onProgress?.({ phase: 'start', index: i + 1, count: order.length, module: d.name, instances: count, ...(chunked ? { abcChunks: chunks.length } : {}) });
    // synth_xilinx's map_luts step: `abc -luts ...` over the whole module; chunked, the same
    // command runs per chunk first and map_luts then finds (almost) nothing left to map.
    const lutCosts = opts.widelut ? '2:2,3,6:5,10,20,40' : '2:2,3,6:5';
    const synthSteps = chunked
      ? [
          `${synthCommand} -top ${d.name} -run :map_luts`,
          'opt_expr -mux_undef -noclkinv',
          ...chunks.map((sel) => `abc -luts ${lutCosts} ${sel}`),
          `${synthCommand} -top ${d.name} -run map_luts:`,
        ]
      : [`${synthCommand} -top ${d.name}`];
    const script = [
      ...reads,
      ...synthSteps,
      'tee -q -o stat.json stat -json',
      // Only the ports and the cells that can carry a cascade go to the netlist file.
      `select -module ${d.name} x:* ${cascadeTypes.map((t) => `t:${t}`).join(' ')}`,
      'write_json -selected net.json',
    ].join('; ');
    const logPath = join(opts.logDir, `${d.name}.log`);
    const m0 = performance.now();
    const result = await yosysLogged(script, files, logPath, `module ${d.name}`);
    const seconds = (performance.now() - m0) / 1000;

    const stat = JSON.parse(result['stat.json'] ?? '{}') as { creator?: string; modules?: Record<string, { num_cells_by_type?: CellCounts }> };
    yosysVersion ||= (stat.creator ?? '').replace(/\s*\(git.*$/, '');
    const all = Object.entries(stat.modules ?? {}).find(([n]) => unescape(n) === d.name)?.[1]?.num_cells_by_type ?? {};
    const subNames = new Set([...subs.keys()].filter((s) => !s.extern?.primitive).map((s) => s.name));
    const cells: CellCounts = {};
    const submodules: Record<string, number> = {};
    for (const [t, n] of Object.entries(all)) {
      if (subNames.has(t)) submodules[t] = n;
      else cells[t] = n;
    }
    const { resources, unknown } = countResources(cells);

    const net = JSON.parse(result['net.json'] ?? '{}') as { modules?: Record<string, JsonModule> };
    const mod = Object.entries(net.modules ?? {}).find(([n]) => unescape(n) === d.name)?.[1] ?? {};
    const ca = cascadeAnalysis(mod, cascade);
    if (ca.ports.outs.length > 0 || ca.ports.ins.length > 0) cascade.set(d.name, ca.ports);

    const total = scaled(resources, count);
    const report: ModuleReport = {
      name: d.name,
      generator: d.generator,
      instances: count,
      seconds,
      lutMapping: chunked ? 'chunked' : 'whole',
      cells,
      submodules,
      perInstance: resources,
      total,
      utilisation: ratio(total, device.resources),
      cascadeLinksPerInstance: ca.links,
      unknownCells: unknown,
    };
    modules.push(report);
    opts.onProgress?.({ phase: 'done', index: i + 1, count: order.length, module: d.name, instances: count, report });
  }

  const sum = (k: keyof CellResources) => modules.reduce((s, m) => s + m.total[k], 0);
  const used: Resources = { lut: sum('lut'), ff: sum('ff'), dsp: sum('dsp'), bram: sum('bram'), uram: sum('uram') };
  const available: Resources = { ...device.resources };
  const utilisation = ratio(used, available);
  const fits = RESOURCE_KEYS.every((k) => utilisation[k] <= 1);
  const headroomFit = checkFits({ device: device.name, macSlices: 0, macs: 0, dsp: used.dsp, dspMin: used.dsp, bram: used.bram, uram: used.uram, buffers: [] }, device, DEFAULT_HEADROOM);

  const dspCells: CellCounts = {};
  for (const m of modules) for (const [t, n] of Object.entries(m.cells)) if (classify(t)?.key === 'dsp') dspCells[t] = (dspCells[t] ?? 0) + n * m.instances;
  // The MAC slices' DSPs could be packed into the device's densest INT8 mode (DSP58: a
  // three-term dot product; DSP48E2: two MACs sharing an operand); other DSPs stay.
  const macSliceDsps = modules.filter((m) => m.generator === 'mac_slice').reduce((s, m) => s + m.total.dsp, 0);
  const densest = Math.max(device.dsp.int8MacsPerDsp[1], gen.manifest.config.pack);
  const dspMin = Math.min(used.dsp, used.dsp - macSliceDsps + Math.ceil(gen.manifest.macs / densest));

  const chainNeighbourPairs = gen.manifest.modules
    .filter((m) => CHAIN_GENERATORS.has(m.generator) && typeof m.params.length === 'number')
    .reduce((s, m) => s + m.instances * ((m.params.length as number) - 1), 0);

  const estimate = device.yosysFamily === undefined;
  const method = estimate
    ? `ESTIMATE: Yosys cannot target ${device.part} (no family for it, no ${device.dsp.name} cell); each unique module synthesized once with ${synthCommand} (hierarchical, submodules as black boxes, ${device.dsp.name} instances kept as black boxes), cells multiplied by instance counts; LUT/FF/BRAM/URAM from that flow, DSP = one per MAC slice (range down to the INT8 dot-product packing)`
    : `each unique module synthesized once with Yosys ${synthCommand} (hierarchical, submodules as black boxes), cells multiplied by instance counts`;

  return {
    schema: REPORT_SCHEMA,
    target: device.name,
    device: { name: device.name, board: device.board, part: device.part, dsp: device.dsp.name },
    estimate,
    method,
    ...(opts.preset ? { preset: opts.preset } : {}),
    top: gen.manifest.top,
    config: gen.manifest.config,
    synthCommand,
    macSlices: gen.manifest.dsps,
    macs: gen.manifest.macs,
    used,
    available,
    utilisation,
    fits,
    fitRule: 'every resource (LUT, FF, DSP, BRAM, URAM) at most 100% of the device',
    headroom: { limits: DEFAULT_HEADROOM, within: headroomFit.fits },
    dspRange: { min: dspMin, max: used.dsp },
    dspCells,
    cascadeLinks: modules.reduce((s, m) => s + m.cascadeLinksPerInstance * m.instances, 0),
    chainNeighbourPairs,
    modules,
    carry: sum('carry'),
    lutAsMemory: sum('lutAsMemory'),
    yosys: yosysVersion,
    seconds: (performance.now() - t0) / 1000,
    logDir: opts.logDir,
  };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'inf');
const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** The report as a text table: one row per module (all its instances), total, available, percent, verdict. */
export function formatReport(r: SynthReport): string {
  const lines: string[] = [];
  const dspName = r.device.dsp;
  lines.push(`${r.estimate ? 'ESTIMATE for ' : ''}${r.device.board} (${r.device.part}), top ${r.top}${r.preset ? `, preset ${r.preset}` : ''}`);
  lines.push(`method: ${r.method}`);
  lines.push('');
  const head = ['module', 'inst', 'LUT', 'FF', 'DSP', 'BRAM', 'URAM', 'CARRY', 'secs'];
  const rows: string[][] = r.modules.map((m) => [m.name, String(m.instances), ...RESOURCE_KEYS.map((k) => num(m.total[k])), num(m.total.carry), m.seconds.toFixed(1)]);
  const rule: string[] = [];
  rows.push(rule);
  rows.push(['total used', '', ...RESOURCE_KEYS.map((k) => num(r.used[k])), num(r.carry), r.seconds.toFixed(1)]);
  rows.push(['available', '', ...RESOURCE_KEYS.map((k) => num(r.available[k])), '', '']);
  rows.push(['used %', '', ...RESOURCE_KEYS.map((k) => pct(r.utilisation[k])), '', '']);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const fmt = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  lines.push(fmt(head));
  for (const row of rows) lines.push(row === rule ? widths.map((w) => '-'.repeat(w)).join('  ') : fmt(row));
  lines.push('');
  const dspKinds = Object.entries(r.dspCells).map(([t, n]) => `${n} ${t}`).join(' + ') || '0';
  lines.push(`MACs (manifest): ${r.macs} on ${r.macSlices} MAC slices; DSP cells: ${dspKinds}`);
  if (r.estimate) lines.push(`${dspName} range: ${r.dspRange.min} (MAC slices packed in the INT8 dot-product mode) .. ${r.dspRange.max} (one per MAC slice; used for the verdict)`);
  let cascadeNote = r.chainNeighbourPairs > 0 ? ` of ${r.chainNeighbourPairs} neighbouring MAC-slice pairs in the chains` : '';
  if (r.cascadeLinks === 0 && r.chainNeighbourPairs > 0) cascadeNote += ' (behavioural MAC slices: Yosys forms no DSP cascades on xcup; a primitive --dsp-backend instantiates them)';
  lines.push(`cascade links (PCOUT -> PCIN): ${r.cascadeLinks}${cascadeNote}`);
  lines.push(`headroom rule (DSP <= ${pct(r.headroom.limits.dsp)}, BRAM/URAM <= ${pct(r.headroom.limits.bram)}): ${r.headroom.within ? 'within' : 'over'}`);
  lines.push(`verdict: ${r.fits ? 'fits' : 'does not fit'}${r.estimate ? ' (estimate)' : ''} (${r.fitRule})`);
  return `${lines.join('\n')}\n`;
}
