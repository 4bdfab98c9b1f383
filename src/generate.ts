import { Design, emitDesign, type ModuleDef } from './hdl/index.ts';
import { chainArray } from './arch/chain/chain-array.ts';
import { denseChain } from './arch/chain/dense-chain.ts';
import { macSlice } from './arch/mac/mac-slice.ts';
import { sparseChain } from './arch/chain/sparse-chain.ts';
import { packedChain } from './arch/chain/packed-chain.ts';
import { mpe } from './arch/mpe/mpe.ts';
import { flightllmTop } from './arch/top/flightllm.ts';
import { modeTable, patternName } from './sparsity/pattern.ts';
import { validateConfig, type GenConfig } from './arch/config.ts';
import { VERSION } from './version.ts';

export interface Manifest {
  generator: string;
  version: string;
  config: GenConfig;
  top: string;
  files: string[];
  /** Files that only model vendor primitives for simulation: leave them out of synthesis. */
  simModelFiles: string[];
  modules: { name: string; generator: string; params: Readonly<Record<string, unknown>>; instances: number }[];
  macs: number;
  /** DSP slices (MAC slice instances); macs = 2 x dsps with --pack 2. */
  dsps: number;
  /** Run-time modes of the sparse chains (mode input value = index). */
  modes: string[];
}

export interface Generated {
  design: Design;
  top: ModuleDef;
  files: Map<string, string>;
  manifest: Manifest;
}

function elaborateTop(design: Design, c: GenConfig): ModuleDef {
  const mac = { aWidth: c.actWidth, bWidth: c.weightWidth, backend: c.dspBackend };
  switch (c.top) {
    case 'mac':
      return design.elaborate(macSlice, mac);
    case 'chain':
      return design.elaborate(denseChain, { ...mac, length: c.chainLength });
    case 'mpe':
      return design.elaborate(mpe, { ...mac, chains: c.chains, length: c.chainLength, groupSize: c.groupSize, patterns: c.sparsity, actDepth: c.actDepth, weightDepth: c.weightDepth, accDepth: c.accDepth, pack: c.pack });
    case 'sparse-chain':
      return design.elaborate(c.pack === 2 ? packedChain : sparseChain, { ...mac, length: c.chainLength, groupSize: c.groupSize, patterns: c.sparsity });
    case 'chain-array':
      return design.elaborate(chainArray, { ...mac, length: c.chainLength, chains: c.chains });
    case 'flightllm':
      return design.elaborate(flightllmTop, c);
  }
}

/** Elaborates the configured design and emits its Verilog files and manifest (nothing is written). */
export function generate(config: GenConfig, opts: { locators?: boolean } = {}): Generated {
  validateConfig(config);
  const design = new Design();
  const top = elaborateTop(design, config);
  const files = emitDesign(design, top, opts);
  const counts = design.instanceCounts(top);
  const modules = design.reachable(top).map((d) => ({ name: d.name, generator: d.generator, params: d.params, instances: counts.get(d) ?? 0 }));
  const dsps = modules.filter((m) => m.generator === 'mac_slice').reduce((s, m) => s + m.instances, 0);
  const macs = dsps * config.pack;
  const simModelFiles = design.reachable(top).filter((d) => d.extern?.primitive).map((d) => `${d.name}.v`);
  const manifest: Manifest = { generator: 'flightgen', version: VERSION, config, top: top.name, files: [...files.keys()], simModelFiles, modules, macs, dsps, modes: modeTable(config.sparsity).map(patternName) };
  return { design, top, files, manifest };
}
