/**
 * Named generator configurations (`flightgen gen --preset NAME`): complete GenConfigs that
 * give the defaults, explicit CLI options override them. How the FlightLLM configuration maps
 * onto the generator, and how the buffers were sized, is in docs/targets.md; a test checks
 * every preset validates and fits its device with headroom, and that the buffer depths are the
 * ones `largestBuffers` computes.
 */
import type { GenConfig } from '../arch/config.ts';
import type { Pattern } from '../sparsity/pattern.ts';
import type { DeviceName } from './devices.ts';

export const PRESET_NAMES = ['flightllm-u280', 'flightllm-vhk158', 'tiny'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  readonly name: PresetName;
  readonly description: string;
  /** The device the preset is sized for (and checked against). */
  readonly device: DeviceName;
  readonly config: GenConfig;
}

/** FlightLLM's N:M modes: M = 16, N in {2, 4, 8} (16:16 is dense, always present). */
const FLIGHTLLM_SPARSITY: readonly Pattern[] = [
  { n: 8, m: 16 },
  { n: 4, m: 16 },
  { n: 2, m: 16 },
];

/** Buffers sized for the model rather than the device (see GROWN_BUFFERS in sizing.ts). */
const MODEL_BUFFERS = {
  // LLaMA2-7B: x, q, k, r (4 x 4096) + two FFN halves (2 x 11008) + scores (2048) + logits (32000).
  globalDepth: 1 << 17,
  // LLaMA2-7B: 5 x 4096 norm gammas + 64 RoPE frequencies.
  biasDepth: 1 << 15,
};

const FLIGHTLLM_COMMON = {
  top: 'mpe',
  sfuLanes: 8,
  axiDataBits: 256,
  // One LD read port per HBM pseudo-channel (both devices have 32, devices.ts), the most the
  // generator builds (LD_PORTS_MAX): docs/targets.md, "LD read ports".
  ldPorts: 32,
  queueDepth: 4,
  loopDepth: 4,
  chainLength: 16,
  actWidth: 8,
  weightWidth: 8,
  groupSize: 2,
  sparsity: FLIGHTLLM_SPARSITY,
  pack: 1,
  weightPrecisions: ['int8', 'int4'],
  ...MODEL_BUFFERS,
} as const satisfies Partial<GenConfig>;

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  'flightllm-u280': {
    name: 'flightllm-u280',
    description: 'FlightLLM on Alveo U280: 3 cores x 2048 DSP48E2 as one MPE of 384 chains x 16 (6144 MACs), DSP48E2 instances',
    device: 'u280',
    config: {
      ...FLIGHTLLM_COMMON,
      chains: 384,
      dspBackend: 'xilinx-dsp48e2',
      // largestBuffers(): weight at the URAM headroom (512 beats of 6144 lanes: a 4096-wide
      // matrix tile), KV and act at the 20-bit element address space, acc at the BRAM/URAM headroom.
      weightDepth: 512,
      kvDepth: 1 << 20,
      actDepth: 1 << 16,
      accDepth: 1 << 19,
    },
  },
  'flightllm-vhk158': {
    name: 'flightllm-vhk158',
    description: 'FlightLLM on Versal VHK158: 4 cores x 1280 MACs as one MPE of 320 chains x 16 (5120 MACs, ~70% of the DSP58s at one MAC each)',
    device: 'vhk158',
    config: {
      ...FLIGHTLLM_COMMON,
      chains: 320,
      // DSP58 instances with the 58-bit PCOUT->PCIN cascade (docs/dsp58.md).
      dspBackend: 'versal-dsp58',
      // largestBuffers(): weight (4096 beats) at the memory headroom, the others at the 20-bit
      // element address space.
      weightDepth: 4096,
      kvDepth: 1 << 20,
      actDepth: 1 << 16,
      accDepth: 1 << 20,
    },
  },
  tiny: {
    name: 'tiny',
    description: 'a small MPE for fast tests: 4 chains x 16 (64 MACs), modes dense, 2:4, 1:4, 2:8, small buffers',
    device: 'u280',
    config: {
      top: 'mpe',
      sfuLanes: 4,
      axiDataBits: 256,
      ldPorts: 1,
      queueDepth: 4,
      loopDepth: 4,
      chains: 4,
      chainLength: 16,
      actWidth: 8,
      weightWidth: 8,
      dspBackend: 'behavioral',
      groupSize: 2,
      sparsity: [
        { n: 2, m: 4 },
        { n: 1, m: 4 },
        { n: 2, m: 8 },
      ],
      pack: 1,
      weightPrecisions: ['int8', 'int4'],
      actDepth: 64,
      weightDepth: 64,
      accDepth: 256,
      kvDepth: 4096,
      globalDepth: 1024,
      biasDepth: 256,
    },
  },
};

/** Looks a preset up by name; throws a RangeError listing the valid names. */
export function getPreset(name: string): Preset {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) throw new RangeError(`unknown preset '${name}' (expected one of ${PRESET_NAMES.join(', ')})`);
  return PRESETS[name as PresetName];
}

/** Hardware fields `perf` and `report` let the command line override on a preset, with their flags. */
export const PRESET_OVERRIDES = [
  { key: 'chains', flag: '--chains', what: 'MAC chains' },
  { key: 'chainLength', flag: '--chain-len', what: 'MAC slices per chain' },
  { key: 'weightDepth', flag: '--weight-depth', what: 'weight buffer beats' },
  { key: 'actDepth', flag: '--act-depth', what: 'activation buffer windows' },
  { key: 'accDepth', flag: '--acc-depth', what: 'accumulation buffer entries' },
  { key: 'kvDepth', flag: '--kv-depth', what: 'KV buffer elements' },
  { key: 'globalDepth', flag: '--global-depth', what: 'global buffer elements' },
  { key: 'biasDepth', flag: '--bias-depth', what: 'bias buffer elements' },
  { key: 'axiDataBits', flag: '--axi-data-bits', what: 'memory port width' },
  { key: 'ldPorts', flag: '--ld-ports', what: 'LD engine read ports (power of two, 1..32)' },
] as const satisfies readonly { key: keyof GenConfig; flag: string; what: string }[];

export type PresetOverrideKey = (typeof PRESET_OVERRIDES)[number]['key'];
export type HwOverrides = Partial<Record<PresetOverrideKey, number>>;

/** The overrides as command-line flags (`--chains 128 --weight-depth 2048`). */
export function overrideFlags(o: HwOverrides): string {
  return PRESET_OVERRIDES.filter((x) => o[x.key] !== undefined)
    .map((x) => `${x.flag} ${o[x.key]}`)
    .join(' ');
}
