/**
 * Yosys synth_xilinx -family xcup (U280), hierarchical, on a small MPE: the xilinx-dsp48e2
 * backend must give one DSP48E2 per MAC with A/B/M/P inside, every neighbouring pair of a
 * chain linked through PCOUT -> PCIN, and no fabric adder in the chains.
 */
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { synthXilinx, carryCount, type XilinxSynthReport } from '../../src/synth/xilinx.ts';
import { expectedCascadeLinks } from '../../src/arch/mac/dsp48e2.ts';
import { chainGeometry, modeTable } from '../../src/sparsity/pattern.ts';

const CONFIG: GenConfig = { ...DEFAULT_CONFIG, top: 'mpe', chains: 2, chainLength: 8, actDepth: 64, weightDepth: 256, accDepth: 256 };

function perDsp(r: XilinxSynthReport): string {
  return `${r.dsps} DSP48E2, ${r.luts} LUT (${(r.luts / r.dsps).toFixed(1)}/DSP), ${r.ffs} FF (${(r.ffs / r.dsps).toFixed(1)}/DSP), ${r.carries} CARRY, ${r.cascades.length} cascade links, ${r.seconds.toFixed(1)} s`;
}

describe('synth_xilinx -family xcup of a 2-chain x 8-MAC MPE', () => {
  it('xilinx-dsp48e2 backend: one DSP48E2 per MAC, the chains cascade through PCOUT->PCIN, no fabric adders in the chains', async () => {
    const g = generate({ ...CONFIG, dspBackend: 'xilinx-dsp48e2' });
    const r = await synthXilinx(g.files, g.top.name, { exclude: g.manifest.simModelFiles });
    console.log(`xilinx-dsp48e2: ${perDsp(r)}`);
    expect(g.manifest.macs).toBe(CONFIG.chains * CONFIG.chainLength);
    expect(r.dsps).toBe(g.manifest.macs);

    // The slice is the bare primitive: registers, multiplier, adder and cascade all inside it.
    const sliceModules = Object.keys(r.modules).filter((n) => n.startsWith('mac_slice'));
    expect(sliceModules).toHaveLength(1);
    for (const n of sliceModules) expect(r.modules[n]).toEqual({ DSP48E2: 1 });
    const chainModules = Object.keys(r.modules).filter((n) => n.startsWith('sparse_chain'));
    expect(chainModules).toHaveLength(1);
    for (const n of chainModules) expect(carryCount(r.modules[n]!), n).toBe(0);

    const segmentLengths = modeTable(CONFIG.sparsity).map((q) => chainGeometry(q, CONFIG.chainLength, CONFIG.groupSize).segmentLength);
    const expected = expectedCascadeLinks(CONFIG.chains, segmentLengths, CONFIG.chainLength);
    expect(expected).toHaveLength(CONFIG.chains * (CONFIG.chainLength - 1));
    const key = (l: { from: string; to: string }) => `${l.from}->${l.to}`;
    expect(r.cascades.map(key).sort()).toEqual(expected.map(key).sort());
  });

  it('behavioral backend: still one DSP48E2 per MAC', async () => {
    const g = generate({ ...CONFIG, dspBackend: 'behavioral' });
    const r = await synthXilinx(g.files, g.top.name, { exclude: g.manifest.simModelFiles });
    console.log(`behavioral: ${perDsp(r)}`);
    expect(g.manifest.simModelFiles).toEqual([]);
    expect(r.dsps).toBe(g.manifest.macs);
  });

  it('the link count really comes from the netlist: rewiring one PCIN moves exactly that link', async () => {
    const g = generate({ ...CONFIG, top: 'sparse-chain', chainLength: 4, sparsity: [{ n: 2, m: 4 }], dspBackend: 'xilinx-dsp48e2' });
    const files = new Map(g.files);
    const text = files.get(`${g.top.name}.v`)!;
    // Slice 2 fed from slice 0 instead of slice 1 (slice 1 stays: its P is reduction node 0).
    const cut = text.replace(/(\.pcin\s+\()mac_1_pcout\)/, '$1mac_0_pcout)');
    expect(cut).not.toBe(text);
    files.set(`${g.top.name}.v`, cut);
    const rewired = await synthXilinx(files, g.top.name, { exclude: g.manifest.simModelFiles });
    expect(rewired.dsps).toBe(4);
    expect(rewired.cascades.map((l) => `${l.from}->${l.to}`).sort()).toEqual(['mac_0.dsp->mac_1.dsp', 'mac_0.dsp->mac_2.dsp', 'mac_2.dsp->mac_3.dsp']);
  });
});
