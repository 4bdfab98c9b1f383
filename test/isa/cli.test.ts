import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerIsa } from '../../src/cli/commands/isa.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { generateIsaDocs } from '../../src/isa/docs.ts';

// src/cli/main.ts registers commands itself; these tests drive registerIsa on a bare program.
async function run(args: string[]): Promise<void> {
  const program = new Command('flightgen').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerIsa(program);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  await program.parseAsync(args, { from: 'user' });
}

async function usageError(args: string[]): Promise<string> {
  try {
    await run(args);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

const SRC = `# decode step fragment
SYS fn=setlen reg=L1 imm=512
LD buf=kv dtype=int8 space=hbm addr=0x40000000 chan=4 sram=0 len=128 count0=L1 estride0=0x80 istride0=128 release=MX
MV pattern=2:4 wprec=int4 aprec=int8 cols=128 rows=L1 wsrc=kv wbase=0 mbase=0 sbase=0 abase=0x100 obase=0 wait=LD
SYS fn=end
`;

describe('flightgen asm / disasm / isa-docs', () => {
  it('asm writes the binary; disasm prints text that assembles to the same bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-isa-'));
    await writeFile(join(dir, 'p.s'), SRC);
    await run(['asm', join(dir, 'p.s'), '-o', join(dir, 'p.bin')]);
    const bin = await readFile(join(dir, 'p.bin'));
    expect(bin.length).toBe(4 * (2 + 9 + 6 + 2));
    await run(['disasm', join(dir, 'p.bin'), '-o', join(dir, 'q.s'), '--offsets']);
    const text = await readFile(join(dir, 'q.s'), 'utf8');
    expect(text.split('\n')[2]).toMatch(/^MV pattern=2:4 .* ; @0x2c$/);
    await run(['asm', join(dir, 'q.s'), '-o', join(dir, 'q.bin')]);
    expect(await readFile(join(dir, 'q.bin'))).toEqual(bin);
    // another design's mode table changes the pattern index
    await run(['asm', join(dir, 'p.s'), '-o', join(dir, 'r.bin'), '--sparsity', '1:8,2:4']);
    expect((await readFile(join(dir, 'r.bin')).then((b) => b.readUInt32LE(44)) >>> 26) & 0xf).toBe(2);
  });

  it('isa-docs -o writes the generated reference', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-isa-'));
    await run(['isa-docs', '-o', join(dir, 'isa.md')]);
    expect(await readFile(join(dir, 'isa.md'), 'utf8')).toBe(generateIsaDocs());
  });

  it('bad input: one-line UsageError naming the file and place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-isa-'));
    const bad = join(dir, 'bad.s');
    await writeFile(bad, SRC.replace('len=128', 'len=99999'));
    expect(await usageError(['asm', bad, '-o', join(dir, 'x.bin')])).toBe(`${bad}: line 3: LD.len: 99999 does not fit 16-bit unsigned field (0..65535)`);
    const bin = join(dir, 'bad.bin');
    await writeFile(bin, Buffer.from([0x06, 0, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0, 0]));
    expect(await usageError(['disasm', bin])).toBe(`${bin}: byte 0x0008: unknown opcode 0xc`);
    expect(await usageError(['disasm', join(dir, 'missing.bin')])).toMatch(/^cannot read '.*missing\.bin': ENOENT$/);
    expect(await usageError(['asm', bad, '-o', join(dir, 'x.bin'), '--sparsity', '3:5'])).toMatch(/^--sparsity: .*M must be a power of two/);
    expect(await usageError(['isa-docs', '-o', join(dir, 'no', 'such', 'dir.md')])).toMatch(/^cannot write '.*dir\.md': ENOENT$/);
  });

  it('every command has help text; asm requires -o', async () => {
    const program = new Command('flightgen');
    registerIsa(program);
    for (const name of ['asm', 'disasm', 'isa-docs']) {
      const c = program.commands.find((x) => x.name() === name)!;
      expect(c.description().length).toBeGreaterThan(20);
      expect(c.helpInformation()).toContain(`Usage: flightgen ${name}`);
    }
    await expect(run(['asm', 'x.s'])).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' });
  });
});
