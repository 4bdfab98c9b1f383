/**
 * FPGA device descriptions: the numbers the resource estimate, the presets and (later) the
 * synthesis report compare against. Every number carries the document it comes from.
 *
 * Sources:
 * - DS963  AMD/Xilinx, "Alveo U280 Data Center Accelerator Card Data Sheet" (resources, HBM, DDR).
 * - UG1314 AMD/Xilinx, "Alveo U280 Data Center Accelerator Card User Guide" (SLRs, memory map).
 * - DS923  "Virtex UltraScale+ FPGA Data Sheet" / DS890 UltraScale overview (xcu280 = VU37P-class die).
 * - UG579  "UltraScale Architecture DSP Slice User Guide" (DSP48E2: 27x18 multiplier, 48-bit P/cascade).
 * - UG573  "UltraScale Architecture Memory Resources" (RAMB36E2 aspect ratios, URAM288 4K x 72).
 * - DS950  "Versal Architecture and Product Data Sheet: Overview" (Versal HBM series table).
 * - AM004  "Versal ACAP DSP Engine Architecture Manual" (DSP58: 27x24 multiplier, 58-bit P/cascade,
 *          INT8 mode computing a three-term INT8 dot product).
 * - AM007  "Versal ACAP Memory Resources Architecture Manual" (RAMB36E5, URAM288E5).
 * - UG1611 "VHK158 Evaluation Board User Guide" (board memories).
 * - FlightLLM (Zeng et al., FPGA 2024) and its artifact, summarised in ../shared/FLIGHTLLM.md
 *   (clock, cores per device).
 */

export const DEVICE_NAMES = ['u280', 'vhk158'] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];

/** Programmable-logic resource counts of the whole device (no shell/platform deducted). */
export interface DeviceResources {
  readonly lut: number;
  readonly ff: number;
  /** DSP slices (DSP48E2 on UltraScale+, DSP58 engines on Versal). */
  readonly dsp: number;
  /** 36 Kb block RAMs (RAMB36E2 / RAMB36E5). */
  readonly bram: number;
  /** 288 Kb UltraRAMs (URAM288 / URAM288E5). */
  readonly uram: number;
}

export interface DspPrimitive {
  /** Primitive cell name. */
  readonly name: 'DSP48E2' | 'DSP58';
  /** Multiplier operand widths (signed): A x B. */
  readonly multiplierA: number;
  readonly multiplierB: number;
  /** Accumulator (P register) width. */
  readonly accWidth: number;
  /** Dedicated cascade (PCOUT -> PCIN) width. */
  readonly cascadeWidth: number;
  /**
   * INT8 MACs one DSP can do per cycle, as [conservative, best]: DSP48E2 does one MAC, or two
   * sharing one operand with correction logic (AMD WP486/WP487, the generator's `--pack 2`);
   * DSP58 does one, or a three-term INT8 dot product in its INT8 mode (AM004).
   */
  readonly int8MacsPerDsp: readonly [number, number];
}

/** One block-RAM port shape (simple dual port): `depth` words of `width` bits. */
export interface RamShape {
  readonly depth: number;
  readonly width: number;
}

export interface MemoryPrimitives {
  readonly bram: { readonly name: string; readonly shapes: readonly RamShape[] };
  readonly uram: { readonly name: string; readonly shape: RamShape };
}

export interface ExternalMemory {
  readonly kind: string;
  /** Capacity in GiB (undefined: not verified). */
  readonly gib?: number;
  /** Pseudo-channels (HBM) or channels (DDR). */
  readonly channels?: number;
  /** Peak bandwidth of all channels together, GB/s (10^9 bytes/s). */
  readonly peakGBs?: number;
}

export interface Device {
  readonly name: DeviceName;
  readonly board: string;
  /** Vivado part name. */
  readonly part: string;
  /** `-family` for Yosys `synth_xilinx`; undefined when Yosys has no such family (Versal). */
  readonly yosysFamily?: 'xcup';
  readonly resources: DeviceResources;
  readonly dsp: DspPrimitive;
  readonly memories: MemoryPrimitives;
  readonly hbm: ExternalMemory;
  readonly ddr: ExternalMemory;
  /** Super logic regions (dies) of the programmable logic. */
  readonly slrs: number;
  /** Kernel clock FlightLLM used on this device, MHz. */
  readonly clockMHz: number;
  /** Instruction streams (cores) FlightLLM used on this device. */
  readonly flightllmCores: number;
  /** Fields whose value is not verified against the primary data sheet (see the comments). */
  readonly uncertain: readonly string[];
}

/** RAMB36E2 simple-dual-port shapes (UG573): 32K x 1 ... 1K x 36, 512 x 72 (SDP only). */
const RAMB36E2_SHAPES: readonly RamShape[] = [
  { depth: 32768, width: 1 },
  { depth: 16384, width: 2 },
  { depth: 8192, width: 4 },
  { depth: 4096, width: 9 },
  { depth: 2048, width: 18 },
  { depth: 1024, width: 36 },
  { depth: 512, width: 72 },
];

/**
 * RAMB36E5 shapes (AM007). UNCERTAIN: AM007 lists the 9/18/36/72-bit widths; whether the narrow
 * 1/2/4-bit shapes of UltraScale+ survive on Versal was not verified, so only the wide ones are
 * used (the estimate's buffers are all wide, so this changes nothing for the presets).
 */
const RAMB36E5_SHAPES: readonly RamShape[] = [
  { depth: 4096, width: 9 },
  { depth: 2048, width: 18 },
  { depth: 1024, width: 36 },
  { depth: 512, width: 72 },
];

/** URAM288 (UG573) and URAM288E5 (AM007): 4K x 72 bits, one shape. */
const URAM_SHAPE: RamShape = { depth: 4096, width: 72 };

export const U280: Device = {
  name: 'u280',
  board: 'AMD Alveo U280',
  part: 'xcu280-fsvh2892-2L-e',
  yosysFamily: 'xcup',
  resources: {
    // DS963 (Alveo U280 data sheet, "Card resources"): 1,304K LUTs, 2,607K registers,
    // 9,024 DSP slices, 2,016 36 Kb block RAMs (70.9 Mb), 960 UltraRAMs (270 Mb).
    // Exact LUT/FF counts of the xcu280 die (Vivado part data, consistent with DS963's rounding).
    lut: 1_303_680,
    ff: 2_607_360,
    dsp: 9024,
    bram: 2016,
    uram: 960,
  },
  dsp: {
    // UG579: DSP48E2 = 27 x 18 signed multiplier, 48-bit accumulator and PCOUT->PCIN cascade.
    name: 'DSP48E2',
    multiplierA: 27,
    multiplierB: 18,
    accWidth: 48,
    cascadeWidth: 48,
    // WP486/WP487: two INT8 products sharing one operand per DSP48E2 (the generator's --pack 2).
    int8MacsPerDsp: [1, 2],
  },
  memories: {
    bram: { name: 'RAMB36E2', shapes: RAMB36E2_SHAPES },
    uram: { name: 'URAM288', shape: URAM_SHAPE },
  },
  // DS963: 8 GB HBM2 (two 4 GB stacks), 32 pseudo-channels (AXI ports), 460 GB/s total.
  hbm: { kind: 'HBM2', gib: 8, channels: 32, peakGBs: 460 },
  // DS963: 2 x 16 GB DDR4-2400 (72-bit DIMMs with ECC), 38 GB/s total (19.2 GB/s each).
  ddr: { kind: 'DDR4', gib: 32, channels: 2, peakGBs: 38 },
  // UG1314: xcu280 is a three-SLR device (HBM attached to SLR0).
  slrs: 3,
  // FLIGHTLLM.md: 225 MHz, one core per SLR (3 instruction streams) on U280.
  clockMHz: 225,
  flightllmCores: 3,
  uncertain: [],
};

export const VHK158: Device = {
  name: 'vhk158',
  board: 'AMD Versal HBM VHK158 evaluation kit',
  part: 'xcvh1582-vsva3697-2MP-e-S',
  yosysFamily: undefined,
  resources: {
    // DS950 (Versal HBM series table, VH1582): 7,392 DSP engines (DSP58); 2,541 block RAMs
    // (36 Kb, 89.3 Mb); 1,301 UltraRAMs (288 Kb, 365.9 Mb); LUTs 1,754K; CLB flip-flops 3,508K.
    // UNCERTAIN (LUT, FF): DS950 gives thousands; the exact counts are SLICEs x 8 LUTs and
    // SLICEs x 16 FFs with 219,248 SLICEs, a figure taken from a secondary table (the same
    // fabric as VP1552), not read from DS950 here. DSP, BRAM and URAM counts agree in both.
    lut: 1_753_984,
    ff: 3_507_968,
    dsp: 7392,
    bram: 2541,
    uram: 1301,
  },
  dsp: {
    // AM004: DSP58 = 27 x 24 signed multiplier, 58-bit accumulator and PCOUT->PCIN cascade;
    // DSP_MODE = "INT8" computes a three-term INT8 dot product per DSP58.
    name: 'DSP58',
    multiplierA: 27,
    multiplierB: 24,
    accWidth: 58,
    cascadeWidth: 58,
    int8MacsPerDsp: [1, 3],
  },
  memories: {
    bram: { name: 'RAMB36E5', shapes: RAMB36E5_SHAPES },
    uram: { name: 'URAM288E5', shape: URAM_SHAPE },
  },
  // DS950 / VHK158 product brief: 32 GB HBM2e (two 16 GB stacks), 819 GB/s peak.
  // UNCERTAIN (channels): 32 pseudo-channels (16 HBM controllers x 2) from the Versal HBM NoC
  // tutorials (32 HBM AXI slave ports), not from DS950.
  hbm: { kind: 'HBM2e', gib: 32, channels: 32, peakGBs: 819 },
  // UG1611: the board also carries DDR4. UNCERTAIN: its capacity and bandwidth were not
  // verified here, so they are left undefined rather than guessed.
  ddr: { kind: 'DDR4' },
  // DS950 lists the VH1582 as a multi-die device (a VP1202-class fabric die plus the HBM die).
  // UNCERTAIN: 2 programmable-logic SLRs, inferred from that description.
  slrs: 2,
  // FLIGHTLLM.md: the artifact's VHK158 simulator assumes 225 MHz and 4 instruction streams.
  clockMHz: 225,
  flightllmCores: 4,
  uncertain: ['resources.lut', 'resources.ff', 'hbm.channels', 'ddr.gib', 'ddr.peakGBs', 'slrs', 'memories.bram.shapes'],
};

export const DEVICES: Readonly<Record<DeviceName, Device>> = { u280: U280, vhk158: VHK158 };

/** Looks a device up by name; throws a RangeError listing the valid names. */
export function getDevice(name: string): Device {
  if (!(DEVICE_NAMES as readonly string[]).includes(name)) throw new RangeError(`unknown device '${name}' (expected one of ${DEVICE_NAMES.join(', ')})`);
  return DEVICES[name as DeviceName];
}
