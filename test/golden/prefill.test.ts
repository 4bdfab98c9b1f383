import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/compile.ts';
import { GoldenEngine } from '../../src/golden/engine.ts';
import { loadCheckpoint, randomWeights } from '../../src/model/checkpoint.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import type { ModelWeights } from '../../src/model/weights.ts';
import { SMALL_HW, STORIES } from './fixtures.ts';

/** Prefill (MM chunk block) and decode (MV block, one position at a time) must give identical logits. */
function checkPrefillEqualsDecode(w: ModelWeights, tokens: number[], loop: boolean, hw = SMALL_HW): number {
  const c = compile({ model: w.config, weights: w, hw, options: { precision: 'int8', actBits: 16, pattern: 'dense' } });
  const T = c.plan.prefillTokens;
  expect(T).toBeGreaterThan(1);
  const prefillBlock = c.instrs.slice(c.blocks[1]!.start, c.blocks[1]!.start + c.blocks[1]!.count);
  expect(prefillBlock.some((i) => i.op === 'MM')).toBe(true);
  expect(prefillBlock.some((i) => i.op === 'LOOP')).toBe(loop);
  const a = new GoldenEngine(c).prefill(tokens, 0);
  const d = new GoldenEngine(c);
  const b = tokens.map((t, i) => d.forward(t, i));
  for (let i = 0; i < tokens.length; i++) expect(Array.from(a[i]!)).toEqual(Array.from(b[i]!));
  return T;
}

describe('prefill block (MM over a chunk of tokens)', () => {
  it('stories260K: a padded 20-token prompt gives bit-identical logits to 20 decode steps', () => {
    checkPrefillEqualsDecode(loadCheckpoint(STORIES), [1, 5, 9, 17, 200, 300, 44, 2, 9, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110], false);
  }, 120_000);

  it('head size = window: the attention loop (LOOP + length-register steps) equals decode, across several chunks', () => {
    const config: ModelConfig = { name: 'h16', family: 'llama', dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, seqLen: 64, sharedClassifier: true, normEps: 1e-5, ropeTheta: 10000 };
    const w = randomWeights(config, 11);
    const tokens = Array.from({ length: 40 }, (_, i) => (i * 7 + 1) % 64);
    // A small activation buffer forces 16-token chunks: 40 tokens = 2 full chunks + a padded one.
    expect(checkPrefillEqualsDecode(w, tokens, true, { ...SMALL_HW, actDepth: 256 })).toBe(16);
  }, 120_000);
});
