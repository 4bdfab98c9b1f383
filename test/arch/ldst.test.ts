/**
 * The LD and ST engines on Verilator (test/fixtures/ldst-bench.ts: engines, real bufMem
 * buffers, an AXI memory model with latency and stalls), against GoldenMachine.transfer():
 * random loop nests at unaligned addresses and strides for every dtype, grp weight streams,
 * weight/meta beats, stalls on every channel and on ld_wr_ready, every error code, burst rules
 * (16 beats, 4 KiB), the exact AR/AW burst sequence, and the cycle counts of the performance
 * model (docs in src/arch/mmu/ld.ts and st.ts).
 */
import { describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { ldEngine, ldCycles } from '../../src/arch/mmu/ld.ts';
import { stEngine, stCycles } from '../../src/arch/mmu/st.ts';
import { XFER_IMMEDIATE_DONE_CYCLES, type XferOperands } from '../../src/arch/mmu/xfer.ts';
import { ERR } from '../../src/arch/control/status.ts';
import type { Instr } from '../../src/isa/instr.ts';
import { BUFFERS, DTYPES } from '../../src/isa/table.ts';
import { GoldenMachine, MachineError } from '../../src/golden/machine.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { Rng } from '../../src/util/random.ts';
import { END, LdstHarness, num, xfer, type Burst, type RunResult, type Stalls, type Xfer } from '../fixtures/ldst-bench.ts';

/** The main bench: C=2, L=8 (16-lane beats), 256-bit AXI. */
const A = new LdstHarness({
  config: { ...DEFAULT_CONFIG, top: 'flightllm', chains: 2, chainLength: 8, actDepth: 64, weightDepth: 32, accDepth: 128, kvDepth: 1024, globalDepth: 512, biasDepth: 128 },
  memBeats: 512,
  insDepth: 128,
});
/** Odd geometry: C=3, L=4 (12-lane beats, 12 KV banks), 64-bit AXI (grp blocks wider than a beat), 6-bit weights, 12-bit activations. */
const B = new LdstHarness({
  config: { ...DEFAULT_CONFIG, top: 'flightllm', chains: 3, chainLength: 4, actWidth: 12, weightWidth: 6, sparsity: [{ n: 2, m: 4 }], axiDataBits: 64, actDepth: 48, weightDepth: 20, accDepth: 60, kvDepth: 300, globalDepth: 200, biasDepth: 40 },
  memBeats: 1024,
  insDepth: 64,
});

const NO_STALLS: Stalls = { ar: 0, r: 0, aw: 0, w: 0, b: 0, wr: 0 };
const PROFILES: { latency: number; stalls: Stalls }[] = [
  { latency: 1, stalls: NO_STALLS },
  { latency: 12, stalls: { ar: 0.2, r: 0.2, aw: 0.2, w: 0.2, b: 0.2, wr: 0.05 } },
  { latency: 30, stalls: { ar: 0.05, r: 0.1, aw: 0.05, w: 0.3, b: 0.3, wr: 0.02 } },
  { latency: 4, stalls: { ar: 0.3, r: 0.4, aw: 0.3, w: 0.1, b: 0.1, wr: 0.1 } },
];

/** Runs the instructions on the golden model; returns the expected error codes. */
function goldenRun(h: LdstHarness, gm: GoldenMachine, instrs: readonly Xfer[]): number[] {
  return instrs.map((x) => {
    const e = h.expectedErr(x);
    if (e === ERR.access) return e; // the golden model has no access rules
    if (e !== ERR.none) {
      // The golden model refuses it too (a range error after the rows before it: undo those).
      const snap = { hbm: gm.memory.hbm.slice(), ddr: gm.memory.ddr.slice(), bufs: BUFFERS.map((b) => gm.buffers[b].slice()) };
      expect(() => gm.run([x as Instr, END]), `golden refuses ${x.op} ${x.buf} (code ${e})`).toThrow(MachineError);
      gm.memory.hbm.set(snap.hbm);
      gm.memory.ddr.set(snap.ddr);
      BUFFERS.forEach((b, i) => gm.buffers[b].set(snap.bufs[i]!));
      return e;
    }
    try {
      gm.run([x as Instr, END]);
    } catch (err) {
      throw new Error(`golden model: ${(err as Error).message}`);
    }
    return e;
  });
}

/** Equal lists, or an error naming the first difference (no multi-thousand-line diffs). */
function sameList<T>(got: readonly T[], want: readonly T[], what: string): void {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: first difference at ${i}: got ${String(got[i])}, want ${String(want[i])} (lengths ${got.length}, ${want.length})`);
  }
}

function compare(h: LdstHarness, res: RunResult, gm: GoldenMachine, instrs: readonly Xfer[], codes: number[]): void {
  expect(res.problems.slice(0, 10)).toEqual([]);
  sameList(
    res.ends.map((e) => `${e.engine}:${e.code}:${e.error}`),
    instrs.map((x, i) => `${x.op.toLowerCase()}:${codes[i]}:${codes[i] !== ERR.none}`),
    'done/error/err_code per instruction',
  );
  const ok = instrs.filter((_, i) => codes[i] === ERR.none);
  const hex = (b: Burst) => `${b.addr.toString(16)}+${b.len}@${b.chan}`;
  sameList(res.ar.map(hex), ok.filter((x) => x.op === 'LD').flatMap((x) => h.expectedBursts(x).map(hex)), 'AR bursts');
  sameList(res.aw.map(hex), ok.filter((x) => x.op === 'ST').flatMap((x) => h.expectedBursts(x).map(hex)), 'AW bursts');
  for (const b of [...res.ar, ...res.aw]) {
    const a = Number(b.addr & ((1n << 36n) - 1n));
    if (a % h.AB || b.len > 15 || (a % 4096) + (b.len + 1) * h.AB > 4096) throw new Error(`bad burst ${b.addr.toString(16)} len ${b.len}`);
  }
  for (const space of ['hbm', 'ddr'] as const) sameList(Array.from(res.mem[space]), Array.from(gm.memory[space]), `${space} bytes`);
  for (const name of BUFFERS) sameList(res.buffers[name], Array.from(gm.buffers[name]), `${name} buffer`);
}

interface Coverage {
  perDtype: Record<string, number>;
  grp: number;
  meta: number;
  weightPlain: number;
  unalignedRows: number;
  pageSplits: number;
  fullBursts: number;
  stalledWrites: number;
}

async function randomRuns(h: LdstHarness, runs: number, perRun: number, seed: number): Promise<Coverage> {
  const cov: Coverage = { perDtype: {}, grp: 0, meta: 0, weightPlain: 0, unalignedRows: 0, pageSplits: 0, fullBursts: 0, stalledWrites: 0 };
  for (let r = 0; r < runs; r++) {
    const rng = new Rng(seed + r);
    const gm = h.randomMachine(rng);
    const instrs: Xfer[] = [];
    for (let k = 0; k < perRun; k++) {
      const dtype = DTYPES[k % 4]!;
      const x = h.randomXfer(rng, dtype, rng.int(0, 1) ? 'LD' : 'ST');
      instrs.push(x);
      cov.perDtype[dtype] = (cov.perDtype[dtype] ?? 0) + 1;
      if (x.grp) cov.grp++;
      else if (x.buf === 'weight') cov.weightPlain++;
      if (x.buf === 'meta') cov.meta++;
      if (num(x.addr) % h.AB || x.estride0 % h.AB) cov.unalignedRows++;
      for (const b of h.expectedBursts(x)) {
        const a = Number(b.addr & 0xfffn);
        if (b.len < 15 && a + (b.len + 1) * h.AB === 4096) cov.pageSplits++;
        if (b.len === 15) cov.fullBursts++;
      }
    }
    const prof = PROFILES[r % PROFILES.length]!;
    const res = await h.run(instrs, gm, { ...prof, seed: r });
    const codes = goldenRun(h, gm, instrs);
    expect(codes.every((c) => c === ERR.none)).toBe(true);
    compare(h, res, gm, instrs, codes);
    cov.stalledWrites += res.stalledWrites;
  }
  return cov;
}

describe('LD and ST engines', () => {
  it('are lint-clean (both test geometries and the default configuration)', async () => {
    const cfgs: GenConfig[] = [A.cfg, B.cfg, { ...DEFAULT_CONFIG, top: 'flightllm' }];
    for (const c of cfgs) {
      for (const gen of [ldEngine, stEngine]) {
        const d = new Design();
        const top = d.elaborate(gen, c);
        expect((await verilatorLint(emitDesign(d, top), top.name)).messages, top.name).toEqual([]);
      }
    }
  }, 300_000);

  it('random LD/ST loop nests of every dtype match the golden model (C=2 L=8, 256-bit AXI; stalls, latency, grp, beats)', async () => {
    const cov = await randomRuns(A, 8, 60, 1000);
    for (const d of DTYPES) expect(cov.perDtype[d]).toBeGreaterThanOrEqual(100);
    expect(cov.grp).toBeGreaterThanOrEqual(10);
    expect(cov.meta).toBeGreaterThanOrEqual(10);
    expect(cov.weightPlain).toBeGreaterThanOrEqual(10);
    expect(cov.unalignedRows).toBeGreaterThanOrEqual(200);
    expect(cov.pageSplits).toBeGreaterThanOrEqual(5);
    expect(cov.fullBursts).toBeGreaterThanOrEqual(5);
    expect(cov.stalledWrites).toBeGreaterThanOrEqual(100);
  }, 300_000);

  it('random LD/ST match the golden model on an odd geometry (C=3 L=4, 12 KV banks, 64-bit AXI, 6-bit weights)', async () => {
    const cov = await randomRuns(B, 3, 48, 2000);
    expect(cov.grp).toBeGreaterThanOrEqual(3);
    expect(cov.pageSplits).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('refuses bad instructions with the right code before anything moves; empty ones finish at once', async () => {
    const h = A;
    const CL = h.CL;
    const ok = (i: number) => xfer(i % 2 ? 'ST' : 'LD', { buf: 'act', dtype: 'int8', len: 40, addr: 100 * i + 3, sram: 50 * i });
    const bad: [number, Xfer][] = [
      [ERR.access, xfer('LD', { buf: 'acc', len: 8 })],
      [ERR.access, xfer('LD', { buf: 'acc', len: 8, grp: true })],
      [ERR.access, xfer('ST', { buf: 'weight', len: CL })],
      [ERR.access, xfer('ST', { buf: 'meta', len: CL })],
      [ERR.format, xfer('LD', { buf: 'act', len: 32, grp: true })],
      [ERR.format, xfer('ST', { buf: 'act', len: 32, grp: true })],
      [ERR.format, xfer('LD', { buf: 'weight', dtype: 'int16', len: 32, grp: true })],
      [ERR.format, xfer('LD', { buf: 'weight', dtype: 'int8', len: CL, grp: true })],
      [ERR.format, xfer('LD', { buf: 'meta', dtype: 'int4', len: 32, grp: true })],
      [ERR.format, xfer('LD', { buf: 'act', dtype: 'int4', len: 7 })],
      [ERR.format, xfer('ST', { buf: 'kv', dtype: 'int4', len: 3 })],
      [ERR.format, xfer('LD', { buf: 'act', dtype: 'int4', len: 3, count1: 0 })],
      [ERR.align, xfer('LD', { buf: 'weight', len: CL + 8 })],
      [ERR.align, xfer('LD', { buf: 'meta', dtype: 'int4', len: 8 })],
      [ERR.range, xfer('LD', { buf: 'act', len: 4, sram: h.g.buffers.act.elements - 3 })],
      [ERR.range, xfer('ST', { buf: 'global', len: 10, sram: 200, count0: 3, istride0: 152 })],
      [ERR.range, xfer('LD', { buf: 'weight', len: 2 * CL, sram: h.cfg.weightDepth - 1 })],
      [ERR.range, xfer('LD', { buf: 'kv', len: 1, count2: 2, istride2: 65535 })],
      [ERR.range, xfer('ST', { buf: 'acc', len: 1, count0: 65535, count1: 65535, count2: 65535, istride0: 65535, istride1: 65535, istride2: 65535, sram: 0xfffff })],
      [ERR.range, xfer('LD', { buf: 'scale', len: 0, sram: h.g.buffers.scale.elements + 1 })],
      [ERR.none, xfer('LD', { buf: 'act', len: 0, sram: 3 })],
      [ERR.none, xfer('LD', { buf: 'act', len: 5, count0: 0, sram: 0xfffff })],
      [ERR.none, xfer('ST', { buf: 'kv', len: 9, count2: 0, count0: 0 })],
    ];
    // Boundary cases that pass: the last row ends exactly at the buffer end.
    const edge: Xfer[] = [
      xfer('LD', { buf: 'global', dtype: 'int32', len: 10, sram: 200, count0: 3, istride0: 151, addr: 1000 }),
      xfer('LD', { buf: 'weight', len: 2 * CL, sram: h.cfg.weightDepth - 2, addr: 4 }),
      xfer('ST', { buf: 'act', len: 4, sram: h.g.buffers.act.elements - 4, addr: 77 }),
    ];
    const instrs: Xfer[] = [];
    bad.forEach(([, x], i) => instrs.push(x, ok(i)));
    instrs.push(...edge);
    const rng = new Rng(7);
    const gm = h.randomMachine(rng);
    const res = await h.run(instrs, gm, { latency: 5, stalls: PROFILES[1]!.stalls, seed: 3 });
    const codes = goldenRun(h, gm, instrs);
    expect(codes.filter((_, i) => i < 2 * bad.length && i % 2 === 0)).toEqual(bad.map(([c]) => c));
    compare(h, res, gm, instrs, codes);
    // Refused and empty instructions: done XFER_IMMEDIATE_DONE_CYCLES cycles after start.
    bad.forEach((_, i) => expect(res.busy[2 * i]!.cycles, `instruction ${2 * i}`).toBe(XFER_IMMEDIATE_DONE_CYCLES));
  }, 300_000);

  it('streams one AXI beat per cycle when the buffer takes it; cycle counts follow ldCycles/stCycles', async () => {
    const h = A;
    const latency = 8;
    // The bench's memory: first R beat latency + 2 cycles after the AR handshake, B latency cycles after the last W.
    const mem = { readLatency: latency + 2, writeLatency: latency };
    const cases: Xfer[] = [
      xfer('LD', { buf: 'global', dtype: 'int32', len: 512 }), // 64 beats, 8 x 4 bytes per write: a beat per cycle
      xfer('LD', { buf: 'kv', dtype: 'int16', len: 1024 }), // 64 beats, 16 x 2 bytes
      xfer('LD', { buf: 'kv', dtype: 'int8', len: 512 }), // 16 beats, 32 writes of 16 (the KV buffer's 16 banks)
      xfer('LD', { buf: 'act', dtype: 'int8', len: 512, addr: 5 }), // 17 beats, 64 writes of 8
      xfer('LD', { buf: 'weight', dtype: 'int8', len: 512 }), // 32 weight beats
      xfer('LD', { buf: 'weight', dtype: 'int4', len: 512, grp: true }), // 9 AXI beats, 32 weight beats
      xfer('LD', { buf: 'weight', dtype: 'int8', len: 512, grp: true }), // 17 AXI beats
      xfer('LD', { buf: 'meta', dtype: 'int4', len: 256, addr: 7 }),
      xfer('LD', { buf: 'global', dtype: 'int32', len: 8, count0: 64, estride0: 32, istride0: 8 }), // 64 one-beat rows
      xfer('LD', { buf: 'global', dtype: 'int32', len: 8, count0: 64, addr: 4, estride0: 32, istride0: 8 }), // 64 two-beat rows
      xfer('LD', { buf: 'act', dtype: 'int8', len: 8, count0: 16, count1: 4, estride0: 8, estride1: 200, istride0: 8, istride1: 128 }),
      xfer('ST', { buf: 'global', dtype: 'int32', len: 512 }),
      xfer('ST', { buf: 'act', dtype: 'int8', len: 512, addr: 9 }),
      xfer('ST', { buf: 'kv', dtype: 'int4', len: 300, addr: 3 }),
      xfer('ST', { buf: 'global', dtype: 'int32', len: 8, count0: 64, estride0: 32, istride0: 8 }),
      xfer('ST', { buf: 'global', dtype: 'int32', len: 8, count0: 64, addr: 4, estride0: 32, istride0: 8 }),
      xfer('ST', { buf: 'act', dtype: 'int16', len: 7, count0: 10, count2: 3, addr: 31, estride0: 14, estride2: 333, istride0: 7, istride2: 100 }),
      xfer('LD', { buf: 'act', len: 1 }),
      xfer('ST', { buf: 'act', len: 1 }),
    ];
    const gm = h.randomMachine(new Rng(11));
    const res = await h.run(cases, gm, { latency, stalls: NO_STALLS, seed: 1 });
    compare(h, res, gm, cases, goldenRun(h, gm, cases));
    const got = res.busy.map((b) => b.cycles);
    const ops = (x: Xfer) => x as unknown as XferOperands;
    const want = cases.map((x) => (x.op === 'LD' ? ldCycles(h.cfg, ops(x), mem.readLatency) : stCycles(h.cfg, ops(x), mem.writeLatency)));
    expect(got).toEqual(want);
    // One beat per cycle: 64 beats of int32 into global take 64 cycles plus the fixed latency.
    expect(got[0]! - ldCycles(h.cfg, ops(xfer('LD', { buf: 'global', dtype: 'int32', len: 8 })), mem.readLatency)).toBe(63);
  }, 300_000);
});
