import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, loadCheckpoint, parseCheckpoint, randomWeights, writeCheckpoint } from '../../src/model/checkpoint.ts';
import { MODEL_PRESETS } from '../../src/model/config.ts';

const STORIES = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'stories260K.bin');
const tiny = MODEL_PRESETS.tiny!;

/** Loads `bytes` from a temp file and returns the CheckpointError it raises. */
async function loadError(bytes: Uint8Array): Promise<CheckpointError> {
  const dir = await mkdtemp(join(tmpdir(), 'fg-ckpt-'));
  const path = join(dir, 'model.bin');
  await writeFile(path, bytes);
  try {
    loadCheckpoint(path);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    const msg = (e as Error).message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg.startsWith(path)).toBe(true); // names the file
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

const setHeader = (bytes: Uint8Array, field: number, value: number) => {
  const out = bytes.slice();
  new DataView(out.buffer).setInt32(field * 4, value, true);
  return out;
};

describe('llama2.c checkpoint loader', () => {
  it('the real stories260K checkpoint has the stories260K preset shape', () => {
    const w = loadCheckpoint(STORIES);
    expect({ ...w.config, name: 'stories260K' }).toEqual(MODEL_PRESETS.stories260K);
    expect(w.wcls).toBe(w.tokenEmbedding);
    expect(w.layers).toHaveLength(5);
    expect(w.layers[0]!.wk.length).toBe(32 * 64);
  });

  it('writeCheckpoint / parseCheckpoint round-trip, shared and separate classifier', () => {
    for (const config of [tiny, { ...tiny, sharedClassifier: false }]) {
      const w = randomWeights(config, 5);
      const back = parseCheckpoint(writeCheckpoint(w), 'tiny.bin');
      expect(back.config).toEqual({ ...config, name: 'tiny' });
      expect(back.tokenEmbedding).toEqual(w.tokenEmbedding);
      expect(back.wcls).toEqual(w.wcls);
      expect(back.layers[1]!.w2).toEqual(w.layers[1]!.w2);
      expect(back.rmsFinal).toEqual(w.rmsFinal);
    }
  });

  it('missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-ckpt-'));
    expect(() => loadCheckpoint(join(dir, 'nope.bin'))).toThrow(CheckpointError);
    expect(() => loadCheckpoint(join(dir, 'nope.bin'))).toThrow(/^cannot read checkpoint '.*nope\.bin': ENOENT$/);
  });

  it('file shorter than the header', async () => {
    expect((await loadError(new Uint8Array(10))).message).toMatch(/10 bytes is shorter than the 28-byte llama2\.c header/);
  });

  it('truncated weights: names the array that is cut short', async () => {
    const good = writeCheckpoint(randomWeights(tiny));
    expect((await loadError(good.subarray(0, 28 + 100))).message).toMatch(/truncated: 128 bytes, the header needs \d+; 'token_embedding' is cut short/);
    expect((await loadError(good.subarray(0, good.length - 4))).message).toMatch(/'freq_cis \(legacy RoPE tables\)' is cut short/);
    const split = 28 + 4 * (64 * 32 + 2 * 32 + 2 * 32 * 32 + 10);
    expect((await loadError(good.subarray(0, split))).message).toMatch(/'wk' is cut short/);
  });

  it('trailing bytes', async () => {
    const good = writeCheckpoint(randomWeights(tiny));
    const long = new Uint8Array(good.length + 12);
    long.set(good);
    expect((await loadError(long)).message).toMatch(/12 unexpected trailing bytes after the \d+ the header describes/);
  });

  it('bad header fields', async () => {
    const good = writeCheckpoint(randomWeights(tiny));
    expect((await loadError(setHeader(good, 0, 0))).message).toMatch(/header field dim = 0 is not a plausible size/);
    expect((await loadError(setHeader(good, 6, -5))).message).toMatch(/header field seq_len = -5/);
    expect((await loadError(setHeader(good, 5, 0))).message).toMatch(/vocab_size = 0/);
    expect((await loadError(setHeader(good, 3, 5))).message).toMatch(/header: dim 32 is not a multiple of n_heads 5/);
    expect((await loadError(setHeader(good, 4, 3))).message).toMatch(/header: n_heads 4 is not a multiple of n_kv_heads 3/);
    // Not a checkpoint at all: ASCII text.
    expect((await loadError(new TextEncoder().encode('this is not a llama2.c checkpoint file, just text\n'))).message).toMatch(/not a plausible size/);
  });

  it('a header that describes a different shape than the data is a size error', async () => {
    const good = writeCheckpoint(randomWeights(tiny));
    expect((await loadError(setHeader(good, 2, 3))).message).toMatch(/truncated/); // 3 layers, data for 2
    expect((await loadError(setHeader(good, 2, 1))).message).toMatch(/trailing bytes/); // 1 layer, data for 2
  });

  it('non-finite weights', async () => {
    const good = writeCheckpoint(randomWeights(tiny));
    const bad = good.slice();
    new DataView(bad.buffer).setFloat32(28 + 4 * 10, NaN, true);
    expect((await loadError(bad)).message).toMatch(/'token_embedding' holds a non-finite value at element 10/);
  });
});
