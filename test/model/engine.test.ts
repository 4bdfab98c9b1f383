import { describe, expect, it } from 'vitest';
import { BOS, argmax, checkGenerate, generate, type Engine } from '../../src/model/engine.ts';
import { MODEL_PRESETS, type ModelConfig } from '../../src/model/config.ts';

/**
 * A scripted engine: records every (token, pos) it is fed and answers with logits whose argmax
 * is `next(token, pos)`.
 */
class ScriptEngine implements Engine {
  readonly calls: [number, number][] = [];
  constructor(
    readonly config: ModelConfig,
    private readonly next: (token: number, pos: number) => number,
  ) {}
  forward(token: number, pos: number): Float32Array {
    this.calls.push([token, pos]);
    const l = new Float32Array(this.config.vocabSize);
    l[this.next(token, pos)] = 1;
    return l;
  }
}

const cfg: ModelConfig = { ...MODEL_PRESETS.tiny!, name: 'script', vocabSize: 50, seqLen: 12 };

describe('generate()', () => {
  it('BOS at position 0, then N greedy tokens each fed back at the next position', () => {
    const e = new ScriptEngine(cfg, (t, pos) => (t + pos + 3) % 50);
    const ids = generate(e, { tokens: 4 });
    expect(e.calls).toEqual([
      [BOS, 0],
      [4, 1],
      [8, 2],
      [13, 3],
    ]);
    expect(ids).toEqual([4, 8, 13, 19]);
  });

  it('teacher forcing: prompt ids at positions 1..k whatever the model predicts; logits rows from 0 on', () => {
    const e = new ScriptEngine(cfg, () => 42);
    const rows: number[] = [];
    const toks: [number, number, number][] = [];
    const ids = generate(e, { tokens: 3, promptIds: [5, 9, 17], onLogits: (pos, l) => rows.push(pos * 1000 + argmax(l)), onToken: (t, i, pos) => toks.push([t, i, pos]) });
    expect(e.calls).toEqual([
      [BOS, 0],
      [5, 1],
      [9, 2],
      [17, 3],
      [42, 4],
      [42, 5],
    ]);
    expect(ids).toEqual([42, 42, 42]);
    expect(rows).toEqual([42, 1042, 2042, 3042, 4042, 5042]); // k + N = 6 rows
    expect(toks).toEqual([
      [42, 0, 3],
      [42, 1, 4],
      [42, 2, 5],
    ]);
  });

  it('does not stop at BOS: a generated 1 is fed back like any other id', () => {
    const e = new ScriptEngine(cfg, (t) => (t === BOS ? 7 : BOS));
    expect(generate(e, { tokens: 5 })).toEqual([7, 1, 7, 1, 7]);
  });

  it('argmax: first index wins ties', () => {
    expect(argmax(Float32Array.from([0, 3, 1, 3, 3]))).toBe(1);
    expect(argmax(Float32Array.from([-2, -5, -2]))).toBe(0);
    expect(argmax(Float32Array.from([-Infinity, -1e30]))).toBe(1);
  });

  it('positions must stay below seqLen: k + N <= seqLen', () => {
    const e = new ScriptEngine(cfg, () => 3);
    expect(generate(e, { tokens: 12 })).toHaveLength(12); // positions 0..11
    expect(generate(new ScriptEngine(cfg, () => 3), { tokens: 10, promptIds: [2, 2] })).toHaveLength(10);
    const e2 = new ScriptEngine(cfg, () => 3);
    expect(() => generate(e2, { tokens: 13 })).toThrow(/need positions 0\.\.12, but model script has seq_len 12 \(at most 12 tokens after this prompt\)/);
    expect(() => generate(e2, { tokens: 10, promptIds: [2, 2, 2] })).toThrow(/BOS \+ 3 prompt tokens \+ 10 generated tokens need positions 0\.\.12.*at most 9 tokens/);
    expect(e2.calls).toEqual([]); // nothing ran
  });

  it('rejects prompt ids outside the vocabulary and bad token counts before running anything', () => {
    const e = new ScriptEngine(cfg, () => 3);
    expect(() => generate(e, { tokens: 2, promptIds: [4, 50] })).toThrow(/prompt token 2 is 50, outside the vocabulary 0\.\.49 of model script/);
    expect(() => generate(e, { tokens: 2, promptIds: [-1] })).toThrow(/prompt token 1 is -1/);
    expect(() => generate(e, { tokens: 0 })).toThrow(/positive integer, got 0/);
    expect(() => checkGenerate(cfg, 2.5)).toThrow(RangeError);
    expect(e.calls).toEqual([]);
  });

  it('checks the engine returns vocabSize logits', () => {
    const bad: Engine = { config: cfg, forward: () => new Float32Array(3) };
    expect(() => generate(bad, { tokens: 1 })).toThrow(/returned 3 logits at position 0, expected 50/);
  });
});
