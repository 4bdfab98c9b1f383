/**
 * The numbers behind `flightgen report` (docs/report.md): the resource estimate per buffer and
 * DSP against the device (src/targets/estimate.ts, optionally a `flightgen synth --json`
 * report), the performance model's prefill and decode (src/perf) placed on the roofline, the
 * latency split by instruction class (critical path) and tokens/s next to the paper's and the
 * GPU figures (../shared/FLIGHTLLM.md). Every figure records where it comes from.
 */
import { validateConfig, type GenConfig, type WeightPrecision } from '../arch/config.ts';
import { compile, type Compiled } from '../compiler/compile.ts';
import { CompileError } from '../compiler/plan.ts';
import { IsaEncodeError } from '../isa/encode.ts';
import type { ModelConfig } from '../model/config.ts';
import { hbmPeakBytesPerSecond, memoryTiming } from '../perf/memory.ts';
import { perfReport, type PerfReport, type PhaseReport } from '../perf/report.ts';
import { getDevice, type Device } from '../targets/devices.ts';
import { checkFits, DEFAULT_HEADROOM, estimateResources, type ResourceEstimate } from '../targets/estimate.ts';
import { overrideFlags, type HwOverrides, type Preset } from '../targets/presets.ts';
import { PAPER_THROUGHPUT, PAPER_U280_UTILISATION } from '../perf/paper.ts';

export type { HwOverrides };

export const REPORT_DATA_SCHEMA = 'flightgen-report/1';


export interface ThroughputEntry {
  readonly label: string;
  readonly tokensPerSec: number;
  /** 'perf model' (this design, predicted), 'paper' (FlightLLM), 'GPU' (the paper's GPU baselines). */
  readonly kind: 'perf model' | 'paper' | 'GPU';
  readonly source: string;
}

export interface UtilisationModule {
  readonly name: string;
  readonly used: number;
  /** used / device, fraction. */
  readonly utilisation: number;
  readonly detail: string;
}

export interface UtilisationRow {
  /** Which configuration: the preset as generated, or the configuration the perf model compiled. */
  readonly config: string;
  readonly resource: 'DSP' | 'BRAM' | 'URAM' | 'LUT' | 'FF';
  readonly used: number;
  readonly available: number;
  readonly utilisation: number;
  /** Headroom limit (fraction); undefined for synthesis rows. */
  readonly limit?: number;
  /** The paper's utilisation of the same resource on U280, when the device is U280. */
  readonly paper?: number;
  readonly modules: readonly UtilisationModule[];
}

export interface SynthSummary {
  readonly file: string;
  readonly method: string;
  readonly estimate: boolean;
  readonly rows: readonly UtilisationRow[];
}

export interface RooflinePoint {
  readonly phase: 'decode' | 'prefill';
  readonly label: string;
  /** Operations (2 per MAC) per HBM byte. */
  readonly intensity: number;
  /** Achieved operations per second. */
  readonly opsPerSec: number;
  readonly ops: number;
  readonly hbmBytes: number;
  readonly ms: number;
}

export interface LatencyClass {
  readonly cls: string;
  readonly share: number;
  readonly ms: number;
}

export interface LatencyPhase {
  readonly phase: string;
  readonly ms: number;
  readonly classes: readonly LatencyClass[];
}

export interface ReportData {
  readonly schema: typeof REPORT_DATA_SCHEMA;
  readonly generatedAt: string;
  readonly model: string;
  readonly preset: string;
  readonly device: { readonly name: string; readonly board: string; readonly part: string };
  readonly clockMHz: number;
  /** The configuration the perf model compiled, and why it differs from the preset. */
  readonly perfConfig: { readonly label: string; readonly overrides: HwOverrides; readonly chains: number; readonly chainLength: number; readonly macs: number };
  readonly utilisation: { readonly source: string; readonly headroom: typeof DEFAULT_HEADROOM; readonly rows: readonly UtilisationRow[] };
  readonly synth?: SynthSummary;
  readonly roofline: { readonly peakOpsPerSec: number; readonly hbmPeakBytesPerSec: number; readonly readPortBytesPerSec: number; readonly points: readonly RooflinePoint[]; readonly source: string };
  readonly latency: { readonly phases: readonly LatencyPhase[]; readonly source: string };
  readonly throughput: readonly ThroughputEntry[];
  readonly perf: PerfReport;
}

export interface ReportInput {
  readonly preset: Preset;
  readonly model: ModelConfig;
  /** User overrides of the preset's hardware parameters. */
  readonly overrides: HwOverrides;
  readonly prefill: number;
  readonly decode: number;
  readonly samples?: number;
  readonly precision?: WeightPrecision;
  readonly clockMHz?: number;
  /** A parsed `flightgen synth --json` report and its file name. */
  readonly synth?: { readonly file: string; readonly json: unknown };
  readonly say?: (s: string) => void;
}

/** An input problem the CLI reports as a one-line usage error. */
export class ReportInputError extends Error {
  override name = 'ReportInputError';
}

function hwWith(preset: Preset, o: HwOverrides): GenConfig {
  const hw: GenConfig = { ...preset.config, top: 'flightllm', ...o };
  try {
    validateConfig(hw);
  } catch (e) {
    throw new ReportInputError(`${preset.name}${Object.keys(o).length ? ` with ${overrideFlags(o)}` : ''}: ${(e as Error).message}`);
  }
  return hw;
}

function tryCompile(model: ModelConfig, hw: GenConfig, precision: WeightPrecision): Compiled | Error {
  try {
    return compile({ model, hw, options: { precision, actBits: 8, pattern: 'dense' } });
  } catch (e) {
    if (e instanceof CompileError || e instanceof IsaEncodeError || e instanceof RangeError) return e;
    throw e;
  }
}

const RESOURCE_NAMES = { dsp: 'DSP', bram: 'BRAM', uram: 'URAM' } as const;

function estimateRows(config: string, c: GenConfig, device: Device): UtilisationRow[] {
  const est: ResourceEstimate = estimateResources({ ...c, top: 'mpe' }, device);
  const fit = checkFits(est, device);
  const paper = device.name === 'u280' ? PAPER_U280_UTILISATION : undefined;
  return (['dsp', 'bram', 'uram'] as const).map((k) => {
    const avail = device.resources[k];
    const modules: UtilisationModule[] =
      k === 'dsp'
        ? [{ name: 'MPE MAC slices', used: est.dsp, utilisation: est.dsp / avail, detail: `${c.chains} chains x ${c.chainLength} slices, one ${device.dsp.name} each (conservative; packed: ${est.dspMin})` }]
        : est.buffers
            .filter((b) => b.kind === k)
            .map((b) => {
              const used = k === 'bram' ? b.bramCost : b.uramCost;
              return { name: `${b.name} buffer`, used, utilisation: avail ? used / avail : 0, detail: `${b.width} bits x ${b.depth} entries${b.copies > 1 ? ` x ${b.copies}` : ''} (${b.shape})` };
            });
    return { config, resource: RESOURCE_NAMES[k], used: fit[k].used, available: avail, utilisation: fit[k].utilisation, limit: fit[k].limit, ...(paper ? { paper: paper[k] } : {}), modules };
  });
}

/** Reads a `flightgen synth --json` report (schema flightgen-synth-report/1) into per-module rows. */
export function synthRows(file: string, json: unknown): SynthSummary {
  const r = json as { schema?: string; method?: string; estimate?: boolean; available?: Record<string, number>; modules?: { name: string; instances?: number; total?: Record<string, number> }[] };
  if (!r || typeof r !== 'object' || !Array.isArray(r.modules) || !r.available) throw new ReportInputError(`--synth-json ${file}: not a flightgen synth report (no modules / available)`);
  const keys = [
    ['lut', 'LUT'],
    ['ff', 'FF'],
    ['dsp', 'DSP'],
    ['bram', 'BRAM'],
    ['uram', 'URAM'],
  ] as const;
  const rows = keys.map(([k, name]) => {
    const available = Number(r.available![k] ?? 0);
    const mods = r.modules!.map((m) => ({ name: `${m.name}${m.instances && m.instances > 1 ? ` x${m.instances}` : ''}`, used: Number(m.total?.[k] ?? 0) })).filter((m) => m.used > 0);
    mods.sort((a, b) => b.used - a.used);
    const top = mods.slice(0, 7);
    const rest = mods.slice(7).reduce((a, m) => a + m.used, 0);
    if (rest > 0) top.push({ name: 'other modules', used: rest });
    const used = mods.reduce((a, m) => a + m.used, 0);
    return {
      config: 'synthesis',
      resource: name,
      used,
      available,
      utilisation: available ? used / available : 0,
      modules: top.map((m) => ({ name: m.name, used: m.used, utilisation: available ? m.used / available : 0, detail: `${m.used} ${name}` })),
    } satisfies UtilisationRow;
  });
  return { file, method: String(r.method ?? 'Yosys synthesis (flightgen synth)'), estimate: Boolean(r.estimate), rows };
}

function latencyPhase(phase: string, p: PhaseReport): LatencyPhase {
  const classes: LatencyClass[] = [];
  let other = 0;
  for (const [cls, share] of Object.entries(p.critical)) {
    if (share >= 0.02) classes.push({ cls, share, ms: share * p.ms });
    else other += share;
  }
  if (other > 0) classes.push({ cls: 'other (< 2% each)', share: other, ms: other * p.ms });
  return { phase, ms: p.ms, classes };
}

function rooflinePoint(phase: 'decode' | 'prefill', label: string, p: PhaseReport, macs: number): RooflinePoint {
  const ops = 2 * p.mpeUtilization * macs * p.cycles;
  const s = p.ms / 1000;
  return { phase, label, intensity: ops / p.hbmBytes, opsPerSec: ops / s, ops, hbmBytes: p.hbmBytes, ms: p.ms };
}

/** Compiles the model (no weights), runs the performance model and gathers every chart's numbers. */
export function buildReportData(input: ReportInput): ReportData {
  const { preset, model } = input;
  const say = input.say ?? (() => {});
  const device = getDevice(preset.device);
  const precision = input.precision ?? 'int4';
  const clockMHz = input.clockMHz ?? device.clockMHz;
  const synth = input.synth ? synthRows(input.synth.file, input.synth.json) : undefined;
  if (input.decode < 1) throw new ReportInputError('--decode must be at least 1');
  if (input.prefill + input.decode > model.seqLen) throw new ReportInputError(`--prefill ${input.prefill} + --decode ${input.decode} pass ${model.name}'s ${model.seqLen} positions`);

  const overrides: HwOverrides = { ...input.overrides };
  const hw = hwWith(preset, overrides);
  say(`compiling ${model.name} for ${preset.name}${Object.keys(overrides).length ? ` with ${overrideFlags(overrides)}` : ''} (${hw.chains} x ${hw.chainLength}, ${precision} weights, no weights)`);
  const compiled = tryCompile(model, hw, precision);
  if (compiled instanceof Error) throw new ReportInputError(`compile ${model.name} for ${preset.name}${Object.keys(overrides).length ? ` with ${overrideFlags(overrides)}` : ''}: ${compiled.message}`);

  const mem = memoryTiming(preset.device, hw, clockMHz);
  let perf: PerfReport;
  try {
    perf = perfReport({ compiled, device: preset.device, clockMHz, mem, prefill: input.prefill, decode: input.decode, samples: input.samples ?? 17, preset: preset.name, onPhase: (w) => say(`simulating the ${w}`) });
  } catch (e) {
    if (e instanceof RangeError) throw new ReportInputError(e.message);
    throw e;
  }

  say('estimating resources');
  const overridden = Object.keys(overrides).length > 0;
  const perfLabel = overridden ? `${preset.name} ${overrideFlags(overrides)}` : preset.name;
  const rows = [...estimateRows(overridden ? 'preset' : preset.name, preset.config, device), ...(overridden ? estimateRows('perf config', hw, device) : [])];

  const macs = perf.hardware.macs;
  const points: RooflinePoint[] = [];
  if (perf.prefill) points.push(rooflinePoint('prefill', `prefill (${perf.prefill.tokens} tokens)`, perf.prefill, macs));
  points.push(rooflinePoint('decode', `decode (per token, ctx ${perf.decode.from}..${perf.decode.from + perf.decode.tokens - 1})`, perf.decode, macs));

  const phases: LatencyPhase[] = [latencyPhase(`decode, per token (${perf.decode.msPerToken.toFixed(1)} ms)`, perf.decode)];
  if (perf.prefill) phases.push(latencyPhase(`prefill, ${perf.prefill.tokens} tokens (${perf.prefill.ms.toFixed(1)} ms)`, perf.prefill));

  const throughput: ThroughputEntry[] = [
    { label: `this design (${perf.hardware.chains} x ${perf.hardware.chainLength}, perf model)`, tokensPerSec: perf.decodeTokensPerSec, kind: 'perf model', source: `performance model (src/perf), ${perfLabel}, ${model.name} decode at positions ${perf.decode.from}..${perf.decode.from + perf.decode.tokens - 1}, ${clockMHz} MHz` },
    { label: 'HBM roofline, same weight format', tokensPerSec: perf.rooflineTokensPerSec, kind: 'perf model', source: `bytes per token / ${perf.hbmPeakGBs.toFixed(1)} GB/s HBM peak (src/perf/report.ts)` },
    ...(model.name === 'llama2-7b' ? PAPER_THROUGHPUT.map(({ label, tokensPerSec, kind, source }) => ({ label, tokensPerSec, kind, source })) : []),
  ];

  return {
    schema: REPORT_DATA_SCHEMA,
    generatedAt: new Date().toISOString(),
    model: model.name,
    preset: preset.name,
    device: { name: device.name, board: device.board, part: device.part },
    clockMHz,
    perfConfig: { label: perfLabel, overrides, chains: perf.hardware.chains, chainLength: perf.hardware.chainLength, macs },
    utilisation: { source: 'resource estimate (src/targets/estimate.ts): DSPs from the MAC slices, BRAM/URAM from the buffer port shapes; no LUT/FF, no placement', headroom: DEFAULT_HEADROOM, rows },
    ...(synth ? { synth } : {}),
    roofline: {
      peakOpsPerSec: 2 * macs * clockMHz * 1e6,
      hbmPeakBytesPerSec: hbmPeakBytesPerSecond(preset.device),
      readPortBytesPerSec: (hw.axiDataBits / 8) * clockMHz * 1e6,
      points,
      source: 'performance model (src/perf): MACs, HBM bytes and cycles of the compiled program; roofs from the device (HBM peak), the configuration (MACs x clock) and the single AXI read port',
    },
    latency: { phases, source: 'performance model (src/perf/schedule.ts): the critical path by cause, instruction class or dispatch/sync' },
    throughput,
    perf,
  };
}
