/**
 * Cycle-exact stimulus for the SFU row units' multi-pass stream interface, used by their
 * Verilator tests (and usable by a controller test): rows are started, then each pass's beats
 * are sent with random gaps, the passes that follow a scalar computation no earlier than the
 * documented gap. Optionally the first beat of such a pass is offered one cycle too early, where
 * the unit must not accept it (in_ready low), which checks that the documented gap is exact.
 */
import { defineModule, type Expr, type ModuleGenerator } from '../../hdl/index.ts';
import type { PortValue } from '../../sim/verilator.ts';
import type { Rng } from '../../util/random.ts';

export interface RowPass {
  /** Per-beat input values (in_data, in_gamma, ...). */
  readonly beats: readonly Record<string, PortValue>[];
  /**
   * Earliest first beat, in cycles after the previous pass's last beat (1 = the next cycle) or,
   * for the first pass, after the start cycle.
   */
  readonly gap: number;
}

export interface RowStimulus {
  /** Inputs of the start cycle (start itself is added). */
  readonly start: Record<string, PortValue>;
  readonly passes: readonly RowPass[];
}

export interface Schedule {
  cycles: Record<string, PortValue>[];
  /** Cycles in which in_valid is high, with the in_ready the unit must show. */
  expectReady: Map<number, 0 | 1>;
  /** The cycle of each row's start. */
  starts: number[];
}

/**
 * Lays out `rows` back to back: a row starts the cycle after the previous row's last beat (or
 * later), beats are sent with probability `density` per cycle, gap passes start up to 2 cycles
 * late, and with `probeEarly` the first beat of a pass with gap > 1 is also offered in the cycle
 * before it may be accepted.
 */
export function scheduleRows(rows: readonly RowStimulus[], rng: Rng, opts: { density: number; probeEarly: boolean; lead?: number; jitter?: boolean }): Schedule {
  const jitter = opts.jitter ?? true;
  const cycles: Record<string, PortValue>[] = [{ rst: 1 }];
  const expectReady = new Map<number, 0 | 1>();
  const starts: number[] = [];
  for (let i = 0; i < (opts.lead ?? 1); i++) cycles.push({});
  for (const row of rows) {
    if (jitter && rng.int(0, 3) === 0) for (let i = rng.int(1, 3); i > 0; i--) cycles.push({});
    cycles.push({ ...row.start, start: 1 });
    starts.push(cycles.length - 1);
    let last = cycles.length - 1;
    for (const pass of row.passes) {
      let t = last + pass.gap + (jitter && pass.gap > 1 && rng.int(0, 2) === 0 ? rng.int(1, 2) : 0);
      if (opts.probeEarly && pass.gap > 1 && pass.beats.length > 0 && t === last + pass.gap) {
        // Offer beat 0 one cycle early: it must not be taken.
        while (cycles.length < t - 1) cycles.push({});
        cycles.push({ ...pass.beats[0]!, in_valid: 1 });
        expectReady.set(cycles.length - 1, 0);
      }
      while (cycles.length < t) cycles.push({});
      for (const beat of pass.beats) {
        while (opts.density < 1 && rng.next() > opts.density) cycles.push({});
        cycles.push({ ...beat, in_valid: 1 });
        expectReady.set(cycles.length - 1, 1);
      }
      last = cycles.length - 1;
    }
  }
  return { cycles, expectReady, starts };
}

/** Splits a row of values into beats of `lanes` (the last padded with `pad`). */
export function beatsOf(values: readonly number[], lanes: number, pad: (l: number) => number = () => 0): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < values.length; i += lanes) out.push(Array.from({ length: lanes }, (_, l) => (i + l < values.length ? values[i + l]! : pad(l))));
  return out;
}

/**
 * A test wrapper holding several units side by side, each port renamed `u<k>_<port>` (clk and
 * rst shared), so one Verilator build serves several configurations; `merge` and `part` map
 * per-unit cycle vectors onto it and back.
 */
export const sideBySide = defineModule<{ name: string; units: readonly { gen: ModuleGenerator<any>; params: unknown }[] }>(
  'sfu_side_by_side',
  (p) => p.name,
  (m, p) => {
    p.units.forEach((u, k) => {
      const inst = m.instance(`unit${k}`, u.gen, u.params);
      const binds: Record<string, Expr> = {};
      for (const port of inst.def.ports) {
        if (port.implicit) continue;
        if (port.dir === 'input') binds[port.name] = m.input(`u${k}_${port.name}`, port.type);
        else m.output(`u${k}_${port.name}`, port.type).assign(inst.out(port.name));
      }
      inst.bind(binds);
    });
  },
);

/** Per-cycle inputs of several units merged for sideBySide (rst goes to all). */
export function mergeCycles(perUnit: readonly (readonly Record<string, PortValue>[])[]): Record<string, PortValue>[] {
  const n = Math.max(...perUnit.map((c) => c.length));
  return Array.from({ length: n }, (_, t) => {
    const row: Record<string, PortValue> = {};
    perUnit.forEach((cycles, k) => {
      for (const [name, v] of Object.entries(cycles[t] ?? {})) row[name === 'rst' ? 'rst' : `u${k}_${name}`] = v;
    });
    return row;
  });
}

/** Unit k's outputs (and its own cycle count) out of a sideBySide run. */
export function unitOutputs(out: readonly Record<string, bigint>[], k: number, cycles: number): Record<string, bigint>[] {
  const prefix = `u${k}_`;
  return out.slice(0, cycles).map((o) => Object.fromEntries(Object.entries(o).filter(([n]) => n.startsWith(prefix)).map(([n, v]) => [n.slice(prefix.length), v])));
}

/** Runs unit k of a sideBySide simulation alone (the other units see all-zero inputs). */
export async function runUnit(sim: { run(c: readonly Readonly<Record<string, PortValue>>[]): Promise<Record<string, bigint>[]> }, k: number, cycles: readonly Record<string, PortValue>[]): Promise<Record<string, bigint>[]> {
  const per: Record<string, PortValue>[][] = Array.from({ length: k + 1 }, () => []);
  per[k] = [...cycles];
  return unitOutputs(await sim.run(mergeCycles(per)), k, cycles.length);
}
