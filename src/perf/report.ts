/**
 * The `flightgen perf` report: prefill latency, decode latency per token and tokens/s at the
 * preset's clock, HBM traffic and bandwidth utilisation, MPE utilisation, the split by
 * instruction class, the HBM roofline of the same weight format, and the bounds that explain
 * the gap (see docs/perf.md).
 */
import type { Compiled } from '../compiler/compile.ts';
import { patternName } from '../sparsity/pattern.ts';
import type { DeviceName } from '../targets/devices.ts';
import { hbmPeakBytesPerSecond, MEMORY_CHANNELS, type MemoryTiming } from './memory.ts';
import { decodeChannelBoundCycles, meanDecodeHbmBytes, PerfModel, type PhaseResult } from './model.ts';
import type { LdWhatIf } from './xfer.ts';
import { FLIGHTLLM_U280_TOKENS_PER_SEC } from './paper.ts';

export interface PerfInput {
  readonly compiled: Compiled;
  readonly device: DeviceName;
  readonly clockMHz: number;
  readonly mem: MemoryTiming;
  /** Prompt tokens (one prefill pass at positions 0..prefill-1); 0: none. */
  readonly prefill: number;
  /** Decode steps after the prompt. */
  readonly decode: number;
  /** Decode positions simulated at most (the rest interpolated); default 17. */
  readonly samples?: number;
  readonly preset?: string;
  /** Called before each phase (the CLI's progress line). */
  readonly onPhase?: (what: string) => void;
  /** What-if LD variations (not the RTL), reported as such. */
  readonly whatIf?: LdWhatIf;
}

export interface ClassRow {
  readonly cls: string;
  /** Per decode token (or per prefill pass). */
  readonly count: number;
  readonly busyCycles: number;
  /** Busy cycles / phase cycles. */
  readonly busyShare: number;
  /** Share of the phase's critical path. */
  readonly criticalShare: number;
}

export interface PhaseReport {
  readonly tokens: number;
  readonly cycles: number;
  readonly ms: number;
  readonly engineBusy: { ld: number; st: number; mx: number; sfu: number };
  readonly hbmBytes: number;
  readonly ddrBytes: number;
  /** HBM bytes / time, GB/s. */
  readonly hbmGBs: number;
  readonly mpeUtilization: number;
  readonly classes: readonly ClassRow[];
  /** The critical path by cause (instruction classes, dispatch, sync, queue full, handoff). */
  readonly critical: Readonly<Record<string, number>>;
  readonly runs: number;
}

export interface PerfReport {
  readonly model: string;
  readonly preset?: string;
  readonly device: DeviceName;
  readonly clockMHz: number;
  readonly hardware: { chains: number; chainLength: number; macs: number; axiDataBits: number; ldPorts: number; sfuLanes: number; queueDepth: number };
  readonly weights: { precision: string; grouped: boolean; sparsity: string; actBits: number };
  readonly memory: MemoryTiming;
  /** Set when the run models LD variations the RTL does not have. */
  readonly whatIf?: LdWhatIf;
  readonly hbmPeakGBs: number;
  readonly prefill?: PhaseReport;
  readonly decode: PhaseReport & { from: number; msPerToken: number; tokensPerSec: number; cyclesPerToken: number };
  readonly roofline: { bytesPerToken: number; tokensPerSec: number; ratio: number };
  /** What bounds a decode token (ms): the roofline, the single read port, the LD engine, the MPE. */
  readonly bounds: Readonly<Record<string, number>>;
  readonly target: { rooflineFraction: number; tokensPerSec: number; met: boolean; flightllmU280TokensPerSec: number };
  // Flat fields (the JSON contract of `flightgen perf --json`).
  readonly prefillLatencyMs: number;
  readonly decodeLatencyMs: number;
  readonly decodeTokensPerSec: number;
  readonly rooflineTokensPerSec: number;
  readonly rooflineRatio: number;
  readonly bandwidthUtilization: number;
  readonly mpeUtilization: number;
}

/** 85% of the HBM roofline in decode (the issue's target) and FlightLLM's U280 measurement. */
export const DECODE_TARGET = { rooflineFraction: 0.85, flightllmU280TokensPerSec: FLIGHTLLM_U280_TOKENS_PER_SEC } as const;

function phaseReport(p: PhaseResult, c: Compiled, clockMHz: number, perToken: boolean): PhaseReport {
  const { plan } = c;
  const div = perToken ? p.tokens : 1;
  const cycles = p.cycles / div;
  const ms = cycles / (clockMHz * 1e3);
  const hbm = (p.traffic.hbmRead + p.traffic.hbmWrite) / div;
  const ddr = (p.traffic.ddrRead + p.traffic.ddrWrite) / div;
  const critTotal = Object.values(p.critical).reduce((a, b) => a + b, 0) || 1;
  const classes = Object.entries(p.classes)
    .map(([cls, v]) => ({ cls, count: v.count / div, busyCycles: v.busy / div, busyShare: v.busy / p.cycles, criticalShare: v.critical / critTotal }))
    .sort((a, b) => b.criticalShare - a.criticalShare || b.busyCycles - a.busyCycles);
  const critical = Object.fromEntries(Object.entries(p.critical).map(([k, v]) => [k, v / critTotal]).sort((a, b) => (b[1] as number) - (a[1] as number)));
  return {
    tokens: p.tokens,
    cycles,
    ms,
    engineBusy: { ld: p.busy.ld / p.cycles, st: p.busy.st / p.cycles, mx: p.busy.mx / p.cycles, sfu: p.busy.sfu / p.cycles },
    hbmBytes: hbm,
    ddrBytes: ddr,
    hbmGBs: hbm / (ms * 1e6),
    mpeUtilization: p.macs / (plan.C * plan.L * p.cycles),
    classes,
    critical,
    runs: p.runs,
  };
}

export function perfReport(input: PerfInput): PerfReport {
  const { compiled, clockMHz, device } = input;
  const { plan } = compiled;
  if (input.decode < 1) throw new RangeError('decode needs at least one token');
  if (input.prefill + input.decode > plan.model.seqLen) throw new RangeError(`prefill ${input.prefill} + decode ${input.decode} tokens pass the model's ${plan.model.seqLen} positions`);
  const model = new PerfModel(compiled, input.mem, input.whatIf ?? {});
  let prefill: PhaseReport | undefined;
  if (input.prefill > 0) {
    input.onPhase?.(`prefill of ${input.prefill} tokens`);
    prefill = phaseReport(model.prefill(input.prefill, 0), compiled, clockMHz, false);
  }
  input.onPhase?.(`decode of ${input.decode} tokens at positions ${input.prefill}..${input.prefill + input.decode - 1}`);
  const dp = model.decode(input.prefill, input.decode, input.samples ?? 17);
  const d = phaseReport(dp, compiled, clockMHz, true);
  const peak = hbmPeakBytesPerSecond(device);
  const tokensPerSec = 1000 / d.ms;
  const bytesPerToken = meanDecodeHbmBytes(compiled, input.prefill, input.decode);
  const rooflineTps = peak / bytesPerToken;
  const AB = plan.hw.axiDataBits / 8;
  const cyc = (n: number) => n / (clockMHz * 1e3);
  const readBytes = (dp.traffic.hbmRead + dp.traffic.ddrRead) / dp.tokens;
  const ports = plan.hw.ldPorts;
  const bounds: Record<string, number> = {
    'HBM roofline (bytes per token / peak)': (bytesPerToken / peak) * 1000,
    [`read port${ports > 1 ? `s (${ports} x` : ' ('}${plan.hw.axiDataBits} bits, one beat per cycle)`]: cyc(readBytes / AB / ports),
    'LD engine busy (port and consumer steps)': cyc(dp.busy.ld / dp.tokens),
    [`MPE (${plan.C * plan.L} MACs per cycle, every MAC busy)`]: cyc(dp.macs / dp.tokens / (plan.C * plan.L)),
    'MX engine busy (tiles as scheduled)': cyc(dp.busy.mx / dp.tokens),
  };
  // Not applied by the model (every read port has its own bandwidth): each LD waits for its
  // busiest pseudo-channel at the channel's sustained rate (compiler layout, mid-range position).
  const map = input.mem.channelMap;
  if (map) {
    const ch = MEMORY_CHANNELS[device].hbm;
    const perCycle = (ch.peakGBs * 1e9 * ch.efficiency) / (clockMHz * 1e6);
    bounds['busiest pseudo-channel per LD (not modelled)'] = cyc(decodeChannelBoundCycles(compiled, input.mem, map, perCycle, input.prefill + Math.floor(input.decode / 2)));
  }
  const grouped = [...plan.matrices.values()].some((m) => m.grouped);
  const targetTps = DECODE_TARGET.rooflineFraction * rooflineTps;
  return {
    model: plan.model.name,
    preset: input.preset,
    device,
    clockMHz,
    hardware: { chains: plan.C, chainLength: plan.L, macs: plan.C * plan.L, axiDataBits: plan.hw.axiDataBits, ldPorts: plan.hw.ldPorts, sfuLanes: plan.hw.sfuLanes, queueDepth: plan.hw.queueDepth },
    weights: { precision: plan.options.precision, grouped, sparsity: patternName(plan.options.pattern), actBits: plan.options.actBits },
    memory: input.mem,
    ...(input.whatIf && input.whatIf.grpLanes !== undefined ? { whatIf: input.whatIf } : {}),
    hbmPeakGBs: peak / 1e9,
    prefill,
    decode: { ...d, from: input.prefill, msPerToken: d.ms, tokensPerSec, cyclesPerToken: d.cycles },
    roofline: { bytesPerToken, tokensPerSec: rooflineTps, ratio: tokensPerSec / rooflineTps },
    bounds,
    target: { rooflineFraction: DECODE_TARGET.rooflineFraction, tokensPerSec: targetTps, met: tokensPerSec >= targetTps, flightllmU280TokensPerSec: DECODE_TARGET.flightllmU280TokensPerSec },
    prefillLatencyMs: prefill?.ms ?? 0,
    decodeLatencyMs: d.ms,
    decodeTokensPerSec: tokensPerSec,
    rooflineTokensPerSec: rooflineTps,
    rooflineRatio: tokensPerSec / rooflineTps,
    bandwidthUtilization: (d.hbmBytes / (d.ms / 1000)) / peak,
    mpeUtilization: d.mpeUtilization,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.001 ? 3 : x < 0.1 ? 2 : 1)}%`;
const gb = (b: number) => `${(b / 1e9).toFixed(3)} GB`;
const ms = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(4));

function classTable(p: PhaseReport, unit: string): string[] {
  const out = [`  ${'class'.padEnd(14)} ${`count${unit}`.padStart(12)} ${`busy cycles${unit}`.padStart(20)} ${'busy/time'.padStart(10)} ${'critical path'.padStart(14)}`];
  for (const c of p.classes) {
    if (c.busyCycles === 0 && c.criticalShare === 0) continue;
    out.push(`  ${c.cls.padEnd(14)} ${c.count.toFixed(c.count < 10 ? 2 : 0).padStart(12)} ${Math.round(c.busyCycles).toString().padStart(20)} ${pct(c.busyShare).padStart(10)} ${pct(c.criticalShare).padStart(14)}`);
  }
  const other = Object.entries(p.critical).filter(([k]) => !p.classes.some((c) => c.cls === k) && (p.critical[k] ?? 0) >= 0.001);
  if (other.length) out.push(`  critical path outside the engines: ${other.map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`);
  return out;
}

export function formatPerfReport(r: PerfReport): string {
  const L: string[] = [];
  const hw = r.hardware;
  const m = r.memory;
  const ch = MEMORY_CHANNELS[r.device];
  const bw = (b: { num: number; den: number }) => (b.num === b.den ? '1 beat/cycle' : `${b.num}/${b.den} beat/cycle`);
  L.push(`flightgen perf: ${r.model} on ${r.preset ?? r.device} (${hw.chains} x ${hw.chainLength} MPE = ${hw.macs} MACs, ${hw.sfuLanes}-lane SFU, ${hw.axiDataBits}-bit memory ports, ${hw.ldPorts} LD read port${hw.ldPorts > 1 ? 's' : ''}) at ${r.clockMHz} MHz`);
  if (r.whatIf) {
    L.push(`WHAT-IF, not the RTL: the LD engine's read pipelines with a ${r.whatIf.grpLanes}-lane grp expander`);
  }
  L.push(`weights ${r.weights.precision}${r.weights.grouped ? ' with group multipliers' : ''}, ${r.weights.sparsity}, int${r.weights.actBits} activations`);
  L.push(`memory (src/perf/memory.ts): HBM ${ch.hbm.kind} ${m.hbm.readLatency}/${m.hbm.writeLatency} cycles read/write latency, ${bw(m.hbm.bandwidth)} per port${m.hbm.localBandwidth ? ` (${bw(m.hbm.localBandwidth)} within a read port's switch group)` : ''}; DDR ${m.ddr.readLatency}/${m.ddr.writeLatency} cycles, ${bw(m.ddr.bandwidth)}; HBM peak ${r.hbmPeakGBs.toFixed(1)} GB/s (${ch.hbm.channels} x ${ch.hbm.peakGBs.toFixed(1)} GB/s)`);
  L.push('');
  if (r.prefill) {
    const p = r.prefill;
    L.push(`prefill ${p.tokens} tokens: ${ms(p.ms)} ms (${Math.round(p.cycles)} cycles, ${(p.tokens / (p.ms / 1000)).toFixed(1)} tokens/s, ${p.runs} block runs), MPE utilisation ${pct(p.mpeUtilization)}, HBM ${gb(p.hbmBytes)} at ${p.hbmGBs.toFixed(2)} GB/s`);
  } else L.push('prefill: none');
  const d = r.decode;
  L.push(`decode ${d.tokens} tokens at positions ${d.from}..${d.from + d.tokens - 1}: ${ms(d.msPerToken)} ms per token (${Math.round(d.cyclesPerToken)} cycles), ${d.tokensPerSec.toFixed(2)} tokens/s (${d.runs} positions simulated)`);
  L.push(`  HBM per token ${gb(d.hbmBytes)}, achieved ${d.hbmGBs.toFixed(2)} GB/s = ${pct(r.bandwidthUtilization)} of the ${r.hbmPeakGBs.toFixed(1)} GB/s peak; DDR ${gb(d.ddrBytes)}`);
  L.push(`  MPE utilisation ${pct(d.mpeUtilization)}; engines busy: LD ${pct(d.engineBusy.ld)}, ST ${pct(d.engineBusy.st)}, MX ${pct(d.engineBusy.mx)}, SFU ${pct(d.engineBusy.sfu)}`);
  L.push(`roofline (same weight format): ${gb(r.roofline.bytesPerToken)} per token / ${r.hbmPeakGBs.toFixed(1)} GB/s = ${r.roofline.tokensPerSec.toFixed(1)} tokens/s; achieved/bound ${pct(r.roofline.ratio)}`);
  L.push(`target ${pct(r.target.rooflineFraction)} of the roofline = ${r.target.tokensPerSec.toFixed(1)} tokens/s: ${r.target.met ? 'met' : `not met (${(r.target.tokensPerSec / d.tokensPerSec).toFixed(1)}x short)`}; FlightLLM measured ~${r.target.flightllmU280TokensPerSec} tokens/s on U280`);
  L.push('');
  L.push('decode, per token, by instruction class:');
  L.push(...classTable(d, '/token'));
  L.push('');
  L.push('what bounds a decode token (ms):');
  for (const [k, v] of Object.entries(r.bounds)) L.push(`  ${k.padEnd(48)} ${ms(v).padStart(10)}`);
  if (r.prefill) {
    L.push('');
    L.push('prefill pass by instruction class:');
    L.push(...classTable(r.prefill, ''));
  }
  return `${L.join('\n')}\n`;
}
