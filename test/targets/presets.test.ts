import { describe, expect, it } from 'vitest';
import { LD_PORTS_MAX, validateConfig, type GenConfig } from '../../src/arch/config.ts';
import { generate } from '../../src/generate.ts';
import { DEVICES } from '../../src/targets/devices.ts';
import { checkFits, estimateResources } from '../../src/targets/estimate.ts';
import { getPreset, PRESET_NAMES, PRESETS } from '../../src/targets/presets.ts';
import { bufferElements, BUFFER_DEPTH_KEYS, ELEMENT_ADDRESS_SPACE, GROWN_BUFFERS, largestBuffers, withinLimits } from '../../src/targets/sizing.ts';

describe('presets', () => {
  for (const name of PRESET_NAMES) {
    it(`${name}: validates, fits its device with headroom, buffers addressable`, () => {
      const p = PRESETS[name];
      expect(p.name).toBe(name);
      expect(() => validateConfig(p.config)).not.toThrow();
      const device = DEVICES[p.device];
      const fit = checkFits(estimateResources(p.config, device), device);
      expect(fit.fits).toBe(true);
      expect(fit.dsp.utilisation).toBeLessThanOrEqual(0.75);
      expect(fit.bram.utilisation).toBeLessThanOrEqual(0.8);
      expect(fit.uram.utilisation).toBeLessThanOrEqual(0.8);
      for (const k of BUFFER_DEPTH_KEYS) expect(bufferElements(p.config, k)).toBeLessThanOrEqual(ELEMENT_ADDRESS_SPACE);
    });
  }

  it('flightllm-u280 is the paper MPE: 3 cores x 2048 DSP48E2 in chains of 16, direct DSP48E2 instances', () => {
    const c = PRESETS['flightllm-u280'].config;
    expect(c.chains * c.chainLength).toBe(3 * 2048);
    expect(c.chainLength).toBe(16);
    expect(c.groupSize).toBe(2);
    expect(c.sparsity).toEqual([{ n: 8, m: 16 }, { n: 4, m: 16 }, { n: 2, m: 16 }]);
    expect(c.dspBackend).toBe('xilinx-dsp48e2');
    // Paper table: DSP 70.2% for the whole design; the MPE alone is 68.1%.
    expect(estimateResources(c, DEVICES.u280).dsp / DEVICES.u280.resources.dsp).toBeCloseTo(0.681, 3);
  });

  it('flightllm-vhk158: 4 cores x 1280 MACs, about the same DSP share as the paper U280 build', () => {
    const c = PRESETS['flightllm-vhk158'].config;
    expect(c.chains * c.chainLength).toBe(4 * 1280);
    expect(c.chains * c.chainLength / DEVICES.vhk158.resources.dsp).toBeCloseTo(0.693, 3);
  });

  it('LD read ports: one per HBM pseudo-channel on the FlightLLM presets (at most LD_PORTS_MAX), one on tiny', () => {
    for (const name of ['flightllm-u280', 'flightllm-vhk158'] as const) {
      const p = PRESETS[name];
      expect(p.config.ldPorts).toBe(Math.min(DEVICES[p.device].hbm.channels!, LD_PORTS_MAX));
    }
    expect(PRESETS.tiny.config.ldPorts).toBe(1);
  });

  it('tiny is small', () => {
    const c = PRESETS.tiny.config;
    expect(c.chains * c.chainLength).toBeLessThanOrEqual(64);
  });

  for (const name of ['flightllm-u280', 'flightllm-vhk158'] as const) {
    it(`${name}: grown buffers are largestBuffers() from small depths, and maximal`, () => {
      const p = PRESETS[name];
      const device = DEVICES[p.device];
      const start: GenConfig = { ...p.config, weightDepth: 16, kvDepth: 1 << 14, actDepth: 256, accDepth: 1024 };
      expect(largestBuffers(start, device)).toEqual(p.config);
      for (const k of GROWN_BUFFERS) expect(withinLimits({ ...p.config, [k]: p.config[k] * 2 }, device)).toBe(false);
    });
  }

  it('the DSP48E2 count of the generated U280 preset equals its MAC count and the estimate', () => {
    const c = PRESETS['flightllm-u280'].config;
    const m = generate(c).manifest;
    expect(m.macs).toBe(6144);
    expect(m.dsps).toBe(m.macs);
    expect(estimateResources(c, DEVICES.u280).dsp).toBe(m.dsps);
    expect(m.modes).toEqual(['dense', '8:16', '4:16', '2:16']);
  });

  it('getPreset names the valid presets for an unknown one', () => {
    expect(getPreset('tiny').config.chains).toBe(4);
    expect(() => getPreset('huge')).toThrow(/unknown preset 'huge' \(expected one of flightllm-u280, flightllm-vhk158, tiny\)/);
  });
});
