/** Verilator's `--lint-only -Wall` over a set of generated files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface LintResult {
  ok: boolean;
  /** Verilator's warnings and errors, one message per entry. */
  messages: string[];
}

export async function verilatorLint(files: ReadonlyMap<string, string>, top: string): Promise<LintResult> {
  const dir = await mkdtemp(join(tmpdir(), 'flightgen-lint-'));
  try {
    const names = [...files.keys()].filter((n) => n.endsWith('.v'));
    for (const n of names) await writeFile(join(dir, n), files.get(n)!);
    const r = await execa('verilator', ['--lint-only', '-Wall', '--top-module', top, ...names], { cwd: dir, reject: false, all: true });
    const messages = (r.all ?? '').split('\n').filter((l) => /^%(Warning|Error)/.test(l));
    return { ok: r.exitCode === 0 && messages.length === 0, messages };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
