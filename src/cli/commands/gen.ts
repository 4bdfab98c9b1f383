import type { Command } from 'commander';
import { generate } from '../../generate.ts';
import { UsageError } from '../errors.ts';
import { addGenOptions, genConfigFromOptions, type GenOptionValues } from '../gen-options.ts';
import { writeOutputDir } from '../output-dir.ts';

export function registerGen(program: Command): void {
  addGenOptions(program.command('gen').description('generate Verilog for the configured design, plus manifest.json'))
    .option('--out <dir>', 'output folder (replaced atomically)', 'generated')
    .option('--no-locators', 'omit the // file.ts:line source comments')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (o: GenOptionValues & { out: string; locators: boolean; quiet?: boolean }, cmd: Command) => {
      const { config, preset, overrides } = genConfigFromOptions(o, cmd);
      let gen;
      try {
        gen = generate(config, { locators: o.locators });
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      }
      const files = new Map<string, string>(gen.files);
      const manifest = preset ? { ...gen.manifest, preset: preset.name, presetOverrides: overrides } : gen.manifest;
      files.set('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
      await writeOutputDir(o.out, files);
      if (!o.quiet) {
        process.stdout.write(`flightgen: wrote ${gen.files.size} Verilog files + manifest.json to ${o.out}/ (top ${gen.manifest.top}, ${gen.manifest.macs} MACs)\n`);
      }
    });
}
