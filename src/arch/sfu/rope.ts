import { Bool, defineModule, mux, pack, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { COS_TABLE, COS_TABLE_BITS, FX } from '../../numerics/fixed.ts';
import { delayValid, named, OTYPE_WIDTH, pipe, rom, roundShiftConst, satOtype, satS } from './lib.ts';

export interface SfuRopeParams {
  /** (even, odd) element pairs per beat: 2 * pairs elements. */
  readonly pairs: number;
}

/** Cycles from a beat entering (in_valid & in_ready) to its result, when out_ready stays high. */
export const ROPE_LATENCY = 6;

const N = 1 << COS_TABLE_BITS;
const QUARTER = N / 4;

/**
 * The table the RTL stores: PAIR[k] = (Q[k], Q[k+1]) for k < N/4 with Q = COS_TABLE[0..N/4], the
 * quarter wave. Entry i of COS_TABLE and its interpolation neighbour i + 1 are, by quadrant,
 * +-Q[r], +-Q[r+1] (even quadrants, k = r) or +-Q[N/4 - r], +-Q[N/4 - r - 1] (odd, k = N/4 - 1 - r),
 * with r = i mod N/4. ropeCosPair() below evaluates exactly what the RTL does, and this function
 * checks it against COS_TABLE for every i, so the ROM cannot drift from src/numerics/fixed.ts.
 */
export function ropePairTable(): bigint[] {
  const q = COS_TABLE.slice(0, QUARTER + 1).map((v) => v + 0) as number[];
  for (const v of q) if (v < 0 || v > 1 << FX) throw new Error('COS_TABLE quarter out of the ROM range');
  const words = Array.from({ length: QUARTER }, (_, k) => (BigInt(q[k + 1]!) << BigInt(FX + 1)) | BigInt(q[k]!));
  for (let i = 0; i < N; i++) {
    const [c, cn] = ropeCosPair(words, i);
    if (c !== COS_TABLE[i]! + 0 || cn !== COS_TABLE[(i + 1) % N]! + 0) throw new Error(`COS_TABLE is not quarter-wave symmetric at ${i}; the RoPE ROM needs another layout`);
  }
  return words;
}

/** [COS_TABLE[i], COS_TABLE[i + 1 mod N]] computed from the pair ROM words as the RTL does. */
export function ropeCosPair(words: readonly bigint[], i: number): [number, number] {
  const quad = i >> (COS_TABLE_BITS - 2);
  const r = i & (QUARTER - 1);
  const odd = quad & 1;
  const w = words[odd ? QUARTER - 1 - r : r]!;
  const lo = Number(w & ((1n << BigInt(FX + 1)) - 1n));
  const hi = Number(w >> BigInt(FX + 1));
  const quadN = r === QUARTER - 1 ? (quad + 1) & 3 : quad;
  const neg = (qd: number) => qd === 1 || qd === 2;
  const mi = odd ? hi : lo;
  const mn = odd ? lo : hi;
  return [(neg(quad) ? -mi : mi) + 0, (neg(quadN) ? -mn : mn) + 0];
}

/** COS_TABLE[idx] and COS_TABLE[idx + 1 mod 4096] from the pair ROM (combinational). */
export const sfuCosLookup = defineModule<Record<string, never>>(
  'sfu_cos_lookup',
  () => 'sfu_cos_lookup',
  (m) => {
    const words = ropePairTable();
    m.doc('COS_TABLE[idx] and COS_TABLE[idx + 1] (round(2^16 cos(2 pi i / 4096))) from a ROM of quarter-wave pairs.');
    const idx = m.input('idx', UInt(COS_TABLE_BITS));
    const value = m.output('value', SInt(FX + 2));
    const next = m.output('next', SInt(FX + 2));
    const quad = idx.slice(COS_TABLE_BITS - 1, COS_TABLE_BITS - 2);
    const r = idx.slice(COS_TABLE_BITS - 3, 0);
    const odd = quad.bit(0);
    const k = m.wire('k', UInt(COS_TABLE_BITS - 2), mux(odd, r.not(), r)); // N/4 - 1 - r = ~r
    const w = m.wire('w', UInt(2 * FX + 2), rom(k, words, UInt(2 * FX + 2)));
    const lo = w.slice(FX, 0);
    const hi = w.slice(2 * FX + 1, FX + 1);
    const wrap = r.reduceAnd(); // r = N/4 - 1: idx + 1 is in the next quadrant
    const quadN = mux(wrap, quad.add(1).trunc(2), quad);
    const neg = (qd: Expr) => qd.bit(0).xor(qd.bit(1)); // quadrants 1 and 2
    const signed = (mag: Expr, n: Expr) => mux(n, mag.toSInt().neg().trunc(FX + 2), mag.toSInt());
    value.assign(signed(mux(odd, hi, lo), neg(quad)));
    next.assign(signed(mux(odd, lo, hi), neg(quadN)));
  },
);

/**
 * RoPE (src/numerics/fixed.ts ropeRow, then sat to otype): per pair (a, b) with frequency f (Q32
 * turns per position), theta = pos * f mod 2^32, [c, s] = cosSinTurns(theta) (COS_TABLE with
 * linear interpolation: i = theta >> 20, fr = theta[19:4]; sin reads index i - 1024), then
 * a' = sat(roundShift(a c - b s, 16), 32), b' = sat(roundShift(a s + b c, 16), 32), saturated to
 * otype (rope has no imm scaling: its imm is the head size).
 *
 * Streaming like sfu_elem: each beat carries `pairs` pairs (x: element 2k in lane 2k, 2k+1 in
 * 2k+1), their frequencies (freq: the controller reads b[(j mod head) / 2]), the row's position
 * pos and otype; in_ready = out_ready, stages hold while out_ready is low; ROPE_LATENCY cycles.
 */
export const sfuRope = defineModule<SfuRopeParams>(
  'sfu_rope',
  (p) => `sfu_rope_p${p.pairs}`,
  (m, p) => {
    if (!Number.isInteger(p.pairs) || p.pairs < 1 || p.pairs > 32) throw new RangeError(`rope pairs must be an integer in 1..32, got ${p.pairs}`);
    const P = p.pairs;
    m.doc(`SFU RoPE unit, ${P} pair(s) per beat: angle, quarter-wave cos/sin table with interpolation, rotation; latency ${ROPE_LATENCY}.`);
    const inValid = m.input('in_valid', Bool);
    const outReady = m.input('out_ready', Bool);
    const pos = m.input('pos', UInt(17));
    const otype = m.input('otype', UInt(OTYPE_WIDTH));
    const xBus = m.input('x', UInt(64 * P));
    const fBus = m.input('freq', UInt(32 * P));
    const inReady = m.output('in_ready', Bool);
    const outValid = m.output('out_valid', Bool);
    const outData = m.output('out_data', UInt(64 * P));
    const ce = named(m, 'ce', outReady);
    inReady.assign(outReady);

    const xs = split(xBus, 2 * P, SInt(32));
    const fs = split(fBus, P);
    const ot = [pipe(m, 'ot1', otype, ce)];
    for (let s = 2; s <= ROPE_LATENCY - 1; s++) ot.push(pipe(m, `ot${s}`, ot[ot.length - 1]!, ce));
    const outs: Expr[] = [];
    for (let k = 0; k < P; k++) {
      const n = (s: string) => `p${k}_${s}`;
      // R1: the angle.
      const theta = pipe(m, n('theta'), pos.mul(fs[k]!).trunc(32), ce);
      let a: Expr = pipe(m, n('a1'), xs[2 * k]!, ce);
      let b: Expr = pipe(m, n('b1'), xs[2 * k + 1]!, ce);
      // R2: two pair-ROM reads: cos at i and i + 1; sin = cos at i - N/4 and i - N/4 + 1.
      const i = theta.slice(31, 32 - COS_TABLE_BITS);
      const fr = theta.slice(31 - COS_TABLE_BITS, 32 - COS_TABLE_BITS - FX);
      m.unused(theta.slice(31 - COS_TABLE_BITS - FX, 0));
      const cosRom = m.instance(n('cos_rom'), sfuCosLookup, {}, { idx: i });
      const sinRom = m.instance(n('sin_rom'), sfuCosLookup, {}, { idx: i.add(N - QUARTER).trunc(COS_TABLE_BITS) });
      const c0 = pipe(m, n('c0'), cosRom.out('value'), ce);
      const c1 = pipe(m, n('c1'), cosRom.out('next'), ce);
      const s0 = pipe(m, n('s0'), sinRom.out('value'), ce);
      const s1 = pipe(m, n('s1'), sinRom.out('next'), ce);
      const fr2 = pipe(m, n('fr'), fr, ce);
      a = pipe(m, n('a2'), a, ce);
      b = pipe(m, n('b2'), b, ce);
      // R3: interpolation, v = t0 + roundShift((t1 - t0) * fr, 16).
      const interp = (t0: Expr, t1: Expr) => t0.add(roundShiftConst(t1.sub(t0).mul(fr2.toSInt()), FX)).trunc(FX + 2);
      const c = pipe(m, n('c'), interp(c0, c1), ce);
      const s = pipe(m, n('s'), interp(s0, s1), ce);
      a = pipe(m, n('a3'), a, ce);
      b = pipe(m, n('b3'), b, ce);
      // R4: the four products; R5: rotate, round, saturate; R6: saturate to otype.
      const ac = pipe(m, n('ac'), a.mul(c), ce);
      const bs = pipe(m, n('bs'), b.mul(s), ce);
      const as = pipe(m, n('as'), a.mul(s), ce);
      const bc = pipe(m, n('bc'), b.mul(c), ce);
      const y0 = pipe(m, n('y0'), satS(roundShiftConst(ac.sub(bs), FX), 32), ce);
      const y1 = pipe(m, n('y1'), satS(roundShiftConst(as.add(bc), FX), 32), ce);
      const otY = ot[ROPE_LATENCY - 2]!;
      outs.push(pipe(m, n('o0'), satOtype(m, n('o0'), y0, otY), ce), pipe(m, n('o1'), satOtype(m, n('o1'), y1, otY), ce));
    }
    outData.assign(pack(outs));
    outValid.assign(delayValid(m, 'valid', inValid, ce, ROPE_LATENCY));
  },
);
