import { describe, expect, it } from 'vitest';
import { parseAsm, disassemble } from '../../src/isa/asm.ts';
import type { Instr } from '../../src/isa/instr.ts';
import { analyze, machineOf } from '../../src/fuzz/analysis.ts';
import { randomProgram } from '../../src/fuzz/generate.ts';
import { FUZZ_HW, randomHw } from '../../src/fuzz/hw.ts';
import { validProgramProblem } from './util.ts';

describe('random programs on random configurations', () => {
  it('100 seeds on random small configurations (2-4 chains of 8/16, random modes and widths) are valid', () => {
    for (let seed = 1000; seed < 1100; seed++) expect(validProgramProblem(randomHw(seed), seed).problem).toBeUndefined();
  });

  it('program.s round-trips through the assembler with the design mode table', () => {
    const hw = randomHw(7);
    const p = randomProgram(hw, 7);
    const modes = machineOf(hw).modes;
    expect(parseAsm(disassemble(p.instrs, { modes }), { modes })).toEqual(p.instrs);
  });

  it('the race checker sees missing tokens and missing syncs (negative control)', () => {
    let stripped = 0;
    let unsynced = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const p = randomProgram(FUZZ_HW, seed);
      const noTokens = p.instrs.map((i) => ({ ...i, wait: [], release: [] }) as Instr);
      if (analyze(FUZZ_HW, noTokens).race) stripped++;
      // Dropping the sync before the dumps lets the STs overtake the last computations.
      const lastSync = p.instrs.map((i) => i.op === 'SYS' && i.fn === 'sync').lastIndexOf(true);
      const noSync = p.instrs.filter((_, k) => k !== lastSync);
      if (analyze(FUZZ_HW, noSync).race) unsynced++;
    }
    expect(stripped).toBeGreaterThanOrEqual(18);
    expect(unsynced).toBeGreaterThanOrEqual(10);
    // And a program that is ordered only by program order is caught at the first conflict.
    const p = randomProgram(FUZZ_HW, 3);
    const race = analyze(FUZZ_HW, p.instrs.map((i) => ({ ...i, wait: [], release: [] }) as Instr)).race;
    expect(race).toBeDefined();
    expect(race!.a).toBeLessThan(race!.b);
  });
});
