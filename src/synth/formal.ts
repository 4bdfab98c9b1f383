/**
 * Formal checks with Yosys `sat`: a signal that must never be high (bounded from reset, or by
 * temporal induction), and the equivalence of two modules with the same ports (a miter).
 */
import { yosys } from './yosys.ts';

export interface ProofOptions {
  /** Bounded model check over this many cycles from the all-zero (post-reset) state... */
  readonly steps: number;
  /** ...or temporal induction (unbounded), trying induction lengths up to `steps`. */
  readonly induction?: boolean;
}

export interface ProofResult {
  /** The property holds (for `steps` cycles, or for ever with induction). */
  readonly proved: boolean;
  /** Yosys found a concrete trace that violates it (reachable from reset). */
  readonly counterexample: boolean;
  readonly seconds: number;
  /** The sat pass's verdict lines. */
  readonly summary: string;
  readonly log: string;
}

// Shrinks both sides the same way (a DSP model's 27x18 multiplier of sign-extended 8-bit
// operands becomes 8x8 once wreduce sees the duplicated register bits) and lets opt_merge share
// identical logic, so the solver only has to reason about what really differs.
const PREPARE = 'opt -full; wreduce; opt -full; wreduce; opt -full';

function verdict(log: string, t0: number): ProofResult {
  const lines = log.split('\n').filter((l) => /SUCCESS!|FAIL!|proof failed|Reached maximum/i.test(l));
  const proved = lines.some((l) => /SUCCESS!/.test(l)) && !lines.some((l) => /FAIL!|proof failed/i.test(l));
  return { proved, counterexample: lines.some((l) => /model found.*FAIL!/.test(l)), seconds: (performance.now() - t0) / 1000, summary: lines.join('\n'), log };
}

function satCommand(top: string, signal: string, o: ProofOptions): string {
  const mode = o.induction ? `-tempinduct -maxsteps ${o.steps}` : `-seq ${o.steps}`;
  return `sat ${mode} -set-init-zero -prove ${signal} 0 -show-inputs -show-outputs ${top}`;
}

/** Proves that the 1-bit output `signal` of `top` stays 0 (all registers start at zero). */
export async function proveNever(files: ReadonlyMap<string, string>, top: string, signal: string, o: ProofOptions): Promise<ProofResult> {
  const reads = [...files.keys()].filter((n) => n.endsWith('.v')).map((n) => `read_verilog ${n}`).join('; ');
  const t0 = performance.now();
  const { log } = await yosys(`${reads}; hierarchy -check -top ${top}; proc; flatten; ${PREPARE}; ${satCommand(top, signal, o)}`, files);
  return verdict(log, t0);
}

/**
 * Proves that modules `gold` and `gate` (same port names and widths) have equal outputs every
 * cycle when both start from all-zero registers and see the same inputs.
 */
export async function proveEquivalent(files: ReadonlyMap<string, string>, gold: string, gate: string, o: ProofOptions): Promise<ProofResult> {
  const reads = [...files.keys()].filter((n) => n.endsWith('.v')).map((n) => `read_verilog ${n}`).join('; ');
  const t0 = performance.now();
  const { log } = await yosys(
    `${reads}; hierarchy -check; proc; opt_clean; miter -equiv -flatten -make_outputs ${gold} ${gate} equiv_miter; hierarchy -top equiv_miter; ${PREPARE}; ${satCommand('equiv_miter', 'trigger', o)}`,
    files,
  );
  return verdict(log, t0);
}
