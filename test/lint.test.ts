import { describe, expect, it } from 'vitest';
import { generate } from '../src/generate.ts';
import { DEFAULT_CONFIG, type GenConfig } from '../src/arch/config.ts';
import { verilatorLint } from '../src/sim/lint.ts';
import { yosysCheck } from '../src/synth/yosys.ts';
import { Design, emitDesign } from '../src/hdl/index.ts';
import { RamTest, Zoo } from './fixtures/modules.ts';

const MATRIX: Partial<GenConfig>[] = [
  { top: 'mac' },
  { top: 'mac', actWidth: 27, weightWidth: 18 },
  { top: 'mac', actWidth: 16, weightWidth: 8 },
  { top: 'chain', chainLength: 1 },
  { top: 'chain', chainLength: 4 },
  { top: 'chain', chainLength: 16, actWidth: 16 },
  { top: 'chain-array', chains: 2, chainLength: 4 },
  { top: 'chain-array', chains: 32, chainLength: 16 },
  { top: 'chain-array', chains: 5, chainLength: 3, actWidth: 16, weightWidth: 4 },
  { top: 'sparse-chain' },
  { top: 'sparse-chain', chainLength: 16, sparsity: [{ n: 2, m: 4 }, { n: 1, m: 4 }, { n: 2, m: 8 }, { n: 4, m: 8 }, { n: 2, m: 16 }, { n: 4, m: 16 }, { n: 8, m: 16 }] },
  { top: 'sparse-chain', chainLength: 8, groupSize: 4, actWidth: 16, sparsity: [] },
  { top: 'sparse-chain', chainLength: 4, groupSize: 1, sparsity: [{ n: 1, m: 4 }] },
  { top: 'sparse-chain', pack: 2 },
  { top: 'sparse-chain', pack: 2, groupSize: 1, chainLength: 8, sparsity: [{ n: 1, m: 4 }] },
  { top: 'mpe', chains: 4, chainLength: 16, actDepth: 64, weightDepth: 256, accDepth: 256 },
  { top: 'mpe', chains: 2, chainLength: 8, sparsity: [], actDepth: 100, weightDepth: 300, accDepth: 1000 },
  { top: 'mpe', chains: 4, chainLength: 16, pack: 2, actDepth: 64, weightDepth: 256, accDepth: 256 },
  // DSP48E2 instances, linted together with flightgen's DSP48E2 subset model.
  { top: 'mac', dspBackend: 'xilinx-dsp48e2' },
  { top: 'mac', actWidth: 27, weightWidth: 18, dspBackend: 'xilinx-dsp48e2' },
  { top: 'chain', chainLength: 4, dspBackend: 'xilinx-dsp48e2' },
  { top: 'chain-array', chains: 2, chainLength: 4, dspBackend: 'xilinx-dsp48e2' },
  { top: 'sparse-chain', dspBackend: 'xilinx-dsp48e2' },
  { top: 'sparse-chain', pack: 2, dspBackend: 'xilinx-dsp48e2' },
  { top: 'mpe', chains: 4, chainLength: 16, actDepth: 64, weightDepth: 256, accDepth: 256, dspBackend: 'xilinx-dsp48e2' },
  { top: 'mpe', chains: 4, chainLength: 16, pack: 2, actDepth: 64, weightDepth: 256, accDepth: 256, dspBackend: 'xilinx-dsp48e2' },
  // The whole accelerator (small buffers), with one and with four LD read ports (ld_pipe, arbiters).
  { top: 'flightllm', chains: 4, chainLength: 16, actDepth: 64, weightDepth: 64, accDepth: 256, kvDepth: 4096, globalDepth: 1024, biasDepth: 256 },
  { top: 'flightllm', chains: 4, chainLength: 16, actDepth: 64, weightDepth: 64, accDepth: 256, kvDepth: 4096, globalDepth: 1024, biasDepth: 256, ldPorts: 4 },
];

describe('every generated module is lint-clean', () => {
  for (const partial of MATRIX) {
    const config = { ...DEFAULT_CONFIG, ...partial };
    const label = JSON.stringify(partial);
    it(`${label}: verilator --lint-only -Wall reports nothing`, async () => {
      const g = generate(config);
      const r = await verilatorLint(g.files, g.top.name);
      expect(r.messages).toEqual([]);
      expect(r.ok).toBe(true);
    });
    it(`${label}: yosys hierarchy -check; proc; check -assert passes`, async () => {
      const g = generate(config);
      const log = await yosysCheck(g.files, g.top.name);
      expect(log).toContain('Found and reported 0 problems');
    });
  }

  it('the DSL test modules (expression zoo, RAMs) pass both gates too', async () => {
    const d = new Design();
    for (const top of [d.elaborate(Zoo, {}), d.elaborate(RamTest, { latency: 1 }), d.elaborate(RamTest, { latency: 2 })]) {
      const files = emitDesign(d, top);
      expect((await verilatorLint(files, top.name)).messages).toEqual([]);
      expect(await yosysCheck(files, top.name)).toContain('Found and reported 0 problems');
    }
  });

  it('the lint gates really fail on bad Verilog', async () => {
    const g = generate({ ...DEFAULT_CONFIG, top: 'mac' });
    const files = new Map(g.files);
    const [name, text] = [...files][0]!;
    // An unused, undriven wire: Verilator -Wall must warn; a second driver: Yosys must refuse.
    files.set(name, text.replace('endmodule', '  wire [3:0] stray;\nendmodule'));
    expect((await verilatorLint(files, g.top.name)).ok).toBe(false);
    files.set(name, text.replace('endmodule', '  assign p = 48\'d0;\nendmodule'));
    await expect(yosysCheck(files, g.top.name)).rejects.toThrow();
  });
});
