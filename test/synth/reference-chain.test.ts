/**
 * The generated sparse chain against an independently written reference
 * (rtl-templates/ref-sparse-chain.v.hbs, from docs/mpe.md), proved equal with Yosys sat over
 * every input sequence of 8 cycles from reset that follows the chain's protocol (stalls,
 * resets, mode changes between rows included). 8 cycles let a row of two windows reach the
 * last reduction node; the solver's time grows steeply beyond (dense, 2-bit operands: 8 s at
 * 8 cycles, 15 s at 9, 2 min at 10), so the operands are 2 bits wide: the proof is about
 * lanes, indexes, segments, accumulation and timing; the multiplier's arithmetic at full width
 * is covered by the Verilator tests and the backend equivalence proofs.
 */
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { proveNever } from '../../src/synth/formal.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { refHarness, refSparseChain, type RefChainParams } from './ref-sparse-chain.ts';

const STEPS = 8;

function setup(patterns: RefChainParams['patterns'], dspBackend: 'behavioral' | 'xilinx-dsp48e2' = 'behavioral') {
  const rp: RefChainParams = { name: 'ref_sparse_chain', length: 4, groupSize: 2, aWidth: 2, bWidth: 2, patterns };
  const g = generate({ ...DEFAULT_CONFIG, top: 'sparse-chain', chainLength: rp.length, groupSize: rp.groupSize, actWidth: rp.aWidth, weightWidth: rp.bWidth, sparsity: patterns, dspBackend });
  const files = new Map(g.files);
  files.set('ref_sparse_chain.v', refSparseChain(rp));
  files.set('ref_check.v', refHarness(rp, g.top.name, 'ref_sparse_chain'));
  return { files, chain: g.top.name };
}

describe('generated sparse chain = hand-written reference (Yosys sat, bounded)', () => {
  it('the reference and the harness are lint-clean Verilog', async () => {
    const { files } = setup([{ n: 2, m: 4 }]);
    expect((await verilatorLint(new Map([['ref_sparse_chain.v', files.get('ref_sparse_chain.v')!]]), 'ref_sparse_chain')).messages).toEqual([]);
    expect((await verilatorLint(files, 'ref_check')).messages).toEqual([]);
  });

  it(`L=4, G=2, dense only: equal for ${STEPS} cycles`, async () => {
    const { files } = setup([]);
    const r = await proveNever(files, 'ref_check', 'trigger', { steps: STEPS });
    expect(r.summary).toContain('SUCCESS!');
    expect(r.proved).toBe(true);
  });

  it(`L=4, G=2, modes dense and 2:4: equal for ${STEPS} cycles`, async () => {
    const { files } = setup([{ n: 2, m: 4 }]);
    const r = await proveNever(files, 'ref_check', 'trigger', { steps: STEPS });
    expect(r.proved, r.summary).toBe(true);
  });

  it('rejects a chain whose last slice takes `first` one cycle early (accumulation timing)', async () => {
    const { files, chain } = setup([{ n: 2, m: 4 }]);
    const text = files.get(`${chain}.v`)!;
    const mutated = text.replace('(~first_d5)', '(~first_d4)');
    expect(mutated).not.toBe(text);
    files.set(`${chain}.v`, mutated);
    const r = await proveNever(files, 'ref_check', 'trigger', { steps: STEPS });
    expect(r.proved).toBe(false);
    expect(r.counterexample, r.summary).toBe(true);
  });

  it('rejects a reference that reads the N:M index backwards in 2:4 mode', async () => {
    const { files } = setup([{ n: 2, m: 4 }]);
    const text = files.get('ref_sparse_chain.v')!;
    const mutated = text.replace("{ 30'd0, idx[j*IW +: 2]}", "{ 30'd0, ~idx[j*IW +: 2]}");
    expect(mutated).not.toBe(text);
    files.set('ref_sparse_chain.v', mutated);
    const r = await proveNever(files, 'ref_check', 'trigger', { steps: STEPS });
    expect(r.proved).toBe(false);
    expect(r.counterexample, r.summary).toBe(true);
  });
});
