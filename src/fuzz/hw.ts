/** Small random hardware configurations for fuzzing (all pass validateConfig and accelGeometry). */
import { validateConfig, type GenConfig } from '../arch/config.ts';
import { accelGeometry } from '../arch/mmu/buffers.ts';
import { PRESETS } from '../targets/presets.ts';
import { Rng } from '../util/random.ts';
import { chainGeometry, type NmPattern } from '../sparsity/pattern.ts';

/** The `tiny` preset as the accelerator top: the default fuzzing target. */
export const FUZZ_HW: GenConfig = { ...PRESETS.tiny.config, top: 'flightllm' };

/**
 * 4 x 16 chains, 16-bit lanes, buffers just large enough for stories260K: the configuration of
 * the co-simulation tests (one Verilator build serves the model run and RTL fuzzing).
 */
export const STORIES_HW: GenConfig = { ...PRESETS.tiny.config, top: 'flightllm', actWidth: 16, weightWidth: 16, weightDepth: 64, actDepth: 256, accDepth: 1024, kvDepth: 32768, globalDepth: 4096, biasDepth: 1024 };

export const FUZZ_CONFIGS = { tiny: FUZZ_HW, stories: STORIES_HW } as const;

/**
 * N:M patterns a chain of `length` slices in DSP groups of `groupSize` can run. Only N dividing
 * M: chainGeometry accepts e.g. 3:8 but then has M/N = 2.67 segments per chain.
 */
export function possiblePatterns(length: number, groupSize: number): NmPattern[] {
  const out: NmPattern[] = [];
  for (const m of [2, 4, 8, 16]) {
    for (let n = 1; n < m; n++) {
      if (m % n !== 0) continue;
      try {
        chainGeometry({ n, m }, length, groupSize);
        out.push({ n, m });
      } catch {
        // not runnable on this chain
      }
    }
  }
  return out;
}

/** A small random configuration: 2-4 chains of 8 or 16, random mode table, small buffers. */
export function randomHw(seed: number): GenConfig {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const L = rng.pick([8, 16, 16]);
  const C = rng.int(2, 4);
  const G = 2;
  const all = possiblePatterns(L, G);
  const sparsity: NmPattern[] = [];
  const want = rng.pick([0, 1, 2, 3, 3, 4]);
  while (sparsity.length < Math.min(want, all.length)) {
    const p = rng.pick(all);
    if (!sparsity.some((q) => q.n === p.n && q.m === p.m)) sparsity.push(p);
  }
  const hw: GenConfig = {
    ...FUZZ_HW,
    chains: C,
    chainLength: L,
    groupSize: G,
    sparsity,
    actWidth: rng.pick([8, 8, 16]),
    weightWidth: rng.pick([8, 8, 16]),
    sfuLanes: rng.pick([1, 2, 4, 8].filter((x) => x <= L)),
    axiDataBits: rng.pick([64, 128, 256]),
    queueDepth: rng.int(1, 4),
    loopDepth: 4,
    actDepth: rng.pick([32, 64]),
    weightDepth: rng.pick([32, 64]),
    accDepth: rng.pick([128, 256]),
    kvDepth: C * L * rng.pick([32, 64]),
    globalDepth: rng.pick([512, 1024]),
    biasDepth: rng.pick([256, 512]),
  };
  validateConfig(hw);
  accelGeometry(hw);
  return hw;
}
