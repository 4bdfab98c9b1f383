/**
 * sfu_rmsnorm on Verilator against src/numerics/fixed.ts rmsnormRow / layernormRow + the output
 * conversion: random and edge rows (zeros, all equal, int32 extremes whose squares sum to
 * n 2^62, tiny values where epsilon dominates, negative means), random and edge gammas
 * (saturating products), every output type, random beat gaps, cycle-exact in_ready gaps.
 */
import { describe, expect, it } from 'vitest';
import { lazySideBySide } from '../fixtures/side-by-side.ts';
import { FX_ONE, INT32_MAX, INT32_MIN, layernormRow, rmsnormRow } from '../../src/numerics/fixed.ts';
import { packFields, toSignedBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { NORM_GAP, NORM_MEAN_GAP, NORM_OUT_LATENCY, normRowCycles, sfuRmsnorm } from '../../src/arch/sfu/rmsnorm.ts';
import { convert } from '../../src/arch/sfu/model.ts';
import { beatsOf, runUnit, scheduleRows, type RowStimulus } from '../../src/arch/sfu/stimulus.ts';

interface Row {
  x: number[];
  gamma: number[];
  ln: boolean;
  otype: number;
  imm: number;
  shift: number;
}

function rowValues(rng: Rng, n: number): number[] {
  const kind = rng.int(0, 10);
  const c = rng.signed(32);
  const v = () => {
    switch (kind) {
      case 0:
        return 0;
      case 1:
        return c; // all equal
      case 2:
        return INT32_MIN;
      case 3:
        return rng.pick([INT32_MIN, INT32_MAX]);
      case 4:
        return rng.int(-100, 100); // epsilon dominates
      case 5:
        return rng.signed(32);
      case 6:
        return rng.int(INT32_MIN, INT32_MIN + 1000 * FX_ONE); // large negatives: negative mean
      default:
        return rng.int(-4 * FX_ONE, 4 * FX_ONE);
    }
  };
  return Array.from({ length: n }, v);
}

function gammas(rng: Rng, n: number): number[] {
  const kind = rng.int(0, 5);
  return Array.from({ length: n }, () => (kind === 0 ? rng.signed(32) : kind === 1 ? rng.pick([0, INT32_MAX, INT32_MIN, FX_ONE, -FX_ONE]) : rng.int(FX_ONE / 2, 2 * FX_ONE)));
}

/** 4 lanes and 1 lane side by side: one Verilator build. */
const LANES = [4, 1];
const normSim = lazySideBySide('sfu_rmsnorm_tb', LANES.map((lanes) => ({ gen: sfuRmsnorm, params: { lanes } })));

async function runNorm(lanes: number, rows: Row[], seed: number, tight = false): Promise<void> {
  const rng = new Rng(seed);
  const stim: RowStimulus[] = rows.map((r) => {
    const xb = beatsOf(r.x, lanes, () => rng.signed(32));
    const gb = beatsOf(r.gamma, lanes, () => rng.signed(32));
    const plain = xb.map((b) => ({ in_data: packFields(b, 32), in_gamma: packFields(gb[0]!.map(() => rng.signed(32)), 32) }));
    const out = xb.map((b, i) => ({ in_data: packFields(b, 32), in_gamma: packFields(gb[i]!, 32) }));
    const passes = r.x.length === 0 ? [] : r.ln ? [{ beats: plain, gap: 1 }, { beats: plain, gap: NORM_MEAN_GAP }, { beats: out, gap: NORM_GAP }] : [{ beats: plain, gap: 1 }, { beats: out, gap: NORM_GAP }];
    return { start: { len: r.x.length, ln: r.ln ? 1 : 0, otype: r.otype, imm: r.imm, shift: r.shift }, passes };
  });
  const { cycles, expectReady, starts } = scheduleRows(stim, rng, tight ? { density: 1, probeEarly: false, jitter: false } : { density: 0.8, probeEarly: true });
  if (tight) rows.slice(0, -1).forEach((r, i) => expect(starts[i + 1]! - starts[i]!, `row ${i}`).toBe(normRowCycles(r.x.length, lanes, r.ln)));
  for (let i = 0; i < NORM_OUT_LATENCY + 3; i++) cycles.push({});
  const out = await runUnit(await normSim(), LANES.indexOf(lanes), cycles);
  expect(starts.filter((t) => out[t]!.busy !== 0n)).toEqual([]);
  expect([...expectReady].filter(([t, r]) => Number(out[t]!.in_ready) !== r).slice(0, 5)).toEqual([]);
  const beats = out.filter((o) => o.out_valid === 1n);
  let k = 0;
  const bad: unknown[] = [];
  rows.forEach((r, ri) => {
    const n = r.x.length;
    const y = (n === 0 ? [] : r.ln ? layernormRow(r.x, r.gamma, n) : rmsnormRow(r.x, r.gamma, n)).map((v) => convert(v, r.otype, r.imm, r.shift));
    const nb = Math.ceil(n / lanes);
    for (let b = 0; b < nb; b++, k++) {
      const o = beats[k];
      if (!o) {
        bad.push({ row: ri, missingBeat: b });
        return;
      }
      if ((o.out_last === 1n) !== (b === nb - 1)) bad.push({ row: ri, beat: b, last: o.out_last });
      for (let l = 0; l < lanes && b * lanes + l < n; l++) {
        const got = Number(toSignedBig(o.out_data! >> BigInt(32 * l), 32));
        const want = y[b * lanes + l]!;
        if (got !== want && bad.length < 6) bad.push({ row: ri, j: b * lanes + l, got, want, n, ln: r.ln, x: r.x[b * lanes + l], g: r.gamma[b * lanes + l], otype: r.otype, imm: r.imm });
      }
    }
  });
  expect(bad).toEqual([]);
  expect(beats.length).toBe(k);
}

function randomRows(rng: Rng, count: number, lanes: number): Row[] {
  const lens = [1, 2, lanes + 1, 2 * lanes - 1, 0];
  return Array.from({ length: count }, (_, i) => {
    const n = i < lens.length ? lens[i]! : rng.int(0, 3) === 0 ? rng.int(1, 6) : rng.int(1, 80);
    const imm = rng.int(0, 1) === 0 ? 0 : rng.pick([1, 65535, rng.int(1, 65535)]);
    return { x: rowValues(rng, n), gamma: gammas(rng, n), ln: rng.int(0, 2) === 0, otype: rng.int(0, 3), imm, shift: rng.int(-4, 20) };
  });
}

describe('SFU RMSNorm / LayerNorm row unit on Verilator', () => {
  it('4 lanes: 110 random and edge rows (rmsnorm and layernorm), bit-exact, exact in_ready gaps', async () => {
    const rng = new Rng(31);
    const rows = randomRows(rng, 110, 4);
    rows.push({ x: new Array(3000).fill(INT32_MIN), gamma: new Array(3000).fill(INT32_MAX), ln: false, otype: 2, imm: 0, shift: 0 }); // ss = 3000 * 2^62
    rows.push({ x: Array.from({ length: 2000 }, () => rng.signed(32)), gamma: gammas(rng, 2000), ln: true, otype: 2, imm: 0, shift: 0 });
    await runNorm(4, rows, 32);
  });
  it('1 lane: 40 rows, bit-exact', async () => {
    const rng = new Rng(33);
    await runNorm(1, randomRows(rng, 40, 1), 34);
  });
  it('rows back to back at the documented cycles per row (normRowCycles)', async () => {
    const rng = new Rng(35);
    await runNorm(4, randomRows(rng, 24, 4), 36, true);
  });
});
