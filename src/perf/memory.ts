/**
 * The external memory channels as the performance model and the Verilator harness see them:
 * one module holds the parameters (latency, bandwidth per space) so that predicted and
 * measured cycles use the same memory.
 *
 * Two layers:
 * - `MEMORY_CHANNELS`: published characteristics of the boards' memories (per pseudo-channel
 *   peak and measured efficiency, latency in ns, the throughput left for accesses that cross
 *   the HBM switch), with their sources;
 * - `MemoryTiming`: what the harness models (rtl-templates/flightllm-tb.cpp.hbs, sim/README.md):
 *   per space (HBM, DDR) a read and a write latency in accelerator cycles and a token-bucket
 *   bandwidth of num/den AXI beats per cycle per port (at most one beat per cycle: each of the
 *   design's `ldPorts` read ports and its write port is axiDataBits wide), the rate a read port
 *   gets from a pseudo-channel in its own HBM switch group (`localBandwidth`, with the HBM
 *   `channelMap`), the instruction-fetch latency and the outstanding-burst limits (per port).
 *   `memoryTiming(device, hw, clockMHz)` converts the first into the second;
 *   `accelSimOptions(timing)` is the AccelSim start() configuration for it.
 *
 * Sources (U280):
 * - [PG276] AMD/Xilinx, "AXI High Bandwidth Memory Controller LogiCORE IP Product Guide"
 *   (PG276 v1.0, 2022): 32 AXI ports of 256 bits, one per pseudo-channel, 450 MHz for the full
 *   900 MHz HBM data rate: 14.4 GB/s per pseudo-channel, 460.8 GB/s in all ("Raw Throughput
 *   Evaluation"); the AXI switch's lateral connections limit accesses that leave a 4x4 switch
 *   instance to 50% of the full bandwidth ("Lateral AXI Switch Access Throughput Loss").
 * - [SHUHAI] Z. Wang, H. Huang, J. Zhang, G. Alonso, "Shuhai: Benchmarking High Bandwidth
 *   Memory on FPGAs", FCCM 2020 (extended in IEEE TC 2021): up to 425 GB/s over the 32
 *   pseudo-channels of the U280 (abstract), i.e. 13.3 GB/s per channel, 92% of PG276's peak, with
 *   sequential bursts of at least 64 bytes. FROM MEMORY (not re-checked against the paper
 *   here): the read latency table, HBM page hit 48 cycles at 450 MHz = 106.7 ns (page closed
 *   55 = 122.2 ns, page miss 62 = 137.8 ns); DDR4 page hit 73.3 ns; DDR4 sequential
 *   throughput about 18 GB/s per channel. Those values are marked `fromMemory` below.
 * - [DS963] Alveo U280 data sheet: 2 x DDR4-2400 (19.2 GB/s each), 8 GB HBM2 in 32
 *   pseudo-channels, 460 GB/s.
 * - Write latency: no published figure for the B-response latency of either controller was
 *   found; the model takes half the page-hit read latency (ASSUMPTION, as the harness defaults
 *   of 24/12 HBM cycles do). Streaming stores never wait on it except at the end of a row
 *   group (the ST engine keeps 64 bursts in flight; the harness 8).
 *
 * VHK158 (HBM2e): 819 GB/s over 32 ports (DS950, PG313: 25.6 GB/s per pseudo-channel). No
 * published measurement of its efficiency or latency was found: the U280 figures (92%, the
 * same ns) are reused and marked as assumptions.
 */
import type { GenConfig } from '../arch/config.ts';
import type { AccelStartOptions, Bandwidth, ChannelMap } from '../sim/accel.ts';
import { getDevice, type DeviceName } from '../targets/devices.ts';

/** A memory system as published: peak and measured behaviour of one channel. */
export interface ChannelCharacteristics {
  readonly kind: string;
  /** Channels (HBM pseudo-channels / DDR controllers) the design can address. */
  readonly channels: number;
  /** Peak bandwidth of one channel, GB/s (10^9 B/s). */
  readonly peakGBs: number;
  /** Fraction of the peak a channel sustains with long sequential bursts (measured). */
  readonly efficiency: number;
  /**
   * Fraction of a channel's peak left for an AXI port reading a channel behind another switch
   * instance (HBM: PG276's lateral connections); 1 where there is no switch.
   */
  readonly crossingFactor: number;
  /**
   * Pseudo-channels behind one switch instance (PG276: eight 4x4 switches); a port reading a
   * channel outside its group crosses the lateral connections (crossingFactor).
   */
  readonly channelsPerSwitch?: number;
  /** Read latency (request to first data) of a page hit, ns. */
  readonly readLatencyNs: number;
  /** Write latency (last data to response), ns. */
  readonly writeLatencyNs: number;
  /** Which of the numbers above were not read from the source here (quoted from memory) or are assumptions. */
  readonly unverified: readonly string[];
  readonly sources: readonly string[];
}

export const MEMORY_CHANNELS: Readonly<Record<DeviceName, { hbm: ChannelCharacteristics; ddr: ChannelCharacteristics }>> = {
  u280: {
    hbm: {
      kind: 'HBM2',
      channels: 32,
      peakGBs: 14.4, // [PG276] 256 bits x 450 MHz
      efficiency: 425 / 460.8, // [SHUHAI] 425 GB/s of PG276's 460.8 GB/s: 0.922
      crossingFactor: 0.5, // [PG276] lateral connections: 50% of the full bandwidth
      channelsPerSwitch: 4, // [PG276] eight switch instances of 4 ports x 4 pseudo-channels
      readLatencyNs: 106.7, // [SHUHAI] page hit, 48 cycles at 450 MHz (from memory)
      writeLatencyNs: 53.3, // ASSUMPTION: half the read latency
      unverified: ['readLatencyNs (Shuhai table, from memory)', 'writeLatencyNs (assumption)'],
      sources: ['PG276 (raw throughput, lateral AXI switch loss)', 'Shuhai, FCCM 2020 (425 GB/s, latency table)', 'DS963'],
    },
    ddr: {
      kind: 'DDR4-2400',
      channels: 2,
      peakGBs: 19.2, // [DS963]
      efficiency: 18 / 19.2, // [SHUHAI] about 18 GB/s sequential (from memory)
      crossingFactor: 1,
      readLatencyNs: 73.3, // [SHUHAI] DDR4 page hit (from memory)
      writeLatencyNs: 36.7, // ASSUMPTION: half the read latency
      unverified: ['efficiency (Shuhai, from memory)', 'readLatencyNs (Shuhai, from memory)', 'writeLatencyNs (assumption)'],
      sources: ['DS963 (DDR4-2400, 19.2 GB/s per channel)', 'Shuhai, FCCM 2020 (DDR4 comparison)'],
    },
  },
  vhk158: {
    hbm: {
      kind: 'HBM2e',
      channels: 32,
      peakGBs: 819.2 / 32, // DS950 / PG313: 256-bit ports, 819.2 GB/s in all
      efficiency: 425 / 460.8, // ASSUMPTION: the U280 measurement
      crossingFactor: 1, // the Versal HBM NoC gives every port every channel (no lateral switch limit modelled)
      readLatencyNs: 106.7, // ASSUMPTION: the U280 measurement
      writeLatencyNs: 53.3,
      unverified: ['efficiency (U280 value)', 'crossingFactor (not modelled)', 'readLatencyNs (U280 value)', 'writeLatencyNs (assumption)'],
      sources: ['DS950', 'PG313 (HBM NoC raw throughput)'],
    },
    ddr: {
      kind: 'DDR4',
      channels: 1,
      peakGBs: 25.6, // ASSUMPTION: one DDR4-3200 64-bit channel (UG1611 not verified here)
      efficiency: 0.9,
      crossingFactor: 1,
      readLatencyNs: 73.3,
      writeLatencyNs: 36.7,
      unverified: ['peakGBs', 'efficiency', 'readLatencyNs', 'writeLatencyNs'],
      sources: ['UG1611 (board memories; numbers not verified)'],
    },
  },
};

/** One memory space as the harness models it, in accelerator cycles. */
export interface SpaceTiming {
  /** Cycles from the AR handshake to the first R beat of a burst. */
  readonly readLatency: number;
  /** Cycles from the AW handshake to the B response (at least one after the last W beat). */
  readonly writeLatency: number;
  /**
   * Token bucket of each port: num/den AXI beats per cycle for reads through the HBM switch
   * (every read without a channel map) and for writes.
   */
  readonly bandwidth: Bandwidth;
  /** A read port's rate for a pseudo-channel in its own switch group (channelMap); absent: `bandwidth`. */
  readonly localBandwidth?: Bandwidth;
}

export interface MemoryTiming {
  readonly hbm: SpaceTiming;
  readonly ddr: SpaceTiming;
  /** Instruction fetch: cycles from the IF address handshake to the first word. */
  readonly ifLatency: number;
  /** Bursts the memory accepts from each port before it holds AR (reads) / AW (writes) back. */
  readonly outstanding: { readonly reads: number; readonly writes: number };
  /**
   * HBM pseudo-channels as the LD read ports see them: a read's channel is (address / bytes) mod
   * count, read port p sits on channel p mod count (port 0 on channel 0, ...), and a read of a
   * channel in another group of perSwitch channels crosses the switch. Absent: every read crosses.
   */
  readonly channelMap?: ChannelMap;
}

/** Whether a read of HBM byte `addr` by LD read port `port` crosses the HBM switch (see MemoryTiming.channelMap). */
export function crossesSwitch(map: ChannelMap | undefined, port: number, addr: number): boolean {
  if (!map || map.bytes === 0) return true;
  return Math.floor((Math.floor(addr / map.bytes) % map.count) / map.perSwitch) !== Math.floor((port % map.count) / map.perSwitch);
}

/** The harness's own defaults (sim/README.md): what AccelSim.start() without options runs. */
export const HARNESS_DEFAULT_TIMING: MemoryTiming = {
  hbm: { readLatency: 24, writeLatency: 12, bandwidth: { num: 1, den: 1 } },
  ddr: { readLatency: 40, writeLatency: 20, bandwidth: { num: 1, den: 1 } },
  ifLatency: 2,
  outstanding: { reads: 8, writes: 8 },
};

/** The AccelSim start options that make the harness model `t`. */
export function accelSimOptions(t: MemoryTiming): AccelStartOptions {
  return {
    latency: { hbm: { read: t.hbm.readLatency, write: t.hbm.writeLatency }, ddr: { read: t.ddr.readLatency, write: t.ddr.writeLatency } },
    bandwidth: { hbm: t.hbm.bandwidth, ddr: t.ddr.bandwidth },
    ...(t.hbm.localBandwidth || t.ddr.localBandwidth ? { localBandwidth: { ...(t.hbm.localBandwidth ? { hbm: t.hbm.localBandwidth } : {}), ...(t.ddr.localBandwidth ? { ddr: t.ddr.localBandwidth } : {}) } } : {}),
    ...(t.channelMap ? { channelMap: t.channelMap } : {}),
    ifLatency: t.ifLatency,
    outstanding: t.outstanding,
  };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** x in (0, 1] as num/den with den <= maxDen (rounded down, so never faster than x). */
export function beatsPerCycle(x: number, maxDen = 1000): Bandwidth {
  if (!(x > 0)) throw new RangeError(`bandwidth ratio must be positive, got ${x}`);
  if (x >= 1 - 1e-9) return { num: 1, den: 1 };
  let num = Math.max(1, Math.floor(x * maxDen + 1e-9));
  let den = maxDen;
  const g = gcd(num, den);
  num /= g;
  den /= g;
  return { num, den };
}

/**
 * Bytes per accelerator cycle one port gets from a space (before the port width cap): through
 * the HBM switch (`crossing`, the default) or from a pseudo-channel in its own switch group.
 */
export function channelBytesPerCycle(ch: ChannelCharacteristics, clockMHz: number, crossing = true): number {
  const frac = Math.min(ch.efficiency, crossing ? ch.crossingFactor : 1);
  return (ch.peakGBs * 1e9 * frac) / (clockMHz * 1e6);
}

const sameRate = (a: Bandwidth, b: Bandwidth) => a.num * b.den === b.num * a.den;

function spaceTiming(ch: ChannelCharacteristics, hw: Pick<GenConfig, 'axiDataBits'>, clockMHz: number): SpaceTiming {
  const beat = hw.axiDataBits / 8;
  const cyc = (ns: number) => Math.max(1, Math.round((ns * clockMHz) / 1000));
  const bandwidth = beatsPerCycle(channelBytesPerCycle(ch, clockMHz, true) / beat);
  const local = beatsPerCycle(channelBytesPerCycle(ch, clockMHz, false) / beat);
  return { readLatency: cyc(ch.readLatencyNs), writeLatency: cyc(ch.writeLatencyNs), bandwidth, ...(sameRate(local, bandwidth) ? {} : { localBandwidth: local }) };
}

/**
 * The memory timing of `device`'s channels for a design with `hw`'s port width at `clockMHz`
 * (default: the device's FlightLLM clock): latencies rounded to cycles, bandwidth per port
 * capped at one beat per cycle, through the HBM switch and (localBandwidth, when it differs)
 * within a read port's own switch group, and the HBM channel map (pseudo-channels of
 * gib / channels bytes, as the compiler places data: src/compiler/block.ts). Instruction fetch
 * and outstanding limits stay the harness's.
 */
export function memoryTiming(device: DeviceName, hw: Pick<GenConfig, 'axiDataBits'>, clockMHz = getDevice(device).clockMHz): MemoryTiming {
  const m = MEMORY_CHANNELS[device];
  const hbm = getDevice(device).hbm;
  const perSwitch = m.hbm.channelsPerSwitch;
  return {
    hbm: spaceTiming(m.hbm, hw, clockMHz),
    ddr: spaceTiming(m.ddr, hw, clockMHz),
    ifLatency: HARNESS_DEFAULT_TIMING.ifLatency,
    outstanding: HARNESS_DEFAULT_TIMING.outstanding,
    ...(perSwitch && hbm.gib ? { channelMap: { bytes: (hbm.gib * 2 ** 30) / m.hbm.channels, count: m.hbm.channels, perSwitch } } : {}),
  };
}

/** Peak bytes per second of a device's HBM (all channels; the roofline's denominator). */
export function hbmPeakBytesPerSecond(device: DeviceName): number {
  const m = MEMORY_CHANNELS[device].hbm;
  return m.channels * m.peakGBs * 1e9;
}
