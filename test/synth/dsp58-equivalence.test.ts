/**
 * Formal equivalence of the behavioural mac_slice and the versal-dsp58 backend (one DSP58
 * instance per MAC, running on flightgen's DSP58 subset model), alone and inside chains, with
 * Yosys sat temporal induction: the outputs are equal in every cycle after reset. The same flow
 * as test/synth/backend-equivalence.test.ts (the DSP48E2 backend), plus a 27 x 24 slice (wider
 * than the behavioural slice allows) against a hand-written reference, and mutated DSP58 models
 * that the proof must reject with a counterexample from reset.
 */
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { proveEquivalent } from '../../src/synth/formal.ts';
import type { ModuleDef } from '../../src/hdl/index.ts';

/**
 * A MAC-slice top whose cascade ports are the DSP58's full 58 bits (docs/dsp58.md: the 58-bit
 * slice cascade) gets a wrapper with the behavioural slice's 48-bit ports, so the miter can
 * pair them: pcin sign-extended, pcout's low 48 bits. Chains have no cascade ports.
 */
function with48BitCascade(files: Map<string, string>, top: ModuleDef): string {
  const pcin = top.ports.find((q) => q.name === 'pcin');
  if (!pcin || pcin.type.width === 48) return top.name;
  const w = pcin.type.width;
  const width = (n: string) => top.ports.find((q) => q.name === n)!.type.width;
  const name = `${top.name}_w48`;
  files.set(
    `${name}.v`,
    `module ${name} (
  input wire rst, input wire clk, input wire ce,
  input wire signed [${width('a') - 1}:0] a, input wire signed [${width('b') - 1}:0] b,
  input wire signed [47:0] pcin, input wire casc_en, input wire acc_en,
  output wire signed [47:0] p, output wire signed [47:0] pcout
);
  wire signed [${w - 1}:0] pcout_full;
  ${top.name} u (.rst(rst), .clk(clk), .ce(ce), .a(a), .b(b), .pcin({{${w - 48}{pcin[47]}}, pcin}), .casc_en(casc_en), .acc_en(acc_en), .p(p), .pcout(pcout_full));
  assign pcout = pcout_full[47:0];
endmodule
`,
  );
  return name;
}

function bothBackends(config: Partial<GenConfig>) {
  const c = { ...DEFAULT_CONFIG, ...config };
  const gold = generate({ ...c, dspBackend: 'behavioral' });
  const gate = generate({ ...c, dspBackend: 'versal-dsp58' });
  const files = new Map([...gold.files, ...gate.files]);
  expect(gold.files.size + gate.files.size).toBe(files.size); // no module name is shared
  expect(gate.manifest.simModelFiles).toEqual(['DSP58.v']);
  return { files, gold: gold.top.name, gate: with48BitCascade(files, gate.top) };
}

/**
 * The MAC slice's specification written out by hand, for a 27 x 24 slice (the behavioural
 * backend stops at 18-bit b): A/B/M/P registers, synchronous reset over clock enable,
 * P <= (acc_en ? P : 0) + M + (casc_en ? pcin : 0) wrapping at 48 bits.
 */
const REF_27x24 = `
module ref_mac_a27_b24 (
  input  wire               rst,
  input  wire               clk,
  input  wire               ce,
  input  wire signed [26:0] a,
  input  wire signed [23:0] b,
  input  wire signed [47:0] pcin,
  input  wire               casc_en,
  input  wire               acc_en,
  output wire signed [47:0] p,
  output wire signed [47:0] pcout
);
  reg signed [26:0] a_reg;
  reg signed [23:0] b_reg;
  reg signed [50:0] m_reg;
  reg signed [47:0] p_reg;
  always @(posedge clk) begin
    if (rst) begin
      a_reg <= 27'sd0;
      b_reg <= 24'sd0;
      m_reg <= 51'sd0;
      p_reg <= 48'sd0;
    end else if (ce) begin
      a_reg <= a;
      b_reg <= b;
      m_reg <= a_reg * b_reg;
      p_reg <= (acc_en ? p_reg : 48'sd0) + m_reg[47:0] + (casc_en ? pcin : 48'sd0);
    end
  end
  assign p = p_reg;
  assign pcout = p_reg;
endmodule
`;

function wideSlice() {
  const gate = generate({ ...DEFAULT_CONFIG, top: 'mac', actWidth: 27, weightWidth: 24, dspBackend: 'versal-dsp58' });
  expect(gate.top.name).toBe('mac_slice_a27_b24_dsp58');
  const files = new Map([...gate.files, ['ref_mac_a27_b24.v', REF_27x24]]);
  return { files, gold: 'ref_mac_a27_b24', gate: with48BitCascade(files, gate.top) };
}

const INDUCTION = { steps: 20, induction: true };
const SPARSE = { top: 'sparse-chain', chainLength: 4, groupSize: 2, sparsity: [{ n: 2, m: 4 }] } as const;

function logTime(what: string, r: { seconds: number; proved: boolean }) {
  console.log(`dsp58 equivalence: ${what}: ${r.proved ? 'proved' : 'not proved'} in ${r.seconds.toFixed(1)} s`);
}

describe('behavioral and versal-dsp58 backends are equivalent (Yosys sat, temporal induction)', () => {
  for (const [aw, bw] of [
    [8, 8],
    [27, 18],
  ] as const) {
    it(`mac_slice a${aw} x b${bw}`, async () => {
      const { files, gold, gate } = bothBackends({ top: 'mac', actWidth: aw, weightWidth: bw });
      const r = await proveEquivalent(files, gold, gate, INDUCTION);
      logTime(`mac_slice a${aw} x b${bw}`, r);
      expect(r.summary).toContain('Induction step proven: SUCCESS!');
      expect(r.proved).toBe(true);
    });
  }

  it('mac_slice a27 x b24 (DSP58-only width) against the hand-written reference', async () => {
    const { files, gold, gate } = wideSlice();
    const r = await proveEquivalent(files, gold, gate, INDUCTION);
    logTime('mac_slice a27 x b24 vs reference', r);
    expect(r.summary).toContain('Induction step proven: SUCCESS!');
    expect(r.proved).toBe(true);
  });

  it('dense chain L=4', async () => {
    const { files, gold, gate } = bothBackends({ top: 'chain', chainLength: 4 });
    const r = await proveEquivalent(files, gold, gate, INDUCTION);
    logTime('dense chain L=4', r);
    expect(r.proved, r.summary).toBe(true);
  });

  it('sparse chain L=4, G=2, modes dense and 2:4', async () => {
    const { files, gold, gate } = bothBackends(SPARSE);
    const r = await proveEquivalent(files, gold, gate, INDUCTION);
    logTime('sparse chain L=4 dense+2:4', r);
    expect(r.proved, r.summary).toBe(true);
  });

  // Negative controls: the same flow must reject a DSP58 model with a subtle fault.
  for (const [what, from, to] of [
    ['M register ignoring CEM (wrong only during stalls)', 'else if (CEM) m_reg <= product;', 'else m_reg <= product;'],
    ['Z multiplexer taking P instead of PCIN', "(OPMODE[6:4] == 3'b001) ? PCIN", "(OPMODE[6:4] == 3'b001) ? p_reg"],
  ] as const) {
    it(`rejects a mutated DSP58 model in the sparse chain: ${what}`, async () => {
      const { files, gold, gate } = bothBackends(SPARSE);
      const model = files.get('DSP58.v')!;
      const mutated = model.replace(from, to);
      expect(mutated).not.toBe(model);
      files.set('DSP58.v', mutated);
      const r = await proveEquivalent(files, gold, gate, INDUCTION);
      logTime(`mutant (${what})`, r);
      expect(r.proved).toBe(false);
      expect(r.counterexample, r.summary).toBe(true); // a concrete trace from reset, not just a failed induction
    });
  }

  it('rejects a mutated DSP58 model with a DSP48E2-sized (18-bit) B register in the 27 x 24 slice', async () => {
    const { files, gold, gate } = wideSlice();
    const model = files.get('DSP58.v')!;
    const mutated = model.replace('else if (CEB2) b_reg <= B;', 'else if (CEB2) b_reg <= {{6{B[17]}}, B[17:0]};');
    expect(mutated).not.toBe(model);
    files.set('DSP58.v', mutated);
    const r = await proveEquivalent(files, gold, gate, INDUCTION);
    logTime('mutant (18-bit B register)', r);
    expect(r.proved).toBe(false);
    expect(r.counterexample, r.summary).toBe(true);
  });
});
