/**
 * The differential fuzzing loop: random programs run on an engine (e.g. the RTL simulation) and a
 * reference (the golden model); the first mismatch is minimized into a reproducer folder. A CLI
 * command (`flightgen fuzz`) only has to build the runners and call fuzzMain.
 */
import { join } from 'node:path';
import type { GenConfig } from '../arch/config.ts';
import type { Instr } from '../isa/instr.ts';
import { encodeProgram } from '../isa/encode.ts';
import { programProblem, compareRuns, runSafely, type Mismatch, type ProgramRunner } from './runner.ts';
import { randomFailingProgram, randomProgram, type FuzzProgram, type GenerateOptions } from './generate.ts';
import { FUZZ_HW } from './hw.ts';
import { minimize, writeReproducer } from './minimize.ts';

export interface FuzzMainOptions {
  /** Programs to run; seeds seed, seed + 1, ... */
  readonly count: number;
  readonly seed: number;
  /** The runner under test and the one it must agree with (normally GoldenRunner). */
  readonly engine: ProgramRunner;
  readonly reference: ProgramRunner;
  /** Folder for reproducers (one subfolder per written failure). */
  readonly out: string;
  readonly progress?: (msg: string) => void;
  /** Hardware per seed (default FUZZ_HW, the `tiny` preset as the accelerator top). */
  readonly hw?: GenConfig | ((seed: number) => GenConfig);
  /** Fraction of programs with one bad instruction, for error-path agreement (default 0.1). */
  readonly failing?: number;
  /** Minimize the first valid-program failure (default true). */
  readonly minimize?: boolean;
  /** Predicate calls of the minimizer at most (default 1500). */
  readonly maxMinimizeTests?: number;
  /** Stop after this many failures (default: run all `count`). */
  readonly stopAfter?: number;
  readonly generate?: GenerateOptions;
}

export interface FuzzFailure {
  readonly seed: number;
  readonly mode: 'valid' | 'failing';
  /** Where the failure was seen: engine vs reference, or the reference disagreeing with the generator. */
  readonly kind: 'mismatch' | 'reference' | 'generator';
  readonly text: string;
  readonly mismatch?: Mismatch;
  /** Reproducer folder, when one was written. */
  readonly dir?: string;
}

export interface FuzzSummary {
  readonly runs: number;
  readonly passed: number;
  readonly failures: FuzzFailure[];
  /** The minimized first failure. */
  readonly reproducer?: { seed: number; dir: string; originalLength: number; minimizedLength: number; tests: number; mismatch: string };
  readonly instructions: number;
  readonly elapsedMs: number;
  /** One paragraph for the CLI. */
  readonly text: string;
}

/** Deterministic mode choice per seed (so a seed always names the same program). */
function isFailingSeed(seed: number, fraction: number): boolean {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32 < fraction;
}

/** Generates, runs both runners, compares; minimizes and writes the first failure. */
export async function fuzzMain(opts: FuzzMainOptions): Promise<FuzzSummary> {
  const t0 = Date.now();
  const failures: FuzzFailure[] = [];
  const say = opts.progress ?? (() => {});
  let passed = 0;
  let runs = 0;
  let instructions = 0;
  let reproducer: FuzzSummary['reproducer'];
  const hwOf = (s: number): GenConfig => (typeof opts.hw === 'function' ? opts.hw(s) : (opts.hw ?? FUZZ_HW));
  const names: [string, string] = [opts.reference.name, opts.engine.name];
  for (let i = 0; i < opts.count; i++) {
    if (opts.stopAfter !== undefined && failures.length >= opts.stopAfter) break;
    const seed = opts.seed + i;
    const mode = isFailingSeed(seed, opts.failing ?? 0.1) ? 'failing' : 'valid';
    runs++;
    let prog: FuzzProgram;
    let hw: GenConfig;
    try {
      hw = hwOf(seed);
      prog = mode === 'valid' ? randomProgram(hw, seed, opts.generate) : randomFailingProgram(hw, seed, opts.generate);
    } catch (e) {
      failures.push({ seed, mode, kind: 'generator', text: `generator failed: ${(e as Error).message}` });
      say(`seed ${seed}: generator failed: ${(e as Error).message}`);
      continue;
    }
    instructions += prog.instrs.length;
    const ref = await runSafely(opts.reference, hw, prog.words, prog.memory);
    const refOk = mode === 'valid' ? ref.status === 'done' : ref.status === 'error' && ref.errClass === prog.expected!.errClass;
    if (!refOk) {
      const text = `${opts.reference.name} disagrees with the generator: ${mode === 'valid' ? 'expected done' : `expected ${prog.expected!.errClass} (${prog.expected!.kind})`}, got ${ref.status}${ref.errClass ? ` ${ref.errClass}` : ''} ${ref.message ?? ''}`;
      const dir = writeReproducer(join(opts.out, `seed-${seed}-reference`), { hw, instrs: prog.instrs, words: prog.words, memory: prog.memory, seed, mismatch: text, expected: ref });
      failures.push({ seed, mode, kind: 'reference', text, dir });
      say(`seed ${seed}: ${text}`);
      continue;
    }
    const eng = await runSafely(opts.engine, hw, prog.words, prog.memory);
    const mm = compareRuns(ref, eng, { hw, instrs: prog.instrs, names });
    if (!mm) {
      passed++;
      if ((i + 1) % 50 === 0) say(`${i + 1}/${opts.count} programs, ${failures.length} failure(s)`);
      continue;
    }
    say(`seed ${seed} (${mode}): ${mm.text}`);
    const failure: FuzzFailure = { seed, mode, kind: 'mismatch', text: mm.text, mismatch: mm };
    failures.push(failure);
    const first = failures.filter((f) => f.kind === 'mismatch').length === 1;
    if (!first) continue;
    let instrs: Instr[] = prog.instrs;
    let tests = 0;
    let mismatch = mm;
    if (mode === 'valid' && (opts.minimize ?? true)) {
      say(`minimizing seed ${seed} (${prog.instrs.length} instructions)`);
      const stillFails = async (c: Instr[]) => {
        const words = encodeProgram(c);
        const r = await runSafely(opts.reference, hw, words, prog.memory);
        if (r.status !== 'done') return false;
        const e = await runSafely(opts.engine, hw, words, prog.memory);
        return compareRuns(r, e, { hw, names }) !== undefined;
      };
      const res = await minimize(prog.instrs, {
        hw,
        memory: prog.memory,
        predicate: stillFails,
        // The predicate runs the reference anyway, and normalize orders every conflict by
        // construction: validity is the dispatch walk and the definedness of every read.
        valid: (c, limits) => programProblem(hw, c, prog.memory, { ...limits, golden: false, races: false }) === undefined,
        maxTests: opts.maxMinimizeTests ?? 1500,
        progress: say,
      });
      instrs = res.instrs;
      tests = res.tests;
      const problem = programProblem(hw, instrs, prog.memory);
      if (problem) say(`warning: the minimized program of seed ${seed} is not valid: ${problem}`);
      const words = encodeProgram(instrs);
      const r = await runSafely(opts.reference, hw, words, prog.memory);
      const e = await runSafely(opts.engine, hw, words, prog.memory);
      mismatch = compareRuns(r, e, { hw, instrs, names }) ?? mm;
    }
    const words = instrs === prog.instrs ? prog.words : encodeProgram(instrs);
    const expected = await runSafely(opts.reference, hw, words, prog.memory);
    const dir = writeReproducer(join(opts.out, `seed-${seed}`), {
      hw, instrs, words, memory: prog.memory, seed, mismatch: mismatch.text, originalLength: prog.instrs.length, expected,
      notes: `Generated by randomProgram${mode === 'failing' ? `/randomFailingProgram (expected ${prog.expected!.errClass}: ${prog.expected!.kind})` : ''}; engine ${opts.engine.name}, reference ${opts.reference.name}.\nOriginal mismatch: ${mm.text}`,
    });
    failures[failures.length - 1] = { ...failure, dir };
    reproducer = { seed, dir, originalLength: prog.instrs.length, minimizedLength: instrs.length, tests, mismatch: mismatch.text };
    say(`reproducer: ${dir} (${instrs.length} instructions, from ${prog.instrs.length})`);
  }
  const elapsedMs = Date.now() - t0;
  const text = `${runs} programs (${instructions} instructions) in ${(elapsedMs / 1000).toFixed(1)} s: ${passed} agree, ${failures.length} fail${reproducer ? `; first failure (seed ${reproducer.seed}) minimized to ${reproducer.minimizedLength} instructions in ${reproducer.dir}` : ''}`;
  return { runs, passed, failures, reproducer, instructions, elapsedMs, text };
}
