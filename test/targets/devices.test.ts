import { describe, expect, it } from 'vitest';
import { DEVICE_NAMES, DEVICES, getDevice, U280, VHK158 } from '../../src/targets/devices.ts';

describe('device descriptions', () => {
  it('U280: xcu280 resources, HBM2 and DDR4 from DS963', () => {
    expect(U280.part).toBe('xcu280-fsvh2892-2L-e');
    expect(U280.yosysFamily).toBe('xcup');
    expect(U280.resources).toEqual({ lut: 1_303_680, ff: 2_607_360, dsp: 9024, bram: 2016, uram: 960 });
    expect(U280.dsp).toMatchObject({ name: 'DSP48E2', multiplierA: 27, multiplierB: 18, accWidth: 48, cascadeWidth: 48 });
    expect(U280.hbm).toEqual({ kind: 'HBM2', gib: 8, channels: 32, peakGBs: 460 });
    expect(U280.ddr).toEqual({ kind: 'DDR4', gib: 32, channels: 2, peakGBs: 38 });
    expect(U280.slrs).toBe(3);
    expect(U280.clockMHz).toBe(225);
    expect(U280.flightllmCores).toBe(3);
    expect(U280.memories.uram.shape).toEqual({ depth: 4096, width: 72 });
    expect(U280.memories.bram.shapes).toContainEqual({ depth: 512, width: 72 });
    expect(U280.memories.bram.shapes).toContainEqual({ depth: 1024, width: 36 });
  });

  it('VHK158: VH1582 with DSP58 and 32 GB HBM2e at 819 GB/s, no Yosys family', () => {
    expect(VHK158.part).toMatch(/^xcvh1582-/);
    expect(VHK158.yosysFamily).toBeUndefined();
    expect(VHK158.resources.dsp).toBe(7392);
    expect(VHK158.resources.bram).toBe(2541);
    expect(VHK158.resources.uram).toBe(1301);
    expect(VHK158.dsp).toMatchObject({ name: 'DSP58', multiplierA: 27, multiplierB: 24, accWidth: 58, cascadeWidth: 58, int8MacsPerDsp: [1, 3] });
    expect(VHK158.hbm).toMatchObject({ kind: 'HBM2e', gib: 32, peakGBs: 819 });
    expect(VHK158.ddr.kind).toBe('DDR4');
  });

  it('numbers are sane: memory bits, FF = 2 x LUT, bandwidth per channel, uncertain fields exist', () => {
    for (const d of Object.values(DEVICES)) {
      const r = d.resources;
      for (const v of Object.values(r)) expect(Number.isInteger(v) && v > 0).toBe(true);
      expect(r.ff).toBe(2 * r.lut);
      // Every block-RAM shape holds 36 Kb (32 Kb for the 1-bit-wide ... 4-bit-wide shapes, 36 Kb with parity).
      for (const s of d.memories.bram.shapes) expect(s.depth * s.width).toBeGreaterThanOrEqual(32 * 1024);
      expect(d.memories.uram.shape.depth * d.memories.uram.shape.width).toBe(288 * 1024);
      expect(d.hbm.peakGBs! / d.hbm.channels!).toBeGreaterThan(10);
      expect(d.hbm.peakGBs! / d.hbm.channels!).toBeLessThan(30);
      expect(d.dsp.int8MacsPerDsp[0]).toBe(1);
      // Each uncertain path names a field of the description (its value may be undefined).
      for (const path of d.uncertain) {
        const keys = path.split('.');
        const parent = keys.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, d as unknown as Record<string, unknown>);
        expect(typeof parent).toBe('object');
        expect(keys.at(-1)! in parent || parent[keys.at(-1)!] === undefined).toBe(true);
      }
    }
    expect(U280.uncertain).toEqual([]);
  });

  it('getDevice finds every device and names the valid ones otherwise', () => {
    for (const n of DEVICE_NAMES) expect(getDevice(n).name).toBe(n);
    expect(() => getDevice('vu9p')).toThrow(/unknown device 'vu9p' \(expected one of u280, vhk158\)/);
  });
});
