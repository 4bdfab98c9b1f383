/**
 * Random stimulus for the MAC slice and dense chain, and the expected outputs from their
 * TypeScript models, in the per-cycle form the Verilator vector harness consumes.
 */
import { Rng } from '../../util/random.ts';
import { MacSliceModel } from '../mac/model.ts';
import type { MacSliceParams } from '../mac/mac-slice.ts';
import { DenseChainModel } from './model.ts';
import type { DenseChainParams } from './dense-chain.ts';
import { packFields, toRawBig } from '../../numerics/bits.ts';
import { ACC_WIDTH } from '../mac/mac-slice.ts';

export type Cycle = Record<string, bigint | number | boolean>;

export interface StimulusOptions {
  cycles: number;
  seed: number;
  /** Probability of a stall cycle (ce low). */
  stallRate?: number;
  /** Probability of a reset cycle after the initial reset. */
  resetRate?: number;
  /** Every so many cycles, hold all operands at their extreme (min x min) to exercise maximal accumulation. */
  extremeBurstEvery?: number;
}

function control(rng: Rng, t: number, o: StimulusOptions): { rst: boolean; ce: boolean } {
  const rst = t < 2 || rng.next() < (o.resetRate ?? 0.002);
  return { rst, ce: rng.next() >= (o.stallRate ?? 0.1) };
}

function operand(rng: Rng, width: number, extreme: boolean): number {
  return extreme ? -(2 ** (width - 1)) : rng.signed(width);
}


export function macSliceVectors(p: MacSliceParams, o: StimulusOptions): { inputs: Cycle[]; expected: bigint[] } {
  const rng = new Rng(o.seed);
  const model = new MacSliceModel(p);
  const inputs: Cycle[] = [];
  const expected: bigint[] = [];
  for (let t = 0; t < o.cycles; t++) {
    const { rst, ce } = control(rng, t, o);
    const extreme = !!o.extremeBurstEvery && Math.floor(t / 64) % o.extremeBurstEvery === 1;
    const a = operand(rng, p.aWidth, extreme);
    const b = operand(rng, p.bWidth, extreme);
    const pcin = extreme ? 2 ** 47 - 1 : rng.int(-(2 ** 47), 2 ** 47 - 1);
    const cascEn = rng.next() < 0.7;
    const accEn = rng.next() < 0.5;
    inputs.push({ rst, ce, a, b, pcin, casc_en: cascEn, acc_en: accEn });
    expected.push(toRawBig(BigInt(model.p), ACC_WIDTH));
    model.step({ rst, ce, a, b, pcin, cascEn, accEn });
  }
  return { inputs, expected };
}

export function denseChainVectors(p: DenseChainParams, o: StimulusOptions, model = new DenseChainModel(p)): { inputs: Cycle[]; expected: bigint[] } {
  const rng = new Rng(o.seed);
  const inputs: Cycle[] = [];
  const expected: bigint[] = [];
  for (let t = 0; t < o.cycles; t++) {
    const { rst, ce } = control(rng, t, o);
    const extreme = !!o.extremeBurstEvery && Math.floor(t / 64) % o.extremeBurstEvery === 1;
    const a = Array.from({ length: p.length }, () => operand(rng, p.aWidth, extreme));
    const b = Array.from({ length: p.length }, () => operand(rng, p.bWidth, extreme));
    inputs.push({ rst, ce, a: packFields(a, p.aWidth), b: packFields(b, p.bWidth) });
    expected.push(toRawBig(BigInt(model.p), ACC_WIDTH));
    model.step({ rst, ce, a, b });
  }
  return { inputs, expected };
}

/** First cycle where the simulated output differs from the model, or undefined. */
export function firstMismatch(expected: readonly bigint[], actual: readonly bigint[]): { cycle: number; expected: bigint; actual: bigint } | undefined {
  for (let t = 0; t < expected.length; t++) {
    if (expected[t] !== actual[t]) return { cycle: t, expected: expected[t]!, actual: actual[t]! };
  }
  if (actual.length !== expected.length) return { cycle: Math.min(actual.length, expected.length), expected: -1n, actual: -1n };
  return undefined;
}
