/**
 * sfu_elem on Verilator against src/numerics/fixed.ts (through src/arch/sfu/model.ts elemRef):
 * every element-wise function with random and edge operands, random per-beat functions, output
 * types, multipliers and shifts, and random input gaps and output stalls.
 */
import { describe, expect, it } from 'vitest';
import { lazySideBySide } from '../fixtures/side-by-side.ts';
import type { PortValue } from '../../src/sim/verilator.ts';
import { FX_ONE, INT32_MAX, INT32_MIN, packColumnScale } from '../../src/numerics/fixed.ts';
import { packFields, toSignedBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { ELEM_FNS, ELEM_LATENCY, fnCode, sfuElem } from '../../src/arch/sfu/elem.ts';
import { elemRef, type ElemBeat } from '../../src/arch/sfu/model.ts';
import { runUnit } from '../../src/arch/sfu/stimulus.ts';

/** Edge operands: int32 limits, 0, +-1, +-1.0, and both sides of the points where the sigmoid's e becomes 0 (|t| = 772248) for silu and gelu. */
const EDGES = [INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, 0, -1, 1, FX_ONE, -FX_ONE, 772247, 772248, -772247, -772248, 2 ** 20 - 1, 2 ** 20, -(2 ** 20), 453733, 453734, 453735, -453734, -453735, 2 ** 31 / 1.702, -(2 ** 31) / 1.702].map(Math.trunc);

function fxValue(rng: Rng): number {
  switch (rng.int(0, 6)) {
    case 0:
      return rng.pick(EDGES);
    case 1:
      return rng.int(-(2 ** 20), 2 ** 20); // where the sigmoid is not yet saturated
    case 2:
      return rng.int(-16 * FX_ONE, 16 * FX_ONE);
    case 3:
      return rng.int(-3000, 3000);
    case 4:
      return rng.int(-460000, 460000); // gelu's argument range before saturation
    default:
      return rng.signed(32);
  }
}

/** 4 lanes and 1 lane side by side: one Verilator build. */
const LANES = [4, 1];
const elemSim = lazySideBySide('sfu_elem_tb', LANES.map((lanes) => ({ gen: sfuElem, params: { lanes } })));
const run = async (lanes: number, cycles: Record<string, PortValue>[]) => runUnit(await elemSim(), LANES.indexOf(lanes), cycles);

async function runElem(lanes: number, beats: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const fns = [...ELEM_FNS.map(fnCode), fnCode('softmax')]; // an unsupported code behaves as copy
  const sent: { c: ElemBeat; a: number[]; b: number[]; rq: number[] }[] = [];
  const cycles: Record<string, PortValue>[] = [{ rst: 1 }];
  // A run of a few beats keeps one function, as an instruction would; then it changes.
  let c: ElemBeat = { fn: 0, otype: 2, imm: 0, shift: 0 };
  while (sent.length < beats) {
    if (rng.int(0, 7) === 0 || sent.length === 0) {
      const imm = rng.int(0, 1) === 0 ? 0 : rng.pick([1, 2, 65535, 32768, rng.int(1, 65535), rng.int(1, 65535)]);
      c = { fn: rng.pick(fns), otype: rng.int(0, 3), imm, shift: rng.int(0, 2) === 0 ? rng.int(-32, 31) : rng.int(8, 24) };
    }
    const inValid = rng.int(0, 4) > 0;
    const outReady = rng.int(0, 5) > 0;
    const a = Array.from({ length: lanes }, () => fxValue(rng));
    const b = Array.from({ length: lanes }, () => fxValue(rng));
    const rq = Array.from({ length: lanes }, () => packColumnScale({ m: rng.int(0, 3) === 0 ? rng.pick([0, 1, 65535]) : rng.int(0, 65535), sh: rng.int(0, 3) === 0 ? rng.pick([0, 1, 46, 47]) : rng.int(0, 47) }));
    cycles.push({ in_valid: inValid ? 1 : 0, out_ready: outReady ? 1 : 0, fn: c.fn, otype: c.otype, imm: c.imm, shift: c.shift, a: packFields(a, 32), b: packFields(b, 32), rq: packFields(rq, 22) });
    if (inValid && outReady) sent.push({ c, a, b, rq });
  }
  for (let i = 0; i < ELEM_LATENCY + 4; i++) cycles.push({ out_ready: 1 });
  const out = await run(lanes, cycles);
  const got: number[][] = [];
  out.forEach((o, t) => {
    expect(o.in_ready).toBe(BigInt(cycles[t]!.out_ready ?? 0));
    if (o.out_valid === 1n && cycles[t]!.out_ready === 1) {
      got.push(Array.from({ length: lanes }, (_, l) => Number(toSignedBig(o.out_data! >> BigInt(32 * l), 32))));
    }
  });
  expect(got.length).toBe(sent.length);
  const bad: unknown[] = [];
  sent.forEach((s, k) => {
    for (let l = 0; l < lanes; l++) {
      const want = elemRef(s.c, s.a[l]!, s.b[l]!, s.rq[l]!);
      if (got[k]![l] !== want && bad.length < 5) bad.push({ beat: k, lane: l, ...s.c, a: s.a[l], b: s.b[l], rq: s.rq[l], got: got[k]![l], want });
    }
  });
  expect(bad).toEqual([]);
}

describe('SFU element-wise unit on Verilator', () => {
  it('4 lanes: 8000 beats of copy/add/mul/silu/gelu/requant with conversions, input gaps and output stalls, bit-exact', async () => {
    await runElem(4, 8000, 21);
  });
  it('1 lane: 3000 beats, bit-exact', async () => {
    await runElem(1, 3000, 22);
  });
  it(`has the documented latency (${ELEM_LATENCY} cycles) and keeps results in order under stalls`, async () => {
    const cycles: Record<string, PortValue>[] = [{ rst: 1 }, { in_valid: 1, out_ready: 1, fn: fnCode('copy'), otype: 2, a: 1234 }];
    for (let i = 0; i < ELEM_LATENCY + 2; i++) cycles.push({ out_ready: 1 });
    const out = await run(1, cycles);
    expect(out.findIndex((o) => o.out_valid === 1n)).toBe(1 + ELEM_LATENCY);
    expect(out[1 + ELEM_LATENCY]!.out_data).toBe(1234n);
  });
});
