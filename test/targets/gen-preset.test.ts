import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS } from '../../src/targets/presets.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'flightgen.js');
const run = (args: string[]) => execa('node', [CLI, ...args], { reject: false });
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v));

async function genManifest(args: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'fg-preset-'));
  const out = join(dir, 'out');
  const r = await run(['gen', ...args, '--out', out, '-q']);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  return JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
}

describe('flightgen gen --preset', () => {
  it('--preset tiny: the manifest config is the preset, and names it', async () => {
    const m = await genManifest(['--preset', 'tiny']);
    expect(m.config).toEqual(json(PRESETS.tiny.config));
    expect(m.preset).toBe('tiny');
    expect(m.presetOverrides).toEqual([]);
    expect(m.macs).toBe(64);
  });

  it('explicit options override the preset, the rest stays', async () => {
    const m = await genManifest(['--preset', 'tiny', '--chains', '8', '--act-depth', '128', '--sparsity', 'dense,2:4']);
    expect(m.config).toEqual(json({ ...PRESETS.tiny.config, chains: 8, actDepth: 128, sparsity: [{ n: 2, m: 4 }] }));
    expect(m.presetOverrides).toEqual(['--chains', '--sparsity', '--act-depth']);
    expect(m.macs).toBe(128);
  });

  it('an explicit value equal to the built-in default still overrides the preset', async () => {
    // The built-in default of --act-depth is 2048; tiny has 64.
    const m = await genManifest(['--preset', 'tiny', '--act-depth', '2048']);
    expect(m.config.actDepth).toBe(2048);
  });

  it('without --preset the manifest has no preset field', async () => {
    const m = await genManifest(['--top', 'mac']);
    expect(m.preset).toBeUndefined();
  });

  it('unknown preset: one-line error listing the presets, exit 2, nothing written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-preset-bad-'));
    const r = await run(['gen', '--preset', 'huge', '--out', join(dir, 'out')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^flightgen: error: --preset: unknown preset 'huge' \(expected one of flightllm-u280, flightllm-vhk158, tiny\)$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(dir)).toEqual([]);
  });

  it('--help lists --preset and the preset names', async () => {
    const r = await run(['gen', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/--preset <name> .*flightllm-u280, flightllm-vhk158, tiny/);
  });
});
