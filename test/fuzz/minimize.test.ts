import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GenConfig } from '../../src/arch/config.ts';
import { MemoryImage } from '../../src/compiler/memory.ts';
import { parseAsm } from '../../src/isa/asm.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import type { Instr, InstrOf } from '../../src/isa/instr.ts';
import { machineOf, walk } from '../../src/fuzz/analysis.ts';
import { randomProgram } from '../../src/fuzz/generate.ts';
import { FUZZ_HW } from '../../src/fuzz/hw.ts';
import { fuzzMain } from '../../src/fuzz/main.ts';
import { minimize } from '../../src/fuzz/minimize.ts';
import { compareRuns, GoldenRunner, programProblem, type ProgramRunner } from '../../src/fuzz/runner.ts';

const out = () => mkdtempSync(join(tmpdir(), 'flightgen-fuzz-'));

/** The golden model with one bug: every SiLU result's first element has its low bit flipped. */
const brokenSilu = new GoldenRunner({
  name: 'broken-silu',
  afterExec: (m, ins) => {
    if (ins.op === 'SFU' && ins.fn === 'silu' && (ins.len as number) * (ins.rows as number) > 0) m.buffers[ins.dbuf][ins.d as number]! ^= 1;
  },
});

describe('fuzzMain', () => {
  it('golden against golden: no failures, error paths included', async () => {
    const s = await fuzzMain({ count: 30, seed: 100, engine: new GoldenRunner({ name: 'golden-2' }), reference: new GoldenRunner(), out: out(), failing: 0.3 });
    expect(s.failures).toEqual([]);
    expect(s.passed).toBe(30);
    expect(s.text).toMatch(/30 programs .* 30 agree, 0 fail/);
  });

  it('a broken runner is caught, and its first failure is minimized into a small reproducer that still fails', async () => {
    const dir = out();
    const log: string[] = [];
    const s = await fuzzMain({ count: 40, seed: 1, engine: brokenSilu, reference: new GoldenRunner(), out: dir, failing: 0, stopAfter: 1, progress: (m) => log.push(m) });
    expect(s.failures.length).toBe(1);
    const f = s.failures[0]!;
    expect(f.kind).toBe('mismatch');
    expect(f.mismatch).toMatchObject({ kind: 'memory' });
    expect(f.mismatch!.writer?.text).toMatch(/^ST /);
    const rep = s.reproducer!;
    expect(rep.minimizedLength).toBeLessThanOrEqual(12);
    expect(rep.minimizedLength * 4).toBeLessThan(rep.originalLength);
    for (const file of ['program.s', 'program.bin', 'memory.bin', 'hw.json', 'README.md', 'expected.bin']) expect(existsSync(join(rep.dir, file))).toBe(true);
    expect(readFileSync(join(rep.dir, 'README.md'), 'utf8')).toContain(`seed ${rep.seed}`);
    // The files reproduce it: the binary, the assembly and the memory image give the same failure.
    const hw = JSON.parse(readFileSync(join(rep.dir, 'hw.json'), 'utf8')) as GenConfig;
    const words = new Uint8Array(readFileSync(join(rep.dir, 'program.bin')));
    const memory = MemoryImage.parse(new Uint8Array(readFileSync(join(rep.dir, 'memory.bin'))));
    const instrs = decodeProgram(words);
    const modes = machineOf(hw).modes;
    expect(parseAsm(readFileSync(join(rep.dir, 'program.s'), 'utf8'), { modes })).toEqual(instrs);
    expect(instrs.some((i) => i.op === 'SFU' && i.fn === 'silu')).toBe(true);
    expect(instrs[instrs.length - 1]).toMatchObject({ op: 'SYS', fn: 'end' });
    expect(programProblem(hw, instrs, memory)).toBeUndefined();
    const ref = await new GoldenRunner().run(hw, { words }, memory);
    const eng = await brokenSilu.run(hw, { words }, memory);
    expect(compareRuns(ref, eng, { hw, instrs })).toMatchObject({ kind: 'memory' });
    expect(log.some((l) => l.startsWith('reproducer:'))).toBe(true);
  });

  it('error-path disagreements are caught too (an engine that reports range errors as align errors)', async () => {
    const golden = new GoldenRunner();
    const wrongClass: ProgramRunner = {
      name: 'wrong-class',
      async run(hw, program, memory) {
        const r = await golden.run(hw, program, memory);
        return r.errClass === 'range' ? { ...r, errClass: 'align' } : r;
      },
    };
    const s = await fuzzMain({ count: 40, seed: 7, engine: wrongClass, reference: golden, out: out(), failing: 1 });
    expect(s.failures.length).toBeGreaterThan(0);
    for (const f of s.failures) expect(f.mismatch).toMatchObject({ kind: 'errClass', expected: 'range', actual: 'align' });
    expect(s.failures.length + s.passed).toBe(40);
    expect(existsSync(s.failures[0]!.dir!)).toBe(true);
  });
});

describe('minimize', () => {
  it('keeps SYS end, balanced tokens and validity; shrinks LOOP counts and transfer nests', async () => {
    const hw = FUZZ_HW;
    // Find a program with a LOOP whose body holds an LD with a loop nest.
    let prog = randomProgram(hw, 1);
    for (let seed = 2; !prog.instrs.some((i) => i.op === 'LOOP' && (i.count as number) > 1); seed++) prog = randomProgram(hw, seed);
    const hasLoop = async (c: Instr[]) => c.some((i) => i.op === 'LOOP' && i.count !== 0);
    const r = await minimize(prog.instrs, { hw, memory: prog.memory, predicate: hasLoop });
    const loops = r.instrs.filter((i) => i.op === 'LOOP') as InstrOf<'LOOP'>[];
    expect(loops.length).toBe(1);
    expect(loops[0]!.count).toBe(1);
    expect(r.instrs.length).toBeLessThanOrEqual(5);
    expect(r.instrs[r.instrs.length - 1]).toMatchObject({ op: 'SYS', fn: 'end' });
    expect(walk(r.instrs).error).toBeUndefined();
    expect(programProblem(hw, r.instrs, prog.memory)).toBeUndefined();
    // Transfer nests go down to one row when the failure does not need more.
    const hasLd = async (c: Instr[]) => c.some((i) => i.op === 'LD' && i.buf === 'kv');
    const r2 = await minimize(prog.instrs, { hw, memory: prog.memory, predicate: hasLd });
    expect(r2.instrs.map((i) => i.op)).toEqual(['LD', 'SYS']);
    expect(r2.instrs[0]).toMatchObject({ buf: 'kv', count0: 1, count1: 1, count2: 1 });
  });
});
