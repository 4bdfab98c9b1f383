import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, randomWeights, writeCheckpoint } from '../../src/model/checkpoint.ts';
import { FloatEngine } from '../../src/model/float-ref.ts';
import { generate } from '../../src/model/engine.ts';
import { MODEL_PRESETS } from '../../src/model/config.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'flightgen.js');
const STORIES = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'stories260K.bin');
const run = (args: string[]) => execa('node', [CLI, 'infer', ...args], { reject: false });

/** In-process reference: ids and the concatenated logits rows. */
function reference(path: string, tokens: number, promptIds: number[] = []) {
  const engine = new FloatEngine(loadCheckpoint(path));
  const rows: number[] = [];
  const ids = generate(engine, { tokens, promptIds, onLogits: (_, l) => rows.push(...l) });
  return { ids, logits: Float32Array.from(rows) };
}

describe('flightgen infer', () => {
  it('prints the 256 generated ids of stories260K on one line, nothing on stderr (not a terminal)', async () => {
    const r = await run(['--checkpoint', STORIES, '--engine', 'float', '--tokens', '256']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\d+( \d+){255}$/);
    expect(r.stdout.split(' ').map(Number)).toEqual(reference(STORIES, 256).ids);
  });

  it('--prompt-ids and --dump-logits: k + N rows of vocab float32 LE logits, from position 0 on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-infer-'));
    const dump = join(dir, 'logits.bin');
    const r = await run(['--checkpoint', STORIES, '--tokens', '7', '--prompt-ids', '5,9,17', '--dump-logits', dump]);
    expect(r.exitCode).toBe(0);
    const ref = reference(STORIES, 7, [5, 9, 17]);
    expect(r.stdout.trim().split(' ').map(Number)).toEqual(ref.ids);
    const buf = await readFile(dump);
    expect(buf.byteLength).toBe((3 + 7) * 512 * 4);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const got = Float32Array.from({ length: buf.byteLength / 4 }, (_, i) => dv.getFloat32(4 * i, true));
    expect(got).toEqual(ref.logits);
    expect(await readdir(dir)).toEqual(['logits.bin']); // no temporary file left
  });

  it('--progress reports tokens/s on stderr; stdout is unchanged', async () => {
    const r = await run(['--checkpoint', STORIES, '--tokens', '5', '--progress']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split(' ')).toHaveLength(5);
    expect(r.stderr).toMatch(/^flightgen: infer: 5 tokens in \d+\.\d\d s, \d+\.\d tokens\/s \(engine float/m);
  });

  it('--precision/--act-precision/--sparsity are accepted and ignored by the float engine', async () => {
    const r = await run(['--checkpoint', STORIES, '--tokens', '3', '--precision', 'int4', '--act-precision', 'int16', '--sparsity', '2:4']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split(' ').map(Number)).toEqual(reference(STORIES, 3).ids);
  });

  it('fills seq_len exactly (prompt + tokens = seq_len) on a small checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-infer-'));
    const path = join(dir, 'tiny.bin');
    await writeFile(path, writeCheckpoint(randomWeights(MODEL_PRESETS.tiny!, 9)));
    const r = await run(['--checkpoint', path, '--tokens', '62', '--prompt-ids', '3,4']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split(' ').map(Number)).toEqual(reference(path, 62, [3, 4]).ids);
  });

  it('`npm run infer` is `flightgen infer` (package.json); infer has --help', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
    expect(pkg.scripts.infer).toBe('node bin/flightgen.js infer');
    const r = await run(['--help']);
    expect(r.exitCode).toBe(0);
    for (const flag of ['--checkpoint', '--program', '--engine', '--tokens', '--prompt-ids', '--dump-logits', '--precision', '--act-precision', '--sparsity', '--progress']) expect(r.stdout).toContain(flag);
  });
});

describe.concurrent('flightgen infer: bad input', () => {
  const BAD: [string, (dir: string) => Promise<string[]>, RegExp][] = [
    ['prompt id >= vocab', async () => ['--checkpoint', STORIES, '--tokens', '4', '--prompt-ids', '5,512'], /--prompt-ids: prompt token 2 is 512, outside the vocabulary 0\.\.511 of model stories260K/],
    ['too many tokens for seq_len', async () => ['--checkpoint', STORIES, '--tokens', '511', '--prompt-ids', '1,2'], /--tokens: .*need positions 0\.\.512, but model stories260K has seq_len 512 \(at most 510 tokens after this prompt\)/],
    ['missing checkpoint', async (dir) => ['--checkpoint', join(dir, 'nope.bin'), '--tokens', '4'], /cannot read checkpoint '.*nope\.bin': ENOENT/],
    ['truncated checkpoint', async (dir) => {
      const path = join(dir, 'cut.bin');
      await writeFile(path, (await readFile(STORIES)).subarray(0, 5000));
      return ['--checkpoint', path, '--tokens', '4'];
    }, /cut\.bin: truncated: 5000 bytes, the header needs 1056540; 'token_embedding' is cut short/],
    ['neither --checkpoint nor --program', async () => ['--tokens', '4'], /give exactly one of --checkpoint FILE and --program DIR/],
    ['both --checkpoint and --program', async (dir) => ['--checkpoint', STORIES, '--program', dir, '--tokens', '4'], /give exactly one of --checkpoint FILE and --program DIR/],
    ['--program with the float engine', async (dir) => ['--program', dir, '--tokens', '4'], /engine float runs a llama2\.c --checkpoint; a compiled --program needs --engine golden or rtl/],
    ['--check-every-store without the rtl engine', async () => ['--checkpoint', STORIES, '--engine', 'golden', '--tokens', '4', '--check-every-store'], /--check-every-store and --no-check apply to --engine rtl/],
    ['--check-every-store with --no-check', async () => ['--checkpoint', STORIES, '--engine', 'rtl', '--tokens', '4', '--check-every-store', '--no-check'], /--check-every-store needs the golden comparison/],
    ['rtl engine with a design too small for the model', async () => ['--checkpoint', STORIES, '--engine', 'rtl', '--tokens', '4', '--kv-depth', '1024'], /KV buffer too small/],
    ['golden engine on a design too small for the model', async () => ['--checkpoint', STORIES, '--engine', 'golden', '--tokens', '4', '--act-depth', '2'], /activation buffer too small/],
    ['unknown engine', async () => ['--checkpoint', STORIES, '--engine', 'gpu', '--tokens', '4'], /argument 'gpu' is invalid/],
    ['--tokens 0', async () => ['--checkpoint', STORIES, '--tokens', '0'], /--tokens must be a positive integer, got '0'/],
    ['--tokens missing', async () => ['--checkpoint', STORIES], /required option '--tokens <n>' not specified/],
    ['--prompt-ids not numbers', async () => ['--checkpoint', STORIES, '--tokens', '2', '--prompt-ids', '5,x'], /--prompt-ids: 'x' is not a token id/],
    ['bad --sparsity', async () => ['--checkpoint', STORIES, '--tokens', '2', '--sparsity', '3:5'], /--sparsity: .*M must be a power of two/],
    ['--dump-logits in a missing folder', async (dir) => ['--checkpoint', STORIES, '--tokens', '2', '--dump-logits', join(dir, 'no', 'l.bin')], /cannot write --dump-logits '.*l\.bin': ENOENT/],
  ];
  for (const [label, args, message] of BAD) {
    it(`${label}: one-line error, exit 2, no stack trace, no --dump-logits file`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fg-infer-bad-'));
      const a = await args(dir);
      const before = await readdir(dir);
      const r = await run([...a, ...(a.includes('--dump-logits') ? [] : ['--dump-logits', join(dir, 'logits.bin')])]);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^flightgen: error: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await readdir(dir)).toEqual(before);
    });
  }
});
