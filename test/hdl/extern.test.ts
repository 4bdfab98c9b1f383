import { describe, expect, it } from 'vitest';
import { defineModule, Design, emitDesign, externModule, SInt, UInt } from '../../src/hdl/index.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { VerilatorSim } from '../../src/sim/verilator.ts';

const PRIM = externModule({
  name: 'SCALE_PRIM',
  ports: [
    { name: 'CLK', dir: 'input', type: UInt(1) },
    { name: 'D', dir: 'input', type: UInt(8) },
    { name: 'Q', dir: 'output', type: UInt(8) },
  ],
  primitive: true,
  source: `module SCALE_PRIM #(parameter SHIFT = 0, parameter MODE = "PLAIN") (
  input wire CLK,
  input wire [7:0] D,
  output reg [7:0] Q
);
  always @(posedge CLK) Q <= (MODE == "PLAIN") ? (D << SHIFT) : D;
endmodule
`,
});

const User = defineModule<Record<string, never>>('ext_user', () => 'ext_user', (m) => {
  const x = m.input('x', SInt(8));
  const inst = m.externInstance('prim', PRIM, { CLK: m.clock, D: x.asUInt() }, { SHIFT: 1, MODE: 'PLAIN' });
  m.output('y', UInt(8)).assign(inst.out('Q'));
});

describe('extern modules (vendor primitives and hand-written Verilog)', () => {
  it('are instantiated with parameters, signed values go through unsigned wires, and the result lints and simulates', async () => {
    const d = new Design();
    const top = d.elaborate(User, {});
    const files = emitDesign(d, top);
    const text = files.get('ext_user.v')!;
    expect(text).toContain('SCALE_PRIM #(');
    expect(text).toMatch(/\.SHIFT \(1\)/);
    expect(text).toMatch(/\.MODE {2}\("PLAIN"\)/);
    expect(text).toMatch(/wire \[7:0\] _prim_D_0;/); // unsigned, although x is signed
    expect(files.get('SCALE_PRIM.v')).toContain('module SCALE_PRIM');
    expect((await verilatorLint(files, top.name)).messages).toEqual([]);
    const sim = await VerilatorSim.build(top, files);
    const out = await sim.run([{ x: 3 }, { x: -2 }, { x: 0 }]);
    expect(out.map((o) => o.y)).toEqual([expect.any(BigInt), 6n, 252n]);
  });
});
