/**
 * Cross-checks the float32 reference engine (src/model/float-ref.ts) against an independent C
 * program (c-ref/ref.c) built with gcc -O2 on the real stories260K checkpoint:
 * - built with -DLIBM_DOUBLE (exp/sin/cos/pow in double, rounded to float, like Math.* + fround)
 *   every logit must be bit-identical: this pins the order of every float32 operation;
 * - built plainly (expf/sinf/cosf/powf, as llama2.c) the greedy ids must be identical and the
 *   logits equal within a tiny tolerance (libm's float functions may differ by 1 ulp).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadCheckpoint, randomWeights, writeCheckpoint } from '../../src/model/checkpoint.ts';
import { FloatEngine } from '../../src/model/float-ref.ts';
import { generate } from '../../src/model/engine.ts';
import { MODEL_PRESETS } from '../../src/model/config.ts';

const STORIES = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'stories260K.bin');
const REF_C = join(import.meta.dirname, 'c-ref', 'ref.c');
const HAVE_GCC = spawnSync('gcc', ['--version']).status === 0;
if (!HAVE_GCC) console.warn('test/model/float-ref.test.ts: gcc not found, skipping the C reference cross-check');

/** Logits tolerance against the expf/sinf/cosf/powf build (observed max difference: ~6e-5). */
const TOLERANCE = 5e-4;

interface Run {
  ids: number[];
  logits: Float32Array;
}

function runTs(path: string, tokens: number, promptIds: number[] = []): Run {
  const engine = new FloatEngine(loadCheckpoint(path));
  const rows: Float32Array[] = [];
  const ids = generate(engine, { tokens, promptIds, onLogits: (_, l) => rows.push(l.slice()) });
  const logits = new Float32Array(rows.length * engine.config.vocabSize);
  rows.forEach((r, i) => logits.set(r, i * r.length));
  return { ids, logits };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.skipIf(!HAVE_GCC)('float reference vs the C reference (gcc -O2)', () => {
  let dir = '';
  const bin = { plain: '', libmDouble: '' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fg-cref-'));
    bin.plain = join(dir, 'ref');
    bin.libmDouble = join(dir, 'ref-libm-double');
    // -ffp-contract=off: no fused multiply-adds even where the target has them (x86-64 without
    // -march has none; aarch64 would contract a*b+c by default).
    await execa('gcc', ['-O2', '-ffp-contract=off', '-o', bin.plain, REF_C, '-lm']);
    await execa('gcc', ['-O2', '-ffp-contract=off', '-DLIBM_DOUBLE', '-o', bin.libmDouble, REF_C, '-lm']);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function runC(exe: string, path: string, tokens: number, promptIds: number[] = []): Promise<Run> {
    const out = join(dir, `logits-${Math.random().toString(36).slice(2)}.bin`);
    const r = await execa(exe, [path, String(tokens), out, ...promptIds.map(String)]);
    const buf = await readFile(out);
    await rm(out);
    return { ids: r.stdout.trim().split(/\s+/).map(Number), logits: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4) };
  }

  it('stories260K, 256 greedy tokens from BOS: identical ids, logits within tolerance of expf/sinf/cosf/powf', async () => {
    const ts = runTs(STORIES, 256);
    const c = await runC(bin.plain, STORIES, 256);
    expect(ts.ids).toHaveLength(256);
    expect(ts.ids).toEqual(c.ids);
    expect(ts.logits.length).toBe(256 * 512);
    const d = maxAbsDiff(ts.logits, c.logits);
    console.log(`stories260K 256 tokens: max |logit(TS) - logit(C, expf/sinf/cosf/powf)| = ${d.toExponential(3)}`);
    expect(d).toBeLessThan(TOLERANCE);
  });

  it('stories260K, 256 tokens: bit-identical logits when C uses double libm rounded to float', async () => {
    const ts = runTs(STORIES, 256);
    const c = await runC(bin.libmDouble, STORIES, 256);
    expect(ts.ids).toEqual(c.ids);
    expect(maxAbsDiff(ts.logits, c.logits)).toBe(0);
    expect(Buffer.from(ts.logits.buffer).equals(Buffer.from(c.logits.buffer, c.logits.byteOffset, c.logits.byteLength))).toBe(true);
  });

  it('stories260K with a forced prompt: same teacher forcing and ids as the C program', async () => {
    const prompt = [5, 9, 17, 300, 1, 411];
    const ts = runTs(STORIES, 40, prompt);
    const c = await runC(bin.libmDouble, STORIES, 40, prompt);
    expect(ts.ids).toEqual(c.ids);
    expect(ts.logits.length).toBe((prompt.length + 40) * 512);
    expect(maxAbsDiff(ts.logits, c.logits)).toBe(0);
  });

  it('a random model with a separate classifier (negative vocab_size) and MHA: bit-identical', async () => {
    const base = MODEL_PRESETS.tiny!;
    for (const config of [
      { ...base, name: 'rand-wcls', sharedClassifier: false },
      { ...base, name: 'rand-mha', nKvHeads: base.nHeads, hiddenDim: 40 },
    ]) {
      const path = join(dir, `${config.name}.bin`);
      await writeFile(path, writeCheckpoint(randomWeights(config, 7)));
      const ts = runTs(path, config.seqLen - 3, [3, 4, 5]);
      const c = await runC(bin.libmDouble, path, config.seqLen - 3, [3, 4, 5]);
      expect(ts.ids).toEqual(c.ids);
      expect(maxAbsDiff(ts.logits, c.logits)).toBe(0);
    }
  });
});

describe('float reference engine', () => {
  it('runs stories260K: 256 tokens in a few seconds, deterministic', () => {
    const t0 = performance.now();
    const a = runTs(STORIES, 256);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(10_000);
    expect(runTs(STORIES, 32).ids).toEqual(a.ids.slice(0, 32));
  });

  it('restarting at position 0 recomputes the same logits; skipping a position is an error', () => {
    const engine = new FloatEngine(randomWeights(MODEL_PRESETS.tiny!, 3));
    const first = [engine.forward(1, 0).slice(), engine.forward(7, 1).slice()];
    expect(engine.forward(1, 0)).toEqual(first[0]);
    expect(engine.forward(7, 1)).toEqual(first[1]);
    expect(() => engine.forward(7, 3)).toThrow(/position 3 skips positions 2\.\.2/);
    expect(() => engine.forward(64, 2)).toThrow(/token id 64 is outside the vocabulary 0\.\.63/);
    expect(() => engine.forward(1, 64)).toThrow(/position 64 is outside 0\.\.63/);
  });

  it('rejects a model of another family', () => {
    expect(() => new FloatEngine(randomWeights({ ...MODEL_PRESETS.tiny!, family: 'opt' }))).toThrow(/llama-family/);
  });
});
