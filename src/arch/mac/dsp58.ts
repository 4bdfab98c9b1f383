/**
 * The `versal-dsp58` backend of mac_slice: the slice is one AMD Versal DSP58 primitive instance
 * in its default integer mode (DSP_MODE = "INT24": a 27 x 24 signed multiplier, 58-bit ALU, P
 * and PCOUT -> PCIN cascade). Yosys has no Versal family and no DSP58 cell (../shared/TOOLCHAIN.md),
 * so for synthesis the instance is a black box for the vendor tools; for simulation and formal
 * checks the generator ships its own subset model (rtl-templates/dsp58-sim.v.hbs, written as
 * DSP58.v and listed as a sim-only file in the manifest). docs/dsp58.md lists which DSP58 facts
 * this relies on and which of them are uncertain.
 *
 * The slice keeps mac_slice's interface (48-bit p, pcin, pcout), so the chains are unchanged:
 * p and pcout are P[47:0] and PCOUT[47:0], and PCIN is pcin sign-extended to 58 bits. The 58-bit
 * ALU then computes the behavioural slice's 48-bit wrapping sum in its low 48 bits exactly
 * (addition modulo 2^58 agrees with addition modulo 2^48 on the low 48 bits whatever the upper
 * bits hold). See docs/dsp58.md for what this means for the physical cascade.
 */
import { commonDspParams, renderSimModel, type PrimParam } from './primitive.ts';
import { Bool, cat, externModule, lit, UInt, type ModuleBuilder, type ModuleDef } from '../../hdl/index.ts';
import type { MacSlicePorts } from './dsp48e2.ts';

/** DSP58 port widths (INT24 mode). */
export const DSP58_A_PORT = 34;
export const DSP58_B_PORT = 24;
export const DSP58_P_WIDTH = 58;
/** Multiplier operand limits in INT24 mode: A[26:0] x B[23:0], both signed. */
export const DSP58_A_MAX = 27;
export const DSP58_B_MAX = 24;

/**
 * Every DSP58 attribute the slice sets, all explicitly (even where they equal the default), so
 * the instance documents its whole configuration and the model can refuse anything else.
 */
export const DSP58_PARAMS: readonly PrimParam[] = [{ name: 'DSP_MODE', value: 'INT24', default: 'INT24' }, { name: 'RESET_MODE', value: 'SYNC', default: 'SYNC' }, ...commonDspParams('ONE58')];

/** The subset simulation model's Verilog. */
export function dsp58SimModel(): string {
  return renderSimModel('dsp58-sim.v', DSP58_PARAMS);
}

let primitive: ModuleDef | undefined;

/** The DSP58 primitive as an extern module: instances are emitted, the vendor tools use their cell. */
export function dsp58Primitive(): ModuleDef {
  primitive ??= externModule({
    name: 'DSP58',
    primitive: true,
    description: 'Simulation-only subset model of the AMD Versal DSP58 (do not synthesize: use the vendor cell).',
    ports: [
      { name: 'CLK', dir: 'input', type: Bool },
      { name: 'A', dir: 'input', type: UInt(DSP58_A_PORT) },
      { name: 'B', dir: 'input', type: UInt(DSP58_B_PORT) },
      { name: 'PCIN', dir: 'input', type: UInt(DSP58_P_WIDTH) },
      { name: 'OPMODE', dir: 'input', type: UInt(9) },
      { name: 'ALUMODE', dir: 'input', type: UInt(4) },
      { name: 'INMODE', dir: 'input', type: UInt(5) },
      { name: 'CARRYINSEL', dir: 'input', type: UInt(3) },
      { name: 'CARRYIN', dir: 'input', type: Bool },
      { name: 'CEA2', dir: 'input', type: Bool },
      { name: 'CEB2', dir: 'input', type: Bool },
      { name: 'CEM', dir: 'input', type: Bool },
      { name: 'CEP', dir: 'input', type: Bool },
      { name: 'RSTA', dir: 'input', type: Bool },
      { name: 'RSTB', dir: 'input', type: Bool },
      { name: 'RSTM', dir: 'input', type: Bool },
      { name: 'RSTP', dir: 'input', type: Bool },
      { name: 'P', dir: 'output', type: UInt(DSP58_P_WIDTH) },
      { name: 'PCOUT', dir: 'output', type: UInt(DSP58_P_WIDTH) },
    ],
    // PREG = 1: no combinational path through the primitive.
    combPaths: {},
    source: dsp58SimModel(),
  });
  return primitive;
}

/**
 * mac_slice as a DSP58: P <= (acc_en ? P : 0) + M + (casc_en ? PCIN : 0) through the dynamic
 * OPMODE (W = P or 0, X/Y = M, Z = PCIN or 0), unregistered so the controls meet the P update
 * exactly as in the behavioural slice; the same rst/ce on A, B, M and P. The OPMODE encoding
 * is the DSP48E2's (the DSP58 keeps the W/X/Y/Z multiplexer layout).
 */
export function dsp58Slice(m: ModuleBuilder, ports: MacSlicePorts): void {
  // Unsigned vectors on the primitive's ports (as for the DSP48E2: Yosys 0.55 dislikes signed
  // wires on primitive ports). Operands sign-extended to the full port width.
  const a = m.wire('dsp_a', UInt(DSP58_A_PORT), ports.a.ext(DSP58_A_PORT).asUInt());
  const b = m.wire('dsp_b', UInt(DSP58_B_PORT), ports.b.ext(DSP58_B_PORT).asUInt());
  // A 48-bit slice interface (today's chains) is sign-extended; a 58-bit one is the full cascade.
  const pcin = m.wire('dsp_pcin', UInt(DSP58_P_WIDTH), ports.pcin.width === DSP58_P_WIDTH ? ports.pcin.asUInt() : ports.pcin.ext(DSP58_P_WIDTH).asUInt());
  const opmode = m.wire('dsp_opmode', UInt(9), cat(lit(0, UInt(1)), ports.accEn, lit(0, UInt(2)), ports.cascEn, lit(0b0101, UInt(4))));
  const rst = m.reset;
  const dsp = m.externInstance(
    'dsp',
    dsp58Primitive(),
    {
      CLK: m.clock,
      A: a,
      B: b,
      PCIN: pcin,
      OPMODE: opmode,
      ALUMODE: lit(0, UInt(4)),
      INMODE: lit(0, UInt(5)),
      CARRYINSEL: lit(0, UInt(3)),
      CARRYIN: lit(0, Bool),
      CEA2: ports.ce,
      CEB2: ports.ce,
      CEM: ports.ce,
      CEP: ports.ce,
      RSTA: rst,
      RSTB: rst,
      RSTM: rst,
      RSTP: rst,
    },
    Object.fromEntries(DSP58_PARAMS.map((q) => [q.name, q.value])),
  );
  const P = dsp.out('P');
  const PCOUT = dsp.out('PCOUT');
  // p is the behavioural slice's 48-bit P; the bits above it match nothing the behavioural slice has.
  const w = ports.p.width;
  ports.p.assign(P.slice(w - 1, 0).asSInt());
  m.unused(P.slice(DSP58_P_WIDTH - 1, w));
  const cw = ports.pcout.width;
  ports.pcout.assign((cw === DSP58_P_WIDTH ? PCOUT : PCOUT.slice(cw - 1, 0)).asSInt());
  if (cw < DSP58_P_WIDTH) m.unused(PCOUT.slice(DSP58_P_WIDTH - 1, cw));
}
