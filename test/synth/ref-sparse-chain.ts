/**
 * Renders rtl-templates/ref-sparse-chain.v.hbs, the hand-written reference of the sparse chain,
 * and the harness that compares it with a generated chain under a formal tool. The geometry is
 * computed here from docs/mpe.md on purpose, not with the generator's helpers.
 */
import { render } from '../../src/templates.ts';

export interface RefChainParams {
  readonly name: string;
  readonly length: number;
  readonly groupSize: number;
  readonly aWidth: number;
  readonly bWidth: number;
  /** N:M patterns after dense (mode 0), in mode order. */
  readonly patterns: readonly { n: number; m: number }[];
}

const bitsFor = (n: number) => Math.max(1, Math.ceil(Math.log2(n)));

export function refPorts(p: RefChainParams) {
  const modes = 1 + p.patterns.length;
  return {
    modes,
    modeBits: bitsFor(modes),
    indexWidth: bitsFor(Math.max(1, ...p.patterns.map((q) => q.m))),
    nodes: p.length / p.groupSize,
  };
}

export function refSparseChain(p: RefChainParams): string {
  const { modes, modeBits, indexWidth, nodes } = refPorts(p);
  const modeList = [
    { index: 0, label: 'dense', dense: true, n: 1, m: 1, segments: 1, segLen: p.length, indexBits: 0, indexPad: 32 },
    ...p.patterns.map((q, i) => ({ index: i + 1, label: `${q.n}:${q.m}`, dense: false, n: q.n, m: q.m, segments: q.m / q.n, segLen: (p.length * q.n) / q.m, indexBits: Math.log2(q.m), indexPad: 32 - Math.log2(q.m) })),
  ];
  const unused: string[] = [];
  if (modes === 1) unused.push('mode', 'idx');
  return render('ref-sparse-chain.v', {
    name: p.name,
    length: p.length,
    groupSize: p.groupSize,
    aWidth: p.aWidth,
    bWidth: p.bWidth,
    indexWidth,
    modeBits,
    single: modes === 1,
    modeMsb: modeBits - 1,
    actMsb: p.length * p.aWidth - 1,
    wMsb: p.length * p.bWidth - 1,
    idxMsb: p.length * indexWidth - 1,
    resMsb: nodes * 48 - 1,
    nodesMsb: nodes - 1,
    modes: modeList,
    unusedBits: unused.length ? modeBits + p.length * indexWidth - 1 : 0,
    unusedList: unused.join(', '),
  });
}

/**
 * A top whose `trigger` output is high when the generated chain `dut` and the reference `ref`
 * disagree: res_valid must match exactly and res wherever a result is valid. Inputs are free
 * except for the chain's protocol, enforced here: a row starts with `first` (forced after reset
 * and after `last`), keeps its mode, and the mode is one of the table's.
 */
export function refHarness(p: RefChainParams, dut: string, ref: string): string {
  const { modes, modeBits, indexWidth, nodes } = refPorts(p);
  const mask = Array.from({ length: nodes }, (_, k) => `{48{v_dut[${nodes - 1 - k}]}}`).join(', ');
  return `module ref_check (
  input  wire clk,
  input  wire rst,
  input  wire ce,
  input  wire [${modeBits - 1}:0] mode_in,
  input  wire first_in,
  input  wire last,
  input  wire [${p.length * p.aWidth - 1}:0] act,
  input  wire [${p.length * p.bWidth - 1}:0] w,
  input  wire [${p.length * indexWidth - 1}:0] idx,
  output wire trigger
);
  reg in_row;
  reg [${modeBits - 1}:0] row_mode;
  wire first = first_in | ~in_row;
  wire [${modeBits - 1}:0] mode_legal = ({1'b0, mode_in} < ${modeBits + 1}'d${modes}) ? mode_in : ${modeBits}'d0;
  wire [${modeBits - 1}:0] mode = first ? mode_legal : row_mode;
  always @(posedge clk) begin
    if (rst) begin
      in_row <= 1'b0;
      row_mode <= ${modeBits}'d0;
    end else if (ce) begin
      in_row <= ~last;
      row_mode <= mode;
    end
  end
  wire [${nodes * 48 - 1}:0] res_dut, res_ref;
  wire [${nodes - 1}:0] v_dut, v_ref;
  ${dut} dut (.clk(clk), .rst(rst), .ce(ce), .mode(mode), .first(first), .last(last), .act(act), .w(w), .idx(idx), .res(res_dut), .res_valid(v_dut));
  ${ref} reference (.clk(clk), .rst(rst), .ce(ce), .mode(mode), .first(first), .last(last), .act(act), .w(w), .idx(idx), .res(res_ref), .res_valid(v_ref));
  assign trigger = (v_dut != v_ref) || (((res_dut ^ res_ref) & {${mask}}) != ${nodes * 48}'d0);
endmodule
`;
}
