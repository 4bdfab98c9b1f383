/**
 * The generator's configuration object: built once from CLI options (or by a test) and handed
 * unchanged to the block generators and into the manifest and file headers.
 */
import { DSP_BACKENDS, macOperandLimits, type DspBackend } from './mac/mac-slice.ts';
import type { Pattern } from '../sparsity/pattern.ts';

export const WEIGHT_PRECISIONS = ['int8', 'int4'] as const;
export type WeightPrecision = (typeof WEIGHT_PRECISIONS)[number];

export const TOPS = ['flightllm', 'chain-array', 'mpe', 'sparse-chain', 'chain', 'mac'] as const;
export type TopKind = (typeof TOPS)[number];

export interface GenConfig {
  /** Which block is the top of the emitted design. */
  readonly top: TopKind;
  /** Number of MAC chains (C). */
  readonly chains: number;
  /** MAC slices per chain (L). */
  readonly chainLength: number;
  /** Activation operand width (DSP A port). */
  readonly actWidth: number;
  /** Weight operand width (DSP B port). */
  readonly weightWidth: number;
  /** How MAC slices are written (portable Verilog or DSP48E2 instances). */
  readonly dspBackend: DspBackend;
  /** MAC slices per DSP group in a sparse chain (FlightLLM: 2). */
  readonly groupSize: number;
  /** N:M patterns a sparse chain can switch to at run time (dense is always available). */
  readonly sparsity: readonly Pattern[];
  /** MACs per DSP: 2 packs two INT8 activations (two tokens) per DSP multiply (`--pack 2`). */
  readonly pack: 1 | 2;
  /** Weight precisions the design accepts (INT4 is sign-extended to INT8 lanes before the MPE). */
  readonly weightPrecisions: readonly WeightPrecision[];
  /** MPE activation buffer entries (windows of L activations). */
  readonly actDepth: number;
  /** MPE weight buffer entries (beats of C x L weights). */
  readonly weightDepth: number;
  /** MPE accumulation buffer entries (INT32). */
  readonly accDepth: number;
  /** KV tile buffer elements (attention operands loaded from the HBM KV cache). */
  readonly kvDepth: number;
  /** Global buffer elements (INT32 fixed point: residual stream and SFU operands). */
  readonly globalDepth: number;
  /** Bias buffer elements (INT32: norm gammas, RoPE frequency table). */
  readonly biasDepth: number;
  /** SFU elements per cycle (power of two, at most the chain length and 8). */
  readonly sfuLanes: number;
  /** Data width of each external memory port in bits (U280 HBM pseudo-channel: 256). */
  readonly axiDataBits: number;
  /**
   * AXI read ports of the LD engine, each with its own read pipeline (address walker, R FIFO,
   * realigner, gearbox, weight expander); the rows of an LD are striped over them (row i on
   * port i mod ldPorts). A power of two, 1..32 (docs/accelerator.md, "LD read ports").
   */
  readonly ldPorts: number;
  /** Instructions each engine queue holds between the dispatcher and the engine. */
  readonly queueDepth: number;
  /** LOOP nesting depth of the dispatcher. */
  readonly loopDepth: number;
}

/** Most LD read ports (one per HBM pseudo-channel of the U280 and VHK158). */
export const LD_PORTS_MAX = 32;

export const DEFAULT_CONFIG: GenConfig = {
  top: 'mpe',
  chains: 32,
  chainLength: 16,
  actWidth: 8,
  weightWidth: 8,
  dspBackend: 'behavioral',
  groupSize: 2,
  sparsity: [{ n: 2, m: 4 }, { n: 1, m: 4 }, { n: 2, m: 8 }],
  pack: 1,
  weightPrecisions: ['int8', 'int4'],
  // Sized so LLaMA2-7B compiles: the act buffer holds an 11008-wide FFN input plus attention
  // operands; the KV buffer holds two heads' K and V tiles at 2048 tokens (double buffering).
  actDepth: 2048,
  weightDepth: 2048,
  accDepth: 4096,
  kvDepth: 1 << 20,
  globalDepth: 1 << 17,
  biasDepth: 1 << 15,
  sfuLanes: 4,
  axiDataBits: 256,
  ldPorts: 1,
  queueDepth: 4,
  loopDepth: 4,
};

/** Throws a RangeError naming the first bad field. */
export function validateConfig(c: GenConfig): void {
  if (!TOPS.includes(c.top)) throw new RangeError(`unknown top '${c.top}' (expected one of ${TOPS.join(', ')})`);
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  if (!DSP_BACKENDS.includes(c.dspBackend)) throw new RangeError(`unknown DSP backend '${c.dspBackend}' (expected one of ${DSP_BACKENDS.join(', ')})`);
  int('chains', c.chains, 1, 65536);
  int('chainLength', c.chainLength, 1, 4096);
  int('actWidth', c.actWidth, 2, 27);
  int('groupSize', c.groupSize, 1, 4096);
  if (c.pack !== 1 && c.pack !== 2) throw new RangeError(`pack must be 1 or 2, got ${c.pack}`);
  if (c.pack === 2 && c.top !== 'sparse-chain' && c.top !== 'mpe') throw new RangeError(`--pack 2 applies to --top mpe or sparse-chain, not ${c.top}`);
  int('actDepth', c.actDepth, 2, 1 << 24);
  int('weightDepth', c.weightDepth, 2, 1 << 24);
  int('accDepth', c.accDepth, 2, 1 << 24);
  // On-chip element addresses are 20-bit ISA fields.
  int('kvDepth', c.kvDepth, 2, 1 << 20);
  int('globalDepth', c.globalDepth, 2, 1 << 20);
  int('biasDepth', c.biasDepth, 2, 1 << 20);
  // DSP B port: 18 bits on DSP48E2 (and the behavioural slice), 24 on the DSP58.
  int('weightWidth', c.weightWidth, 2, macOperandLimits(c.dspBackend).b);
  const pow2 = (name: string, v: number, lo: number, hi: number) => {
    int(name, v, lo, hi);
    if (v & (v - 1)) throw new RangeError(`${name} must be a power of two, got ${v}`);
  };
  pow2('sfuLanes', c.sfuLanes, 1, 8);
  pow2('axiDataBits', c.axiDataBits, 64, 1024);
  pow2('ldPorts', c.ldPorts, 1, LD_PORTS_MAX);
  int('queueDepth', c.queueDepth, 1, 64);
  int('loopDepth', c.loopDepth, 1, 8);
}
