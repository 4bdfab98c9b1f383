import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { VerilatorSim } from '../../src/sim/verilator.ts';
import { sparseChainVectors } from '../../src/arch/chain/sparse-vectors.ts';
import { SparseChainModel } from '../../src/arch/chain/sparse-model.ts';
import { parsePattern } from '../../src/sparsity/pattern.ts';
import type { SparseChainParams } from '../../src/arch/chain/sparse-chain.ts';
import type { DspBackend } from '../../src/arch/mac/mac-slice.ts';

// The DSP58 backend has its own simulation tests (test/arch/dsp58-sim.test.ts).
const BACKENDS: readonly DspBackend[] = ['behavioral', 'xilinx-dsp48e2'];

const ALL = 'dense,2:4,1:4,2:8,4:8,2:16,4:16,8:16'.split(',').map(parsePattern).filter((p) => p !== 'dense');

async function check(config: Partial<GenConfig>, opts: { rows: number; seed: number; weights: 'int8' | 'int4' }, model?: (p: SparseChainParams) => SparseChainModel) {
  const c = { ...DEFAULT_CONFIG, top: 'sparse-chain' as const, ...config };
  const g = generate(c);
  const params: SparseChainParams = { length: c.chainLength, groupSize: c.groupSize, patterns: c.sparsity, aWidth: c.actWidth, bWidth: c.weightWidth, backend: c.dspBackend };
  const v = sparseChainVectors(params, opts, model?.(params));
  const sim = await VerilatorSim.build(g.top, g.files);
  const out = await sim.run(v.inputs);
  let cycleMismatch: string | undefined;
  for (let t = 0; t < out.length && !cycleMismatch; t++) {
    if (out[t]!.res !== v.model[t]!.res || out[t]!.res_valid !== v.model[t]!.res_valid) cycleMismatch = `cycle ${t}: rtl valid=${out[t]!.res_valid} model valid=${v.model[t]!.res_valid}`;
  }
  // Independent of the model: what each reduction node emitted, in order, against the dot products.
  const groups = c.chainLength / c.groupSize;
  const emitted: bigint[][] = Array.from({ length: groups }, () => []);
  for (const o of out) for (let k = 0; k < groups; k++) if ((o.res_valid! >> BigInt(k)) & 1n) emitted[k]!.push((o.res! >> BigInt(48 * k)) & ((1n << 48n) - 1n));
  return { cycleMismatch, emitted, expected: v.expected, rowsPerMode: v.rowsPerMode, cycles: out.length };
}

describe('sparse DSP chain on Verilator', () => {
  for (const dspBackend of BACKENDS) {
    for (const weights of ['int8', 'int4'] as const) {
      it(`${dspBackend} backend, L=16, G=2, modes dense,2:4,1:4,2:8,4:8,2:16,4:16,8:16, ${weights} weights: 2500 rows with random mode switches agree with the model cycle by cycle and with the dot products`, async () => {
        const r = await check({ chainLength: 16, sparsity: ALL, dspBackend }, { rows: 2500, seed: weights === 'int8' ? 1 : 2, weights });
        expect(r.cycleMismatch).toBeUndefined();
        expect(r.emitted).toEqual(r.expected);
        expect(r.rowsPerMode.every((n) => n > 200)).toBe(true); // every mode really ran
      });
    }
  }

  it('L=8, G=2, int16 activations, modes dense,2:4,1:4,2:8: agree', async () => {
    const r = await check({ chainLength: 8, actWidth: 16, sparsity: [{ n: 2, m: 4 }, { n: 1, m: 4 }, { n: 2, m: 8 }] }, { rows: 1500, seed: 3, weights: 'int8' });
    expect(r.cycleMismatch).toBeUndefined();
    expect(r.emitted).toEqual(r.expected);
  });

  it('G=4 groups and a dense-only chain: agree', async () => {
    const a = await check({ chainLength: 16, groupSize: 4, sparsity: [{ n: 4, m: 16 }, { n: 1, m: 4 }] }, { rows: 800, seed: 4, weights: 'int4' });
    expect(a.cycleMismatch).toBeUndefined();
    expect(a.emitted).toEqual(a.expected);
    const b = await check({ chainLength: 8, sparsity: [] }, { rows: 500, seed: 5, weights: 'int8' });
    expect(b.cycleMismatch).toBeUndefined();
    expect(b.emitted).toEqual(b.expected);
  });

  it('a model with a wrong sparse mux is caught by the cycle comparison', async () => {
    class WrongMux extends SparseChainModel {
      override selectActivation(j: number, mode: number, index: number, act: readonly number[]): number {
        return super.selectActivation(j, mode, mode === 2 ? (index + 1) % 4 : index, act);
      }
    }
    const r = await check({ chainLength: 16, sparsity: ALL }, { rows: 200, seed: 6, weights: 'int8' }, (p) => new WrongMux(p));
    expect(r.cycleMismatch).toBeDefined();
  });
});
