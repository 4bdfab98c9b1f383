/**
 * The two blocks of a compiled program: `decode` (one token, MV tiles) and `prefill` (a chunk of
 * T tokens at consecutive positions, MM tiles that reuse each weight tile across the chunk).
 * Every position-dependent field takes a length register (runtime.ts), so one decode block
 * serves every position and one prefill block every chunk: the length-adaptive part of the
 * compiler. Attention runs per token (MV against the K and V^T tiles) in both blocks.
 *
 * Activations stay on chip across layers: only weights, the KV cache, the staged embedding
 * rows and the logits cross to external memory (always-on-chip decode).
 */
import type { LenRef } from '../isa/instr.ts';
import { FX, toMultiplier } from '../numerics/fixed.ts';
import { Emitter } from './deps.ts';
import { matrixKey, type MatrixName, type MatrixPlan, type Plan } from './plan.ts';
import { REG } from './runtime.ts';
import type { ActScales } from './scales.ts';

const dyn = (reg: number, offset = 0): LenRef => ({ reg, offset });

const HBM_CHANNEL_BYTES = 256 * 2 ** 20;

type BufName = 'weight' | 'meta' | 'scale' | 'bias' | 'act' | 'kv' | 'acc' | 'global';
type Dtype = 'int4' | 'int8' | 'int16' | 'int32';
type SfuType = 'int8' | 'int16' | 'int32';
type SfuFn = 'copy' | 'add' | 'mul' | 'softmax' | 'rmsnorm' | 'silu' | 'rope' | 'requant';

interface Loops {
  count0?: number | LenRef;
  count1?: number | LenRef;
  count2?: number | LenRef;
  istride0?: number;
  istride1?: number;
  istride2?: number;
  estride0?: number;
  estride1?: number;
  estride2?: number;
}

/** Emits the block for `T` tokens (1: decode) for `plan` with activation scales `sc`. */
export function emitBlock(plan: Plan, sc: ActScales, T: number): Emitter {
  const { model, C, L, hs, kv, ab, onchip: oc } = plan;
  if (T !== 1 && T !== plan.prefillTokens) throw new Error(`no ${T}-token block in this plan`);
  const up = (x: number, m: number) => Math.ceil(x / m) * m;
  /** Row pitch of MPE activation inputs with K columns (whole windows). */
  const actPitch = (K: number) => up(K, L);
  const qRow = model.nHeads * oc.act.qPitch;
  const e = new Emitter();
  const adt: Dtype = plan.options.actBits === 16 ? 'int16' : 'int8';
  const aty: SfuType = adt;
  // Attention operands (q, the K/V cache, probabilities) may be wider than the matmul inputs.
  const kdt: Dtype = plan.attnBits === 16 ? 'int16' : 'int8';
  const kty: SfuType = kdt;
  const pb = plan.attnBits - 1;
  let tileParity = 0;
  let weightParity = 0;
  // Row-scale slots of the dynamically scaled matmul inputs (0: static scales only). Default on
  // for INT8 activations only: INT16 rows scaled to full range times 16-bit weight lanes can
  // overflow the MPE's INT32 results, and static INT16 scales already lose little.
  const dynamicActs = plan.options.dynamicActs ?? plan.options.actBits === 8;
  const [dyn1, dyn2, dyn3] = dynamicActs ? [1, 2, 3] : [0, 0, 0];
  let kvParity = 0;

  const xfer = (op: 'LD' | 'ST', buf: BufName, dtype: Dtype, region: string, offset: number | LenRef, sram: number, len: number | LenRef, loops: Loops, reads: string[], writes: string[], grp = false) => {
    const r = plan.layout.get(region);
    const addr = typeof offset === 'number' ? r.addr + offset : dyn(offset.reg, r.addr + offset.offset);
    const chan = r.space === 'hbm' ? Math.floor(r.addr / HBM_CHANNEL_BYTES) % 32 : 0;
    e.emit({ op, buf, dtype, space: r.space, addr, chan, chstep: false, sram, len, count0: loops.count0 ?? 1, count1: loops.count1 ?? 1, count2: loops.count2 ?? 1, istride0: loops.istride0 ?? 0, istride1: loops.istride1 ?? 0, istride2: loops.istride2 ?? 0, estride0: loops.estride0 ?? 0, estride1: loops.estride1 ?? 0, estride2: loops.estride2 ?? 0, grp } as never, reads, writes);
  };

  const sfu = (fn: SfuFn, f: { itype: SfuType; otype: SfuType; abuf: BufName; a: number; bbuf?: BufName; b?: number; dbuf: BufName; d: number | LenRef; len: number | LenRef; rows?: number; dpitch?: number; pos?: number | LenRef; causal?: boolean; scale?: { m: number; sh: number }; imm?: number; ewr?: number; erd?: number }, reads: string[], writes: string[]) => {
    e.emit({ op: 'SFU', fn, causal: f.causal ?? false, itype: f.itype, otype: f.otype, shift: f.scale?.sh ?? 0, imm: f.imm ?? f.scale?.m ?? 0, len: f.len, rows: f.rows ?? 1, pos: f.pos ?? 0, abuf: f.abuf, bbuf: f.bbuf ?? 'act', dbuf: f.dbuf, a: f.a, b: f.b ?? 0, d: f.d, dpitch: f.dpitch ?? 0, ewr: f.ewr ?? 0, erd: f.erd ?? 0 } as never, reads, writes);
  };

  /** fx -> activation scale: multiplier 1 / (s * 2^FX). */
  const quantizeTo = (s: number) => toMultiplier(1 / (s * 2 ** FX), [-32, 31]);

  /** An SFU op over T rows whose result rows are `dPitch` apart (dpitch 0 when dense). */
  const rowsOp = (len: number, dPitch: number, one: (rows: number, dpitch: number) => void) => one(T, T === 1 || dPitch === len ? 0 : dPitch);

  /** All tiles of one matrix: load weights/meta/scales, MV or MM, requantize into `out` (row pitch = matrix rows). */
  const matmul = (name: MatrixName, layer: number, inAct: number, inRes: string, out: { buf: BufName; addr: number; type: SfuType; res: string; pitch?: number; storeTo?: string }, erd = 0) => {
    const m: MatrixPlan = plan.matrices.get(matrixKey(name, layer))!;
    const CL = C * L;
    const beatBytes = (m.weights.bytes / (m.batches * m.windows)) | 0;
    const outPitch = out.pitch ?? m.rows;
    const inPitch = actPitch(m.K);
    for (const t of T === 1 ? m.tiles : m.prefillTiles) {
      const par = tileParity++ % 2;
      const accBase = oc.acc.tile[par]!;
      for (const [j, c] of t.chunks.entries()) {
        // K chunks take alternate weight-buffer halves; the tile's results stay in acc half `par`.
        const wp = t.chunks.length === 1 ? par : weightParity++ % 2;
        const wb = oc.weight[wp]!;
        const beat0 = t.beat0 + c.win0;
        const beats = t.chunks.length === 1 ? t.beats : c.wins;
        // Weight and meta buffer addresses count beats: one row = one beat of C x L lanes.
        xfer('LD', 'weight', m.precision, `${m.key}.w`, beat0 * beatBytes, wb, CL, { count0: beats, istride0: 1, estride0: beatBytes }, [], [`w${wp}`], m.grouped);
        if (m.meta) xfer('LD', 'meta', 'int4', `${m.key}.meta`, (beat0 * CL) / 2, wb, CL, { count0: beats, istride0: 1, estride0: CL / 2 }, [], [`m${wp}`]);
        if (j === 0) xfer('LD', 'scale', 'int32', `${m.key}.scale`, t.row0 * 4, oc.scale[par]!, t.rows, {}, [], [`s${par}`]);
        const acc = j > 0;
        const cols = Math.min(m.K - c.win0 * L, c.wins * L);
        const tail = { acc, wsrc: 'weight', asrc: 'act', wbase: wb, mbase: wb, sbase: oc.scale[par]!, abase: inAct + c.win0 * L, obase: accBase };
        const reads = [`w${wp}`, `m${wp}`, inRes, ...(acc ? [`acct${par}`] : [])];
        if (T === 1) e.emit({ op: 'MV', pattern: m.mode, wprec: m.precision, aprec: adt, cols, rows: t.rows, ...tail } as never, reads, [`acct${par}`]);
        else if (t.chunks.length === 1) e.emit({ op: 'MM', pattern: m.mode, wprec: m.precision, aprec: adt, m: T, k: m.K, n: t.rows, ...tail } as never, reads, [`acct${par}`]);
        // An MM reads rows of whole-K pitch: a K chunk of a chunk of tokens is one MV per token.
        else for (let r = 0; r < T; r++) e.emit({ op: 'MV', pattern: m.mode, wprec: m.precision, aprec: adt, cols, rows: t.rows, ...tail, abase: tail.abase + r * inPitch, obase: accBase + r * t.rows } as never, reads, [`acct${par}`]);
      }
      if (out.storeTo) {
        // Classifier: each tile's rows go straight out to DDR (row pitch = vocab), so the
        // global buffer holds one tile, not T whole logit rows.
        const buf = out.addr + par * oc.global.logitsHalf;
        sfu('requant', { itype: 'int32', otype: out.type, abuf: 'acc', a: accBase, bbuf: 'scale', b: oc.scale[par]!, dbuf: out.buf, d: buf, len: t.rows, rows: T, erd }, [`acct${par}`, `s${par}`, `x${erd}`], [`${out.res}${par}`]);
        xfer('ST', out.buf, 'int32', out.storeTo, t.row0 * 4, buf, t.rows, { count0: T, istride0: t.rows, estride0: m.rows * 4 }, [`${out.res}${par}`], [`ddr.${out.storeTo}`]);
        continue;
      }
      // Results are token-major with pitch t.rows; one requant when that is the output pitch.
      rowsOp(t.rows, outPitch, (rows, dpitch) =>
        sfu('requant', { itype: 'int32', otype: out.type, abuf: 'acc', a: accBase, bbuf: 'scale', b: oc.scale[par]!, dbuf: out.buf, d: out.addr + t.row0, len: t.rows, rows, dpitch, erd }, [`acct${par}`, `s${par}`, `x${erd}`], [out.res]),
      );
    }
  };

  /** RMSNorm of the residual stream into the matmul input rows, quantized with scale `s` (row-scale slot `slot`). */
  const normIn = (gamma: number, gammaRes: string, s: number, slot: number) =>
    rowsOp(model.dim, actPitch(model.dim), (rows, dpitch) =>
      sfu('rmsnorm', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.x, bbuf: 'bias', b: gamma, dbuf: 'act', d: oc.act.in, len: model.dim, rows, dpitch, scale: quantizeTo(s), ewr: slot }, ['g.x', gammaRes], ['a.in', `x${slot}`]),
    );

  const setlen = (reg: number, imm: number | LenRef) => e.emit({ op: 'SYS', fn: 'setlen', reg: `L${reg}`, imm } as never);

  /**
   * P x V over chunks of vChunk positions (plan.ts): chunk c loads V^T columns c*vChunk.. into
   * the head's V region and accumulates its MV; a LOOP runs the other CTXPAD / vChunk - 1
   * chunks (KBATCH or VWIN; the softmax zeroed every probability past the context). VOFF steps
   * through the chunk's first position, which is also its byte offset (INT8 attention).
   */
  const attendChunked = (g: number, kp: number) => {
    const vBase = oc.kv.v[kp]!;
    const vc = plan.vChunk;
    const rowsV = Math.min(C, hs);
    const chunk = (acc: boolean) => {
      for (let b = 0; b < plan.vBatches; b++) {
        xfer('LD', 'kv', kdt, `vcache.${curLayer}`, dyn(REG.VOFF, (g * hs + b * C) * model.seqLen), vBase + b * (vc / L) * C * L, L, {
          count0: rowsV, estride0: model.seqLen, istride0: L,
          count1: vc / L, estride1: L, istride1: C * L,
        }, [`hbm.v${curLayer}`], [`kvv${kp}`]);
      }
      for (let b = 0; b < plan.vBatches; b++) {
        e.emit({ op: 'MV', pattern: 0, wprec: 'int8', aprec: kdt, cols: vc, rows: rowsV, acc, wsrc: 'kv', asrc: 'act', wbase: vBase + b * (vc / L) * C * L, mbase: 0, sbase: 0, abase: dyn(REG.VOFF, oc.act.p), obase: oc.acc.ao + b * C } as never, ['a.p', `kvv${kp}`, ...(acc ? ['acc.ao'] : [])], ['acc.ao']);
      }
      setlen(REG.VOFF, dyn(REG.VOFF, vc));
    };
    setlen(REG.VOFF, 0);
    chunk(false);
    // Each iteration starts with a sync, so its tokens pair up inside it; the sync after the loop closes it.
    const loop = e.instrs.length;
    e.emit({ op: 'LOOP', count: dyn(vc === L ? REG.VWIN : REG.KBATCH, -1), body: 0 } as never);
    e.barrier({ op: 'SYS', fn: 'sync', reg: 'L0', imm: 0 } as never);
    chunk(true);
    (e.instrs[loop] as { body: number }).body = e.instrs.length - loop - 1;
    e.barrier({ op: 'SYS', fn: 'sync', reg: 'L0', imm: 0 } as never);
  };
  let curLayer = 0;

  // The tokens' embedding rows (fx, staged by the host in DDR) into the residual stream.
  xfer('LD', 'global', 'int32', 'input', 0, oc.global.x, model.dim, { count0: T, istride0: model.dim, estride0: model.dim * 4 }, [], ['g.x']);
  xfer('LD', 'bias', 'int32', 'gamma.final', 0, oc.bias.gammaFinal, model.dim, {}, [], ['b.final']);
  xfer('LD', 'bias', 'int32', 'rope', 0, oc.bias.rope, hs / 2, {}, [], ['b.rope']);
  const kvMul = model.nHeads / model.nKvHeads;
  const scoreScale = (l: number) => toMultiplier(((sc.layers[l]!.q * sc.layers[l]!.k) / Math.sqrt(hs)) * Math.LOG2E * 2 ** FX, [-32, 31]);

  for (let l = 0; l < model.nLayers; l++) {
    curLayer = l;
    const s = sc.layers[l]!;
    const gp = l % 2;
    const [gAtt, gFfn] = oc.bias.gamma[gp]!;
    xfer('LD', 'bias', 'int32', `gamma.${l}`, 0, gAtt!, model.dim, { count0: 2, istride0: gFfn! - gAtt!, estride0: model.dim * 4 }, [], [`b.g${gp}`]);

    // Attention: q, k, v projections.
    const inPitch = actPitch(model.dim);
    normIn(gAtt!, `b.g${gp}`, s.xn, dyn1);
    matmul('wq', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.qf, type: 'int32', res: 'g.qf' }, dyn1);
    matmul('wk', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.kf, type: 'int32', res: 'g.kf' }, dyn1);
    matmul('wv', l, oc.act.in, 'a.in', { buf: 'act', addr: oc.act.v, type: kty, res: 'a.v' }, dyn1);
    sfu('rope', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.qf, bbuf: 'bias', b: oc.bias.rope, dbuf: 'global', d: oc.global.qf, len: model.dim, rows: T, pos: dyn(REG.POS), imm: hs }, ['g.qf', 'b.rope'], ['g.qf']);
    sfu('rope', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.kf, bbuf: 'bias', b: oc.bias.rope, dbuf: 'global', d: oc.global.kf, len: kv, rows: T, pos: dyn(REG.POS), imm: hs }, ['g.kf', 'b.rope'], ['g.kf']);
    sfu('copy', { itype: 'int32', otype: kty, abuf: 'global', a: oc.global.kf, dbuf: 'act', d: oc.act.k, len: kv, rows: T, scale: quantizeTo(s.k) }, ['g.kf'], ['a.k']);
    if (oc.act.qPitch === hs) {
      sfu('copy', { itype: 'int32', otype: kty, abuf: 'global', a: oc.global.qf, dbuf: 'act', d: oc.act.q, len: model.dim, rows: T, scale: quantizeTo(s.q) }, ['g.qf'], ['a.q']);
    } else {
      // Heads narrower than a window: each head starts its own (zero-weight-padded) window.
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < model.nHeads; h++) sfu('copy', { itype: 'int32', otype: kty, abuf: 'global', a: oc.global.qf + t * model.dim + h * hs, dbuf: 'act', d: oc.act.q + t * qRow + h * oc.act.qPitch, len: hs, scale: quantizeTo(s.q) }, ['g.qf'], ['a.q']);
      }
    }
    // Append the tokens' k (row-major) and v (transposed: one element per dimension row).
    xfer('ST', 'act', kdt, `kcache.${l}`, dyn(REG.KOFF), oc.act.k, kv, { count0: T, istride0: kv, estride0: kv * ab }, ['a.k'], [`hbm.k${l}`]);
    xfer('ST', 'act', kdt, `vcache.${l}`, dyn(REG.VOFF), oc.act.v, 1, { count0: kv, istride0: 1, estride0: model.seqLen * ab, count1: T, istride1: kv, estride1: ab }, ['a.v'], [`hbm.v${l}`]);

    const aoScale = toMultiplier((2 ** -pb * s.v) / s.ao, [-32, 31]);
    for (let g = 0; g < model.nKvHeads; g++) {
      const kp = kvParity++ % 2;
      const kBase = oc.kv.k[kp]!;
      const vBase = oc.kv.v[kp]!;
      // K tile in MPE beat layout: row p = batch*C + chain, window t of the head.
      xfer('LD', 'kv', kdt, `kcache.${l}`, g * hs * ab, kBase, Math.min(L, hs), {
        count0: C, estride0: kv * ab, istride0: L,
        count1: plan.kWindows, estride1: L * ab, istride1: C * L,
        count2: dyn(REG.KBATCH), estride2: C * kv * ab, istride2: plan.kWindows * C * L,
      }, [`hbm.k${l}`], [`kvk${kp}`]);
      // V^T tile: row i = batch*C + chain (head dimension), columns = positions; one LD per
      // row batch (the batch stride in the buffer can pass the 16-bit on-chip stride field).
      // Chunked designs load V^T chunk by chunk inside P x V instead.
      for (let b = 0; b < (plan.vChunk ? 0 : plan.vBatches); b++) {
        xfer('LD', 'kv', kdt, `vcache.${l}`, (g * hs + b * C) * model.seqLen * ab, vBase + b * plan.vWindowsMax * C * L, L, {
          count0: Math.min(C, hs), estride0: model.seqLen * ab, istride0: L,
          count1: dyn(REG.VWIN), estride1: L * ab, istride1: C * L,
        }, [`hbm.v${l}`], [`kvv${kp}`]);
      }
      // Per query token: scores MV, requant, softmax, MVs against V^T, requant into the wo
      // input; `qrow`/`aorow` are the token's row offsets, `pos` its position.
      const attend = (qrow: number | LenRef, aorow: number | LenRef, pos: LenRef) => {
        const at = (base: number, r: number | LenRef) => (typeof r === 'number' ? base + r : dyn(r.reg, base + r.offset));
        for (let u = 0; u < kvMul; u++) {
          const h = g * kvMul + u;
          e.emit({ op: 'MV', pattern: 0, wprec: 'int8', aprec: kdt, cols: hs, rows: dyn(REG.CTX), acc: false, wsrc: 'kv', asrc: 'act', wbase: kBase, mbase: 0, sbase: 0, abase: at(oc.act.q + h * oc.act.qPitch, qrow), obase: oc.acc.sc } as never, ['a.q', `kvk${kp}`], ['acc.sc']);
          sfu('requant', { itype: 'int32', otype: 'int32', abuf: 'acc', a: oc.acc.sc, dbuf: 'global', d: oc.global.sc, len: dyn(REG.CTXPAD), scale: scoreScale(l) }, ['acc.sc'], ['g.sc']);
          sfu('softmax', { itype: 'int32', otype: kty, abuf: 'global', a: oc.global.sc, dbuf: 'act', d: oc.act.p, len: dyn(REG.CTXPAD), causal: true, pos }, ['g.sc'], ['a.p']);
          if (plan.vChunk) attendChunked(g, kp);
          else {
            for (let b = 0; b < plan.vBatches; b++) {
              e.emit({ op: 'MV', pattern: 0, wprec: 'int8', aprec: kdt, cols: dyn(REG.CTXPAD), rows: Math.min(C, hs), acc: false, wsrc: 'kv', asrc: 'act', wbase: vBase + b * plan.vWindowsMax * C * L, mbase: 0, sbase: 0, abase: oc.act.p, obase: oc.acc.ao + b * C } as never, ['a.p', `kvv${kp}`], ['acc.ao']);
            }
          }
          sfu('requant', { itype: 'int32', otype: aty, abuf: 'acc', a: oc.acc.ao, dbuf: 'act', d: at(oc.act.in + h * hs, aorow), len: hs, scale: aoScale }, ['acc.ao'], ['a.in']);
        }
      };
      if (T > 1 && qRow === inPitch) {
        // A LOOP over the chunk's tokens: L0 steps through the positions and L3 through the
        // row offsets, both restored afterwards. Each iteration starts with SYS sync so its
        // tokens pair up inside the iteration; a sync after the loop closes it.
        const sys = (reg: 'L0' | 'L3', imm: number | LenRef) => e.emit({ op: 'SYS', fn: 'setlen', reg, imm } as never);
        sys('L3', 0);
        e.barrier({ op: 'SYS', fn: 'sync', reg: 'L0', imm: 0 } as never);
        const loop = e.instrs.length;
        e.emit({ op: 'LOOP', count: T, body: 0 } as never);
        e.barrier({ op: 'SYS', fn: 'sync', reg: 'L0', imm: 0 } as never);
        attend(dyn(REG.ROW), dyn(REG.ROW), dyn(REG.POS));
        sys('L0', dyn(REG.POS, 1));
        sys('L3', dyn(REG.ROW, inPitch));
        (e.instrs[loop] as { body: number }).body = e.instrs.length - loop - 1;
        e.barrier({ op: 'SYS', fn: 'sync', reg: 'L0', imm: 0 } as never);
        sys('L0', dyn(REG.POS, -T));
      } else {
        for (let t = 0; t < T; t++) attend(t * qRow, t * inPitch, dyn(REG.POS, t));
      }
    }
    // Chunked P x V used VOFF as a position counter: back to p0 bytes (INT8: p0) for the next layer's V append.
    if (plan.vChunk) setlen(REG.VOFF, dyn(REG.POS));
    matmul('wo', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.r, type: 'int32', res: 'g.r' });
    sfu('add', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.x, bbuf: 'global', b: oc.global.r, dbuf: 'global', d: oc.global.x, len: model.dim, rows: T }, ['g.x', 'g.r'], ['g.x']);

    // SwiGLU feed-forward.
    normIn(gFfn!, `b.g${gp}`, s.xn2, dyn2);
    matmul('w1', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.h1, type: 'int32', res: 'g.h1' }, dyn2);
    matmul('w3', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.h3, type: 'int32', res: 'g.h3' }, dyn2);
    sfu('silu', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.h1, dbuf: 'global', d: oc.global.h1, len: model.hiddenDim, rows: T }, ['g.h1'], ['g.h1']);
    rowsOp(model.hiddenDim, actPitch(model.hiddenDim), (rows, dpitch) =>
      sfu('mul', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.h1, bbuf: 'global', b: oc.global.h3, dbuf: 'act', d: oc.act.in, len: model.hiddenDim, rows, dpitch, scale: quantizeTo(s.hm), ewr: dyn3 }, ['g.h1', 'g.h3'], ['a.in', `x${dyn3}`]),
    );
    matmul('w2', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.r, type: 'int32', res: 'g.r' }, dyn3);
    sfu('add', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.x, bbuf: 'global', b: oc.global.r, dbuf: 'global', d: oc.global.x, len: model.dim, rows: T }, ['g.x', 'g.r'], ['g.x']);
  }

  normIn(oc.bias.gammaFinal, 'b.final', sc.xf, dyn1);
  matmul('cls', 0, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.logits, type: 'int32', res: 'g.logits', storeTo: 'logits' }, dyn1);
  e.barrier({ op: 'SYS', fn: 'end', reg: 'L0', imm: 0 } as never);
  return e;
}
