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
import { ldGeometry, LD_FIFO_BEATS } from '../arch/mmu/ld.ts';
import { stReadLanes, ST_FIFO_ENTRIES } from '../arch/mmu/st.ts';
import { GRP_BLOCK_BYTES, MAX_BURST, PAGE_BYTES, XFER_IMMEDIATE_DONE_CYCLES, xferRowBytes, type XferOperands } from '../arch/mmu/xfer.ts';
import { DTYPES } from '../isa/table.ts';
import type { MemoryTiming, SpaceTiming } from './memory.ts';

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

/** A token bucket of num/den beats per cycle holding at most den + num - 1 credit (the harness's). */
class Bucket {
  private last = -Infinity;
  private after: number;
  constructor(
    private readonly num: number,
    private readonly den: number,
  ) {
    this.after = den + num - 1;
  }

  get unlimited(): boolean {
    return this.num >= this.den;
  }

  /** The first cycle >= t the bucket allows a beat; takes it. */
  take(t: number): number {
    if (this.unlimited) return t;
    const cap = this.den + this.num - 1;
    let c = this.last === -Infinity ? cap : Math.min(cap, this.after + this.num * (t - this.last));
    if (c < this.den) {
      const w = Math.ceil((this.den - c) / this.num);
      t += w;
      c += this.num * w;
    }
    this.last = t;
    this.after = c - this.den;
    return t;
  }
}

interface Burst {
  readonly row: number;
  readonly beats: number;
}

/** The bursts of one row: beats [ea / AB, (ea + bytes - 1) / AB] split at 16 beats and 4 KiB. */
function rowBursts(ea: number, bytes: number, AB: number, row: number, out: Burst[]): number {
  let beat = Math.floor(ea / AB);
  let left = Math.floor((ea + bytes - 1) / AB) - beat + 1;
  const pageBeats = PAGE_BYTES / AB;
  const total = left;
  while (left > 0) {
    const n = Math.min(left, MAX_BURST, pageBeats - (beat % pageBeats));
    out.push({ row, beats: n });
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

/**
 * What-if variations of the LD engine (not the RTL; `flightgen perf --what-if-*`): independent
 * read pipelines with rows striped across them, and a wider grp expander.
 */
export interface LdWhatIf {
  /** Read pipelines (AXI port, FIFO, gearbox, consumer); default 1, the RTL. */
  readonly ports?: number;
  /** Lanes a grp step expands (a multiple or divisor of 32); default ldGeometry().grpStep. */
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

/** External byte address of every row of a transfer, in loop order. */
function rowEas(x: XferOperands): number[] {
  const out: number[] = [];
  for (let i2 = 0; i2 < x.count2; i2++) for (let i1 = 0; i1 < x.count1; i1++) for (let i0 = 0; i0 < x.count0; i0++) out.push((x.addr + i2 * x.estride2 + i1 * x.estride1 + i0 * x.estride0) % 2 ** 36);
  return out;
}

/**
 * LD start-to-done cycles on the harness memory (see the file comment). `ports` > 1 is a
 * what-if, not the RTL: an LD engine with that many independent read pipelines (AXI port, FIFO,
 * gearbox, consumer), rows striped across them round-robin; the LD takes as long as its
 * slowest port.
 */
export function ldTiming(c: GenConfig, x: XferOperands, mem: MemoryTiming, whatIf: LdWhatIf = {}): XferResult {
  const ports = whatIf.ports ?? 1;
  const rb = xferRowBytes(x);
  const nRows = x.count0 * x.count1 * x.count2;
  if (nRows === 0 || x.len === 0 || rb === 0) return { cycles: XFER_IMMEDIATE_DONE_CYCLES, beats: 0, bursts: 0, bytes: 0 };
  const eas = rowEas(x);
  if (ports <= 1 || eas.length === 1) return ldRows(c, x, eas, mem, whatIf.grpLanes);
  const parts = Array.from({ length: Math.min(ports, eas.length) }, (_, p) => ldRows(c, x, eas.filter((_, i) => i % ports === p), mem, whatIf.grpLanes));
  return {
    cycles: Math.max(...parts.map((r) => r.cycles)),
    beats: parts.reduce((a, r) => a + r.beats, 0),
    bursts: parts.reduce((a, r) => a + r.bursts, 0),
    bytes: parts.reduce((a, r) => a + r.bytes, 0),
  };
}

function ldRows(c: GenConfig, x: XferOperands, eas: readonly number[], mem: MemoryTiming, grpLanes?: number): XferResult {
  const AB = accelGeometry(c).axiBytes;
  const rb = xferRowBytes(x);
  const nRows = eas.length;
  const sp = space(mem, x);
  const lat = sp.readLatency;
  const bucket = new Bucket(sp.bandwidth.num, sp.bandwidth.den);
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
      let t = Math.max(ar + lat, beatPrev + 1);
      for (let k = 0; k < b.beats; k++) {
        t = bucket.take(Math.max(t, beatPrev + 1));
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

/** ST start-to-done cycles on the harness memory (see the file comment). */
export function stTiming(c: GenConfig, x: XferOperands, mem: MemoryTiming): XferResult {
  const AB = accelGeometry(c).axiBytes;
  const rb = xferRowBytes(x);
  const nRows = x.count0 * x.count1 * x.count2;
  if (nRows === 0 || x.len === 0 || rb === 0) return { cycles: XFER_IMMEDIATE_DONE_CYCLES, beats: 0, bursts: 0, bytes: 0 };
  const sp = space(mem, x);
  const bucket = new Bucket(sp.bandwidth.num, sp.bandwidth.den);
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
