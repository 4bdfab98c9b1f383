/**
 * FlightLLM's published figures (../shared/FLIGHTLLM.md), LLaMA2-7B at batch 1: the anchors
 * `perf`, the report and BENCHMARKS.md compare against. Quoted, never derived from our models.
 */
import type { DeviceName } from '../targets/devices.ts';

/** The paper's evaluation points: every prefill length with every decode length. */
export const PAPER_EVAL_POINTS = { prefill: [128, 512], decode: [512, 1024, 1536] } as const;

export interface PaperFigure {
  readonly label: string;
  readonly tokensPerSec: number;
  readonly kind: 'paper' | 'GPU';
  readonly source: string;
  /** The device the figure is for (FlightLLM figures only). */
  readonly device?: DeviceName;
}

export const PAPER_THROUGHPUT: readonly PaperFigure[] = [
  { label: 'FlightLLM U280 (paper Fig. 1)', tokensPerSec: 55, kind: 'paper', device: 'u280', source: 'FlightLLM paper, Fig. 1: about 55 tokens/s on U280 at about 45 W' },
  { label: 'FlightLLM U280 on board, ctx 128', tokensPerSec: 57.1, kind: 'paper', device: 'u280', source: 'third-party on-board run of the FlightLLM artifact: 57.1 tokens/s at context 128 (17.5 ms)' },
  { label: 'FlightLLM U280 on board, ctx 512', tokensPerSec: 52.7, kind: 'paper', device: 'u280', source: 'third-party on-board run of the FlightLLM artifact: 52.7 tokens/s at context 512 (19.0 ms)' },
  { label: 'FlightLLM VHK158 (simulated)', tokensPerSec: 92.5, kind: 'paper', device: 'vhk158', source: 'FlightLLM paper: 92.5 tokens/s on VHK158 (simulated, not on hardware)' },
  { label: 'NVIDIA V100 (paper Fig. 1)', tokensPerSec: 45, kind: 'GPU', source: 'FlightLLM paper, Fig. 1: V100 about 45 tokens/s at 220 W' },
  { label: 'NVIDIA A100 (derived: VHK158 / 1.2)', tokensPerSec: 92.5 / 1.2, kind: 'GPU', source: "derived: the paper claims 1.2x A100's throughput with VHK158 (92.5 tokens/s), so about 77 tokens/s; not a number the paper prints" },
  { label: 'NVIDIA A100, gpt-fast INT4', tokensPerSec: 196.8, kind: 'GPU', source: 'FlightLLM paper: strongest GPU point, gpt-fast INT4 on A100, 196.8 tokens/s' },
];

/** FlightLLM's measured U280 decode speed (Fig. 1), the figure the 2x target is set against. */
export const FLIGHTLLM_U280_TOKENS_PER_SEC = 55;

/** FlightLLM's U280 resource table, fractions of the device. */
export const PAPER_U280_UTILISATION = { lut: 0.44, ff: 0.362, dsp: 0.702, bram: 0.621, uram: 0.825 } as const;
