import { describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { RamTest } from '../fixtures/modules.ts';
import { VerilatorSim } from '../../src/sim/verilator.ts';
import { Rng } from '../../src/util/random.ts';

describe('inferred memories', () => {
  for (const latency of [1, 2] as const) {
    it(`read latency ${latency}: 4000 random cycles match a TypeScript RAM model`, async () => {
      const d = new Design();
      const top = d.elaborate(RamTest, { latency });
      const text = emitDesign(d, top).get(`${top.name}.v`)!;
      expect(text).toContain('(* ram_style = "block" *)');
      expect(text).toContain('reg [11:0] store [0:31];');
      const sim = await VerilatorSim.build(top, emitDesign(d, top));
      const rng = new Rng(latency);
      const mem = new Array<number>(32).fill(0);
      const pipe: number[] = [0, 0];
      const inputs = [];
      const expected: bigint[] = [];
      for (let t = 0; t < 4000; t++) {
        // Fill the RAM first so no read sees an uninitialised word.
        const c = t < 32 ? { we: 1, waddr: t, wdata: t * 7, re: 0, raddr: 0 } : { we: rng.int(0, 1), waddr: rng.int(0, 31), wdata: rng.int(0, 4095), re: rng.int(0, 3) > 0 ? 1 : 0, raddr: rng.int(0, 31) };
        inputs.push(c);
        expected.push(BigInt(latency === 1 ? pipe[0]! : pipe[1]!));
        if (c.re) {
          if (latency === 2) pipe[1] = pipe[0]!;
          pipe[0] = mem[c.raddr]!; // read-before-write on the same address
        }
        if (c.we) mem[c.waddr] = c.wdata;
      }
      const out = await sim.run(inputs);
      for (let t = 40; t < 4000; t++) expect(out[t]!.rdata, `cycle ${t}`).toBe(expected[t]);
    });
  }
});
