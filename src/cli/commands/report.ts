/**
 * `flightgen report`: a self-contained static HTML page (inline CSS and SVG, nothing fetched)
 * with the resource utilisation per module against the device, the roofline with the design's
 * prefill and decode points, the latency split by instruction class and decode tokens/s next
 * to the paper's and the GPU figures; DIR/index.html and DIR/data.json (docs/report.md).
 */
import { Option, type Command } from 'commander';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { WEIGHT_PRECISIONS, type WeightPrecision } from '../../arch/config.ts';
import { MODEL_PRESETS } from '../../model/config.ts';
import { buildReportData, ReportInputError, type HwOverrides } from '../../report/data.ts';
import { renderReportHtml } from '../../report/html.ts';
import { getDevice } from '../../targets/devices.ts';
import { getPreset, PRESET_NAMES } from '../../targets/presets.ts';
import { UsageError, nonNegativeInt, positiveInt, positiveNumber } from '../errors.ts';
import { addPresetOverrideOptions, presetOverrides } from '../preset-overrides.ts';

interface ReportOptions {
  out: string;
  preset: string;
  model: string;
  prefill: number;
  decode: number;
  samples: number;
  precision: WeightPrecision;
  clock?: number;
  synthJson?: string;
  quiet?: boolean;
}

/** `report`: writes DIR/index.html and DIR/data.json. */
export function registerReport(program: Command): void {
  const cmd = program
    .command('report')
    .description('write a self-contained HTML report (SVG charts: resource utilisation, roofline, latency by op class, tokens/s vs the paper and GPUs) and its data.json (docs/report.md)')
    .option('--out <dir>', 'output folder (index.html, data.json)', 'report')
    .addOption(new Option('--preset <name>', 'hardware preset').choices([...PRESET_NAMES]).default('flightllm-u280'))
    .addOption(new Option('--model <name>', 'model preset').choices(Object.keys(MODEL_PRESETS)).default('llama2-7b'))
    .option('--prefill <n>', 'prompt tokens (one prefill pass; 0: none)', nonNegativeInt('--prefill'), 128)
    .option('--decode <n>', 'decode steps after the prompt', positiveInt('--decode'), 512)
    .option('--samples <n>', 'decode positions simulated at most (the others interpolated)', positiveInt('--samples'), 17)
    .addOption(new Option('--precision <p>', 'weight precision').choices([...WEIGHT_PRECISIONS]).default('int4'))
    .option('--clock <MHz>', "clock frequency (default: the preset device's FlightLLM clock)", positiveNumber('--clock'))
    .option('--synth-json <file>', 'also chart a `flightgen synth --json` per-module report');
  // The report's overrides are the perf command's, without the memory port width.
  addPresetOverrideOptions(cmd, ['chains', 'chainLength', 'weightDepth', 'actDepth', 'accDepth', 'kvDepth', 'globalDepth', 'biasDepth'])
    .option('-q, --quiet', 'no progress lines on stderr')
    .action(async (o: ReportOptions) => {
      const say = (s: string) => {
        if (!o.quiet) process.stderr.write(`flightgen report: ${s}\n`);
      };
      const preset = getPreset(o.preset);
      const model = MODEL_PRESETS[o.model]!;
      const overrides: HwOverrides = presetOverrides(o as unknown as Record<string, unknown>);
      let synth: { file: string; json: unknown } | undefined;
      if (o.synthJson) {
        let text: string;
        try {
          text = await readFile(o.synthJson, 'utf8');
        } catch (e) {
          throw new UsageError(`cannot read --synth-json '${o.synthJson}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        try {
          synth = { file: o.synthJson, json: JSON.parse(text) };
        } catch (e) {
          throw new UsageError(`--synth-json '${o.synthJson}' is not JSON: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      let data;
      try {
        data = buildReportData({ preset, model, overrides, prefill: o.prefill, decode: o.decode, samples: o.samples, precision: o.precision, clockMHz: o.clock ?? getDevice(preset.device).clockMHz, synth, say });
      } catch (e) {
        if (e instanceof ReportInputError) throw new UsageError(e.message);
        throw e;
      }
      const html = renderReportHtml(data);
      const dir = resolve(o.out);
      try {
        await mkdir(dir, { recursive: true });
        for (const [name, body] of [
          ['data.json', `${JSON.stringify(data, null, 2)}\n`],
          ['index.html', html],
        ] as const) {
          const tmp = join(dir, `.${name}.tmp-${process.pid}`);
          await writeFile(tmp, body);
          await rename(tmp, join(dir, name));
        }
      } catch (e) {
        throw new UsageError(`cannot write the report to '${o.out}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      say(`wrote ${join(o.out, 'index.html')} and ${join(o.out, 'data.json')}`);
    });
}
