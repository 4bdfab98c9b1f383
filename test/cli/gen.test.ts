import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'flightgen.js');
const run = (args: string[]) => execa('node', [CLI, ...args], { reject: false });

describe('flightgen gen', () => {
  it('writes the Verilog files and a manifest describing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-gen-'));
    const out = join(dir, 'out');
    const r = await run(['gen', '--chains', '32', '--out', out]);
    expect(r.exitCode).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.top).toBe('mpe_c32_l16_g2_a8_b8_nm2of4_1of4_2of8');
    expect(manifest.macs).toBe(512);
    expect(manifest.modes).toEqual(['dense', '2:4', '1:4', '2:8']);
    expect([...manifest.files].sort()).toEqual((await readdir(out)).filter((f) => f.endsWith('.v')).sort());
    const counts = Object.fromEntries(manifest.modules.map((m: { name: string; instances: number }) => [m.name, m.instances]));
    expect(counts).toEqual({ mac_slice_a8_b8: 512, sparse_chain_l16_g2_a8_b8_nm2of4_1of4_2of8: 32, mpe_unit_l16_g2_a8_b8_nm2of4_1of4_2of8: 32, mpe_c32_l16_g2_a8_b8_nm2of4_1of4_2of8: 1 });
    const chain = manifest.modules.find((m: { name: string }) => m.name.startsWith('sparse_chain'));
    expect(chain.params).toEqual({ aWidth: 8, bWidth: 8, length: 16, groupSize: 2, backend: 'behavioral', patterns: [{ n: 2, m: 4 }, { n: 1, m: 4 }, { n: 2, m: 8 }] });
  });

  it('--ld-ports: the config reaches the manifest and the top gets one AXI read port per LD pipeline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-gen-'));
    const out = join(dir, 'out');
    const r = await run(['gen', '--preset', 'tiny', '--top', 'flightllm', '--ld-ports', '4', '--out', out, '-q']);
    expect(r.exitCode).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.config.ldPorts).toBe(4);
    expect(manifest.presetOverrides).toEqual(['--top', '--ld-ports']);
    const pipes = manifest.modules.find((m: { name: string }) => m.name.startsWith('ld_pipe_'));
    expect(pipes.instances).toBe(4);
    const top = await readFile(join(out, 'flightllm_top.v'), 'utf8');
    for (let p = 0; p < 4; p++) expect(top).toMatch(new RegExp(`\\bm${p}_r_data\\b`));
    expect(top).not.toMatch(/\bm_r_data\b/);
    // The default keeps the single m_* port.
    const one = join(dir, 'one');
    expect((await run(['gen', '--preset', 'tiny', '--top', 'flightllm', '--out', one, '-q'])).exitCode).toBe(0);
    expect(await readFile(join(one, 'flightllm_top.v'), 'utf8')).toMatch(/\bm_r_data\b/);
  }, 120_000);

  it('`npm run gen` and `flightgen gen` are the same command (package.json)', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
    expect(pkg.scripts.gen).toBe('node bin/flightgen.js gen');
    expect(pkg.bin.flightgen).toBe('bin/flightgen.js');
  });

  it('regenerating replaces the folder but keeps its README.md', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-gen-'));
    const out = join(dir, 'out');
    expect((await run(['gen', '--chains', '2', '--out', out])).exitCode).toBe(0);
    await writeFile(join(out, 'README.md'), 'keep me\n');
    await writeFile(join(out, 'stale.v'), 'module stale; endmodule\n');
    expect((await run(['gen', '--top', 'mac', '--out', out, '-q'])).exitCode).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'mac_slice_a8_b8.v', 'manifest.json']);
  });

  it('every command has --help', async () => {
    for (const cmd of [[], ['gen'], ['lint'], ['bench']]) {
      const r = await run([...cmd, '--help']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('Usage: flightgen');
    }
  });

  const BAD: [string, string[], RegExp][] = [
    ['--chains 0', ['--chains', '0'], /--chains must be a positive integer, got '0'/],
    ['--chains abc', ['--chains', 'abc'], /--chains must be a positive integer, got 'abc'/],
    ['--chain-len -1', ['--chain-len', '-1'], /--chain-len must be a positive integer, got '-1'/],
    ['unknown flag', ['--bogus'], /unknown option '--bogus'/],
    ['unknown top', ['--top', 'nope'], /argument 'nope' is invalid/],
    ['too wide weights', ['--weight-width', '19'], /weightWidth must be an integer in 2\.\.18/],
    ['--ld-ports 3', ['--top', 'flightllm', '--ld-ports', '3'], /--ld-ports must be a power of two from 1 to 32, got '3'/],
    ['--ld-ports 64', ['--ld-ports', '64'], /--ld-ports must be a power of two from 1 to 32, got '64'/],
    ['--ld-ports 0', ['--ld-ports', '0'], /--ld-ports must be a power of two from 1 to 32, got '0'/],
  ];
  for (const [label, args, message] of BAD) {
    it(`bad input (${label}): one-line error, exit 2, no stack trace, no output left`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fg-bad-'));
      const r = await run(['gen', ...args, '--out', join(dir, 'out')]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^flightgen: error: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await readdir(dir)).toEqual([]);
    });
  }

  it('unwritable --out (below a regular file): one-line error, exit 2, nothing left behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-bad-'));
    await writeFile(join(dir, 'file'), 'x');
    for (const out of [join(dir, 'file', 'sub'), join(dir, 'file')]) {
      const r = await run(['gen', '--out', out]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^flightgen: error: .*(cannot create output folder|not a folder)/);
    }
    expect(await readdir(dir)).toEqual(['file']);
  });
});
