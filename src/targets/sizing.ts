/**
 * Buffer sizing for the device presets: from small starting depths, double the grown buffers
 * in turn (round robin, in priority order) while the configuration still validates, stays
 * inside the ISA's 20-bit element address space and fits the device with headroom. The result
 * is maximal: doubling any one grown buffer breaks a limit (docs/targets.md).
 */
import { validateConfig, type GenConfig } from '../arch/config.ts';
import type { Device } from './devices.ts';
import { checkFits, DEFAULT_HEADROOM, estimateResources, type Headroom } from './estimate.ts';

export const BUFFER_DEPTH_KEYS = ['weightDepth', 'kvDepth', 'actDepth', 'globalDepth', 'accDepth', 'biasDepth'] as const;
export type BufferDepthKey = (typeof BUFFER_DEPTH_KEYS)[number];

/**
 * The buffers whose depth sets the MPE's tile sizes, grown by `largestBuffers` in this order.
 * The global and bias buffers hold per-model vectors (residual stream, FFN intermediate,
 * logits; norm gammas and RoPE table): the presets size them for the model, not the device.
 */
export const GROWN_BUFFERS: readonly BufferDepthKey[] = ['weightDepth', 'kvDepth', 'actDepth', 'accDepth'];

/** On-chip addresses are 20-bit ISA fields (docs/isa.md, "Buffers and element formats"). */
export const ELEMENT_ADDRESS_SPACE = 1 << 20;

/**
 * What the ISA's addresses of a buffer count: elements, except in the weight (and meta)
 * buffer, which is addressed in beats of C x L lanes (decision 24).
 */
export function bufferElements(c: GenConfig, key: BufferDepthKey): number {
  switch (key) {
    case 'actDepth':
      return c.actDepth * c.chainLength;
    case 'weightDepth':
      return c.weightDepth;
    case 'accDepth':
      return c.accDepth;
    case 'kvDepth':
      return c.kvDepth;
    case 'globalDepth':
      return c.globalDepth;
    case 'biasDepth':
      return c.biasDepth;
  }
}

/** Whether the configuration validates, is addressable and fits the device with headroom. */
export function withinLimits(c: GenConfig, device: Device, headroom: Headroom = DEFAULT_HEADROOM): boolean {
  try {
    validateConfig(c);
  } catch {
    return false;
  }
  if (BUFFER_DEPTH_KEYS.some((k) => bufferElements(c, k) > ELEMENT_ADDRESS_SPACE)) return false;
  return checkFits(estimateResources(c, device, headroom), device, headroom).fits;
}

/**
 * Doubles the buffer depths of `start` round robin (in `order`) while `withinLimits` holds.
 * `start` itself must be within limits.
 */
export function largestBuffers(start: GenConfig, device: Device, headroom: Headroom = DEFAULT_HEADROOM, order: readonly BufferDepthKey[] = GROWN_BUFFERS): GenConfig {
  if (!withinLimits(start, device, headroom)) throw new RangeError(`the starting configuration does not fit ${device.name} with headroom`);
  let c = start;
  for (let grew = true; grew; ) {
    grew = false;
    for (const k of order) {
      const next = { ...c, [k]: c[k] * 2 };
      if (withinLimits(next, device, headroom)) {
        c = next;
        grew = true;
      }
    }
  }
  return c;
}
