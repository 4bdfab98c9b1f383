import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { generate } from '../../src/generate.ts';
import { U280, VHK158 } from '../../src/targets/devices.ts';
import { bramCount, checkFits, DEFAULT_HEADROOM, estimateResources, formatFit, macSlices, uramCount } from '../../src/targets/estimate.ts';
import { PRESETS } from '../../src/targets/presets.ts';

const tiny = PRESETS.tiny.config;

describe('resource estimate', () => {
  it('memory counts match what Yosys infers (../shared/TOOLCHAIN.md: 4096x72, 32768x72)', () => {
    const shapes = U280.memories.bram.shapes;
    const u = U280.memories.uram.shape;
    expect(bramCount(72, 4096, shapes)).toBe(8);
    expect(uramCount(72, 4096, u)).toBe(1);
    expect(bramCount(72, 32768, shapes)).toBe(64);
    expect(uramCount(72, 32768, u)).toBe(8);
    // Narrow and deep: 32 bits x 16K = 16 RAMB36 (1K x 36), 4 URAM (one column, 4 deep).
    expect(bramCount(32, 16384, shapes)).toBe(16);
    expect(uramCount(32, 16384, u)).toBe(4);
    // Wide and shallow: the 512 x 72 shape, one block per 72 bits.
    expect(bramCount(73728, 128, shapes)).toBe(1024);
  });

  it('MAC slices and MACs are what the generator builds (manifest.dsps / manifest.macs)', () => {
    for (const c of [tiny, { ...tiny, pack: 2 as const }, { ...tiny, top: 'chain-array' as const }, { ...tiny, top: 'sparse-chain' as const }, { ...tiny, top: 'mac' as const }, { ...tiny, top: 'chain' as const }]) {
      const m = generate(c).manifest;
      const e = estimateResources(c, U280);
      expect(e.macSlices).toBe(macSlices(c));
      expect(e.macSlices).toBe(m.dsps);
      expect(e.macs).toBe(m.macs);
      expect(e.dsp).toBe(m.dsps);
    }
  });

  it('buffer shapes follow the configuration', () => {
    const e = estimateResources(tiny, U280);
    const by = Object.fromEntries(e.buffers.map((b) => [b.name, b]));
    expect(Object.keys(by)).toEqual(['act', 'weight', 'acc', 'kv', 'global', 'bias']);
    expect(by.act).toMatchObject({ width: 16 * 8, depth: 64, copies: 1 });
    // 2:8 is the widest M: 3-bit index per lane.
    expect(by.weight).toMatchObject({ width: 4 * 16 * (8 + 3), depth: 64 });
    expect(by.acc).toMatchObject({ width: 32, depth: 256 });
    expect(by.kv).toMatchObject({ width: 4 * 16 * 8, depth: 4096 / 64 });
    expect(by.global).toMatchObject({ width: 16 * 32, depth: 1024 / 16 });
    expect(by.bias).toMatchObject({ width: 16 * 32, depth: 256 / 16 });
    expect(e.bram).toBe(e.buffers.filter((b) => b.kind === 'bram').reduce((s, b) => s + b.bramCost, 0));
    expect(e.uram).toBe(e.buffers.filter((b) => b.kind === 'uram').reduce((s, b) => s + b.uramCost, 0));
    // --pack 2 reads two activation windows per cycle: two copies of the act buffer.
    expect(estimateResources({ ...tiny, pack: 2 }, U280).buffers[0]).toMatchObject({ copies: 2 });
    // Only the MPE has buffers.
    expect(estimateResources({ ...tiny, top: 'chain-array' }, U280).buffers).toEqual([]);
  });

  it('the acc buffer is block RAM as in the generated MPE (acc_buf, ram_style "block")', () => {
    const g = generate(tiny);
    const acc = g.top.memories.find((m) => m.name === 'acc_buf')!;
    expect(acc).toBeDefined();
    expect(acc.style).toBe('block');
    expect(acc.depth).toBe(tiny.accDepth);
    expect(acc.type.width).toBe(32);
    for (const c of Object.values(PRESETS)) expect(estimateResources(c.config, U280).buffers.find((b) => b.name === 'acc')!.kind).toBe('bram');
  });

  it('assigns buffers to BRAM or URAM so that neither pool runs out first', () => {
    // A 683-wide KV buffer cannot join the 1024 BRAM of the weight buffer: it goes to URAM.
    const c: GenConfig = { ...PRESETS['flightllm-u280'].config };
    const e = estimateResources(c, U280);
    expect(e.buffers.find((b) => b.name === 'weight')!.kind).toBe('bram');
    expect(e.buffers.find((b) => b.name === 'kv')!.kind).toBe('uram');
  });

  it('DSP range: conservative one per MAC slice; DSP58 INT8 mode packs three', () => {
    const c = PRESETS['flightllm-vhk158'].config;
    const e = estimateResources(c, VHK158);
    expect(e.dsp).toBe(5120);
    expect(e.dspMin).toBe(Math.ceil(5120 / 3));
  });

  it('checkFits reports utilisation per resource and refuses a configuration that is too large', () => {
    const small = checkFits(estimateResources(tiny, U280), U280);
    expect(small.fits).toBe(true);
    expect(small.dsp).toMatchObject({ used: 64, available: 9024, limit: DEFAULT_HEADROOM.dsp, fits: true });
    expect(small.dsp.utilisation).toBeCloseTo(64 / 9024);
    // 1024 chains x 16 = 16384 DSPs: more than the U280 has.
    const big = checkFits(estimateResources({ ...DEFAULT_CONFIG, chains: 1024 }, U280), U280);
    expect(big.fits).toBe(false);
    expect(big.dsp.fits).toBe(false);
    expect(big.dsp.utilisation).toBeGreaterThan(1);
    // Within the device but over the headroom: 7168 DSPs is 79.4% > 75% (a chain array: no buffers).
    const array: GenConfig = { ...DEFAULT_CONFIG, top: 'chain-array', chains: 448 };
    const tight = checkFits(estimateResources(array, U280), U280);
    expect(tight.dsp.utilisation).toBeLessThan(1);
    expect(tight.fits).toBe(false);
    expect(checkFits(estimateResources(array, U280), U280, { dsp: 0.8, bram: 0.8, uram: 0.8 }).fits).toBe(true);
    // A buffer too big for the device: a 2^20-deep, 512-bit global buffer on top of a big KV buffer.
    const mem = checkFits(estimateResources({ ...PRESETS['flightllm-u280'].config, globalDepth: 1 << 20 }, U280), U280);
    expect(mem.fits).toBe(false);
    expect(formatFit(mem).join('\n')).toMatch(/over/);
  });
});
