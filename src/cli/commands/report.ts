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
import { UsageError, positiveInt } from '../errors.ts';

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
  chains?: number;
  chainLen?: number;
  weightDepth?: number;
  actDepth?: number;
  accDepth?: number;
  kvDepth?: number;
  globalDepth?: number;
  biasDepth?: number;
}

function nonNegativeInt(flag: string) {
  return (text: string): number => {
    if (!/^\+?\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a non-negative integer, got '${text}'`);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, got '${text}'`);
    return n;
  };
}

function positiveNumber(flag: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\s*\+?\d+(\.\d+)?\s*$/.test(text) || !(n > 0)) throw new UsageError(`${flag} must be a positive number, got '${text}'`);
    return n;
  };
}

/** `report`: writes DIR/index.html and DIR/data.json. */
export function registerReport(program: Command): void {
  program
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
    .option('--synth-json <file>', 'also chart a `flightgen synth --json` per-module report')
    .option('--chains <n>', 'override the preset: MAC chains', positiveInt('--chains'))
    .option('--chain-len <n>', 'override the preset: MAC slices per chain', positiveInt('--chain-len'))
    .option('--weight-depth <n>', 'override the preset: weight buffer beats', positiveInt('--weight-depth'))
    .option('--act-depth <n>', 'override the preset: activation buffer windows', positiveInt('--act-depth'))
    .option('--acc-depth <n>', 'override the preset: accumulation buffer entries', positiveInt('--acc-depth'))
    .option('--kv-depth <n>', 'override the preset: KV buffer elements', positiveInt('--kv-depth'))
    .option('--global-depth <n>', 'override the preset: global buffer elements', positiveInt('--global-depth'))
    .option('--bias-depth <n>', 'override the preset: bias buffer elements', positiveInt('--bias-depth'))
    .option('-q, --quiet', 'no progress lines on stderr')
    .action(async (o: ReportOptions) => {
      const say = (s: string) => {
        if (!o.quiet) process.stderr.write(`flightgen report: ${s}\n`);
      };
      const preset = getPreset(o.preset);
      const model = MODEL_PRESETS[o.model]!;
      const overrides: HwOverrides = {
        ...(o.chains !== undefined ? { chains: o.chains } : {}),
        ...(o.chainLen !== undefined ? { chainLength: o.chainLen } : {}),
        ...(o.weightDepth !== undefined ? { weightDepth: o.weightDepth } : {}),
        ...(o.actDepth !== undefined ? { actDepth: o.actDepth } : {}),
        ...(o.accDepth !== undefined ? { accDepth: o.accDepth } : {}),
        ...(o.kvDepth !== undefined ? { kvDepth: o.kvDepth } : {}),
        ...(o.globalDepth !== undefined ? { globalDepth: o.globalDepth } : {}),
        ...(o.biasDepth !== undefined ? { biasDepth: o.biasDepth } : {}),
      };
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
