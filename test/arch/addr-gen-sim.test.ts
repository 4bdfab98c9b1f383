import { describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { addrGen } from '../../src/arch/mmu/addr-gen.ts';
import { addressPairs, type AddrPattern } from '../../src/arch/mmu/model.ts';
import { VerilatorSim, type PortValue } from '../../src/sim/verilator.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { Rng } from '../../src/util/random.ts';

const P = { extWidth: 36, bufWidth: 14, countWidth: 10 };

describe('MMU address generator on Verilator', () => {
  it('300 random three-level patterns (zero counts, wrap-around, random backpressure) emit exactly the nested-loop address pairs', async () => {
    const d = new Design();
    const top = d.elaborate(addrGen, P);
    const files = emitDesign(d, top);
    expect((await verilatorLint(files, top.name)).messages).toEqual([]);
    const sim = await VerilatorSim.build(top, files);
    const rng = new Rng(5);
    const patterns: AddrPattern[] = [];
    const inputs: Record<string, PortValue>[] = [{ rst: 1 }];
    for (let k = 0; k < 300; k++) {
      const count = () => (rng.int(0, 19) === 0 ? 0 : rng.int(1, 6));
      const big = () => (rng.int(0, 3) === 0 ? rng.int(0, 2 ** 35) * 2 : rng.int(0, 4096)); // some wrap past 2^36
      const pat: AddrPattern = {
        extBase: big(),
        extStrides: [rng.int(0, 512), big(), big()],
        bufBase: rng.int(0, 2 ** 14 - 1),
        bufStrides: [rng.int(0, 64), rng.int(0, 2000), rng.int(0, 9000)],
        counts: [count(), count(), count()],
      };
      patterns.push(pat);
      inputs.push({ start: 1, ready: 0, ext_base: pat.extBase, buf_base: pat.bufBase, count0: pat.counts[0], count1: pat.counts[1], count2: pat.counts[2], ...Object.fromEntries(pat.extStrides.map((s, l) => [`ext_stride${l}`, s])), ...Object.fromEntries(pat.bufStrides.map((s, l) => [`buf_stride${l}`, s])) });
      const n = pat.counts.reduce((a, b) => a * b, 1);
      // Enough cycles for every pair with random stalls, then a few idle ones.
      for (let c = 0; c < 3 * n + 4; c++) inputs.push({ ready: rng.int(0, 3) > 0 ? 1 : 0 });
      for (let c = 0; c < n + 2; c++) inputs.push({ ready: 1 });
    }
    const out = await sim.run(inputs);
    const got: { ext: number; buf: number; last: boolean }[][] = [];
    let cur: { ext: number; buf: number; last: boolean }[] = [];
    let dones = 0;
    out.forEach((o, t) => {
      if (o.valid === 1n && inputs[t]!.ready === 1) cur.push({ ext: Number(o.ext_addr), buf: Number(o.buf_addr), last: o.last === 1n });
      if (o.done === 1n) {
        dones++;
        got.push(cur);
        cur = [];
      }
    });
    expect(dones).toBe(patterns.length);
    patterns.forEach((pat, k) => {
      const want = [...addressPairs(pat, P.extWidth, P.bufWidth)];
      expect(got[k]!.map(({ ext, buf }) => ({ ext, buf })), `pattern ${k}`).toEqual(want);
      expect(got[k]!.map((g) => g.last), `pattern ${k} last`).toEqual(want.map((_, i) => i === want.length - 1));
    });
  });
});
