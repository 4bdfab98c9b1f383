/**
 * sfu_rope on Verilator against src/numerics/fixed.ts ropeRow (then sat to otype, as the golden
 * model's SFU): every table index with its interpolation neighbours (including the wrap at
 * 4095 -> 0 and the quadrant boundaries), real llama frequencies and positions, random angles,
 * int32 extremes (saturation), with input gaps and output stalls.
 */
import { describe, expect, it } from 'vitest';
import { lazySideBySide } from '../fixtures/side-by-side.ts';
import type { PortValue } from '../../src/sim/verilator.ts';
import { FX_ONE, INT32_MAX, INT32_MIN, ropeFreqTurns, ropeRow, sat } from '../../src/numerics/fixed.ts';
import { packFields, toSignedBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { ROPE_LATENCY, sfuRope } from '../../src/arch/sfu/rope.ts';
import { otypeBits } from '../../src/arch/sfu/model.ts';
import { runUnit } from '../../src/arch/sfu/stimulus.ts';

interface Pair {
  a: number;
  b: number;
  f: number;
  pos: number;
}

/**
 * The 2-pair unit only: its four cos/sin ROMs (mux trees of 1024 entries) dominate the Verilator
 * build, and the 1-pair unit is the same pipeline once (linted in sfu-lint.test.ts).
 */
const PAIRS = [2];
const ropeSim = lazySideBySide('sfu_rope_tb', PAIRS.map((pairs) => ({ gen: sfuRope, params: { pairs } })));

async function runRope(pairs: number, items: Pair[], seed: number): Promise<void> {
  const rng = new Rng(seed);
  // Beats: `pairs` items sharing one position (as in one row); the position of the first item is used.
  const beats: { items: Pair[]; pos: number; otype: number }[] = [];
  for (let i = 0; i < items.length; i += pairs) {
    const group = items.slice(i, i + pairs);
    while (group.length < pairs) group.push({ ...group[0]! });
    beats.push({ items: group, pos: group[0]!.pos, otype: rng.int(0, 5) === 0 ? rng.int(0, 1) : 2 });
  }
  const cycles: Record<string, PortValue>[] = [{ rst: 1 }];
  const sent: typeof beats = [];
  let k = 0;
  while (k < beats.length) {
    const inValid = rng.int(0, 5) > 0;
    const outReady = rng.int(0, 6) > 0;
    const bt = beats[k]!;
    cycles.push({ in_valid: inValid ? 1 : 0, out_ready: outReady ? 1 : 0, pos: bt.pos, otype: bt.otype, x: packFields(bt.items.flatMap((p) => [p.a, p.b]), 32), freq: packFields(bt.items.map((p) => p.f | 0), 32) });
    if (inValid && outReady) {
      sent.push(bt);
      k++;
    }
  }
  for (let i = 0; i < ROPE_LATENCY + 2; i++) cycles.push({ out_ready: 1 });
  const out = await runUnit(await ropeSim(), PAIRS.indexOf(pairs), cycles);
  const got = out.filter((o, t) => o.out_valid === 1n && cycles[t]!.out_ready === 1);
  expect(got.length).toBe(sent.length);
  const bad: unknown[] = [];
  sent.forEach((bt, i) => {
    bt.items.forEach((p, j) => {
      const want = ropeRow([p.a, p.b], 2, 2, [p.f], bt.pos).map((v) => sat(v, otypeBits(bt.otype)));
      const g = [0, 1].map((h) => Number(toSignedBig(got[i]!.out_data! >> BigInt(32 * (2 * j + h)), 32)));
      if ((g[0] !== want[0] || g[1] !== want[1]) && bad.length < 6) bad.push({ beat: i, pair: j, ...p, pos: bt.pos, otype: bt.otype, got: g, want });
    });
  });
  expect(bad).toEqual([]);
}

function value(rng: Rng): number {
  const k = rng.int(0, 5);
  return k === 0 ? rng.pick([INT32_MIN, INT32_MAX, 0, -1, FX_ONE]) : k === 1 ? rng.signed(32) : rng.int(-8 * FX_ONE, 8 * FX_ONE);
}

describe('SFU RoPE unit on Verilator', () => {
  it('2 pairs per beat: every table index (pos 1, f = angle), llama frequencies at real positions, random angles and extremes; bit-exact', async () => {
    const rng = new Rng(41);
    const items: Pair[] = [];
    // Every table index i with a random fraction, and the exact boundaries.
    for (let i = 0; i < 4096; i++) items.push({ a: value(rng), b: value(rng), f: i * 2 ** 20 + (i % 3 === 0 ? 0 : i % 3 === 1 ? 2 ** 20 - 1 : rng.int(0, 2 ** 20 - 1)), pos: 1 });
    // Real RoPE frequencies (head size 48, theta 10000) at positions up to 2^17 - 1.
    for (let n = 0; n < 3000; n++) items.push({ a: value(rng), b: value(rng), f: ropeFreqTurns(rng.int(0, 23), 48, 10000), pos: rng.int(0, 3) === 0 ? rng.pick([0, 1, 0x1ffff, 65535]) : rng.int(0, 4096) });
    for (let n = 0; n < 3000; n++) items.push({ a: value(rng), b: value(rng), f: rng.pick([0, 2 ** 32 - 1, rng.int(0, 2 ** 32 - 1)]), pos: rng.int(0, 0x1ffff) });
    await runRope(2, items, 42);
  });
  it('2 pairs per beat: random angles with a different position per pair group, bit-exact', async () => {
    const rng = new Rng(43);
    const items = Array.from({ length: 3000 }, () => ({ a: value(rng), b: value(rng), f: rng.int(0, 2 ** 32 - 1), pos: rng.int(0, 0x1ffff) }));
    await runRope(2, items, 44);
  });
});
