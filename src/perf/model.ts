/**
 * The performance model of a compiled program: block runs through the schedule model
 * (schedule.ts) with the length registers the runtime writes (src/compiler/runtime.ts), a
 * prefill pass as the runtime splits it into prefill-block chunks, decode over a range of
 * positions (every position, or evenly spaced samples integrated with the trapezoid rule: the
 * cycles of a decode step grow piecewise linearly with the context), and the HBM roofline of the
 * same weight format.
 */
import type { Compiled } from '../compiler/compile.ts';
import type { ChannelMap } from '../sim/accel.ts';
import { rowAddresses, xferRowBytes, type XferOperands } from '../arch/mmu/xfer.ts';
import { blockRegisters, prefillRuns } from '../compiler/runtime.ts';
import { EngineModel } from './engines.ts';
import type { MemoryTiming } from './memory.ts';
import { schedule, type ClassTotals, type ScheduleResult } from './schedule.ts';
import type { LdWhatIf } from './xfer.ts';

/** Totals of several block runs (weighted: sampled decode positions stand for their neighbours). */
export interface PhaseResult {
  /** Tokens the phase processes. */
  readonly tokens: number;
  /** Cycles of the whole phase. */
  readonly cycles: number;
  readonly busy: { ld: number; st: number; mx: number; sfu: number };
  readonly classes: Record<string, ClassTotals>;
  readonly critical: Record<string, number>;
  readonly traffic: { hbmRead: number; hbmWrite: number; ddrRead: number; ddrWrite: number };
  readonly macs: number;
  /** Block runs simulated (decode: sampled positions). */
  readonly runs: number;
}

function emptyPhase(): { -readonly [K in keyof PhaseResult]: PhaseResult[K] } {
  return { tokens: 0, cycles: 0, busy: { ld: 0, st: 0, mx: 0, sfu: 0 }, classes: {}, critical: {}, traffic: { hbmRead: 0, hbmWrite: 0, ddrRead: 0, ddrWrite: 0 }, macs: 0, runs: 0 };
}

function accumulate(acc: ReturnType<typeof emptyPhase>, r: ScheduleResult, w: number): void {
  acc.cycles += w * r.cycles;
  for (const k of ['ld', 'st', 'mx', 'sfu'] as const) acc.busy[k] += w * r.busy[k];
  for (const [k, v] of Object.entries(r.classes)) {
    const c = (acc.classes[k] ??= { count: 0, busy: 0, critical: 0 });
    c.count += w * v.count;
    c.busy += w * v.busy;
    c.critical += w * v.critical;
  }
  for (const [k, v] of Object.entries(r.critical)) acc.critical[k] = (acc.critical[k] ?? 0) + w * v;
  for (const k of ['hbmRead', 'hbmWrite', 'ddrRead', 'ddrWrite'] as const) acc.traffic[k] += w * r.traffic[k];
  acc.macs += w * r.macs;
  acc.runs++;
}

/** Sample positions covering [from, from + count) and their trapezoid weights (summing to count). */
export function samplePositions(from: number, count: number, maxSamples: number): { pos: number; w: number }[] {
  if (count <= 0) return [];
  if (count <= maxSamples) return Array.from({ length: count }, (_, i) => ({ pos: from + i, w: 1 }));
  const k = Math.max(2, maxSamples) - 1;
  const s = [...new Set(Array.from({ length: k + 1 }, (_, i) => from + Math.round(((count - 1) * i) / k)))];
  return s.map((pos, i) => {
    const left = i > 0 ? (pos - s[i - 1]!) / 2 : 0.5;
    const right = i < s.length - 1 ? (s[i + 1]! - pos) / 2 : 0.5;
    return { pos, w: left + right };
  });
}

export class PerfModel {
  readonly engines: EngineModel;

  constructor(
    readonly compiled: Compiled,
    readonly mem: MemoryTiming,
    whatIf: LdWhatIf = {},
  ) {
    this.engines = new EngineModel(compiled.plan.hw, mem, whatIf);
  }

  /** One run of the `decode` or `prefill` block for tokens at positions pos.. (runtime registers). */
  block(name: 'decode' | 'prefill', pos: number): ScheduleResult {
    const b = this.compiled.blocks.find((x) => x.name === name);
    if (!b) throw new RangeError(`the program has no ${name} block`);
    return schedule(this.compiled.plan.hw, this.compiled.instrs, b.start, blockRegisters(this.compiled.plan, pos, b.tokens), { mem: this.mem, engines: this.engines });
  }

  /** A prompt of `tokens` tokens at positions pos..: the runtime's block runs (prefill chunks, decode for the tail past seq_len). */
  prefill(tokens: number, pos = 0, maxSamples = 9): PhaseResult {
    const acc = emptyPhase();
    acc.tokens = tokens;
    const runs = prefillRuns(this.compiled.plan, new Array<number>(tokens).fill(0), pos);
    // Chunks of the prefill block at evenly spaced positions: sample them like decode positions.
    const chunks = runs.filter((r) => r.block === 'prefill');
    for (const { pos: i, w } of samplePositions(0, chunks.length, maxSamples)) accumulate(acc, this.block('prefill', chunks[i]!.pos), w);
    for (const r of runs) if (r.block === 'decode') accumulate(acc, this.block('decode', r.pos), 1);
    return acc;
  }

  /**
   * `count` decode steps at positions from..from+count-1: every position when count <=
   * maxSamples, else maxSamples evenly spaced positions with trapezoid weights.
   */
  decode(from: number, count: number, maxSamples = 17): PhaseResult {
    const acc = emptyPhase();
    acc.tokens = count;
    for (const { pos, w } of samplePositions(from, count, maxSamples)) accumulate(acc, this.block('decode', pos), w);
    return acc;
  }
}

/**
 * Bytes that must cross HBM for one decode step at position `pos` with this program's weight
 * format: every linear layer's stored weights (with group multipliers), N:M metadata and
 * per-row scales, the classifier, the K and V cache read over pos + 1 positions and the new
 * token's K and V written.
 */
export function decodeHbmBytes(c: Compiled, pos: number): number {
  const { plan } = c;
  let bytes = 0;
  for (const m of plan.matrices.values()) bytes += m.weights.bytes + (m.meta?.bytes ?? 0) + m.scales.bytes;
  const kvRow = plan.kv * plan.ab;
  bytes += plan.model.nLayers * 2 * kvRow * (pos + 1); // K and V read
  bytes += plan.model.nLayers * 2 * kvRow; // the new token's K and V
  return bytes;
}

/** Average of decodeHbmBytes over positions from..from+count-1. */
export function meanDecodeHbmBytes(c: Compiled, from: number, count: number): number {
  if (count <= 0) return decodeHbmBytes(c, from);
  return (decodeHbmBytes(c, from) + decodeHbmBytes(c, from + count - 1)) / 2; // linear in pos
}

/**
 * A bound the harness and the schedule do not apply (every read port has its own bandwidth
 * there): the LD engine runs one instruction at a time, and an LD cannot finish before its
 * busiest HBM pseudo-channel (channel map) has delivered that channel's bytes at the channel's
 * sustained rate, however many ports read it. Returns the sum of that over the LDs of one
 * decode step at `pos`, in cycles, with the compiler's layout (src/compiler/block.ts).
 */
export function decodeChannelBoundCycles(c: Compiled, mem: MemoryTiming, map: ChannelMap, channelBytesPerCycle: number, pos: number): number {
  const b = c.blocks.find((x) => x.name === 'decode');
  if (!b) throw new RangeError('the program has no decode block');
  let cycles = 0;
  const per = new Map<number, number>();
  schedule(c.plan.hw, c.instrs, b.start, blockRegisters(c.plan, pos, b.tokens), {
    mem,
    onInstr: (ins) => {
      if (ins.op !== 'LD' || ins.space !== 'hbm') return;
      const x = ins as unknown as XferOperands;
      const rb = xferRowBytes(x);
      per.clear();
      for (const ea of rowAddresses(x)) {
        for (let a = ea; a < ea + rb; ) {
          const ch = Math.floor(a / map.bytes);
          const end = Math.min(ea + rb, (ch + 1) * map.bytes);
          per.set(ch % map.count, (per.get(ch % map.count) ?? 0) + end - a);
          a = end;
        }
      }
      let most = 0;
      for (const v of per.values()) most = Math.max(most, v);
      cycles += most / channelBytesPerCycle;
    },
  });
  return cycles;
}
