import { Bool, defineModule, lit, log2Ceil, mux, UInt, type Expr } from '../../hdl/index.ts';

/** Words per instruction-fetch burst (the IF port allows at most 16). */
export const FETCH_BURST = 16;

export interface FetchParams {
  /** Prefetch ring words (a power of two, at least 4 bursts). */
  readonly bufferWords: number;
}

export const DEFAULT_FETCH: FetchParams = { bufferWords: 64 };

/**
 * Instruction fetch: reads the program as a stream of consecutive words in bursts of up to 16
 * words aligned to 16 words (so none crosses a 4 KiB boundary) into a prefetch ring. A burst is
 * requested while the ring has room for it and for every word still in flight, so `if_r_ready`
 * stays high.
 *
 * The ring keeps words already handed out (`hist`, up to half the ring is protected from
 * prefetching) so a LOOP back-jump to a word still held replays it from the ring: a small
 * body costs no refetch. History past the protected half may be overwritten by words already
 * requested; when a back-jump into it would leave those words no room beside the replayed ones,
 * they are dropped and refetched after the replayed words (otherwise they would land over
 * words not yet handed out). `redirect` with `reuse` low (a start), or a target not held, empties
 * the ring and restarts the stream at `target`; the words still in flight (including those of
 * a request not yet accepted, which stays valid as AXI requires) are counted in `drop` and
 * thrown away as they arrive. That is also how a new start recovers from whatever a halted or
 * failed program left in flight.
 */
export const ctrlFetch = defineModule<FetchParams>(
  'ctrl_fetch',
  (p) => `ctrl_fetch_b${p.bufferWords}`,
  (m, p) => {
    const N = p.bufferWords;
    if (!Number.isInteger(N) || N < 4 * FETCH_BURST || N > 1024 || N & (N - 1)) throw new RangeError(`fetch ring must be a power of two in ${4 * FETCH_BURST}..1024 words, got ${N}`);
    m.doc('Instruction fetch: 16-word bursts into a prefetch ring that replays LOOP bodies it still holds.');
    const enable = m.input('enable', Bool);
    const redirect = m.input('redirect', Bool);
    const reuse = m.input('reuse', Bool);
    const target = m.input('target', UInt(32));
    const pop = m.input('pop', Bool);
    const arValidO = m.output('if_ar_valid', Bool);
    const arReady = m.input('if_ar_ready', Bool);
    const arAddrO = m.output('if_ar_addr', UInt(32));
    const arLenO = m.output('if_ar_len', UInt(8));
    const rValid = m.input('if_r_valid', Bool);
    m.output('if_r_ready', Bool).assign(lit(1, Bool));
    const rData = m.input('if_r_data', UInt(32));
    m.unused(m.input('if_r_last', Bool)); // beats are counted instead
    const wordO = m.output('word', UInt(32));
    const addrO = m.output('addr', UInt(32));
    const validO = m.output('valid', Bool);
    const beatO = m.output('beat', Bool);

    const aw = log2Ceil(N);
    const cw = aw + 1;
    const c = (v: number) => lit(v, UInt(cw));
    // Ring: slots [rptr - hist, rptr) were handed out, [rptr, wptr) are unread (count), for
    // consecutive word addresses ending before spc + count.
    const wptr = m.reg('wptr', UInt(aw));
    const rptr = m.reg('rptr', UInt(aw));
    const count = m.reg('count', UInt(cw));
    const hist = m.reg('hist', UInt(cw));
    /** Word address of the slot at rptr (the next word handed out). */
    const spc = m.reg('spc', UInt(32));
    const fpc = m.reg('fpc', UInt(32));
    const arValid = m.reg('ar_valid', Bool);
    const arAddr = m.reg('ar_addr', UInt(32));
    const arLen = m.reg('ar_len', UInt(4));
    /** Words requested (accepted or not) and not yet received; `drop` of them are stale. */
    const inflight = m.reg('inflight', UInt(cw));
    const drop = m.reg('drop', UInt(cw));

    const beat = m.wire('beat_w', Bool, rValid);
    const back = m.wire('back', UInt(32), spc.sub(target).trunc(32));
    const push = m.wire('push', Bool, beat.and(drop.eq(0)));
    // A word landing in a full ring overwrites the oldest one handed out.
    const overwrite = m.wire('overwrite', Bool, push.and(count.add(hist).eq(N)));
    const histLeft = m.wire('hist_left', UInt(cw), hist.sub(overwrite).trunc(cw));
    const rewind = m.wire('rewind', Bool, redirect.and(reuse).and(back.le(histLeft)));
    const flush = m.wire('flush', Bool, redirect.and(rewind.not()));
    // A rewind turns `back` handed-out words into unread ones. The words still to land (in
    // flight and not stale) go in behind the unread ones and, in a full ring, over the oldest
    // history: if they would not all fit beside the unread words (a body of more than half the
    // ring replayed while bursts requested on the strength of the unprotected history are in
    // flight), they would overwrite words of the body not yet handed out. Then they are dropped
    // like a flush drops them, and the stream restarts right after the last unread word.
    const backC = back.trunc(cw);
    const pending = m.wire('pending', UInt(cw), inflight.sub(drop).trunc(cw));
    const crowd = m.wire('crowd', Bool, rewind.and(count.add(backC).add(pending).gt(N)));
    const pushKept = m.wire('push_kept', Bool, push.and(flush.not()));
    const take = m.wire('take', Bool, pop.and(redirect.not()));
    const backN = back.trunc(aw);
    const rptrNext = m.wire('rptr_next', UInt(aw), mux(flush, lit(0, UInt(aw)), mux(rewind, rptr.sub(backN).trunc(aw), rptr.add(take).trunc(aw))));

    const ram = m.memory('ring', { depth: N, type: UInt(32), style: 'distributed' });
    ram.write(wptr, rData, pushKept);
    const rd = ram.read('ring_q', rptrNext);
    // The RAM returns the old word when the slot becomes the head in the cycle it is written.
    const bypass = m.reg('bypass', Bool);
    bypass.assign(pushKept.and(wptr.eq(rptrNext)));
    const bypassData = m.reg('bypass_data', UInt(32), { enable: pushKept, reset: null });
    bypassData.assign(rData);

    wptr.assign(mux(flush, lit(0, UInt(aw)), wptr.add(pushKept).trunc(aw)));
    rptr.assign(rptrNext);
    count.assign(mux(flush, c(0), count.add(pushKept).add(mux(rewind, backC, c(0))).sub(take).trunc(cw)));
    hist.assign(mux(flush, c(0), histLeft.add(take).sub(mux(rewind, backC, c(0))).trunc(cw)));
    spc.assign(mux(redirect, target, spc.add(take).trunc(32)));

    // Requests: up to the next 16-word boundary, while the ring has room for the burst, the
    // words in flight and up to half a ring of history.
    const lenM1 = m.wire('len_m1', UInt(4), lit(FETCH_BURST - 1, UInt(4)).sub(fpc.slice(3, 0)).trunc(4));
    const words = m.wire('burst_words', UInt(5), lenM1.add(1));
    const keepHist: Expr = mux(hist.gt(N / 2), c(N / 2), hist);
    const room = m.wire('room', Bool, count.add(inflight).add(words).add(keepHist).le(N));
    const issue = m.wire('issue', Bool, enable.and(redirect.not()).and(arValid.not()).and(room));
    arValid.assign(mux(issue, lit(1, Bool), mux(arReady, lit(0, Bool), arValid)));
    arAddr.assign(mux(issue, fpc, arAddr));
    arLen.assign(mux(issue, lenM1, arLen));
    // After a rewind the stream continues where it was: fpc stays, unless the words in flight
    // are dropped (crowd): then it goes on from the word after the last one in the ring.
    const ringEnd = spc.add(count).add(pushKept).trunc(32);
    fpc.assign(mux(flush, target, mux(crowd, ringEnd, mux(issue, fpc.add(words).trunc(32), fpc))));
    inflight.assign(inflight.add(mux(issue, words, lit(0, UInt(5)))).sub(beat).trunc(cw));
    drop.assign(mux(flush.or(crowd), inflight.sub(beat).trunc(cw), mux(beat.and(drop.ne(0)), drop.sub(1).trunc(cw), drop)));

    arValidO.assign(arValid);
    arAddrO.assign(arAddr);
    arLenO.assign(arLen.ext(8));
    wordO.assign(mux(bypass, bypassData, rd));
    addrO.assign(spc);
    validO.assign(count.ne(0));
    beatO.assign(beat);
  },
);
