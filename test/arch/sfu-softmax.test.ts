/**
 * sfu_softmax on Verilator against src/numerics/fixed.ts softmaxRow + the output conversion:
 * random rows and edge rows (all equal, large negatives, int32 extremes, zeros, one element,
 * causal masks down to one valid element), every output type, with and without imm scaling,
 * random beat gaps, and the documented in_ready gap checked cycle-exactly.
 */
import { describe, expect, it } from 'vitest';
import { lazySideBySide } from '../fixtures/side-by-side.ts';
import { FX_ONE, INT32_MAX, INT32_MIN, softmaxRow } from '../../src/numerics/fixed.ts';
import { packFields, toSignedBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { SOFTMAX_GAP, SOFTMAX_OUT_LATENCY, sfuSoftmax, softmaxRowCycles } from '../../src/arch/sfu/softmax.ts';
import { convert, otypeBits } from '../../src/arch/sfu/model.ts';
import { beatsOf, runUnit, scheduleRows, type RowStimulus } from '../../src/arch/sfu/stimulus.ts';

interface Row {
  z: number[];
  causal: boolean;
  limit: number;
  otype: number;
  imm: number;
  shift: number;
}

function rowValues(rng: Rng, n: number): number[] {
  const kind = rng.int(0, 9);
  const v = () => {
    switch (kind) {
      case 0:
        return 12345; // all equal
      case 1:
        return rng.int(INT32_MIN, INT32_MIN + 40 * FX_ONE); // large negatives
      case 2:
        return rng.pick([INT32_MIN, INT32_MAX, 0, -1]); // extremes
      case 3:
        return 0;
      case 4:
        return rng.signed(32);
      case 5:
        return rng.int(-2 * FX_ONE, 2 * FX_ONE);
      default:
        return rng.int(-20 * FX_ONE, 8 * FX_ONE); // log2-domain scores
    }
  };
  return Array.from({ length: n }, v);
}

/** 4 lanes and 3 lanes (odd maximum tree, beats not a power of two) side by side: one Verilator build; 1 lane is linted. */
const LANES = [4, 3];
const softmaxSim = lazySideBySide('sfu_softmax_tb', LANES.map((lanes) => ({ gen: sfuSoftmax, params: { lanes } })));

async function runSoftmax(lanes: number, rows: Row[], seed: number, tight = false): Promise<void> {
  const rng = new Rng(seed);
  const stim: RowStimulus[] = rows.map((r) => {
    const beats = beatsOf(r.z, lanes, () => rng.signed(32)).map((b) => ({ in_data: packFields(b, 32) }));
    return {
      start: { len: r.z.length, causal: r.causal ? 1 : 0, limit: r.limit, otype: r.otype, imm: r.imm, shift: r.shift },
      passes: r.z.length === 0 ? [] : [{ beats, gap: 1 }, { beats, gap: 1 }, { beats, gap: SOFTMAX_GAP }],
    };
  });
  const { cycles, expectReady, starts } = scheduleRows(stim, rng, tight ? { density: 1, probeEarly: false, jitter: false } : { density: 0.8, probeEarly: true });
  if (tight) rows.slice(0, -1).forEach((r, i) => expect(starts[i + 1]! - starts[i]!, `row ${i}`).toBe(softmaxRowCycles(r.z.length, lanes)));
  for (let i = 0; i < SOFTMAX_OUT_LATENCY + 3; i++) cycles.push({});
  const out = await runUnit(await softmaxSim(), LANES.indexOf(lanes), cycles);
  expect(starts.filter((t) => out[t]!.busy !== 0n)).toEqual([]);
  const readyErrors = [...expectReady].filter(([t, r]) => Number(out[t]!.in_ready) !== r).slice(0, 5);
  expect(readyErrors).toEqual([]);
  const beats = out.filter((o) => o.out_valid === 1n);
  let k = 0;
  const bad: unknown[] = [];
  rows.forEach((r, ri) => {
    const n = r.z.length;
    const y = softmaxRow(r.z, n, (j) => !r.causal || j <= r.limit, otypeBits(r.otype)).map((v) => convert(v, r.otype, r.imm, r.shift));
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
        if (got !== want && bad.length < 6) bad.push({ row: ri, j: b * lanes + l, got, want, n, causal: r.causal, limit: r.limit, otype: r.otype, imm: r.imm, shift: r.shift });
      }
    }
  });
  expect(bad).toEqual([]);
  expect(beats.length).toBe(k);
}

function randomRows(rng: Rng, count: number, lanes: number): Row[] {
  const rows: Row[] = [];
  const lens = [1, 2, lanes - 1, lanes, lanes + 1, 2 * lanes + 1, 0];
  for (let i = 0; i < count; i++) {
    const n = i < lens.length ? Math.max(0, lens[i]!) : rng.int(0, 3) === 0 ? rng.int(1, 8) : rng.int(1, 120);
    const causal = rng.int(0, 2) === 0;
    const limit = rng.int(0, 3) === 0 ? rng.int(0, n + 2) : rng.int(0, 0x1ffff);
    const imm = rng.int(0, 1) === 0 ? 0 : rng.pick([0x2da8, 1, 65535, rng.int(1, 65535)]);
    rows.push({ z: rowValues(rng, n), causal, limit: causal && rng.int(0, 5) === 0 ? 0 : limit, otype: rng.int(0, 3), imm, shift: rng.int(-4, 20) });
  }
  return rows;
}

describe('SFU softmax row unit on Verilator', () => {
  it('4 lanes: 160 random and edge rows (causal masks, all output types, imm scaling), bit-exact, exact in_ready gap', async () => {
    const rng = new Rng(7);
    const rows = randomRows(rng, 160, 4);
    rows.push({ z: rowValues(rng, 2500), causal: false, limit: 0, otype: 1, imm: 0, shift: 0 }); // a long row (sum near 2^27)
    rows.push({ z: new Array(4000).fill(INT32_MAX), causal: false, limit: 0, otype: 2, imm: 0, shift: 0 }); // all equal, long
    await runSoftmax(4, rows, 8);
  });
  it('3 lanes: 60 rows, bit-exact', async () => {
    const rng = new Rng(9);
    await runSoftmax(3, randomRows(rng, 60, 3), 10);
  });
  it('rows back to back at the documented cycles per row (softmaxRowCycles)', async () => {
    const rng = new Rng(12);
    await runSoftmax(4, randomRows(rng, 30, 4), 13, true);
  });
});
