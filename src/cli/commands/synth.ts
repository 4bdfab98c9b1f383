import { Command, Option } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { validateConfig } from '../../arch/config.ts';
import { generate } from '../../generate.ts';
import { DEVICE_NAMES, getDevice, type Device } from '../../targets/devices.ts';
import { formatFit } from '../../targets/estimate.ts';
import { formatReport, precheckFits, SynthError, synthesizeDesign, type ModuleProgress } from '../../synth/report.ts';
import { UsageError } from '../errors.ts';
import { addGenOptions, genConfigFromOptions, type GenOptionValues } from '../gen-options.ts';

function deviceByName(text: string): Device {
  try {
    return getDevice(text);
  } catch (e) {
    throw new UsageError(`--target: ${(e as Error).message}`);
  }
}

function progressLine(p: ModuleProgress): string {
  const at = `[${p.index}/${p.count}]`;
  if (p.phase === 'start') return `${at} synthesizing ${p.module} (x${p.instances}${p.abcChunks ? `; large module: LUT mapping in ${p.abcChunks} chunks, this one takes long` : ''}) ...`;
  const r = p.report!;
  const per = r.perInstance;
  const bram = Number.isInteger(per.bram) ? per.bram : per.bram.toFixed(1);
  return `${at} ${p.module}: ${per.lut} LUT, ${per.ff} FF, ${per.dsp} DSP, ${bram} BRAM, ${per.uram} URAM per instance, x${p.instances} (${r.seconds.toFixed(1)} s)`;
}

export function registerSynth(program: Command): void {
  const cmd = program
    .command('synth')
    .description('synthesize the configured design with Yosys (per unique module, hierarchical) and report LUT/FF/DSP/BRAM/URAM against a device');
  addGenOptions(cmd)
    .addOption(new Option('--target <device>', `device to report against (${DEVICE_NAMES.join(', ')}); default: the preset's device`).argParser(deviceByName))
    .option('--json <file>', 'also write the report as JSON')
    .option('--widelut', 'let Yosys map 7/8-input functions onto LUT6 pairs + MUXF7/8 (its default; counts LUT1 buffers, see docs/synthesis.md)')
    .option('--log-dir <dir>', 'folder for the per-module Yosys logs (default: a folder under the system temp dir)')
    .option('-q, --quiet', 'no per-module progress on stderr')
    .action(async (o: GenOptionValues & { target?: Device; json?: string; logDir?: string; quiet?: boolean; widelut?: boolean }, c: Command) => {
      const { config, preset } = genConfigFromOptions(o, c);
      const device = o.target ?? (preset ? getDevice(preset.device) : undefined);
      if (!device) throw new UsageError(`--target is required without --preset (expected one of ${DEVICE_NAMES.join(', ')})`);
      try {
        validateConfig(config);
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      }
      // A design that cannot fit by the estimate is refused before it is generated and
      // synthesized (a huge design takes long to elaborate, longer to synthesize).
      const pre = precheckFits(config, device);
      if (!pre.fits) {
        const over = formatFit(pre).filter((l) => l.endsWith(' over')).map((l) => l.replace(/, limit 100\.0%\) over$/, ')'));
        throw new UsageError(`configuration does not fit ${device.name} (resource estimate, before synthesis): ${over.join(', ')}`);
      }
      let gen;
      try {
        gen = generate(config, { locators: false });
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      }
      const logDir = resolve(o.logDir ?? join(tmpdir(), 'flightgen-synth', `${device.name}-${process.pid}`));
      const say = (s: string) => {
        if (!o.quiet) process.stderr.write(`${s}\n`);
      };
      say(`flightgen synth: ${gen.manifest.top} on ${device.name}${device.yosysFamily ? '' : ' (estimate: no Yosys family for this device)'}, Yosys logs in ${logDir}`);
      let report;
      try {
        report = await synthesizeDesign(gen, device, { logDir, preset: preset?.name, widelut: !!o.widelut, onProgress: (p) => say(progressLine(p)) });
      } catch (e) {
        if (e instanceof SynthError) throw new UsageError(`${e.message}; log: ${e.logPath}`);
        throw e;
      }
      process.stdout.write(formatReport(report));
      if (o.json) {
        try {
          await mkdir(dirname(resolve(o.json)), { recursive: true });
          await writeFile(o.json, `${JSON.stringify(report, null, 2)}\n`);
        } catch (e) {
          throw new UsageError(`cannot write --json file '${o.json}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      if (!report.fits) {
        const over = (['lut', 'ff', 'dsp', 'bram', 'uram'] as const).filter((k) => report.utilisation[k] > 1).map((k) => `${k.toUpperCase()} ${(report.utilisation[k] * 100).toFixed(1)}%`);
        throw new UsageError(`the synthesized design does not fit ${device.name}: ${over.join(', ')}`);
      }
    });
}
