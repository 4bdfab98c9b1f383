import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { AccelSim, type RunResult } from '../../src/sim/accel.ts';
import { CSR, ERR } from '../../src/arch/control/status.ts';
import { MemoryImage, type Space } from '../../src/compiler/memory.ts';
import { Rng } from '../../src/util/random.ts';
import { LOOPBACK_CSR_FETCHED, loopbackBursts, loopbackTop } from '../fixtures/loopback-top.ts';

const BEAT = 32;
const KB = 1024;
const rng = new Rng(11);
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => rng.int(0, 255));

let files: Map<string, string>;
let topName: string;
let sim: AccelSim;
let s: AccelSim;
let tmp: string;

beforeAll(async () => {
  const d = new Design();
  const top = d.elaborate(loopbackTop, { axiDataBits: 256 });
  files = emitDesign(d, top);
  topName = top.name;
  expect((await verilatorLint(files, topName)).messages).toEqual([]);
  sim = await AccelSim.build(files, topName);
  s = await sim.start({ memSize: { hbm: 64 * KB, ddr: 64 * KB } });
  tmp = await mkdtemp(join(tmpdir(), 'flightgen-accel-test-'));
});

afterAll(async () => {
  await s?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Copy {
  src: number;
  dst: number;
  len: number;
  from?: Space;
  to?: Space;
  pc?: number;
}

/** Sets L0..L3 for the loopback copy and runs it. */
async function copy(c: Copy, maxCycles = 1_000_000, session = s): Promise<RunResult> {
  await session.setLength(0, c.src);
  await session.setLength(1, c.dst);
  await session.setLength(2, c.len);
  await session.setLength(3, (c.from === 'hbm' ? 0 : 1) | (c.to === 'ddr' ? 2 : 0));
  return session.run(c.pc ?? 0, maxCycles);
}

/** Fresh random memories of 64 KiB and a program of nonzero words; returns the image. */
async function freshMemory(session = s): Promise<MemoryImage> {
  const img = new MemoryImage(64 * KB, 64 * KB);
  img.hbm.set(randomBytes(img.hbm.length));
  img.ddr.set(randomBytes(img.ddr.length));
  await session.loadMemory(img);
  await session.loadProgram(Uint32Array.from({ length: 64 }, (_, i) => 0x1000 + i));
  return img;
}

/**
 * Cycles of the loopback's burst loop under the harness's memory model, cycle by cycle: AR and
 * AW accepted in cycle a, R beats from a + latR, paced by one num/den token bucket (holding at
 * most one beat beyond the steady state), B at max(a + latW, last beat + 1), the next burst's
 * address in the cycle after B.
 */
function burstLoopCycles(bursts: readonly number[], latR: number, latW: number, num = 1, den = 1): number {
  const cap = den + num - 1;
  let credit = cap;
  let cyc = 0;
  const tick = (take: boolean) => {
    if (take) credit -= den;
    credit = Math.min(credit + num, cap);
    cyc++;
  };
  for (const n of bursts) {
    const a = cyc;
    let got = 0;
    let last = 0;
    while (got < n) {
      const beat = cyc >= a + latR && credit >= den;
      if (beat) (got++, (last = cyc));
      tick(beat);
    }
    const b = Math.max(a + latW, last + 1);
    while (cyc <= b) tick(false);
  }
  return cyc;
}

describe('accelerator harness (loopback top)', () => {
  it('a second build of the same design is a cache hit', async () => {
    expect(sim.beatBytes).toBe(BEAT);
    const again = await AccelSim.build(files, topName);
    expect(again.cached).toBe(true);
    expect(again.buildMs).toBe(0);
    expect(again.binary).toBe(sim.binary);
    console.log(`loopback harness build: ${sim.cached ? 'cached' : `${(sim.buildMs / 1000).toFixed(1)} s`}`);
  });

  it('loads and saves memory images and byte ranges exactly; range errors are one-line rejections', async () => {
    const img = new MemoryImage(3000, 5001);
    img.hbm.set(randomBytes(3000));
    img.ddr.set(randomBytes(5001));
    await s.loadMemory(img);
    const back = await s.saveMemory();
    expect(back.hbm).toEqual(img.hbm);
    expect(back.ddr).toEqual(img.ddr);
    expect((await s.info()).hbm).toBe('3000');

    // memory.bin files on disk, both directions.
    const file = join(tmp, 'memory.bin');
    await writeFile(file, img.serialize());
    await s.setMemorySize(10, 10);
    await s.loadMemory(file);
    await s.saveMemory(join(tmp, 'saved.bin'));
    expect(new Uint8Array(await readFile(join(tmp, 'saved.bin')))).toEqual(img.serialize());

    // A compiled-program folder (program.bin + memory.bin).
    await writeFile(join(tmp, 'program.bin'), new Uint8Array(Uint32Array.from([5, 6, 7, 8, 9]).buffer));
    expect(await s.loadFolder(tmp)).toBe(5);
    expect((await s.info()).program).toBe('5');
    expect((await s.saveMemory()).ddr).toEqual(img.ddr);

    const bytes = randomBytes(50);
    await s.writeMem('ddr', 100, bytes);
    expect(await s.readMem('ddr', 100, 50)).toEqual(bytes);
    expect(await s.readMem('ddr', 90, 10)).toEqual(img.ddr.subarray(90, 100));
    expect(await s.readMem('hbm', 3000, 0)).toEqual(new Uint8Array(0));
    await s.writeMem('hbm', 2990, randomBytes(10)); // up to the last byte

    const settle = (p: Promise<unknown>) => p.then(() => undefined, (x: Error) => x);
    const fails: [Promise<Error | undefined>, RegExp][] = [
      [settle(s.writeMem('hbm', 2990, randomBytes(11))), /write of 11 bytes at HBM 0xbae past the end of HBM \(3000 bytes\)/],
      [settle(s.readMem('ddr', 5000, 2)), /past the end of DDR/],
      [settle(s.loadMemory(join(tmp, 'nope.bin'))), /cannot open .*nope\.bin/],
      [settle(s.loadProgram(join(tmp, 'nope.bin'))), /cannot open/],
    ];
    await writeFile(join(tmp, 'bad.bin'), 'FGMEM002xxxxxxxxxxxxxxxxxxxx');
    fails.push([settle(s.loadMemory(join(tmp, 'bad.bin'))), /not a flightgen memory image/]);
    for (const [p, re] of fails) {
      const e = await p;
      expect(e?.message).toMatch(re);
      expect(e?.message).not.toContain('\n');
    }
    const ddr = Uint8Array.from(img.ddr);
    ddr.set(bytes, 100);
    expect((await s.saveMemory()).ddr).toEqual(ddr);
  });

  it('copies DDR to HBM through AXI bursts: 16-beat and 4 KiB splits, partial strobes at both ends', async () => {
    const cases: Copy[] = [
      { src: 0, dst: 0, len: 4096 },
      { src: 0x1005, dst: 0x0fe5, len: 5000 }, // misaligned by 5, crossing 4 KiB at different beats
      { src: 0x2ff3, dst: 0x3013, len: 7 }, // inside one beat: head and tail strobes together
      { src: 0x40, dst: 0x7f, len: 1 }, // offsets 0 and 31 differ: ERR.align
      { src: 0x1f, dst: 0x3f, len: 1 },
      { src: 0x3000, dst: 0x8000, len: 0 },
      { src: 0x7fe0, dst: 0xa000, len: 3 * 4096 + 64 },
      { src: 0x100, dst: 0x2100, len: 999, from: 'hbm', to: 'ddr' },
      { src: 0x100, dst: 0x3104, len: 996, from: 'ddr', to: 'ddr' }, // offsets 0 and 4: ERR.align
      { src: 0x104, dst: 0x3104, len: 1000, from: 'ddr', to: 'ddr' },
    ];
    for (const c of cases) {
      const img = await freshMemory();
      const r = await copy(c);
      const from = img.space(c.from ?? 'ddr');
      const to = Uint8Array.from(img.space(c.to ?? 'hbm'));
      if (c.src % BEAT !== c.dst % BEAT) {
        expect(r.status, JSON.stringify(c)).toBe('error');
        expect(r.errCode).toBe(ERR.align);
        expect(r.traffic.readBursts).toBe(0);
        continue;
      }
      expect(r.status, JSON.stringify(c)).toBe('done');
      expect(r.faults).toBe(0);
      const bursts = loopbackBursts(c.src, c.dst, c.len, BEAT);
      expect(r.traffic).toEqual({ readBursts: bursts.length, readBeats: bursts.reduce((a, b) => a + b, 0), writeBursts: bursts.length, writeBeats: bursts.reduce((a, b) => a + b, 0), ifBursts: 1, ifWords: 4, localReadBeats: 0, portReadBeats: [bursts.reduce((a, b) => a + b, 0)] });
      if (c.len > 16 * BEAT) expect(Math.max(...bursts)).toBe(16);
      to.set(from.subarray(c.src, c.src + c.len), c.dst);
      const after = await s.saveMemory();
      expect(after.space(c.to ?? 'hbm'), JSON.stringify(c)).toEqual(to); // every byte outside the copy kept
      if ((c.from ?? 'ddr') !== (c.to ?? 'hbm')) expect(after.space(c.from ?? 'ddr')).toEqual(from);
      expect(r.instrs).toBe(4);
      expect(r.hwCycles).toBe(r.cycles);
      expect(r.busy.mx).toBeGreaterThan(0);
      expect(r.busy.sfu).toBe(1);
      expect(r.busy.ld).toBeGreaterThanOrEqual(bursts.reduce((a, b) => a + b, 0));
    }
    // The IF port delivers the program words at START_PC.
    await copy({ src: 0, dst: 0, len: 0, pc: 37 });
    for (let i = 0; i < 4; i++) expect(await s.csrRead(LOOPBACK_CSR_FETCHED + i)).toBe(0x1000 + 37 + i);
  });

  it('latency and bandwidth settings change the cycle count exactly as the memory model says', async () => {
    await freshMemory();
    const c: Copy = { src: 0x1005, dst: 0x0fe5, len: 5000 };
    const bursts = loopbackBursts(c.src, c.dst, c.len, BEAT);
    const nb = bursts.length;
    const cycles = async () => {
      const r = await copy(c);
      expect(r.status).toBe('done');
      return r.cycles;
    };
    await s.setLatency('all', 4, 2);
    await s.setBandwidth('all', 1, 1);
    await s.setIfLatency(2);
    const base = await cycles();
    await s.setLatency('ddr', 24, 2); // the source is DDR: +20 per read burst
    expect(await cycles()).toBe(base + 20 * nb);
    await s.setLatency('hbm', 50, 2); // HBM is only written: its read latency does not matter
    expect(await cycles()).toBe(base + 20 * nb);
    await s.setLatency('all', 4, 2);
    await s.setIfLatency(12); // one fetch burst
    expect(await cycles()).toBe(base + 10);
    await s.setIfLatency(2);

    // Write latency counts from AW accept (B no earlier than a cycle after the last W beat).
    await s.setLatency('hbm', 4, 200);
    const w200 = await cycles();
    await s.setLatency('hbm', 4, 300);
    expect(await cycles()).toBe(w200 + 100 * nb);
    await s.setLatency('all', 4, 2);

    // Everything outside the burst loop (fetch, plan) is a constant offset.
    const offset = base - burstLoopCycles(bursts, 4, 2);
    expect(offset).toBeGreaterThan(0);
    for (const [num, den] of [[1, 2], [1, 3], [2, 3], [3, 4], [1, 8], [5, 7]] as const) {
      await s.setBandwidth('ddr', num, den); // paces the R beats (and with them the W beats)
      expect(await cycles(), `DDR ${num}/${den}`).toBe(offset + burstLoopCycles(bursts, 4, 2, num, den));
    }
    await s.setBandwidth('all', 1, 1);
    await s.setBandwidth('hbm', 1, 2); // now the W side paces
    expect(await cycles()).toBe(offset + burstLoopCycles(bursts, 4, 2, 1, 2));
    await s.setBandwidth('all', 1, 1);
    await s.setLatency('ddr', 9, 2);
    await s.setLatency('hbm', 3, 40);
    expect(await cycles()).toBe(offset + burstLoopCycles(bursts, 9, 40));
    await s.setLatency('all', 4, 2);
    expect(await cycles()).toBe(base);

    for (const bad of ['set_bandwidth all 3 2', 'set_bandwidth all 0 1', 'set_latency ddr 0 5', 'set_latency ssd 1 1', 'set_outstanding 0 4', 'set_outstanding 1 65']) await expect(s.command(bad)).rejects.toThrow(/^flightllm_loopback_d256 harness: set_\w+: /);
  });

  it('HBM channel map: reads in the read port\'s own switch group use the local rate, the others the switch rate', async () => {
    await freshMemory();
    await s.setLatency('all', 4, 2);
    await s.setBandwidth('all', 1, 1);
    const run = async (src: number) => {
      const r = await copy({ src, dst: 0, len: 4096, from: 'hbm', to: 'ddr' });
      expect(r.status).toBe('done');
      return r;
    };
    const full = await run(0);
    await s.setBandwidth('hbm', 1, 4);
    const slow = await run(0);
    expect(slow.cycles).toBeGreaterThan(full.cycles + 300);
    // 4 KiB channels in groups of 4: bytes 0..16 KiB are channels 0-3, port 0's group.
    await s.setChannelMap({ bytes: 4096, count: 32, perSwitch: 4 });
    await s.setLocalBandwidth('hbm', 1, 1);
    const local = await run(0);
    expect(local.cycles).toBe(full.cycles);
    expect(local.traffic.localReadBeats).toBe(128);
    const across = await run(16 * KB);
    expect(across.cycles).toBe(slow.cycles);
    expect(across.traffic.localReadBeats).toBe(0);
    const info = await s.info();
    expect(info.channel_map).toBe('4096,32,4');
    expect(info.read_ports).toBe('1');
    for (const bad of ['set_channel_map 1000 32 4', 'set_channel_map 4096 32 5', 'set_channel_map 4096 0 1', 'set_local_bandwidth hbm 2 1']) await expect(s.command(bad)).rejects.toThrow(/^flightllm_loopback_d256 harness: set_\w+: /);
    await s.setChannelMap({ bytes: 0, count: 32, perSwitch: 4 });
    await s.setBandwidth('all', 1, 1);
    expect((await run(16 * KB)).cycles).toBe(full.cycles);
  });

  it('a run that hits the cycle limit reports timeout and can be continued with wait', async () => {
    await s.setMemorySize(0, 0);
    await s.setMemorySize(1024 * KB, 1024 * KB);
    const img = new MemoryImage(1024 * KB, 1024 * KB);
    img.ddr.set(randomBytes(img.ddr.length));
    await s.loadMemory(img);
    await s.setLatency('all', 30, 15);
    const c: Copy = { src: 64, dst: 128, len: 512 * KB };
    const r = await copy(c, 50);
    expect(r.status).toBe('timeout');
    expect(r.cycles).toBe(50);
    expect(r.errCode).toBe(0);
    const r2 = await s.wait(10);
    expect(r2.status).toBe('timeout');
    const rest = await s.wait(10_000_000);
    expect(rest.status).toBe('done');
    expect(rest.hwCycles).toBe(r.cycles + r2.cycles + rest.cycles);
    expect(await s.wait(100)).toMatchObject({ status: 'done', cycles: 0 }); // already done
    expect(await s.readMem('hbm', 128, c.len)).toEqual(img.ddr.subarray(64, 64 + c.len));
    console.log(`loopback copy of ${c.len / KB} KiB: ${rest.hwCycles} cycles at ${(rest.cyclesPerSecond / 1e6).toFixed(2)} M cycles/s (harness + model)`);
    await s.setLatency('all', 4, 2);
  });

  it('reports design errors (code, text, PC) and memory-model faults without dying', async () => {
    await freshMemory();
    await s.loadProgram(new Uint32Array([7, 7, 7, 7, 0, 0, 0, 0, 9, 9, 9, 9]));
    let r = await copy({ src: 0, dst: 0, len: 64, pc: 4 });
    expect(r).toMatchObject({ status: 'error', errCode: ERR.opcode, errText: 'undefined opcode', errPc: 4, faults: 0 });
    r = await copy({ src: 0, dst: 0, len: 64, pc: 100 }); // past the program: zeros
    expect(r).toMatchObject({ status: 'error', errCode: ERR.opcode, errPc: 100 });
    expect(await s.csrRead(CSR.STATUS)).toBe(4);
    r = await copy({ src: 1, dst: 2, len: 64, pc: 8 });
    expect(r).toMatchObject({ status: 'error', errCode: ERR.align, errText: 'misaligned operand', errPc: 8 });

    // Past the end of DDR (read) and HBM (write): reported by the memory model, zeros read, writes dropped.
    const before = await s.saveMemory();
    r = await copy({ src: 63 * KB, dst: 0, len: 2 * KB });
    expect(r.status).toBe('error');
    expect(r.errCode).toBe(0);
    expect(r.faults).toBe(2); // the bursts at 0x10000 and 0x10200
    expect(r.fault).toMatch(/^cycle \d+: AXI read of 512 bytes at DDR 0x10000 past the end of DDR \(65536 bytes\)$/);
    expect(r.errText).toBe(`memory model: ${r.fault}`);
    const hbm = await s.readMem('hbm', 0, 2 * KB);
    expect(hbm.subarray(0, KB)).toEqual(before.ddr.subarray(63 * KB));
    expect(hbm.subarray(KB)).toEqual(new Uint8Array(KB));
    r = await copy({ src: 0, dst: 63 * KB + 512, len: 1024 });
    expect(r).toMatchObject({ status: 'error', faults: 1 });
    expect(r.fault).toMatch(/AXI write of 512 bytes at HBM 0x10000 past the end of HBM/);
    expect((await s.saveMemory()).hbm.subarray(63 * KB + 512)).toEqual(before.ddr.subarray(0, 512));

    // Still healthy.
    expect((await copy({ src: 32, dst: 64, len: 100 })).status).toBe('done');
  });

  it('survives thousands of pipelined commands and many runs', async () => {
    await freshMemory();
    const t0 = performance.now();
    const values = Array.from({ length: 1500 }, () => rng.int(0, 2 ** 32 - 1));
    // Sent without awaiting: the commands run in call order, pipelined.
    const writes: Promise<void>[] = [];
    const reads = values.map((v, i) => (writes.push(s.setLength(i % 8, v)), s.csrRead(CSR.LEN0 + (i % 8))));
    expect(await Promise.all(reads)).toEqual(values);
    await Promise.all(writes);
    const data = randomBytes(4000);
    const [, got] = await Promise.all([s.writeMem('hbm', 1000, data), s.readMem('hbm', 1000, 4000)]);
    expect(got).toEqual(data);
    for (let k = 0; k < 60; k++) {
      const off = rng.int(0, 31);
      const c: Copy = { src: rng.int(0, 200) * BEAT + off, dst: rng.int(300, 600) * BEAT + off, len: rng.int(0, 3000) };
      expect((await copy(c)).status).toBe('done');
    }
    const bad = await Promise.allSettled(['bogus', 'csr_read x', 'run 0', 'write_mem ssd 0 /x', 'trace /tmp/x.fst', 'reset -1'].map((c) => s.command(c)));
    expect(bad.map((b) => b.status)).toEqual(Array(6).fill('rejected'));
    const msgs = bad.map((b) => ((b as PromiseRejectedResult).reason as Error).message);
    expect(msgs[0]).toMatch(/unknown command 'bogus'/);
    expect(msgs[1]).toMatch(/bad number 'x'/);
    expect(msgs[2]).toMatch(/usage: run <start_pc_word> <max_cycles>/);
    expect(msgs[4]).toMatch(/built without tracing/);
    expect(s.alive).toBe(true);
    expect(Number((await s.info()).cycle)).toBeGreaterThan(1000);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('a dead process rejects pending and later commands with one-line errors', async () => {
    const s2 = await (await AccelSim.build(files, topName)).start(); // a second process: a cache hit
    const pending = s2.step(100_000_000).then(() => undefined, (e: Error) => e);
    await s2.kill();
    expect((await pending)?.message).toMatch(/^flightllm_loopback_d256 harness killed by SIGKILL$/);
    await expect(s2.csrRead(0)).rejects.toThrow(/killed by SIGKILL/);
    expect(s2.alive).toBe(false);
    await s2.start(); // a new process
    expect(await s2.csrRead(CSR.STATUS)).toBe(0);
    await expect(s2.start()).rejects.toThrow(/already running/);
    await s2.close();
    expect(s2.alive).toBe(false);
    await expect(s2.csrRead(0)).rejects.toThrow(/exited with code 0/);
    const fresh = await AccelSim.build(files, topName);
    await expect(fresh.run(0, 10)).rejects.toThrow(/not running: call start\(\) first/);
  });

  it('serves 64-bit ports (integer data and strobe signals) as well', async () => {
    const d = new Design();
    const top = d.elaborate(loopbackTop, { axiDataBits: 64 });
    const narrow = await AccelSim.build(emitDesign(d, top), top.name);
    expect(narrow.beatBytes).toBe(8);
    await narrow.start({ memSize: { hbm: 16 * KB, ddr: 16 * KB } });
    try {
      await narrow.loadProgram(new Uint32Array([1, 2, 3, 4]));
      const src = randomBytes(16 * KB);
      await narrow.writeMem('ddr', 0, src);
      const c: Copy = { src: 0xffb, dst: 0x1ff3, len: 3001 };
      const r = await copy(c, 100_000, narrow);
      expect(r.status).toBe('done');
      const bursts = loopbackBursts(c.src, c.dst, c.len, 8);
      expect(r.traffic.writeBursts).toBe(bursts.length);
      const hbm = await narrow.readMem('hbm', 0, 16 * KB);
      const want = new Uint8Array(16 * KB);
      want.set(src.subarray(c.src, c.src + c.len), c.dst);
      expect(hbm).toEqual(want);
    } finally {
      await narrow.close();
    }
  });

  it('writes an FST waveform when built with trace support', async () => {
    const traced = await AccelSim.build(files, topName, { trace: true });
    expect(traced.binary).not.toBe(sim.binary);
    const fst = join(tmp, 'copy.fst');
    const t = await traced.start({ memSize: { hbm: 8 * KB, ddr: 8 * KB }, traceFile: fst });
    try {
      await t.loadProgram(new Uint32Array([1, 2, 3, 4]));
      expect((await copy({ src: 0, dst: 64, len: 1000 }, 100_000, t)).status).toBe('done');
      await t.setTrace(null);
    } finally {
      await t.close();
    }
    expect((await stat(fst)).size).toBeGreaterThan(1000);
  });
});
