/**
 * LD and ST instruction durations against the harness's memory model, at the level of AXI
 * bursts and beats (src/arch/mmu/ld.ts and st.ts, rtl-templates/flightllm-tb.cpp.hbs):
 *
 * LD: the AR walker issues one burst per cycle (bursts of at most 16 beats, never across
 *   4 KiB) while the R FIFO has credit for all its beats and the memory accepts it (at most
 *   `outstanding.reads` bursts between AR and their last beat); the memory returns each
 *   burst's beats in order, the first `readLatency` cycles after its AR, paced by the token
 *   bucket of the space; the consumer takes one step per cycle (ld.ts: an element write, a
 *   weight/meta beat step or a grp step) once the step's bytes are in the gearbox
 *   (XFER_TIMING.ldBeatToStep cycles after their beat). Without stalls this is exactly ldCycles().
 * ST: buffer reads one per cycle (at most ST_FIFO capacity in flight), the packer emits a W
 *   beat when a beat is full or a row ends (plus a flush cycle for a row's second partial
 *   beat), a W beat waits for its burst's AW, AWs are held back by the memory's outstanding
 *   limit (`outstanding.writes` bursts between AW and B), each B comes at max(AW + writeLatency,
 *   last W + 1), in order; done two cycles after the last B.
 *
 * Durations are start-to-done cycles (the busy cycles the CSRs count), independent of the
 * other engines except for LD's stalls on SFU writes to the same buffer (not modelled: a cycle
 * per SFU write to the LD's buffer while the LD writes; none in compiled programs). The
 * bandwidth buckets start each instruction full: an engine idles at least XFER_SETUP_CYCLES
 * before its first beat, which refills any num/den >= 1/4. The constants of XFER_TIMING were
 * fitted on single-instruction programs (240 random LD/ST shapes over four memory settings:
 * 239 cycle-exact, one mixed-regime LD a cycle short).
 */
import type { GenConfig } from '../arch/config.ts';
import { accelGeometry } from '../arch/mmu/buffers.ts';
import { ldGeometry, ldStriped, LD_FIFO_BEATS } from '../arch/mmu/ld.ts';
import { stReadLanes, ST_FIFO_ENTRIES } from '../arch/mmu/st.ts';
import { GRP_BLOCK_BYTES, MAX_BURST, PAGE_BYTES, XFER_IMMEDIATE_DONE_CYCLES, xferRowBytes, type XferOperands } from '../arch/mmu/xfer.ts';
import { DTYPES } from '../isa/table.ts';
import type { Bandwidth } from '../sim/accel.ts';
import { crossesSwitch, type MemoryTiming, type SpaceTiming } from './memory.ts';

/** Pipeline offsets of the transfer engines (cycles, relative to the engine's start cycle). */
export const XFER_TIMING = {
  /** Start to the first AR (field latch, two check stages, walker). */
  ldFirstAr: 4,
  /** An R beat to the first consumer step that can use its bytes (FIFO, realign, gearbox). */
  ldBeatToStep: 4,
  /** The last consumer step to done. */
  ldStepToDone: 2,
  /** Start to the first buffer read of an ST. */
  stFirstRead: 4,
  /** A buffer read to the cycle its data can be packed (read latency 2, FIFO). */
  stReadToPack: 4,
  /** Start to the first AW. */
  stFirstAw: 4,
  /** The last B handshake to done. */
  stBToDone: 2,
} as const;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The harness's token bucket (rtl-templates/flightllm-tb.cpp.hbs): num/den beats per cycle,
 * holding at most one beat of credit beyond the steady state. Two rates: through the HBM switch
 * (`cross`, also every DDR read) and a read port's own switch group (`local`); in common units a
 * beat costs refill / rate, the cap is the dearer beat plus refill - 1 (one rate: den + num - 1).
 */
class Bucket {
  private last = -Infinity;
  private after = 0;
  private readonly refill: number;
  private readonly cost: readonly [number, number];
  private readonly cap: number;
  readonly unlimited: boolean;
  constructor(cross: Bandwidth, local: Bandwidth = cross) {
    const red = (b: Bandwidth) => {
      const g = gcd(b.num, b.den);
      return { num: b.num / g, den: b.den / g };
    };
    const l = red(local);
    const x = red(cross);
    this.refill = (l.num / gcd(l.num, x.num)) * x.num;
    this.cost = [l.den * (this.refill / l.num), x.den * (this.refill / x.num)];
    this.cap = Math.max(...this.cost) + this.refill - 1;
    this.unlimited = l.num >= l.den && x.num >= x.den;
  }

  /** The first cycle >= t the bucket allows a beat (at the crossing or the local rate); takes it. */
  take(t: number, crossing = true): number {
    if (this.unlimited) return t;
    const cost = this.cost[crossing ? 1 : 0];
    let c = this.last === -Infinity ? this.cap : Math.min(this.cap, this.after + this.refill * (t - this.last));
    if (c < cost) {
      const w = Math.ceil((cost - c) / this.refill);
      t += w;
      c += this.refill * w;
    }
    this.last = t;
    this.after = c - cost;
    return t;
  }
}

interface Burst {
  readonly row: number;
  readonly beats: number;
  /** Byte address of the first beat. */
  readonly addr: number;
}

/** The bursts of one row: beats [ea / AB, (ea + bytes - 1) / AB] split at 16 beats and 4 KiB. */
function rowBursts(ea: number, bytes: number, AB: number, row: number, out: Burst[]): number {
  let beat = Math.floor(ea / AB);
  let left = Math.floor((ea + bytes - 1) / AB) - beat + 1;
  const pageBeats = PAGE_BYTES / AB;
  const total = left;
  while (left > 0) {
    const n = Math.min(left, MAX_BURST, pageBeats - (beat % pageBeats));
    out.push({ row, beats: n, addr: beat * AB });
    beat += n;
    left -= n;
  }
  return total;
}

export interface XferResult {
  /** Start-to-done cycles. */
  readonly cycles: number;
  /** AXI beats and bursts moved. */
  readonly beats: number;
  readonly bursts: number;
  /** Bytes of the rows (what the program asked for). */
  readonly bytes: number;
}

const space = (mem: MemoryTiming, x: XferOperands): SpaceTiming => (x.space === 'ddr' ? mem.ddr : mem.hbm);

/** What-if variations of the LD engine (not the RTL; `flightgen perf --what-if-grp-lanes`). */
export interface LdWhatIf {
  /** Lanes a grp step expands in each read pipeline (a multiple or divisor of 32); default ldGeometry().grpStep. */
  readonly grpLanes?: number;
}

/** Consumer steps of one LD row: cumulative row bytes each step needs (ascending). */
function ldStepNeeds(c: GenConfig, x: XferOperands, grpLanes?: number): number[] {
  const geo = ldGeometry(c);
  const bits = 4 << DTYPES.indexOf(x.dtype);
  const d = DTYPES.indexOf(x.dtype);
  const needs: number[] = [];
  if (x.grp) {
    const block = bits === 4 ? GRP_BLOCK_BYTES.int4 : GRP_BLOCK_BYTES.int8;
    const ug = grpLanes ?? geo.grpStep;
    const blocks = Math.floor(x.len / 32);
    if (ug >= 32) {
      // A step expands ug / 32 whole blocks.
      const per = Math.floor(ug / 32);
      for (let b = 0; b < blocks; b += per) needs.push(Math.min(blocks, b + per) * block);
      return needs;
    }
    for (let b = 0; b < blocks; b++) for (let s = 0; s < 32 / ug; s++) needs.push((b + 1) * block);
    return needs;
  }
  const beat = x.buf === 'weight' || x.buf === 'meta';
  const step = beat ? geo.beatStep[d]! : geo.wmax[x.buf]![d]!;
  for (let e = 0; e < x.len; e += step) needs.push((Math.min(x.len, e + step) * bits) / 8);
  return needs;
}

/** Consumer steps per weight/meta beat (beat buffers), the step that completes a beat being every k-th. */
function ldStepsPerBeat(c: GenConfig, x: XferOperands, grpLanes?: number): number {
  const geo = ldGeometry(c);
  const CL = accelGeometry(c).CL;
  if (x.grp) return Math.max(1, CL / (grpLanes ?? geo.grpStep));
  return CL / geo.beatStep[DTYPES.indexOf(x.dtype)]!;
}

/** External byte address of every row of a transfer, in loop order. */
function rowEas(x: XferOperands): number[] {
  const out: number[] = [];
  for (let i2 = 0; i2 < x.count2; i2++) for (let i1 = 0; i1 < x.count1; i1++) for (let i0 = 0; i0 < x.count0; i0++) out.push((x.addr + i2 * x.estride2 + i1 * x.estride1 + i0 * x.estride0) % 2 ** 36);
  return out;
}

/**
 * LD start-to-done cycles on the harness memory (see the file comment). With `ldPorts` > 1 and
 * rows that do not overlap on chip (ldStriped), row i runs on read pipeline i mod ldPorts, each
 * with its own AXI port (bucket, outstanding bursts, credits); the pipelines share the element
 * write port and the weight/meta beat port (round-robin), see ldStripedTiming.
 */
export function ldTiming(c: GenConfig, x: XferOperands, mem: MemoryTiming, whatIf: LdWhatIf = {}): XferResult {
  const rb = xferRowBytes(x);
  const nRows = x.count0 * x.count1 * x.count2;
  if (nRows === 0 || x.len === 0 || rb === 0) return { cycles: XFER_IMMEDIATE_DONE_CYCLES, beats: 0, bursts: 0, bytes: 0 };
  const eas = rowEas(x);
  if (c.ldPorts <= 1 || !ldStriped(c, x)) return ldRows(c, x, eas, mem, whatIf.grpLanes);
  return ldStripedTiming(c, x, eas, mem, whatIf.grpLanes);
}

/** One read pipeline (AXI port 0) taking every row: the RTL with ldPorts = 1, or rows that overlap on chip. */
function ldRows(c: GenConfig, x: XferOperands, eas: readonly number[], mem: MemoryTiming, grpLanes?: number): XferResult {
  const AB = accelGeometry(c).axiBytes;
  const rb = xferRowBytes(x);
  const nRows = eas.length;
  const sp = space(mem, x);
  const lat = sp.readLatency;
  const bucket = new Bucket(sp.bandwidth, sp.localBandwidth);
  const crossing = (addr: number) => x.space === 'ddr' || crossesSwitch(mem.channelMap, 0, addr);
  const maxR = mem.outstanding.reads;
  const credits = LD_FIFO_BEATS + 1;
  const needs = ldStepNeeds(c, x, grpLanes);
  const T = XFER_TIMING;
  // Per burst: its last beat's cycle (outstanding limit), per beat: arrival (credits, consumer).
  const lastBeatOf: number[] = [];
  const arrivals: number[] = [];
  let arPrev = T.ldFirstAr - 1;
  let beatPrev = -Infinity;
  let step = -Infinity;
  let bursts = 0;
  const rowBeatsScratch: Burst[] = [];
  for (const ea of eas) {
    rowBeatsScratch.length = 0;
    rowBursts(ea, rb, AB, 0, rowBeatsScratch);
    const rowStart = arrivals.length;
    for (const b of rowBeatsScratch) {
      let ar = arPrev + 1;
      if (bursts >= maxR) ar = Math.max(ar, lastBeatOf[bursts - maxR]! + 1);
      // Credits: beats issued and not yet popped (popped the cycle after arrival) <= credits.
      const mustPop = arrivals.length + b.beats - credits;
      if (mustPop > 0) ar = Math.max(ar, arrivals[mustPop - 1]! + 2);
      arPrev = ar;
      const cross = crossing(b.addr);
      let t = Math.max(ar + lat, beatPrev + 1);
      for (let k = 0; k < b.beats; k++) {
        t = bucket.take(Math.max(t, beatPrev + 1), cross);
        arrivals.push(t);
        beatPrev = t;
      }
      lastBeatOf.push(beatPrev);
      bursts++;
    }
    // Consumer steps of this row: bytes arrive c0 in the first beat, then AB per beat.
    const c0 = Math.min(AB - (ea % AB), rb);
    for (const need of needs) {
      const beatIdx = need <= c0 ? 0 : Math.ceil((need - c0) / AB);
      const avail = arrivals[rowStart + beatIdx]! + T.ldBeatToStep;
      step = Math.max(step + 1, avail);
    }
  }
  return { cycles: step + T.ldStepToDone, beats: arrivals.length, bursts, bytes: rb * nRows };
}

/** A pipeline's rows as its stages see them: for each own row, when its bytes can be used. */
interface PipeRows {
  /** Global indices of the pipeline's rows (ascending). */
  readonly rows: number[];
  /** Per own row, per consumer step: the first cycle its bytes are in the gearbox. */
  readonly avail: number[][];
  /** Cycles the AR and realign walkers are through every row (their `valid` low). */
  walkersDone: number;
  beats: number;
  bursts: number;
}

/**
 * The AXI side of striped read pipeline `p` of `N` (ld.ts, "striped"): the walkers of its AR
 * and realign stages reach global row j one cycle after leaving row j - 1 (a foreign row is
 * left at once, an own row when the stage starts it: its first burst, its first beat pop); the
 * AR issues a burst per cycle within the port's outstanding limit and the FIFO credits; beats
 * come back in order, paced by the port's bucket; a beat pops 2 cycles after it arrives (in
 * order, a row's first beat not before the realign walker shows the row) and its bytes can be
 * used 2 cycles after the pop.
 */
function pipeAxi(c: GenConfig, x: XferOperands, eas: readonly number[], mem: MemoryTiming, p: number, N: number, needs: readonly number[]): PipeRows {
  const AB = accelGeometry(c).axiBytes;
  const rb = xferRowBytes(x);
  const sp = space(mem, x);
  const lat = sp.readLatency;
  const bucket = new Bucket(sp.bandwidth, sp.localBandwidth);
  const maxR = mem.outstanding.reads;
  const credits = LD_FIFO_BEATS + 1;
  const T = XFER_TIMING;
  const R = eas.length;
  const out: PipeRows = { rows: [], avail: [], walkersDone: 0, beats: 0, bursts: 0 };
  const lastBeatOf: number[] = [];
  const arrivals: number[] = [];
  let arPrev = T.ldFirstAr - 1;
  let beatPrev = -Infinity;
  let popPrev = -Infinity;
  // Walker positions: the cycle each walker shows the next global row.
  let arW = T.ldFirstAr;
  let rW = T.ldFirstAr;
  let next = 0;
  const scratch: Burst[] = [];
  for (let j = p; j < R; j += N) {
    // Skip the foreign rows before j.
    arW += j - next;
    rW += j - next;
    scratch.length = 0;
    rowBursts(eas[j]!, rb, AB, j, scratch);
    const rowStart = arrivals.length;
    let first = true;
    for (const b of scratch) {
      let ar = Math.max(arPrev + 1, first ? arW : -Infinity);
      if (out.bursts >= maxR) ar = Math.max(ar, lastBeatOf[out.bursts - maxR]! + 1);
      const mustPop = arrivals.length + b.beats - credits;
      if (mustPop > 0) ar = Math.max(ar, arrivals[mustPop - 1]! + 2);
      if (first) arW = ar + 1;
      first = false;
      arPrev = ar;
      const cross = x.space === 'ddr' || crossesSwitch(mem.channelMap, p, b.addr);
      let t = Math.max(ar + lat, beatPrev + 1);
      for (let k = 0; k < b.beats; k++) {
        t = bucket.take(Math.max(t, beatPrev + 1), cross);
        arrivals.push(t);
        beatPrev = t;
      }
      lastBeatOf.push(beatPrev);
      out.bursts++;
    }
    // Pops of this row's beats; the first waits for the realign walker.
    const pops: number[] = [];
    for (let k = rowStart; k < arrivals.length; k++) {
      const pop = Math.max(arrivals[k]! + 2, popPrev + 1, k === rowStart ? rW : -Infinity);
      if (k === rowStart) rW = pop + 1;
      pops.push(pop);
      popPrev = pop;
    }
    const c0 = Math.min(AB - (eas[j]! % AB), rb);
    out.rows.push(j);
    out.avail.push(needs.map((need) => pops[need <= c0 ? 0 : Math.ceil((need - c0) / AB)]! + 2));
    next = j + 1;
  }
  out.beats = arrivals.length;
  // Both walkers then skip the rows after the last own one; `valid` drops after the last row.
  out.walkersDone = Math.max(arW, rW) + (R - next);
  return out;
}

/**
 * LD cycles with rows striped over c.ldPorts read pipelines (ld.ts): each pipeline's AXI side
 * alone (pipeAxi), then its consumer steps in cycle order: a step when its bytes are in, one per
 * cycle, a row's first step not before the consumer walker shows the row; element writes take
 * the shared write port (one per cycle, round-robin over the requesting pipelines); a step that
 * completes a weight/meta beat leaves it pending for the shared beat port (one per cycle,
 * round-robin), and the pipeline takes no step while its beat waits. A pipeline is finished when
 * its walkers are through every row, its last step is taken and its last beat written; the LD is
 * done the cycle after the last pipeline finishes.
 */
function ldStripedTiming(c: GenConfig, x: XferOperands, eas: readonly number[], mem: MemoryTiming, grpLanes?: number): XferResult {
  const N = c.ldPorts;
  const R = eas.length;
  const rb = xferRowBytes(x);
  const needs = ldStepNeeds(c, x, grpLanes);
  const beatMode = x.buf === 'weight' || x.buf === 'meta';
  const spb = beatMode ? ldStepsPerBeat(c, x, grpLanes) : 0;
  const T = XFER_TIMING;
  const pipes = Array.from({ length: N }, (_, p) => pipeAxi(c, x, eas, mem, p, N, needs));
  const S = needs.length;
  // Consumer state per pipeline.
  const row = new Array<number>(N).fill(0); // index into pipes[p].rows
  const stepIdx = new Array<number>(N).fill(0);
  const cW = new Array<number>(N).fill(T.ldFirstAr); // consumer walker: cycle it shows the next global row
  const cNext = new Array<number>(N).fill(0); // the global row the walker is at (or before)
  const lastStep = new Array<number>(N).fill(-Infinity);
  const pend = new Array<boolean>(N).fill(false);
  const beatCount = new Array<number>(N).fill(0);
  const lastWrite = new Array<number>(N).fill(-Infinity);
  const finishedSteps = (p: number) => row[p]! >= pipes[p]!.rows.length;
  /** Earliest cycle pipeline p can take its next step (ignoring the ports). */
  const ready = (p: number): number => {
    const P = pipes[p]!;
    const k = row[p]!;
    let t = Math.max(lastStep[p]! + 1, P.avail[k]![stepIdx[p]!]!);
    if (stepIdx[p] === 0) t = Math.max(t, cW[p]! + (P.rows[k]! - cNext[p]!));
    return t;
  };
  let wrPtr = 0;
  let beatPtr = 0;
  const rr = (reqs: boolean[], ptr: number): number => {
    for (let k = 0; k < N; k++) {
      const i = (ptr + k) % N;
      if (reqs[i]) return i;
    }
    return -1;
  };
  let t = Infinity;
  for (let p = 0; p < N; p++) if (!finishedSteps(p)) t = Math.min(t, ready(p));
  const take = (p: number, at: number) => {
    const P = pipes[p]!;
    if (stepIdx[p] === 0) {
      // The walker hands the row over at its first step.
      cW[p] = at + 1;
      cNext[p] = P.rows[row[p]!]! + 1;
    }
    lastStep[p] = at;
    if (beatMode && ++beatCount[p]! % spb === 0) pend[p] = true;
    if (++stepIdx[p]! === S) {
      stepIdx[p] = 0;
      row[p]!++;
    }
  };
  while (t < Infinity) {
    const can = Array.from({ length: N }, (_, p) => !finishedSteps(p) && ready(p) <= t);
    if (beatMode) {
      // Beats pending at t (set by last cycle's steps): one is written.
      const g = rr(pend, beatPtr);
      const blocked = pend.map((x, p) => x && p !== g);
      if (g >= 0) {
        pend[g] = false;
        lastWrite[g] = t;
        beatPtr = (g + 1) % N;
      }
      for (let p = 0; p < N; p++) if (can[p] && !blocked[p]) take(p, t);
    } else {
      const g = rr(can, wrPtr);
      if (g >= 0) {
        take(g, t);
        wrPtr = (g + 1) % N;
      }
    }
    let nt = Infinity;
    if (pend.some((x) => x)) nt = t + 1;
    for (let p = 0; p < N; p++) if (!finishedSteps(p)) nt = Math.min(nt, Math.max(t + 1, ready(p)));
    t = nt;
  }
  let finish = 0;
  for (let p = 0; p < N; p++) {
    // The consumer walker skips the rows after its last own row, one per cycle.
    const cDone = cW[p]! + (R - cNext[p]!);
    finish = Math.max(finish, lastStep[p]! + 1, lastWrite[p]!, pipes[p]!.walkersDone, cDone);
  }
  return {
    cycles: finish + 1,
    beats: pipes.reduce((a, q) => a + q.beats, 0),
    bursts: pipes.reduce((a, q) => a + q.bursts, 0),
    bytes: rb * R,
  };
}

/** ST start-to-done cycles on the harness memory (see the file comment). */
export function stTiming(c: GenConfig, x: XferOperands, mem: MemoryTiming): XferResult {
  const AB = accelGeometry(c).axiBytes;
  const rb = xferRowBytes(x);
  const nRows = x.count0 * x.count1 * x.count2;
  if (nRows === 0 || x.len === 0 || rb === 0) return { cycles: XFER_IMMEDIATE_DONE_CYCLES, beats: 0, bursts: 0, bytes: 0 };
  const sp = space(mem, x);
  const bucket = new Bucket(sp.bandwidth);
  const maxW = mem.outstanding.writes;
  const d = DTYPES.indexOf(x.dtype);
  const bits = 4 << d;
  const r = stReadLanes(c)[d]!;
  const fifoCap = ST_FIFO_ENTRIES + 1;
  const T = XFER_TIMING;
  // Bursts (AW side) with their beat counts; W beats map to bursts in order.
  const burstList: Burst[] = [];
  const eas = rowEas(x);
  eas.forEach((ea, i) => rowBursts(ea, rb, AB, i, burstList));
  const nB = burstList.length;
  const aw: number[] = new Array(nB);
  const bAt: number[] = new Array(nB);
  const lastW: number[] = new Array(nB);
  // AW times depend on B times of bursts maxW earlier, B times on W: process W beats in order and
  // compute each burst's AW lazily (it only needs B of bursts at least maxW earlier).
  let awPrev = T.stFirstAw - 1;
  let awNext = 0;
  const awUpTo = (k: number) => {
    while (awNext <= k) {
      let t = awPrev + 1;
      if (awNext >= maxW) t = Math.max(t, bAt[awNext - maxW]! + 1);
      if (awNext >= 64) t = Math.max(t, bAt[awNext - 64]! + 1);
      aw[awNext] = t;
      awPrev = t;
      awNext++;
    }
  };
  let bPrev = -Infinity;
  // Reads and the packer.
  const reads: number[] = []; // issue cycles
  const pops: number[] = [];
  let readPrev = T.stFirstRead - 1;
  let popPrev = -Infinity;
  let wPrev = -Infinity;
  let burst = 0;
  let beatInBurst = 0;
  let readIdx = 0;
  let wBeats = 0;
  const emit = (tEmit: number) => {
    wBeats++;
    // W beat: valid the cycle after emit, when its burst's AW is in and the bucket allows.
    awUpTo(burst);
    const t = bucket.take(Math.max(tEmit + 1, wPrev + 1, aw[burst]! + 1));
    wPrev = t;
    if (++beatInBurst === burstList[burst]!.beats) {
      lastW[burst] = t;
      const ready = Math.max(aw[burst]! + sp.writeLatency, t + 1, bPrev);
      bAt[burst] = ready;
      bPrev = ready;
      burst++;
      beatInBurst = 0;
    }
    return t;
  };
  const readsPerRow = Math.ceil(x.len / r);
  const lastBytes = ((x.len - (readsPerRow - 1) * r) * bits) / 8;
  for (const ea of eas) {
    let pos = ea % AB;
    for (let j = 0; j < readsPerRow; j++) {
      let issue = readPrev + 1;
      if (readIdx >= fifoCap) issue = Math.max(issue, pops[readIdx - fifoCap]! + 1);
      reads.push(issue);
      readPrev = issue;
      const k = j === readsPerRow - 1 ? lastBytes : (r * bits) / 8;
      const total = pos + k;
      const full = total >= AB;
      const rowEnd = j === readsPerRow - 1;
      let pop = Math.max(issue + T.stReadToPack, popPrev + 1);
      if (full || rowEnd) {
        // Emitting needs the W register free: the previous beat sent (or sending) by then.
        pop = Math.max(pop, wPrev);
        emit(pop);
        if (full && rowEnd && total > AB) {
          const f = Math.max(pop + 1, wPrev);
          emit(f);
          pop = f; // the next pop waits for the flush
        }
      }
      pops.push(pop);
      popPrev = pop;
      pos = full ? total - AB : total;
      readIdx++;
    }
  }
  awUpTo(nB - 1);
  return { cycles: Math.max(bPrev, wPrev, awPrev) + T.stBToDone, beats: wBeats, bursts: nB, bytes: rb * nRows };
}
