import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { VerilatorSim } from '../../src/sim/verilator.ts';
import { sparseChainVectors } from '../../src/arch/chain/sparse-vectors.ts';
import { PackedChainModel } from '../../src/arch/chain/packed-model.ts';
import { parsePattern } from '../../src/sparsity/pattern.ts';
import type { SparseChainParams } from '../../src/arch/chain/sparse-chain.ts';

const ALL = 'dense,2:4,1:4,2:8,4:8,2:16,4:16,8:16'.split(',').map(parsePattern).filter((p) => p !== 'dense');

async function run(config: Partial<GenConfig>, rows: number, seed: number, weights: 'int8' | 'int4' = 'int8') {
  const c = { ...DEFAULT_CONFIG, top: 'sparse-chain' as const, pack: 2 as const, ...config };
  const g = generate(c);
  expect(g.manifest.macs).toBe(2 * g.manifest.dsps);
  const params: SparseChainParams = { length: c.chainLength, groupSize: c.groupSize, patterns: c.sparsity, aWidth: 8, bWidth: 8, backend: c.dspBackend };
  const v = sparseChainVectors(params, { rows, seed, weights, pack: true }, new PackedChainModel(params));
  const sim = await VerilatorSim.build(g.top, g.files);
  const out = await sim.run(v.inputs);
  let mismatch: string | undefined;
  for (let t = 0; t < out.length && !mismatch; t++) {
    const o = out[t]!;
    const e = v.model[t]!;
    if (o.res !== e.res || o.res2 !== e.res2 || o.res_valid !== e.res_valid) mismatch = `cycle ${t}`;
  }
  const groups = c.chainLength / c.groupSize;
  const emitted = [0, 1].map(() => Array.from({ length: groups }, () => [] as bigint[]));
  const field = (bus: bigint, k: number) => (bus >> BigInt(48 * k)) & ((1n << 48n) - 1n);
  for (const o of out) {
    for (let k = 0; k < groups; k++) {
      if ((o.res_valid! >> BigInt(k)) & 1n) {
        emitted[0]![k]!.push(field(o.res!, k));
        emitted[1]![k]!.push(field(o.res2!, k));
      }
    }
  }
  return { mismatch, emitted, expected: [v.expected, v.expected2] };
}

describe('packed sparse chain (--pack 2: two INT8 MACs per DSP) on Verilator', () => {
  it('L=16, G=2, every pattern, random mode switches and extreme rows: RTL = model cycle by cycle, and both tokens = their exact dot products', async () => {
    const r = await run({ chainLength: 16, sparsity: ALL }, 2000, 11);
    expect(r.mismatch).toBeUndefined();
    expect(r.emitted).toEqual(r.expected);
  });

  it('G=1 and G=4 groups, INT4-range weights: agree', async () => {
    for (const [groupSize, seed] of [[1, 12], [4, 13]] as const) {
      const r = await run({ chainLength: 16, groupSize, sparsity: [{ n: 2, m: 4 }, { n: 4, m: 16 }] }, 600, seed, 'int4');
      expect(r.mismatch).toBeUndefined();
      expect(r.emitted).toEqual(r.expected);
    }
  });

  it('refuses what packing cannot do exactly', () => {
    expect(() => generate({ ...DEFAULT_CONFIG, top: 'sparse-chain', pack: 2, actWidth: 16 })).toThrow(/INT8 activations/);
    expect(() => generate({ ...DEFAULT_CONFIG, top: 'chain', pack: 2 })).toThrow(/applies to --top mpe or sparse-chain/);
    expect(() => generate({ ...DEFAULT_CONFIG, top: 'sparse-chain', pack: 2, chainLength: 16, groupSize: 8, sparsity: [] })).toThrow(/at most 7/);
  });
});
