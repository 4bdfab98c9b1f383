import { describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { bufMem, divisionByConstant, type BufMemParams } from '../../src/arch/mmu/buffer.ts';
import { VerilatorSim, type PortValue } from '../../src/sim/verilator.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { Rng } from '../../src/util/random.ts';

const wrap = (v: number, bits: number, signed: boolean) => {
  const m = 2 ** bits;
  const u = ((v % m) + m) % m;
  return signed && u >= m / 2 ? u - m : u;
};

async function check(p: BufMemParams, seed: number) {
  const d = new Design();
  const top = d.elaborate(bufMem, p);
  const files = emitDesign(d, top);
  expect((await verilatorLint(files, top.name)).messages).toEqual([]);
  const sim = await VerilatorSim.build(top, files);
  const rng = new Rng(seed);
  const size = p.rows * p.banks;
  const ref = new Array<number>(size).fill(0);
  const cycles: Record<string, PortValue>[] = [{ rst: 1 }];
  // Fill everything first, then mix writes and reads of random runs at random alignments.
  for (let a = 0; a < size; a += p.writeLanes) {
    const n = Math.min(p.writeLanes, size - a);
    const vals = Array.from({ length: n }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    vals.forEach((v, i) => (ref[a + i] = wrap(v, p.bits, p.signed)));
    cycles.push({ wr_en: 1, wr_addr: a, wr_count: n, wr_data: vals.reduce((s, v, i) => s | (BigInt.asUintN(32, BigInt(v)) << BigInt(32 * i)), 0n) });
  }
  const expects: { cycle: number; port: string; values: number[] }[] = [];
  for (let k = 0; k < 400; k++) {
    const c: Record<string, PortValue> = {};
    if (rng.int(0, 1)) {
      const n = rng.int(1, p.writeLanes);
      const a = rng.int(0, size - n);
      const vals = Array.from({ length: n }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
      Object.assign(c, { wr_en: 1, wr_addr: a, wr_count: n, wr_data: vals.reduce((s, v, i) => s | (BigInt.asUintN(32, BigInt(v)) << BigInt(32 * i)), 0n) });
      // Reads in this cycle see the old contents: apply the write after sampling them.
      const port = p.readPorts[rng.int(0, p.readPorts.length - 1)]!;
      const ra = rng.int(0, size - port.lanes);
      expects.push({ cycle: cycles.length + 2, port: port.name, values: ref.slice(ra, ra + port.lanes) });
      Object.assign(c, { [`${port.name}_rd_en`]: 1, [`${port.name}_rd_addr`]: ra });
      vals.forEach((v, i) => (ref[a + i] = wrap(v, p.bits, p.signed)));
    } else {
      for (const port of p.readPorts) {
        const ra = rng.int(0, size - port.lanes);
        expects.push({ cycle: cycles.length + 2, port: port.name, values: ref.slice(ra, ra + port.lanes) });
        Object.assign(c, { [`${port.name}_rd_en`]: 1, [`${port.name}_rd_addr`]: ra });
      }
    }
    cycles.push(c);
  }
  const rowChecks: { cycle: number; row: number }[] = [];
  if (p.rowRead) {
    for (let r = 0; r < p.rows; r++) {
      rowChecks.push({ cycle: cycles.length + 1, row: r });
      cycles.push({ row_rd_en: 1, row_rd_addr: r });
    }
  }
  cycles.push({}, {}, {});
  const out = await sim.run(cycles);
  for (const e of expects) {
    const got = out[e.cycle]![`${e.port}_rd_data`]!;
    const vals = e.values.map((_, i) => Number(BigInt.asIntN(32, got >> BigInt(32 * i))));
    expect(vals, `${e.port} at cycle ${e.cycle}`).toEqual(e.values);
  }
  for (const rc of rowChecks) {
    const got = out[rc.cycle]!.row_rd_data!;
    const vals = Array.from({ length: p.banks }, (_, j) => wrap(Number(BigInt.asUintN(p.bits, got >> BigInt(p.bits * j))), p.bits, p.signed));
    expect(vals).toEqual(ref.slice(rc.row * p.banks, (rc.row + 1) * p.banks));
  }
}

describe('banked buffer (buf_mem) on Verilator', () => {
  it('random runs at random alignments read back what was written (16 banks, int16, row port)', async () => {
    await check({ name: 'act', bits: 16, signed: true, banks: 16, rows: 8, writeLanes: 16, readPorts: [{ name: 'a', lanes: 4 }, { name: 'st', lanes: 8 }], rowRead: true }, 1);
  }, 120_000);
  it('a non-power-of-two bank count (12 banks, unsigned 5-bit elements)', async () => {
    await check({ name: 'odd', bits: 5, signed: false, banks: 12, rows: 6, writeLanes: 8, readPorts: [{ name: 'a', lanes: 4 }], rowRead: true }, 2);
  }, 120_000);
  it('multiply-shift division is exact for every 20-bit address', () => {
    for (const d of [3, 12, 6144, 5120]) {
      const { magic, shift } = divisionByConstant(d, 20);
      for (const a of [0, 1, d - 1, d, 2 ** 20 - 1, 777777]) expect(Math.floor((a * magic) / 2 ** shift)).toBe(Math.floor(a / d));
    }
  });
});
