/**
 * Options shared by `compile` and `infer` (with --checkpoint): the model choices (weight and
 * activation precision, sparsity) and the hardware they compile for. The hardware defaults are
 * DEFAULT_CONFIG's, as for `gen`, except the weight lane width (COMPILE_WEIGHT_WIDTH); the chosen
 * pattern and precision are added to the design's mode and precision tables, and INT16
 * activations set the DSP A operand to 16 bits.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_CONFIG, validateConfig, WEIGHT_PRECISIONS, type GenConfig, type WeightPrecision } from '../arch/config.ts';
import { patternName, type Pattern } from '../sparsity/pattern.ts';
import type { CompileOptions } from '../compiler/plan.ts';
import { UsageError, ldPortCount, positiveInt, sparsityPattern } from './errors.ts';

/**
 * Weight lane width when compiling a model: 16 bits (still inside the DSP48E2's 18-bit B port)
 * so INT8 weights carry 16-lane group multipliers (docs/quantization.md). `gen` keeps 8-bit lanes
 * by default because `--pack 2` needs them.
 */
export const COMPILE_WEIGHT_WIDTH = 16;

export interface CompileCliOptions {
  precision?: WeightPrecision;
  actPrecision?: 'int8' | 'int16';
  kvPrecision?: 'int8' | 'int16';
  sparsity?: Pattern;
  chains?: number;
  chainLen?: number;
  groupSize?: number;
  weightWidth?: number;
  actDepth?: number;
  weightDepth?: number;
  accDepth?: number;
  kvDepth?: number;
  globalDepth?: number;
  biasDepth?: number;
  ldPorts?: number;
  gptq?: boolean;
}

export function addCompileOptions(cmd: Command, forWhom: string): Command {
  return cmd
    .addOption(new Option('--precision <p>', `weight precision${forWhom}`).choices([...WEIGHT_PRECISIONS]))
    .addOption(new Option('--act-precision <p>', `activation precision${forWhom}`).choices(['int8', 'int16']))
    .addOption(new Option('--kv-precision <p>', `attention operands: q, K/V cache, probabilities (default: --act-precision)${forWhom}`).choices(['int8', 'int16']))
    .option('--sparsity <pattern>', `weight sparsity of the linear layers, dense or N:M e.g. 2:4${forWhom}`, sparsityPattern('--sparsity'))
    .option('--chains <n>', 'MAC chains (C) of the target design', positiveInt('--chains'))
    .option('--chain-len <n>', 'MAC slices per chain (L)', positiveInt('--chain-len'))
    .option('--group-size <n>', 'MAC slices per DSP group', positiveInt('--group-size'))
    .option('--weight-width <bits>', `MPE weight lane width (default ${COMPILE_WEIGHT_WIDTH}: INT8 weights get group-wise scales; 8: per-row)`, positiveInt('--weight-width'))
    .option('--act-depth <n>', 'activation buffer entries (L-element windows)', positiveInt('--act-depth'))
    .option('--weight-depth <n>', 'weight buffer entries (C x L beats)', positiveInt('--weight-depth'))
    .option('--acc-depth <n>', 'accumulation buffer entries', positiveInt('--acc-depth'))
    .option('--kv-depth <n>', 'KV buffer elements', positiveInt('--kv-depth'))
    .option('--global-depth <n>', 'global (fx) buffer elements', positiveInt('--global-depth'))
    .option('--bias-depth <n>', 'bias buffer elements', positiveInt('--bias-depth'))
    .option('--ld-ports <n>', 'AXI read ports of the LD engine (the RTL engine builds that design; power of two, 1..32)', ldPortCount('--ld-ports'))
    .option('--no-gptq', 'round weights to nearest instead of GPTQ error feedback');
}

/** The hardware configuration and compile choices named by the options. */
export function resolveCompileOptions(o: CompileCliOptions): { hw: GenConfig; options: CompileOptions } {
  const precision = o.precision ?? 'int8';
  const actBits = o.actPrecision === 'int8' ? 8 : 16;
  const attnBits = o.kvPrecision === undefined ? actBits : o.kvPrecision === 'int8' ? 8 : 16;
  const pattern = o.sparsity ?? 'dense';
  const d = DEFAULT_CONFIG;
  const sparsity = [...d.sparsity];
  if (pattern !== 'dense' && !sparsity.some((p) => patternName(p) === patternName(pattern))) sparsity.push(pattern);
  const hw: GenConfig = {
    ...d,
    chains: o.chains ?? d.chains,
    chainLength: o.chainLen ?? d.chainLength,
    groupSize: o.groupSize ?? d.groupSize,
    weightWidth: o.weightWidth ?? COMPILE_WEIGHT_WIDTH,
    actWidth: Math.max(d.actWidth, actBits, attnBits),
    sparsity,
    weightPrecisions: d.weightPrecisions.includes(precision) ? d.weightPrecisions : [...d.weightPrecisions, precision],
    actDepth: o.actDepth ?? d.actDepth,
    weightDepth: o.weightDepth ?? d.weightDepth,
    accDepth: o.accDepth ?? d.accDepth,
    kvDepth: o.kvDepth ?? d.kvDepth,
    globalDepth: o.globalDepth ?? d.globalDepth,
    biasDepth: o.biasDepth ?? d.biasDepth,
    ldPorts: o.ldPorts ?? d.ldPorts,
  };
  try {
    validateConfig(hw);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { hw, options: { precision, actBits, attnBits, pattern, gptq: o.gptq !== false } };
}
