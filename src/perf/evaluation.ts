/**
 * The paper's evaluation points (prefill {128, 512} x decode {512, 1024, 1536}, batch 1) through
 * the performance model: prefill latency, mean decode latency per token over the decode
 * positions, end-to-end time, against the HBM roofline. `flightgen perf --paper-points`.
 */
import type { Compiled } from '../compiler/compile.ts';
import type { DeviceName } from '../targets/devices.ts';
import { hbmPeakBytesPerSecond } from './memory.ts';
import { meanDecodeHbmBytes, type PerfModel } from './model.ts';
import { PAPER_EVAL_POINTS, PAPER_THROUGHPUT } from './paper.ts';

export interface EvalPoint {
  readonly prefill: number;
  readonly decode: number;
  readonly prefillMs: number;
  readonly decodeMsPerToken: number;
  readonly decodeTokensPerSec: number;
  /** Prefill plus every decode step. */
  readonly totalMs: number;
  readonly rooflineRatio: number;
  readonly bandwidthUtilization: number;
}

export interface Evaluation {
  readonly points: readonly EvalPoint[];
  /** The paper's decode figures for this device (LLaMA2-7B only). */
  readonly paper: readonly { label: string; tokensPerSec: number; source: string }[];
}

/** Every evaluation point that fits the model's positions; prefill passes are shared between points. */
export function evaluationPoints(model: PerfModel, compiled: Compiled, device: DeviceName, clockMHz: number, samples = 17, onPoint?: (what: string) => void): Evaluation {
  const { seqLen, name } = compiled.plan.model;
  const peak = hbmPeakBytesPerSecond(device);
  const ms = (cycles: number) => cycles / (clockMHz * 1e3);
  const points: EvalPoint[] = [];
  for (const p of PAPER_EVAL_POINTS.prefill) {
    onPoint?.(`prefill of ${p} tokens`);
    const prefillMs = ms(model.prefill(p, 0).cycles);
    for (const d of PAPER_EVAL_POINTS.decode) {
      if (p + d > seqLen) continue;
      onPoint?.(`decode of ${d} tokens after a ${p}-token prompt`);
      const dp = model.decode(p, d, samples);
      const perToken = ms(dp.cycles) / dp.tokens;
      const bytes = meanDecodeHbmBytes(compiled, p, d);
      points.push({
        prefill: p,
        decode: d,
        prefillMs,
        decodeMsPerToken: perToken,
        decodeTokensPerSec: 1000 / perToken,
        totalMs: prefillMs + perToken * d,
        rooflineRatio: bytes / peak / (perToken / 1000),
        bandwidthUtilization: (dp.traffic.hbmRead + dp.traffic.hbmWrite) / dp.tokens / (perToken / 1000) / peak,
      });
    }
  }
  const paper = name === 'llama2-7b' ? PAPER_THROUGHPUT.filter((f) => f.kind === 'paper' && f.device === device).map(({ label, tokensPerSec, source }) => ({ label, tokensPerSec, source })) : [];
  return { points, paper };
}

export function formatEvaluation(e: Evaluation, title: string): string {
  const L = [`\nthe paper's evaluation points (${title}):`, '  prefill  decode   prefill ms   decode ms/token   decode tokens/s   total s   of roofline   HBM utilisation'];
  for (const p of e.points) {
    L.push(`  ${String(p.prefill).padStart(7)}  ${String(p.decode).padStart(6)}  ${p.prefillMs.toFixed(1).padStart(11)}  ${p.decodeMsPerToken.toFixed(2).padStart(16)}  ${p.decodeTokensPerSec.toFixed(2).padStart(16)}  ${(p.totalMs / 1000).toFixed(2).padStart(8)}  ${(100 * p.rooflineRatio).toFixed(1).padStart(11)}%  ${(100 * p.bandwidthUtilization).toFixed(1).padStart(14)}%`);
  }
  if (e.paper.length) L.push(`  paper, decode: ${e.paper.map((f) => `${f.label} ${f.tokensPerSec} tokens/s`).join('; ')}`);
  else L.push('  paper: no per-point figures for this model and device');
  return `${L.join('\n')}\n`;
}
