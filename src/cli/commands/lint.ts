import type { Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import { verilatorLint } from '../../sim/lint.ts';
import { yosysCheck, YosysError } from '../../synth/yosys.ts';

/** Lints a generated folder with both gates: Verilator -Wall and Yosys check -assert. */
export function registerLint(program: Command): void {
  program
    .command('lint')
    .description('check a generated folder with verilator --lint-only -Wall and yosys check -assert')
    .option('--dir <dir>', 'folder written by `flightgen gen`', 'generated')
    .action(async (o: { dir: string }) => {
      let manifest: { top: string; files: string[] };
      try {
        manifest = JSON.parse(await readFile(join(o.dir, 'manifest.json'), 'utf8'));
      } catch {
        throw new UsageError(`no readable manifest.json in '${o.dir}' (run flightgen gen first)`);
      }
      const names = (await readdir(o.dir)).filter((n) => n.endsWith('.v')).sort();
      const files = new Map<string, string>();
      for (const n of names) files.set(n, await readFile(join(o.dir, n), 'utf8'));
      const v = await verilatorLint(files, manifest.top);
      if (!v.ok) throw new UsageError(`verilator -Wall: ${v.messages.length} message(s), first: ${v.messages[0] ?? 'verilator failed'}`);
      try {
        await yosysCheck(files, manifest.top);
      } catch (e) {
        if (e instanceof YosysError) throw new UsageError(e.message);
        throw e;
      }
      process.stdout.write(`flightgen: ${names.length} files, top ${manifest.top}: verilator -Wall clean, yosys check -assert clean\n`);
    });
}
