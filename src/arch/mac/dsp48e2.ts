/**
 * The `xilinx-dsp48e2` backend of mac_slice: the slice is one DSP48E2 primitive instance.
 * Yosys 0.55 does not pack registers or cascades into DSP48E2 on xcup (../shared/TOOLCHAIN.md),
 * so the only way to get A/B/M/P registers and PCOUT->PCIN inside the DSPs is to instantiate them.
 * For simulation and formal checks the generator ships its own subset model of the primitive
 * (rtl-templates/dsp48e2-sim.v.hbs), listed as a sim-only file in the manifest.
 */
import { commonDspParams, renderSimModel, type PrimParam } from './primitive.ts';
import { Bool, cat, externModule, lit, UInt, type ModuleBuilder, type ModuleDef, type Signal } from '../../hdl/index.ts';

export interface MacSlicePorts {
  ce: Signal;
  a: Signal;
  b: Signal;
  pcin: Signal;
  cascEn: Signal;
  accEn: Signal;
  p: Signal;
  pcout: Signal;
}

/**
 * Every DSP48E2 attribute the slice sets. All are passed explicitly (even where they equal the
 * silicon default) so the instance documents its whole configuration.
 */
export const DSP48E2_PARAMS: readonly PrimParam[] = [...commonDspParams('ONE48')];

/** The subset simulation model's Verilog. */
export function dsp48e2SimModel(): string {
  return renderSimModel('dsp48e2-sim.v', DSP48E2_PARAMS);
}

let primitive: ModuleDef | undefined;

/** The DSP48E2 primitive as an extern module: instances are emitted, synthesis uses the vendor cell. */
export function dsp48e2Primitive(): ModuleDef {
  primitive ??= externModule({
    name: 'DSP48E2',
    primitive: true,
    description: 'Simulation-only subset model of the Xilinx DSP48E2 (do not synthesize: use the vendor cell).',
    ports: [
      { name: 'CLK', dir: 'input', type: Bool },
      { name: 'A', dir: 'input', type: UInt(30) },
      { name: 'B', dir: 'input', type: UInt(18) },
      { name: 'PCIN', dir: 'input', type: UInt(48) },
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
      { name: 'P', dir: 'output', type: UInt(48) },
      { name: 'PCOUT', dir: 'output', type: UInt(48) },
    ],
    // PREG = 1: no combinational path through the primitive.
    combPaths: {},
    source: dsp48e2SimModel(),
  });
  return primitive;
}

/**
 * mac_slice as a DSP48E2: P <= (acc_en ? P : 0) + M + (casc_en ? PCIN : 0) through the dynamic
 * OPMODE (W = P or 0, X/Y = M, Z = PCIN or 0), unregistered so the controls line up with the
 * P update exactly as in the behavioural slice; the same rst/ce on A, B, M and P.
 */
export function dsp48e2Slice(m: ModuleBuilder, ports: MacSlicePorts): void {
  // Unsigned vectors on the primitive's ports: a signed wire there crashes Yosys 0.55.
  const a = m.wire('dsp_a', UInt(30), ports.a.ext(30).asUInt());
  const b = m.wire('dsp_b', UInt(18), ports.b.ext(18).asUInt());
  const pcin = m.wire('dsp_pcin', UInt(48), ports.pcin.asUInt());
  const opmode = m.wire('dsp_opmode', UInt(9), cat(lit(0, UInt(1)), ports.accEn, lit(0, UInt(2)), ports.cascEn, lit(0b0101, UInt(4))));
  const rst = m.reset;
  const dsp = m.externInstance(
    'dsp',
    dsp48e2Primitive(),
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
    Object.fromEntries(DSP48E2_PARAMS.map((q) => [q.name, q.value])),
  );
  ports.p.assign(dsp.out('P').asSInt());
  ports.pcout.assign(dsp.out('PCOUT').asSInt());
}

/**
 * The DSP48E2 cascade links a sparse-chain MPE needs, as flattened instance paths
 * (`unit_<c>.chain.mac_<j>.dsp`: chain unit c of the MPE, its chain, slice j): slices j and
 * j+1 must be linked when some mode puts them in one segment (dense always does, so every
 * neighbouring pair of a chain).
 */
export function expectedCascadeLinks(chains: number, segmentLengths: readonly number[], length: number): { from: string; to: string }[] {
  const links: { from: string; to: string }[] = [];
  for (let c = 0; c < chains; c++) {
    for (let j = 0; j + 1 < length; j++) {
      if (segmentLengths.some((s) => j % s !== s - 1)) links.push({ from: `unit_${c}.chain.mac_${j}.dsp`, to: `unit_${c}.chain.mac_${j + 1}.dsp` });
    }
  }
  return links;
}
