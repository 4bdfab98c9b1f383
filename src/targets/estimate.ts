/**
 * Resource estimate of a configuration on a device: DSPs from the MAC count, block RAM and
 * UltraRAM from the on-chip buffers' port widths and depths. An estimate, not synthesis: no
 * LUT/FF figures, no placement, no timing (docs/targets.md).
 */
import type { GenConfig } from '../arch/config.ts';
import { RESULT_WIDTH, weightLaneBits } from '../arch/mpe/mpe.ts';
import type { Device, RamShape } from './devices.ts';

/** Width of the global and bias buffer elements (INT32 fixed point, docs/isa.md). */
export const WIDE_ELEMENT_BITS = 32;

export type RamKind = 'bram' | 'uram';

export interface BufferEstimate {
  readonly name: 'act' | 'weight' | 'acc' | 'kv' | 'global' | 'bias';
  /** Read-port width in bits (one entry per cycle). */
  readonly width: number;
  /** Entries. */
  readonly depth: number;
  /** Physical copies (the packed MPE reads two activation windows per cycle). */
  readonly copies: number;
  /** How the entry and depth follow from the configuration. */
  readonly shape: string;
  /** Set when the RTL already fixes the primitive (a `ram_style` in the generator). */
  readonly fixedKind?: RamKind;
  /** Cost if built from block RAM / UltraRAM (all copies). */
  readonly bramCost: number;
  readonly uramCost: number;
  /** The primitive the estimate assigns. */
  readonly kind: RamKind;
}

export interface ResourceEstimate {
  readonly device: string;
  /** MAC slices (multipliers) the generator instantiates; manifest.dsps. */
  readonly macSlices: number;
  /** INT8 MACs per cycle (macSlices x pack); manifest.macs. */
  readonly macs: number;
  /** DSPs as a range: [conservative, packed] (see DspPrimitive.int8MacsPerDsp). */
  readonly dsp: number;
  readonly dspMin: number;
  readonly bram: number;
  readonly uram: number;
  readonly buffers: readonly BufferEstimate[];
}

/** Per-resource utilisation limits (fractions of the whole device) for routing headroom. */
export interface Headroom {
  readonly dsp: number;
  readonly bram: number;
  readonly uram: number;
}

/**
 * The headroom rule (docs/targets.md): at most 75% of the DSPs and 80% of the block RAMs and
 * UltraRAMs go to the estimated blocks; the rest is for routing, the platform shell and the
 * blocks the estimate does not cover. FlightLLM's U280 build sits at DSP 70.2%, BRAM 62.1%,
 * URAM 82.5%.
 */
export const DEFAULT_HEADROOM: Headroom = { dsp: 0.75, bram: 0.8, uram: 0.8 };

export interface ResourceFit {
  readonly used: number;
  readonly available: number;
  /** used / available. */
  readonly utilisation: number;
  readonly limit: number;
  readonly fits: boolean;
}

export interface FitReport {
  readonly fits: boolean;
  readonly dsp: ResourceFit;
  readonly bram: ResourceFit;
  readonly uram: ResourceFit;
}

/** MAC slices of the configured top (what manifest.dsps counts). */
export function macSlices(c: GenConfig): number {
  switch (c.top) {
    case 'mac':
      return 1;
    case 'chain':
    case 'sparse-chain':
      return c.chainLength;
    case 'chain-array':
    case 'mpe':
    case 'flightllm':
      return c.chains * c.chainLength;
  }
}

/** Block RAMs for `depth` x `width` bits: the cheapest aspect ratio, columns x rows. */
export function bramCount(width: number, depth: number, shapes: readonly RamShape[]): number {
  return Math.min(...shapes.map((s) => Math.ceil(width / s.width) * Math.ceil(depth / s.depth)));
}

/** UltraRAMs for `depth` x `width` bits (4K x 72 blocks, cascaded for depth). */
export function uramCount(width: number, depth: number, shape: RamShape): number {
  return Math.ceil(width / shape.width) * Math.ceil(depth / shape.depth);
}

/** The buffers the configuration sizes, with their port shapes (only for `top: 'mpe'`). */
function bufferShapes(c: GenConfig): Omit<BufferEstimate, 'bramCost' | 'uramCost' | 'kind'>[] {
  if (c.top !== 'mpe') return [];
  const L = c.chainLength;
  const lanes = c.chains * L;
  const lane = weightLaneBits({ chains: c.chains, length: L, groupSize: c.groupSize, patterns: c.sparsity, aWidth: c.actWidth, bWidth: c.weightWidth, actDepth: c.actDepth, weightDepth: c.weightDepth, accDepth: c.accDepth, pack: c.pack });
  return [
    { name: 'act', width: L * c.actWidth, depth: c.actDepth, copies: c.pack, shape: `L x actWidth bits, actDepth entries${c.pack === 2 ? ', two copies (second read port)' : ''}` },
    { name: 'weight', width: lanes * (lane.weight + lane.index), depth: c.weightDepth, copies: 1, shape: `C x L lanes of weight + ${lane.index}-bit N:M index, weightDepth entries` },
    // src/arch/mpe/mpe.ts declares acc_buf with ram_style "block".
    { name: 'acc', width: RESULT_WIDTH, depth: c.accDepth, copies: 1, shape: 'INT32, accDepth entries (block RAM in the MPE RTL)', fixedKind: 'bram' },
    { name: 'kv', width: lanes * c.actWidth, depth: Math.ceil(c.kvDepth / lanes), copies: 1, shape: 'C x L elements of actWidth (it feeds the weight port), kvDepth / (C x L) entries' },
    { name: 'global', width: L * WIDE_ELEMENT_BITS, depth: Math.ceil(c.globalDepth / L), copies: 1, shape: 'L INT32 elements, globalDepth / L entries' },
    { name: 'bias', width: L * WIDE_ELEMENT_BITS, depth: Math.ceil(c.biasDepth / L), copies: 1, shape: 'L INT32 elements, biasDepth / L entries' },
  ];
}

/**
 * Estimates DSPs, block RAMs and UltraRAMs. Each buffer goes whole to block RAM or to
 * UltraRAM (a `ram_style` per memory; buffers whose style the RTL fixes keep it); of all
 * 2^n assignments the one with the lowest peak of
 * BRAM and URAM utilisation, each relative to its headroom limit, wins (ties: fewer primitives
 * in total, then more BRAM).
 */
export function estimateResources(c: GenConfig, device: Device, headroom: Headroom = DEFAULT_HEADROOM): ResourceEstimate {
  const slices = macSlices(c);
  const [, best] = device.dsp.int8MacsPerDsp;
  const macs = slices * c.pack;
  const shapes = bufferShapes(c).map((b) => ({
    ...b,
    bramCost: b.copies * bramCount(b.width, b.depth, device.memories.bram.shapes),
    uramCost: b.copies * uramCount(b.width, b.depth, device.memories.uram.shape),
  }));
  const avail = device.resources;
  let bestMask = 0;
  let bestKey: [number, number, number] | undefined;
  const n = shapes.length;
  for (let mask = 0; mask < 1 << n; mask++) {
    // Bit i set: buffer i in UltraRAM.
    if (avail.uram === 0 && mask !== 0) break;
    if (shapes.some((b, i) => b.fixedKind && (b.fixedKind === 'uram') !== Boolean(mask & (1 << i)))) continue;
    let bram = 0;
    let uram = 0;
    shapes.forEach((b, i) => {
      if (mask & (1 << i)) uram += b.uramCost;
      else bram += b.bramCost;
    });
    // Utilisation relative to each resource's headroom limit, so the tighter one is spared.
    const peak = Math.max(bram / (avail.bram * headroom.bram), avail.uram ? uram / (avail.uram * headroom.uram) : 0);
    const key: [number, number, number] = [peak, bram + uram, -bram];
    if (!bestKey || key[0] < bestKey[0] - 1e-12 || (Math.abs(key[0] - bestKey[0]) <= 1e-12 && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
      bestKey = key;
      bestMask = mask;
    }
  }
  const buffers: BufferEstimate[] = shapes.map((b, i) => ({ ...b, kind: bestMask & (1 << i) ? 'uram' : 'bram' }));
  return {
    device: device.name,
    macSlices: slices,
    macs,
    // Conservative: one DSP per MAC slice (a packed slice already does `pack` MACs).
    dsp: slices,
    // Best case: the device's densest INT8 mode (DSP58 INT8 dot product: 3 MACs per DSP).
    dspMin: Math.ceil(macs / Math.max(best, c.pack)),
    bram: buffers.filter((b) => b.kind === 'bram').reduce((s, b) => s + b.bramCost, 0),
    uram: buffers.filter((b) => b.kind === 'uram').reduce((s, b) => s + b.uramCost, 0),
    buffers,
  };
}

function fit(used: number, available: number, limit: number): ResourceFit {
  const utilisation = available > 0 ? used / available : used > 0 ? Infinity : 0;
  return { used, available, utilisation, limit, fits: utilisation <= limit + 1e-12 };
}

/** Per-resource utilisation against the headroom limits (DSP: the conservative count). */
export function checkFits(e: ResourceEstimate, device: Device, headroom: Headroom = DEFAULT_HEADROOM): FitReport {
  const dsp = fit(e.dsp, device.resources.dsp, headroom.dsp);
  const bram = fit(e.bram, device.resources.bram, headroom.bram);
  const uram = fit(e.uram, device.resources.uram, headroom.uram);
  return { fits: dsp.fits && bram.fits && uram.fits, dsp, bram, uram };
}

/** One line per resource, e.g. `DSP 6144 / 9024 (68.1%, limit 75%)`. */
export function formatFit(r: FitReport): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return (['dsp', 'bram', 'uram'] as const).map((k) => `${k.toUpperCase()} ${r[k].used} / ${r[k].available} (${pct(r[k].utilisation)}, limit ${pct(r[k].limit)})${r[k].fits ? '' : ' over'}`);
}
