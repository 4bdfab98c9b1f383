/**
 * Synthesis for AMD UltraScale+ (U280) with Yosys `synth_xilinx -family xcup`, hierarchical
 * (each unique module synthesized once; ../shared/TOOLCHAIN.md: flattening a big MPE costs
 * 3-5x the time), and the figures the project tracks: cells per module and for the whole
 * design, and the DSP48E2 cascade links (PCOUT -> PCIN) of the mapped netlist.
 */
import { yosys } from './yosys.ts';

export type CellCounts = Record<string, number>;

export interface CascadeLink {
  /** Flattened instance path of the DSP48E2 driving PCOUT, e.g. `unit_3.chain.mac_4.dsp`. */
  readonly from: string;
  readonly to: string;
}

export interface XilinxSynthReport {
  readonly top: string;
  /** Wall time of the Yosys run (synthesis plus the small netlist analysis). */
  readonly seconds: number;
  /** Cells of each module, counted once per module (submodule instances appear by module name). */
  readonly modules: Record<string, CellCounts>;
  /** Cells of the whole design (every instance expanded). */
  readonly total: CellCounts;
  readonly dsps: number;
  readonly luts: number;
  readonly ffs: number;
  /** CARRY4/CARRY8: fabric adders and comparators. */
  readonly carries: number;
  readonly brams: number;
  readonly urams: number;
  /** DSP pairs where every PCIN bit of `to` is driven by the same PCOUT bit of `from`. */
  readonly cascades: readonly CascadeLink[];
  readonly log: string;
}

const sum = (c: CellCounts, re: RegExp) => Object.entries(c).reduce((s, [t, n]) => (re.test(t) ? s + n : s), 0);
// INV is a LUT1 on the device.
export const lutCount = (c: CellCounts) => sum(c, /^(LUT[1-6]|INV)$/);
export const ffCount = (c: CellCounts) => sum(c, /^FD[RSCP]E$/);
export const carryCount = (c: CellCounts) => sum(c, /^CARRY[48]$/);

const unescape = (n: string) => n.replace(/^\\/, '');

/**
 * Synthesizes `files` (leave out simulation-only models: the vendor cells must be used) for
 * xcup and analyses the result.
 */
export async function synthXilinx(files: ReadonlyMap<string, string>, top: string, opts: { exclude?: readonly string[] } = {}): Promise<XilinxSynthReport> {
  const names = [...files.keys()].filter((n) => n.endsWith('.v') && !(opts.exclude ?? []).includes(n));
  const reads = names.map((n) => `read_verilog ${n}`).join('; ');
  // After the statistics, only the DSPs are kept (keep stops opt_clean from removing a cascade
  // whose last P is now unused) and flattened, so the netlist written out stays small.
  const script = [
    reads,
    `synth_xilinx -family xcup -noiopad -noclkbuf -top ${top}`,
    'tee -q -o stat.json stat -json',
    'flatten',
    'setattr -set keep 1 t:DSP48E2',
    `delete ${top}/t:* ${top}/t:DSP48E2 %d`,
    'opt_clean -purge',
    `select -module ${top} t:DSP48E2`,
    'write_json -selected dsps.json',
  ].join('; ');
  const t0 = performance.now();
  const r = await yosys(script, new Map(names.map((n) => [n, files.get(n)!])));
  const seconds = (performance.now() - t0) / 1000;

  const stat = JSON.parse(r.files['stat.json'] ?? '{}') as { modules: Record<string, { num_cells_by_type?: CellCounts }>; design: { num_cells_by_type?: CellCounts } };
  const modules: Record<string, CellCounts> = {};
  for (const [name, m] of Object.entries(stat.modules ?? {})) modules[unescape(name)] = m.num_cells_by_type ?? {};
  const total = stat.design?.num_cells_by_type ?? {};

  const net = JSON.parse(r.files['dsps.json'] ?? '{}') as { modules: Record<string, { cells: Record<string, { type: string; connections: Record<string, (number | string)[]> }> }> };
  const cells = Object.entries(net.modules?.[top]?.cells ?? {}).filter(([, c]) => c.type === 'DSP48E2');
  const byPcout = new Map<string, string>();
  for (const [name, c] of cells) {
    const bits = c.connections.PCOUT ?? [];
    if (bits.every((b) => typeof b === 'number')) byPcout.set(bits.join(','), unescape(name));
  }
  const cascades: CascadeLink[] = [];
  for (const [name, c] of cells) {
    const from = byPcout.get((c.connections.PCIN ?? []).join(','));
    if (from) cascades.push({ from, to: unescape(name) });
  }

  return {
    top,
    seconds,
    modules,
    total,
    dsps: total.DSP48E2 ?? 0,
    luts: lutCount(total),
    ffs: ffCount(total),
    carries: carryCount(total),
    brams: sum(total, /^RAMB(18|36)E2$/),
    urams: total.URAM288 ?? 0,
    cascades,
    log: r.log,
  };
}
