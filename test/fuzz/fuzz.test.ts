import { describe, expect, it } from 'vitest';
import type { GenConfig } from '../../src/arch/config.ts';
import { encodeProgram as encode } from '../../src/isa/encode.ts';
import type { Instr } from '../../src/isa/instr.ts';
import { END, SYNC } from '../../src/fuzz/analysis.ts';
import { expectedFeatures, failureKinds, features, randomFailingProgram, randomProgram } from '../../src/fuzz/generate.ts';
import { FUZZ_HW, randomHw } from '../../src/fuzz/hw.ts';
import { compareRuns, copyMemory, GoldenRunner, type RunResult } from '../../src/fuzz/runner.ts';
import { validProgramProblem } from './util.ts';

const golden = new GoldenRunner();

describe('random valid programs', () => {
  it('300 seeds on the tiny preset: valid, schedule-independent, golden-clean, and every feature exercised', () => {
    const seen = new Map<string, number>();
    let instructions = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { problem, instrs } = validProgramProblem(FUZZ_HW, seed);
      expect(problem).toBeUndefined();
      instructions += instrs.length;
      for (const f of features(FUZZ_HW, instrs)) seen.set(f, (seen.get(f) ?? 0) + 1);
    }
    const missing = expectedFeatures(FUZZ_HW).filter((f) => !seen.has(f));
    expect(missing).toEqual([]);
    expect(instructions / 300).toBeGreaterThan(40);
  });
});

describe('failing programs', () => {
  const configs: GenConfig[] = [FUZZ_HW, randomHw(11), randomHw(12), randomHw(13)];
  it('every failure kind stops the golden runner with the expected error class at the expected instruction', () => {
    let n = 0;
    configs.forEach((hw, c) => {
      for (const kind of failureKinds(hw)) {
        const seed = 500 + 37 * c + n;
        const p = randomFailingProgram(hw, seed, { kind });
        const r = golden.runSync(hw, { words: p.words }, p.memory);
        expect({ kind, status: r.status, errClass: r.errClass, errPc: r.errPc }).toEqual({ kind, status: 'error', errClass: p.expected.errClass, errPc: p.expected.wordAddr });
        n++;
      }
    });
    expect(n).toBeGreaterThan(120);
    // The kinds cover every error code the engines and the dispatcher report (watchdog aside).
    const classes = new Set(failureKinds(FUZZ_HW).map((k) => randomFailingProgram(FUZZ_HW, 1, { kind: k }).expected.errClass));
    expect([...classes].sort()).toEqual(['access', 'align', 'deadlock', 'endInLoop', 'enumValue', 'format', 'loopBody', 'loopDepth', 'opcode', 'pattern', 'range', 'reserved', 'tokens']);
  });

  it('random failure kinds on random seeds', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const hw = seed % 3 ? FUZZ_HW : randomHw(seed);
      const p = randomFailingProgram(hw, seed);
      const r = golden.runSync(hw, { words: p.words }, p.memory);
      expect([p.expected.kind, r.errClass, r.errPc]).toEqual([p.expected.kind, p.expected.errClass, p.expected.wordAddr]);
    }
  });
});

describe('runs and their comparison', () => {
  it('golden runs agree with themselves; a flipped byte is traced to the ST row that wrote it', async () => {
    const p = randomProgram(FUZZ_HW, 42);
    const a = await golden.run(FUZZ_HW, { words: p.words }, p.memory);
    const b = await golden.run(FUZZ_HW, { words: p.words }, p.memory);
    expect(a.status).toBe('done');
    expect(compareRuns(a, b, { hw: FUZZ_HW, instrs: p.instrs })).toBeUndefined();
    // The input image is left alone.
    expect(compareRuns({ status: 'done', memory: p.memory }, { status: 'done', memory: randomProgram(FUZZ_HW, 42).memory }, { hw: FUZZ_HW })).toBeUndefined();
    // Flip the 6th byte of the last ST's first row (a dump region written by no other ST).
    const last = p.instrs.map((i) => i.op).lastIndexOf('ST');
    const st = p.instrs[last]!;
    if (st.op !== 'ST') throw new Error('no ST');
    const addr = (st.addr as number) + 5;
    const bad: RunResult = { ...b, memory: copyMemory(b.memory) };
    bad.memory.space(st.space)[addr] ^= 0x10;
    const mm = compareRuns(a, bad, { hw: FUZZ_HW, instrs: p.instrs, names: ['golden', 'rtl'] });
    expect(mm).toMatchObject({ kind: 'memory', space: st.space, addr, bytes: 1 });
    expect(mm!.writer).toMatchObject({ index: last, row: [0, 0, 0], buf: st.buf, element: (st.sram as number) + Math.floor(40 / { int4: 4, int8: 8, int16: 16, int32: 32 }[st.dtype]) });
    expect(mm!.text).toMatch(new RegExp(`written by instruction ${last}, row \\[0,0,0\\].*: ST buf=${st.buf}`));
    // Status and error-class differences come first.
    expect(compareRuns(a, { status: 'error', memory: a.memory, errClass: 'range', errPc: 12 }, { hw: FUZZ_HW })).toMatchObject({ kind: 'status' });
    expect(compareRuns({ status: 'error', memory: a.memory, errClass: 'range', errPc: 12 }, { status: 'error', memory: a.memory, errClass: 'align', errPc: 12 }, { hw: FUZZ_HW })).toMatchObject({ kind: 'errClass' });
    expect(compareRuns({ status: 'error', memory: a.memory, errClass: 'range', errPc: 12 }, { status: 'error', memory: a.memory, errClass: 'range', errPc: 20 }, { hw: FUZZ_HW })).toMatchObject({ kind: 'errPc' });
  });

  it('the golden runner refuses buffer accesses accelGeometry does not allow (GoldenMachine alone does not)', () => {
    const hw = FUZZ_HW;
    const p = randomProgram(hw, 5);
    const instrs: Instr[] = [{ op: 'SFU', wait: [], release: [], fn: 'copy', causal: false, itype: 'int32', otype: 'int32', shift: 0, imm: 0, len: 1, rows: 1, pos: 0, abuf: 'global', bbuf: 'act', dbuf: 'acc', ewr: 0, erd: 0, a: 0, b: 0, d: 0, dpitch: 0 }, SYNC, END];
    const r = golden.runSync(hw, { words: new Uint8Array(0) }, p.memory);
    expect(r.status).toBe('error'); // an empty program runs off the end (fetches zeros)
    expect(r.errClass).toBe('opcode');
    const res = golden.runSync(hw, { words: encode(instrs) }, p.memory);
    expect([res.status, res.errClass, res.errPc]).toEqual(['error', 'access', 0]);
  });
});
