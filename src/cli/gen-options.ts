/**
 * The generator options shared by the commands that build a design from a configuration
 * (`gen`, `synth`):
 * `--preset NAME` plus every GenConfig option, where options given explicitly override the
 * preset's fields.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_CONFIG, TOPS, WEIGHT_PRECISIONS, type GenConfig, type TopKind, type WeightPrecision } from '../arch/config.ts';
import { DSP_BACKENDS, type DspBackend } from '../arch/mac/mac-slice.ts';
import type { Pattern } from '../sparsity/pattern.ts';
import { getPreset, PRESET_NAMES, type Preset } from '../targets/presets.ts';
import { UsageError, ldPortCount, list, positiveInt, sparsityPattern } from './errors.ts';

function weightPrecision(text: string): WeightPrecision {
  if (!(WEIGHT_PRECISIONS as readonly string[]).includes(text)) throw new UsageError(`--precision: unknown weight precision '${text}' (expected ${WEIGHT_PRECISIONS.join(', ')})`);
  return text as WeightPrecision;
}

function actPrecision(text: string): 8 | 16 {
  if (text === 'int8') return 8;
  if (text === 'int16') return 16;
  throw new UsageError(`--act-precision: unknown activation precision '${text}' (expected int8, int16)`);
}

function presetByName(text: string): Preset {
  try {
    return getPreset(text);
  } catch (e) {
    throw new UsageError(`--preset: ${(e as Error).message}`);
  }
}

/** What commander hands the action for the options added by addGenOptions. */
export interface GenOptionValues {
  chains: number;
  chainLen: number;
  actWidth: number;
  weightWidth: number;
  dspBackend: DspBackend;
  sparsity: Pattern[];
  groupSize: number;
  actDepth: number;
  weightDepth: number;
  accDepth: number;
  kvDepth: number;
  globalDepth: number;
  biasDepth: number;
  sfuLanes: number;
  axiDataBits: number;
  ldPorts: number;
  precision: WeightPrecision[];
  pack: '1' | '2';
  actPrecision?: (8 | 16)[];
  top: TopKind;
  preset?: Preset;
}

/** Option attribute -> GenConfig field: with --preset, only options given on the command line override it. */
const PRESET_OVERRIDABLE: readonly [string, keyof GenConfig][] = [
  ['top', 'top'], ['chains', 'chains'], ['chainLen', 'chainLength'], ['actWidth', 'actWidth'], ['actPrecision', 'actWidth'], ['weightWidth', 'weightWidth'],
  ['dspBackend', 'dspBackend'], ['sparsity', 'sparsity'], ['groupSize', 'groupSize'], ['actDepth', 'actDepth'], ['weightDepth', 'weightDepth'],
  ['accDepth', 'accDepth'], ['kvDepth', 'kvDepth'], ['globalDepth', 'globalDepth'], ['biasDepth', 'biasDepth'], ['sfuLanes', 'sfuLanes'], ['axiDataBits', 'axiDataBits'],
  ['ldPorts', 'ldPorts'], ['precision', 'weightPrecisions'], ['pack', 'pack'],
];

/** Adds `--preset` and the GenConfig options (the same names, defaults and checks as `gen`). */
export function addGenOptions(cmd: Command): Command {
  return cmd
    .option('--preset <name>', `start from a named configuration (${PRESET_NAMES.join(', ')}); options given explicitly override it`, presetByName)
    .option('--chains <n>', 'number of MAC chains (C)', positiveInt('--chains'), DEFAULT_CONFIG.chains)
    .option('--chain-len <n>', 'MAC slices per chain (L)', positiveInt('--chain-len'), DEFAULT_CONFIG.chainLength)
    .option('--act-width <bits>', 'activation operand width (DSP A port, <= 27)', positiveInt('--act-width'), DEFAULT_CONFIG.actWidth)
    .option('--weight-width <bits>', 'weight operand width (DSP B port, <= 18)', positiveInt('--weight-width'), DEFAULT_CONFIG.weightWidth)
    .option('--sparsity <list>', 'N:M patterns selectable at run time, e.g. dense,2:4,1:4,2:8 (dense is always on)', list('--sparsity', sparsityPattern('--sparsity')), DEFAULT_CONFIG.sparsity)
    .addOption(new Option('--pack <n>', 'INT8 MACs per DSP (2: two tokens share each weight; INT8 activations only)').choices(['1', '2']).default('1'))
    .option('--group-size <n>', 'MAC slices per DSP group in a sparse chain', positiveInt('--group-size'), DEFAULT_CONFIG.groupSize)
    .option('--precision <list>', 'weight precisions accepted, e.g. int8,int4', list('--precision', weightPrecision), DEFAULT_CONFIG.weightPrecisions)
    .option('--act-precision <list>', 'activation precisions, int8 and/or int16 (int16 sets the DSP A operand to 16 bits)', list('--act-precision', actPrecision))
    .option('--act-depth <n>', 'MPE activation buffer entries (L-element windows)', positiveInt('--act-depth'), DEFAULT_CONFIG.actDepth)
    .option('--weight-depth <n>', 'MPE weight buffer entries (C x L weight beats)', positiveInt('--weight-depth'), DEFAULT_CONFIG.weightDepth)
    .option('--acc-depth <n>', 'MPE accumulation buffer entries (INT32)', positiveInt('--acc-depth'), DEFAULT_CONFIG.accDepth)
    .option('--kv-depth <n>', 'KV tile buffer elements (--top flightllm)', positiveInt('--kv-depth'), DEFAULT_CONFIG.kvDepth)
    .option('--global-depth <n>', 'global buffer elements, INT32 (--top flightllm)', positiveInt('--global-depth'), DEFAULT_CONFIG.globalDepth)
    .option('--bias-depth <n>', 'bias buffer elements, INT32 (--top flightllm)', positiveInt('--bias-depth'), DEFAULT_CONFIG.biasDepth)
    .option('--sfu-lanes <n>', 'SFU elements per cycle (--top flightllm)', positiveInt('--sfu-lanes'), DEFAULT_CONFIG.sfuLanes)
    .option('--axi-data-bits <n>', 'external memory port width in bits (--top flightllm)', positiveInt('--axi-data-bits'), DEFAULT_CONFIG.axiDataBits)
    .option('--ld-ports <n>', 'AXI read ports of the LD engine, rows striped over them (power of two, 1..32; --top flightllm)', ldPortCount('--ld-ports'), DEFAULT_CONFIG.ldPorts)
    .addOption(new Option('--dsp-backend <name>', 'how MAC slices are written').choices([...DSP_BACKENDS]).default(DEFAULT_CONFIG.dspBackend))
    .addOption(new Option('--top <kind>', 'top-level block').choices([...TOPS]).default(DEFAULT_CONFIG.top));
}

/**
 * The configuration the options describe: the preset's with the explicitly given options
 * applied, or the options alone. `overrides` lists the overriding flags (e.g. `--chains`).
 */
export function genConfigFromOptions(o: GenOptionValues, cmd: Command): { config: GenConfig; preset?: Preset; overrides: string[] } {
  if (o.actPrecision && o.actWidth !== DEFAULT_CONFIG.actWidth) throw new UsageError('give --act-precision or --act-width, not both');
  const fromOptions: GenConfig = {
    top: o.top,
    chains: o.chains,
    chainLength: o.chainLen,
    actWidth: o.actPrecision ? Math.max(...o.actPrecision) : o.actWidth,
    weightWidth: o.weightWidth,
    dspBackend: o.dspBackend,
    sparsity: o.sparsity.filter((p) => p !== 'dense'),
    groupSize: o.groupSize,
    actDepth: o.actDepth,
    weightDepth: o.weightDepth,
    accDepth: o.accDepth,
    kvDepth: o.kvDepth,
    globalDepth: o.globalDepth,
    biasDepth: o.biasDepth,
    sfuLanes: o.sfuLanes,
    axiDataBits: o.axiDataBits,
    ldPorts: o.ldPorts,
    queueDepth: DEFAULT_CONFIG.queueDepth,
    loopDepth: DEFAULT_CONFIG.loopDepth,
    weightPrecisions: [...new Set(o.precision)],
    pack: o.pack === '2' ? 2 : 1,
  };
  if (!o.preset) return { config: fromOptions, overrides: [] };
  const config: Record<string, unknown> = { ...o.preset.config };
  const overrides: string[] = [];
  for (const [opt, field] of PRESET_OVERRIDABLE) {
    const source = cmd.getOptionValueSource(opt);
    if (source === undefined || source === 'default') continue;
    config[field] = fromOptions[field];
    overrides.push(`--${opt.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  }
  return { config: config as unknown as GenConfig, preset: o.preset, overrides };
}
