/**
 * The SFU's arithmetic building blocks on Verilator against src/numerics/fixed.ts: pow2neg and
 * the sigmoid reciprocal exhaustively over every argument that matters, the output conversion
 * on random and edge operands.
 */
import { describe, expect, it } from 'vitest';
import { lazySideBySide } from '../fixtures/side-by-side.ts';
import type { ModuleGenerator } from '../../src/hdl/index.ts';
import { runUnit } from '../../src/arch/sfu/stimulus.ts';
import type { PortValue } from '../../src/sim/verilator.ts';
import { FX_ONE, INT32_MAX, INT32_MIN, mulShift, pow2neg, sat } from '../../src/numerics/fixed.ts';
import { toSignedBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { POW2NEG_LATENCY, sfuPow2neg } from '../../src/arch/sfu/pow2neg.ts';
import { RECIP_LATENCY, sfuRecip } from '../../src/arch/sfu/recip.ts';
import { SCALE_LATENCY, sfuScale } from '../../src/arch/sfu/scale.ts';
import { otypeBits } from '../../src/arch/sfu/model.ts';
import { divCycles, sfuDivSeq, sfuIsqrtSeq, sqrtCycles } from '../../src/arch/sfu/seq.ts';
import { isqrt } from '../../src/numerics/fixed.ts';

/** Runs a sequential unit once per operand set: start, then wait `latency` cycles for done and the result. */
async function sequential(sim: { run: (c: Record<string, PortValue>[]) => Promise<Record<string, bigint>[]> }, ops: Record<string, PortValue>[], latency: number, port: string): Promise<bigint[]> {
  const cycles: Record<string, PortValue>[] = [{ rst: 1 }];
  for (const op of ops) {
    cycles.push({ ...op, start: 1 });
    for (let i = 1; i < latency; i++) cycles.push({});
  }
  cycles.push({});
  const out = await sim.run(cycles);
  const got: bigint[] = [];
  out.forEach((o) => {
    if (o.done === 1n) got.push(o[port]!);
  });
  return got;
}

function randBig(rng: Rng, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(rng.int(0, 65535));
  return v & ((1n << BigInt(bits)) - 1n);
}

/** All building blocks in one wrapper: one Verilator build for the whole file. */
const UNITS = [
  { gen: sfuPow2neg, params: { dWidth: 22 } },
  { gen: sfuPow2neg, params: { dWidth: 32 } },
  { gen: sfuRecip, params: {} },
  { gen: sfuScale, params: {} },
  { gen: sfuIsqrtSeq, params: { w: 64 } },
  { gen: sfuDivSeq, params: { xw: 78, dw: 16, qw: 63 } },
] as const;
const parts = lazySideBySide('sfu_parts_tb', UNITS);
const unit = (gen: ModuleGenerator<any>, params: unknown) => UNITS.findIndex((u) => u.gen === gen && JSON.stringify(u.params) === JSON.stringify(params));
/** A sim-like handle running one unit of the wrapper. */
async function build<P>(gen: ModuleGenerator<P>, params: P): Promise<{ sim: { run: (c: Record<string, PortValue>[]) => Promise<Record<string, bigint>[]> } }> {
  const sim = await parts();
  const k = unit(gen, params);
  if (k < 0) throw new Error('unit not in the wrapper');
  return { sim: { run: (c) => runUnit(sim, k, c) } };
}

/** Feeds `inputs` one per cycle with ce = 1 and returns the output `port` `latency` cycles later. */
async function stream(sim: { run: (c: Record<string, PortValue>[]) => Promise<Record<string, bigint>[]> }, inputs: Record<string, PortValue>[], latency: number, port: string): Promise<bigint[]> {
  const cycles = [...inputs.map((c) => ({ ...c, ce: 1 })), ...Array.from({ length: latency }, () => ({ ce: 1 }))];
  const out = await sim.run(cycles);
  return out.slice(latency).map((o) => o[port]!);
}

describe('SFU building blocks on Verilator', () => {
  it('sfu_pow2neg equals fixed.ts pow2neg for every d < 2^21 (22-bit argument) and for large d', async () => {
    const { sim } = await build(sfuPow2neg, { dWidth: 22 });
    const ds: number[] = [];
    for (let d = 0; d < 2 ** 21; d++) ds.push(d);
    for (let d = 2 ** 22 - 4096; d < 2 ** 22; d++) ds.push(d);
    const chunk = 2 ** 19;
    for (let s = 0; s < ds.length; s += chunk) {
      const part = ds.slice(s, s + chunk);
      const got = await stream(sim, part.map((d) => ({ d })), POW2NEG_LATENCY, 'e');
      const bad = part.findIndex((d, i) => Number(got[i]) !== pow2neg(d));
      expect(bad < 0 ? null : { d: part[bad], got: Number(got[bad]), want: pow2neg(part[bad]!) }).toBeNull();
    }
  });

  it('sfu_pow2neg with a 32-bit argument (softmax) agrees on the k <= 16 range and past it', async () => {
    const { sim } = await build(sfuPow2neg, { dWidth: 32 });
    const rng = new Rng(11);
    const ds: number[] = [0, 1, 17 * FX_ONE - 1, 17 * FX_ONE, 2 ** 21 - 1, 2 ** 21, 2 ** 32 - 1, 2 ** 31];
    for (let i = 0; i < 20000; i++) ds.push(rng.int(0, 18 * FX_ONE));
    for (let i = 0; i < 5000; i++) ds.push(rng.int(0, 2 ** 32 - 1));
    const got = await stream(sim, ds.map((d) => ({ d })), POW2NEG_LATENCY, 'e');
    expect(ds.map((d, i) => Number(got[i]) - pow2neg(d)).filter((x) => x !== 0)).toEqual([]);
  });

  it('sfu_recip is floor(2^32 / (2^16 + e)) for every e in [0, 2^16]', async () => {
    const { sim } = await build(sfuRecip, {});
    const es = Array.from({ length: FX_ONE + 1 }, (_, e) => e);
    const got = await stream(sim, es.map((e) => ({ e })), RECIP_LATENCY, 'q');
    const bad = es.filter((e, i) => Number(got[i]) !== Math.floor(2 ** 32 / (FX_ONE + e)));
    expect(bad).toEqual([]);
  });

  it('sfu_scale is sat(mulShift(v, m, sh), bits) for random and edge v, m, sh in -63..63 and every otype', async () => {
    const { sim } = await build(sfuScale, {});
    const rng = new Rng(3);
    const cases: { v: number; m: number; sh: number; otype: number }[] = [];
    const edgesV = [INT32_MIN, INT32_MAX, 0, -1, 1, -2, 2, 127, -128, 32767, -32768, 65535, -65536];
    const edgesM = [0, 1, 2, 32768, 65535];
    for (const v of edgesV) for (const m of edgesM) for (const sh of [-63, -33, -32, -31, -17, -1, 0, 1, 2, 15, 16, 31, 32, 46, 47, 48, 62, 63]) cases.push({ v, m, sh, otype: rng.int(0, 3) });
    // Left shifts at the int32 overflow boundary: v * m * 2^k around +-2^31 for every k.
    for (let k = 0; k <= 34; k++) {
      for (const m of [1, 3, 65535]) {
        const t = Math.floor(2 ** 31 / m / 2 ** k);
        for (const v of [t - 1, t, t + 1, -t - 1, -t, -t + 1, 0, 1, -1]) if (v >= INT32_MIN && v <= INT32_MAX) cases.push({ v, m, sh: -k, otype: rng.int(0, 3) });
      }
    }
    for (let i = 0; i < 30000; i++) {
      const v = rng.int(0, 3) === 0 ? rng.int(-70000, 70000) : rng.signed(32);
      const m = rng.int(0, 4) === 0 ? rng.pick(edgesM) : rng.int(0, 65535);
      const sh = rng.int(0, 3) === 0 ? rng.int(-63, 63) : rng.int(-8, 40);
      cases.push({ v, m, sh, otype: rng.int(0, 3) });
    }
    const got = await stream(sim, cases, SCALE_LATENCY, 'y');
    const bad = cases
      .map((c, i) => ({ ...c, got: Number(toSignedBig(got[i]!, 32)), want: sat(mulShift(c.v, c.m, c.sh), otypeBits(c.otype)) }))
      .filter((r) => r.got !== r.want);
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('sfu_isqrt_seq (64 bits) is the floor square root for squares, their neighbours, extremes and random values', async () => {
    const { sim } = await build(sfuIsqrtSeq, { w: 64 });
    const rng = new Rng(5);
    const xs: bigint[] = [0n, 1n, 2n, 3n, 4n, 42950n, (1n << 64n) - 1n, 1n << 62n, (1n << 63n) - 1n, 1n << 63n];
    for (let i = 0; i < 300; i++) {
      const k = randBig(rng, rng.int(1, 32));
      xs.push(k * k, k * k + 1n, k * k > 0n ? k * k - 1n : 0n, (k + 1n) * (k + 1n) - 1n);
      xs.push(randBig(rng, rng.int(1, 64)));
    }
    const fit = xs.filter((x) => x < 1n << 64n);
    const got = await sequential(sim, fit.map((x) => ({ x })), sqrtCycles({ w: 64 }), 'root');
    expect(got.length).toBe(fit.length);
    expect(fit.map((x, i) => [x, got[i]! - isqrt(x)]).filter(([, e]) => e !== 0n)).toEqual([]);
  });

  it('sfu_div_seq is floor(x / d) whenever x < d 2^qw (the 78-bit mean-of-squares shape; the others run inside the row units)', async () => {
    const rng = new Rng(6);
    const shapes = [
      { p: { xw: 78, dw: 16, qw: 63 }, gen: () => { const dv = BigInt(rng.pick([1, 2, 65535, rng.int(1, 65535)])); const lim = (dv << 63n) < 1n << 78n ? dv << 63n : 1n << 78n; const x = rng.int(0, 3) === 0 ? lim - 1n : randBig(rng, 78) % lim; return { x, dv }; } },
    ];
    for (const { p, gen } of shapes) {
      const { sim } = await build(sfuDivSeq, p);
      const ops = Array.from({ length: 400 }, gen);
      const got = await sequential(sim, ops, divCycles(p), 'q');
      expect(got.length).toBe(ops.length);
      expect(ops.map((o, i) => ({ ...o, err: got[i]! - o.x / o.dv })).filter((r) => r.err !== 0n)).toEqual([]);
    }
  });
});
