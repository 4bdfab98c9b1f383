/**
 * The decode block: one token through every layer and the classifier, as MV tiles, SFU ops and
 * LD/ST transfers. Every length-dependent field takes a length register (runtime.ts), so this
 * one block serves every position 0..seqLen-1: the length-adaptive part of the compiler.
 *
 * Activations stay on chip across layers (always-on-chip decode): only weights, the KV cache,
 * the embedding row and the logits cross to external memory.
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

/** Emits the decode block for `plan` with activation scales `sc`. */
export function emitDecodeBlock(plan: Plan, sc: ActScales): Emitter {
  const { model, C, L, hs, kv, ab, onchip: oc } = plan;
  const e = new Emitter();
  const adt: Dtype = plan.options.actBits === 16 ? 'int16' : 'int8';
  const aty: SfuType = adt;
  const pb = plan.options.actBits - 1;
  let tileParity = 0;
  let kvParity = 0;

  const xfer = (op: 'LD' | 'ST', buf: BufName, dtype: Dtype, region: string, offset: number | LenRef, sram: number, len: number | LenRef, loops: Loops, reads: string[], writes: string[], grp = false) => {
    const r = plan.layout.get(region);
    const addr = typeof offset === 'number' ? r.addr + offset : dyn(offset.reg, r.addr + offset.offset);
    const chan = r.space === 'hbm' ? Math.floor(r.addr / HBM_CHANNEL_BYTES) % 32 : 0;
    e.emit({ op, buf, dtype, space: r.space, addr, chan, chstep: false, sram, len, count0: loops.count0 ?? 1, count1: loops.count1 ?? 1, count2: loops.count2 ?? 1, istride0: loops.istride0 ?? 0, istride1: loops.istride1 ?? 0, istride2: loops.istride2 ?? 0, estride0: loops.estride0 ?? 0, estride1: loops.estride1 ?? 0, estride2: loops.estride2 ?? 0, grp } as never, reads, writes);
  };

  const sfu = (fn: SfuFn, f: { itype: SfuType; otype: SfuType; abuf: BufName; a: number; bbuf?: BufName; b?: number; dbuf: BufName; d: number; len: number | LenRef; rows?: number; pos?: number | LenRef; causal?: boolean; scale?: { m: number; sh: number }; imm?: number }, reads: string[], writes: string[]) => {
    e.emit({ op: 'SFU', fn, causal: f.causal ?? false, itype: f.itype, otype: f.otype, shift: f.scale?.sh ?? 0, imm: f.imm ?? f.scale?.m ?? 0, len: f.len, rows: f.rows ?? 1, pos: f.pos ?? 0, abuf: f.abuf, bbuf: f.bbuf ?? 'act', dbuf: f.dbuf, a: f.a, b: f.b ?? 0, d: f.d } as never, reads, writes);
  };

  /** fx -> activation scale: multiplier 1 / (s * 2^FX). */
  const quantizeTo = (s: number) => toMultiplier(1 / (s * 2 ** FX), [-32, 31]);

  /** All tiles of one matrix: load weights/meta/scales, MV, requantize into `out`. */
  const matmul = (name: MatrixName, layer: number, inAct: number, inRes: string, out: { buf: BufName; addr: number; type: SfuType; res: string }) => {
    const m: MatrixPlan = plan.matrices.get(matrixKey(name, layer))!;
    const CL = C * L;
    const beatBytes = (m.weights.bytes / (m.batches * m.windows)) | 0;
    for (const t of m.tiles) {
      const par = tileParity++ % 2;
      const wb = oc.weight[par]!;
      xfer('LD', 'weight', m.precision, `${m.key}.w`, t.beat0 * beatBytes, wb, CL, { count0: t.beats, istride0: CL, estride0: beatBytes }, [], [`w${par}`], m.grouped);
      if (m.meta) xfer('LD', 'meta', 'int4', `${m.key}.meta`, (t.beat0 * CL) / 2, wb, CL, { count0: t.beats, istride0: CL, estride0: CL / 2 }, [], [`m${par}`]);
      xfer('LD', 'scale', 'int32', `${m.key}.scale`, t.row0 * 4, oc.scale[par]!, t.rows, {}, [], [`s${par}`]);
      e.emit(
        { op: 'MV', pattern: m.mode, wprec: m.precision, aprec: adt, cols: m.K, rows: t.rows, acc: false, wsrc: 'weight', asrc: 'act', wbase: wb, mbase: wb, sbase: oc.scale[par]!, abase: inAct, obase: oc.acc.tile[par]! } as never,
        [`w${par}`, `m${par}`, inRes],
        [`acct${par}`],
      );
      sfu('requant', { itype: 'int32', otype: out.type, abuf: 'acc', a: oc.acc.tile[par]!, bbuf: 'scale', b: oc.scale[par]!, dbuf: out.buf, d: out.addr + t.row0, len: t.rows }, [`acct${par}`, `s${par}`], [out.res]);
    }
  };

  // Token embedding (fx rows in DDR) into the residual stream; per-block constants.
  xfer('LD', 'global', 'int32', 'embedding', dyn(REG.EMB), oc.global.x, model.dim, {}, [], ['g.x']);
  xfer('LD', 'bias', 'int32', 'gamma.final', 0, oc.bias.gammaFinal, model.dim, {}, [], ['b.final']);
  xfer('LD', 'bias', 'int32', 'rope', 0, oc.bias.rope, hs / 2, {}, [], ['b.rope']);
  const kvMul = model.nHeads / model.nKvHeads;
  const scoreScale = (l: number) => toMultiplier(((sc.layers[l]!.q * sc.layers[l]!.k) / Math.sqrt(hs)) * Math.LOG2E * 2 ** FX, [-32, 31]);

  for (let l = 0; l < model.nLayers; l++) {
    const s = sc.layers[l]!;
    const gp = l % 2;
    const [gAtt, gFfn] = oc.bias.gamma[gp]!;
    xfer('LD', 'bias', 'int32', `gamma.${l}`, 0, gAtt!, model.dim, { count0: 2, istride0: gFfn! - gAtt!, estride0: model.dim * 4 }, [], [`b.g${gp}`]);

    // Attention: q, k, v projections.
    sfu('rmsnorm', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.x, bbuf: 'bias', b: gAtt!, dbuf: 'act', d: oc.act.in, len: model.dim, scale: quantizeTo(s.xn) }, ['g.x', `b.g${gp}`], ['a.in']);
    matmul('wq', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.qf, type: 'int32', res: 'g.qf' });
    matmul('wk', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.kf, type: 'int32', res: 'g.kf' });
    matmul('wv', l, oc.act.in, 'a.in', { buf: 'act', addr: oc.act.v, type: aty, res: 'a.v' });
    sfu('rope', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.qf, bbuf: 'bias', b: oc.bias.rope, dbuf: 'global', d: oc.global.qf, len: model.dim, pos: dyn(REG.POS), imm: hs }, ['g.qf', 'b.rope'], ['g.qf']);
    sfu('rope', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.kf, bbuf: 'bias', b: oc.bias.rope, dbuf: 'global', d: oc.global.kf, len: kv, pos: dyn(REG.POS), imm: hs }, ['g.kf', 'b.rope'], ['g.kf']);
    sfu('copy', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.kf, dbuf: 'act', d: oc.act.k, len: kv, scale: quantizeTo(s.k) }, ['g.kf'], ['a.k']);
    if (oc.act.qPitch === hs) {
      sfu('copy', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.qf, dbuf: 'act', d: oc.act.q, len: model.dim, scale: quantizeTo(s.q) }, ['g.qf'], ['a.q']);
    } else {
      // Heads narrower than a window: each head starts its own (zero-weight-padded) window.
      for (let h = 0; h < model.nHeads; h++) sfu('copy', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.qf + h * hs, dbuf: 'act', d: oc.act.q + h * oc.act.qPitch, len: hs, scale: quantizeTo(s.q) }, ['g.qf'], ['a.q']);
    }
    // Append k (row-major) and v (transposed: one element per dimension row) to the caches.
    xfer('ST', 'act', adt, `kcache.${l}`, dyn(REG.KOFF), oc.act.k, kv, {}, ['a.k'], [`hbm.k${l}`]);
    xfer('ST', 'act', adt, `vcache.${l}`, dyn(REG.VOFF), oc.act.v, 1, { count0: kv, istride0: 1, estride0: model.seqLen * ab }, ['a.v'], [`hbm.v${l}`]);

    const aoScale = toMultiplier((2 ** -pb * s.v) / s.ao, [-32, 31]);
    for (let g = 0; g < model.nKvHeads; g++) {
      const kp = kvParity++ % 2;
      const kBase = oc.kv.k[kp]!;
      const vBase = oc.kv.v[kp]!;
      // K tile in MPE beat layout: row p = batch*C + chain, window t of the head.
      xfer('LD', 'kv', adt, `kcache.${l}`, g * hs * ab, kBase, Math.min(L, hs), {
        count0: C, estride0: kv * ab, istride0: L,
        count1: plan.kWindows, estride1: L * ab, istride1: C * L,
        count2: dyn(REG.KBATCH), estride2: C * kv * ab, istride2: plan.kWindows * C * L,
      }, [`hbm.k${l}`], [`kvk${kp}`]);
      // V^T tile: row i = batch*C + chain (head dimension), columns = positions; one LD per
      // row batch (the batch stride in the buffer can pass the 16-bit on-chip stride field).
      for (let b = 0; b < plan.vBatches; b++) {
        xfer('LD', 'kv', adt, `vcache.${l}`, (g * hs + b * C) * model.seqLen * ab, vBase + b * plan.vWindowsMax * C * L, L, {
          count0: Math.min(C, hs), estride0: model.seqLen * ab, istride0: L,
          count1: dyn(REG.VWIN), estride1: L * ab, istride1: C * L,
        }, [`hbm.v${l}`], [`kvv${kp}`]);
      }
      for (let u = 0; u < kvMul; u++) {
        const h = g * kvMul + u;
        e.emit({ op: 'MV', pattern: 0, wprec: 'int8', aprec: adt, cols: hs, rows: dyn(REG.CTX), acc: false, wsrc: 'kv', asrc: 'act', wbase: kBase, mbase: 0, sbase: 0, abase: oc.act.q + h * oc.act.qPitch, obase: oc.acc.sc } as never, ['a.q', `kvk${kp}`], ['acc.sc']);
        sfu('requant', { itype: 'int32', otype: 'int32', abuf: 'acc', a: oc.acc.sc, dbuf: 'global', d: oc.global.sc, len: dyn(REG.CTXPAD), scale: scoreScale(l) }, ['acc.sc'], ['g.sc']);
        sfu('softmax', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.sc, dbuf: 'act', d: oc.act.p, len: dyn(REG.CTXPAD), causal: true, pos: dyn(REG.POS) }, ['g.sc'], ['a.p']);
        for (let b = 0; b < plan.vBatches; b++) {
          e.emit({ op: 'MV', pattern: 0, wprec: 'int8', aprec: adt, cols: dyn(REG.CTXPAD), rows: Math.min(C, hs), acc: false, wsrc: 'kv', asrc: 'act', wbase: vBase + b * plan.vWindowsMax * C * L, mbase: 0, sbase: 0, abase: oc.act.p, obase: oc.acc.ao + b * C } as never, ['a.p', `kvv${kp}`], ['acc.ao']);
        }
        sfu('requant', { itype: 'int32', otype: aty, abuf: 'acc', a: oc.acc.ao, dbuf: 'act', d: oc.act.in + h * hs, len: hs, scale: aoScale }, ['acc.ao'], ['a.in']);
      }
    }
    matmul('wo', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.r, type: 'int32', res: 'g.r' });
    sfu('add', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.x, bbuf: 'global', b: oc.global.r, dbuf: 'global', d: oc.global.x, len: model.dim }, ['g.x', 'g.r'], ['g.x']);

    // SwiGLU feed-forward.
    sfu('rmsnorm', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.x, bbuf: 'bias', b: gFfn!, dbuf: 'act', d: oc.act.in, len: model.dim, scale: quantizeTo(s.xn2) }, ['g.x', `b.g${gp}`], ['a.in']);
    matmul('w1', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.h1, type: 'int32', res: 'g.h1' });
    matmul('w3', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.h3, type: 'int32', res: 'g.h3' });
    sfu('silu', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.h1, dbuf: 'global', d: oc.global.h1, len: model.hiddenDim }, ['g.h1'], ['g.h1']);
    sfu('mul', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.h1, bbuf: 'global', b: oc.global.h3, dbuf: 'act', d: oc.act.in, len: model.hiddenDim, scale: quantizeTo(s.hm) }, ['g.h1', 'g.h3'], ['a.in']);
    matmul('w2', l, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.r, type: 'int32', res: 'g.r' });
    sfu('add', { itype: 'int32', otype: 'int32', abuf: 'global', a: oc.global.x, bbuf: 'global', b: oc.global.r, dbuf: 'global', d: oc.global.x, len: model.dim }, ['g.x', 'g.r'], ['g.x']);
  }

  sfu('rmsnorm', { itype: 'int32', otype: aty, abuf: 'global', a: oc.global.x, bbuf: 'bias', b: oc.bias.gammaFinal, dbuf: 'act', d: oc.act.in, len: model.dim, scale: quantizeTo(sc.xf) }, ['g.x', 'b.final'], ['a.in']);
  matmul('cls', 0, oc.act.in, 'a.in', { buf: 'global', addr: oc.global.logits, type: 'int32', res: 'g.logits' });
  xfer('ST', 'global', 'int32', 'logits', 0, oc.global.logits, model.vocabSize, {}, ['g.logits'], ['ddr.logits']);
  e.barrier({ op: 'SYS', fn: 'end', reg: 'L0', imm: 0 } as never);
  return e;
}
