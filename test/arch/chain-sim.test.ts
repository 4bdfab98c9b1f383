import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { VerilatorSim } from '../../src/sim/verilator.ts';
import { denseChainVectors, firstMismatch, macSliceVectors } from '../../src/arch/chain/vectors.ts';
import { DenseChainModel } from '../../src/arch/chain/model.ts';
import { type DspBackend } from '../../src/arch/mac/mac-slice.ts';

// The DSP58 backend has its own simulation tests (test/arch/dsp58-sim.test.ts): keeping it out
// of this matrix saves six Verilator builds.
const BACKENDS: readonly DspBackend[] = ['behavioral', 'xilinx-dsp48e2'];

async function simOf(top: 'mac' | 'chain', chainLength = 4, actWidth = 8, weightWidth = 8, dspBackend: DspBackend = 'behavioral') {
  const g = generate({ ...DEFAULT_CONFIG, top, chainLength, actWidth, weightWidth, dspBackend });
  return VerilatorSim.build(g.top, g.files);
}

// Both backends against the same TypeScript model: the DSP48E2 backend runs on flightgen's own
// DSP48E2 subset model (rtl-templates/dsp48e2-sim.v.hbs).
describe.each(BACKENDS)('MAC slice on Verilator vs its TypeScript model (%s backend)', (backend) => {
  for (const [aw, bw] of [
    [8, 8],
    [16, 8],
    [27, 18],
  ] as const) {
    it(`a${aw} x b${bw}: 5000 random cycles with stalls, resets and extreme values agree cycle by cycle`, async () => {
      const sim = await simOf('mac', 1, aw, bw, backend);
      const { inputs, expected } = macSliceVectors({ aWidth: aw, bWidth: bw }, { cycles: 5000, seed: aw * 100 + bw, extremeBurstEvery: 4 });
      const out = await sim.run(inputs);
      expect(firstMismatch(expected, out.map((o) => o.p!))).toBeUndefined();
      expect(out.map((o) => BigInt.asUintN(48, o.pcout))).toEqual(out.map((o) => o.p));
      expect(new Set(expected).size).toBeGreaterThan(1000); // the test really exercises values
    });
  }
});

describe.each(BACKENDS)('dense chain on Verilator vs its TypeScript model (%s backend)', (backend) => {
  for (const L of [4, 16]) {
    it(`L=${L}: 6000 random cycles agree cycle by cycle`, async () => {
      const sim = await simOf('chain', L, 8, 8, backend);
      const { inputs, expected } = denseChainVectors({ length: L, aWidth: 8, bWidth: 8 }, { cycles: 6000, seed: L, extremeBurstEvery: 5 });
      const out = await sim.run(inputs);
      expect(firstMismatch(expected, out.map((o) => o.p!))).toBeUndefined();
    });
  }

  it('L=16 int8 x int16: agrees, and the chain output equals the dot product L+2 cycles later', async () => {
    const p = { length: 16, aWidth: 16, bWidth: 8 };
    const sim = await simOf('chain', 16, 16, 8, backend);
    const { inputs, expected } = denseChainVectors(p, { cycles: 3000, seed: 7, stallRate: 0, resetRate: 0 });
    const out = await sim.run(inputs);
    expect(firstMismatch(expected, out.map((o) => o.p!))).toBeUndefined();
    // Independent of the model: unpack the operands and compute the dot product directly.
    const field = (bus: bigint, i: number, w: number) => {
      const v = (bus >> BigInt(i * w)) & ((1n << BigInt(w)) - 1n);
      return v >= 1n << BigInt(w - 1) ? v - (1n << BigInt(w)) : v;
    };
    for (let t = 2; t < 200; t++) {
      let dot = 0n;
      for (let i = 0; i < 16; i++) dot += field(inputs[t]!.a as bigint, i, 16) * field(inputs[t]!.b as bigint, i, 8);
      expect(BigInt.asIntN(48, out[t + 18]!.p!)).toBe(dot);
    }
  });
});

describe('the simulation check catches broken hardware and broken models', () => {
  it('an RTL mutation (cascade add turned into subtract) is detected', async () => {
    const g = generate({ ...DEFAULT_CONFIG, top: 'chain', chainLength: 4 });
    const files = new Map(g.files);
    const mac = [...files.keys()].find((n) => n.startsWith('mac_slice'))!;
    const text = files.get(mac)!;
    const mutated = text.replace(/(p_reg <= .*?) \+ /, '$1 - ');
    expect(mutated).not.toBe(text);
    files.set(mac, mutated);
    const sim = await VerilatorSim.build(g.top, files);
    const { inputs, expected } = denseChainVectors({ length: 4, aWidth: 8, bWidth: 8 }, { cycles: 500, seed: 1 });
    const out = await sim.run(inputs);
    expect(firstMismatch(expected, out.map((o) => o.p!))).toBeDefined();
  });

  it('a model mutation (one skew stage too few) is detected', async () => {
    class OffByOne extends DenseChainModel {
      override step(i: Parameters<DenseChainModel['step']>[0]): void {
        super.step({ ...i, a: i.a.map((v, k) => (k === 2 ? 0 : v)) });
      }
    }
    const p = { length: 4, aWidth: 8, bWidth: 8 };
    const sim = await simOf('chain', 4);
    const { inputs, expected } = denseChainVectors(p, { cycles: 500, seed: 3 }, new OffByOne(p));
    const out = await sim.run(inputs);
    expect(firstMismatch(expected, out.map((o) => o.p!))).toBeDefined();
  });
});
