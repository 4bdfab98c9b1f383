import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS, headSize, kvDim, validateModel, type ModelConfig } from '../../src/model/config.ts';

describe('model presets', () => {
  it('every preset is consistent and named by its key', () => {
    for (const [key, c] of Object.entries(MODEL_PRESETS)) {
      expect(c.name).toBe(key);
      expect(() => validateModel(c)).not.toThrow();
      expect(headSize(c) % 2).toBe(0);
      expect(c.nHeads % c.nKvHeads).toBe(0);
    }
  });

  it('published shapes', () => {
    const s = MODEL_PRESETS.stories260K!;
    expect([s.dim, s.hiddenDim, s.nLayers, s.nHeads, s.nKvHeads, s.vocabSize, s.seqLen]).toEqual([64, 172, 5, 8, 4, 512, 512]);
    expect([headSize(s), kvDim(s)]).toEqual([8, 32]);
    const l = MODEL_PRESETS['llama2-7b']!;
    expect([l.dim, l.hiddenDim, l.nLayers, l.nHeads, l.vocabSize]).toEqual([4096, 11008, 32, 32, 32000]);
    expect(MODEL_PRESETS['opt-6.7b']!.family).toBe('opt');
  });

  const base = MODEL_PRESETS.tiny!;
  const BAD: [string, Partial<ModelConfig>, RegExp][] = [
    ['zero dim', { dim: 0 }, /dim must be a positive integer, got 0/],
    ['fractional layers', { nLayers: 1.5 }, /nLayers must be a positive integer, got 1\.5/],
    ['negative vocab', { vocabSize: -3 }, /vocabSize must be a positive integer/],
    ['dim not a multiple of heads', { nHeads: 5 }, /dim 32 is not a multiple of n_heads 5/],
    ['heads not a multiple of kv heads', { nKvHeads: 3 }, /n_heads 4 is not a multiple of n_kv_heads 3/],
    ['odd head size', { dim: 12, nHeads: 4, nKvHeads: 4 }, /head size 3 must be even for RoPE/],
  ];
  for (const [label, change, msg] of BAD) {
    it(`rejects ${label}, naming the field`, () => {
      expect(() => validateModel({ ...base, name: 'bad', ...change })).toThrow(RangeError);
      expect(() => validateModel({ ...base, name: 'bad', ...change })).toThrow(msg);
    });
  }
});
