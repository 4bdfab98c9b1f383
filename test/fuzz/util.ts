/** Shared checks of the fuzz tests. */
import { expect } from 'vitest';
import type { GenConfig } from '../../src/arch/config.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import type { Instr } from '../../src/isa/instr.ts';
import { checkInstr, machineOf, walk } from '../../src/fuzz/analysis.ts';
import { randomProgram } from '../../src/fuzz/generate.ts';
import { programProblem } from '../../src/fuzz/runner.ts';

/**
 * Generates seed `seed` for `hw` and checks everything a valid program must satisfy: the walk
 * reaches SYS end with every token consumed, no races, no reads of unwritten elements, a clean
 * golden run (access rights included), canonical encoding, and every executed instruction
 * accepted by the engines' checks. Returns the first problem (undefined when valid).
 */
export function validProgramProblem(hw: GenConfig, seed: number): { problem?: string; instrs: Instr[] } {
  const p = randomProgram(hw, seed);
  const problem = programProblem(hw, p.instrs, p.memory);
  if (problem) return { problem: `seed ${seed}: ${problem}`, instrs: p.instrs };
  // The binary decodes back to exactly these instructions (canonical dyn offsets and masks).
  expect(decodeProgram(p.words)).toEqual(p.instrs);
  const w = walk(p.instrs);
  expect(w.error).toBeUndefined();
  expect(w.end).toBe(p.instrs.length);
  const m = machineOf(hw);
  for (const s of w.steps) {
    expect(checkInstr(hw, s.ins)).toBeUndefined();
    if (s.ins.op === 'SFU') expect([s.ins.itype, s.ins.otype]).not.toContain('fp16');
    if (s.ins.op === 'MM' || s.ins.op === 'MV') {
      expect(s.ins.asrc).toBe('act');
      expect(s.ins.pattern).toBeLessThan(m.modes.length);
    }
  }
  return { instrs: p.instrs };
}
