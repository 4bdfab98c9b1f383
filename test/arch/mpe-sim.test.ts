import { describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { VerilatorSim, type PortValue } from '../../src/sim/verilator.ts';
import { MpeModel, type MpeTile } from '../../src/arch/mpe/model.ts';
import { mpeTileCycles, type MpeParams } from '../../src/arch/mpe/mpe.ts';
import { chainGeometry, indexWidth, modeTable } from '../../src/sparsity/pattern.ts';
import { packWeights } from '../../src/sparsity/packing.ts';
import { packFields, toRawBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { mpeSystem } from '../fixtures/mpe-system.ts';

const BASE: MpeParams = { chains: 4, length: 16, groupSize: 2, patterns: [{ n: 2, m: 4 }, { n: 1, m: 4 }, { n: 2, m: 8 }], aWidth: 8, bWidth: 8, actDepth: 256, weightDepth: 2048, accDepth: 256 };


interface Case {
  tile: MpeTile;
  W: number[][];
  act: number[][];
}

describe('MPE on Verilator', () => {
  it('MV and MM tiles of several shapes, every mode, accumulate and overwrite: RTL = model (results and cycles) = plain matrix multiply', async () => {
    await checkMpe(BASE, 42);
  });

  it('--pack 2 (packed chains, two tokens per pass; odd token counts): RTL = model = plain matrix multiply', async () => {
    await checkMpe({ ...BASE, pack: 2 }, 43);
  });

  it('xilinx-dsp48e2 backend (DSP48E2 instances on flightgen\'s subset model): RTL = model = plain matrix multiply', async () => {
    await checkMpe({ ...BASE, backend: 'xilinx-dsp48e2' }, 44);
  });
});

async function checkMpe(P: MpeParams, seed: number): Promise<void> {
    const rng = new Rng(seed);
    const modes = modeTable(P.patterns);
    const iw = indexWidth(modes);
    const actMem: number[][] = Array.from({ length: P.actDepth }, () => new Array(P.length).fill(0));
    const wMem: { w: ArrayLike<number>; idx: ArrayLike<number> }[] = Array.from({ length: P.weightDepth }, () => ({ w: new Array(P.chains * P.length).fill(0), idx: new Array(P.chains * P.length).fill(0) }));
    const cases: Case[] = [];
    let wNext = 0;
    let actNext = 0;
    const shapes = [
      { rows: 5, K: 16, tokens: 1 },
      { rows: 37, K: 40, tokens: 1 }, // neither divides the chain length or batch
      { rows: 16, K: 64, tokens: 1 },
      { rows: 9, K: 23, tokens: 3 }, // MM: three tokens
      { rows: 33, K: 32, tokens: 2 },
      { rows: 21, K: 480, tokens: 1 }, // long rows: the write-out overlaps the next batch with no hold
    ];
    for (const [i, shape] of shapes.entries()) {
      for (let mode = 0; mode < modes.length; mode++) {
        const q = modes[mode]!;
        const g = chainGeometry(q, P.length, P.groupSize);
        const W = Array.from({ length: shape.rows }, () => new Array<number>(shape.K).fill(0));
        for (const row of W) {
          for (let k0 = 0; k0 < shape.K; k0 += g.groupSpan) {
            const span = Math.min(g.groupSpan, shape.K - k0);
            const keep = new Set<number>();
            while (keep.size < Math.min(g.keptPerGroup, span)) keep.add(rng.int(0, span - 1));
            for (const k of keep) row[k0 + k] = rng.signed(8);
          }
        }
        const packed = packWeights(shape.rows, shape.K, (r, k) => W[r]![k]!, q, P);
        const act = Array.from({ length: shape.tokens }, () => Array.from({ length: shape.K }, () => rng.signed(8)));
        const wBase = wNext;
        packed.beats.forEach((b, j) => (wMem[wBase + j] = b));
        wNext += packed.beats.length;
        const actBase = actNext;
        for (let n = 0; n < shape.tokens; n++) {
          for (let t = 0; t < packed.windows; t++) actMem[actBase + n * packed.windows + t] = Array.from({ length: P.length }, (_, j) => act[n]![t * P.length + j] ?? 0);
        }
        actNext += shape.tokens * packed.windows;
        const accumulate = i === 4 && mode > 0; // this shape's sparse modes accumulate onto the previous mode's results
        const tile: MpeTile = { mode, rows: shape.rows, batches: packed.batches, windows: packed.windows, tokens: shape.tokens, actBase, actStride: packed.windows, wBase, outBase: accumulate ? 0 : (cases.length * 7) % 64, outStride: shape.rows, accumulate };
        cases.push({ tile, W, act });
      }
    }
    // Empty tiles (a zero count) complete at once and write nothing.
    cases.push({ tile: { mode: 0, rows: 5, batches: 0, windows: 1, tokens: 1, actBase: 0, actStride: 0, wBase: 0, outBase: 0, outStride: 0, accumulate: false }, W: [], act: [] });
    cases.push({ tile: { mode: 1, rows: 5, batches: 1, windows: 0, tokens: 1, actBase: 0, actStride: 0, wBase: 0, outBase: 0, outStride: 0, accumulate: false }, W: [], act: [] });
    expect(wNext).toBeLessThanOrEqual(P.weightDepth);
    expect(actNext).toBeLessThanOrEqual(P.actDepth);

    // Stimulus: load both buffers, then run the tiles back to back.
    const inputs: Record<string, PortValue>[] = [{ rst: 1 }, { rst: 1 }];
    for (let a = 0; a < Math.max(P.actDepth, P.weightDepth); a++) {
      const c: Record<string, PortValue> = {};
      if (a < P.actDepth) Object.assign(c, { act_we: 1, act_waddr: a, act_wdata: packFields(actMem[a]!, 8) });
      if (a < P.weightDepth) {
        const lanes = Array.from({ length: P.chains * P.length }, (_, l) => (BigInt(wMem[a]!.idx[l]!) << 8n) | toRawBig(BigInt(wMem[a]!.w[l]!), 8));
        let v = 0n;
        for (let l = lanes.length - 1; l >= 0; l--) v = (v << BigInt(8 + iw)) | lanes[l]!;
        Object.assign(c, { w_we: 1, w_waddr: a, w_wdata: v });
      }
      inputs.push(c);
    }
    const model = new MpeModel(P);
    const starts: number[] = [];
    const modelWrites: { addr: number; value: number }[][] = [];
    for (const { tile } of cases) {
      starts.push(inputs.length);
      inputs.push({ start: 1, t_mode: tile.mode, t_rows: tile.rows, t_batches: tile.batches, t_windows: tile.windows, t_tokens: tile.tokens, t_act_base: tile.actBase, t_act_stride: tile.actStride, t_w_base: tile.wBase, t_out_base: tile.outBase, t_out_stride: tile.outStride, t_accumulate: tile.accumulate ? 1 : 0 });
      const r = model.run(tile, { act: (a) => actMem[a]!, weights: (a) => wMem[a]! });
      expect(r.cycles).toBe(mpeTileCycles(P, tile));
      modelWrites.push(r.writes);
      for (let k = 0; k < r.cycles + 3; k++) inputs.push({});
    }

    const d = new Design();
    const top = d.elaborate(mpeSystem, P);
    const files = emitDesign(d, top);
    expect((await verilatorLint(files, top.name)).messages).toEqual([]);
    const sim = await VerilatorSim.build(top, files);
    const out = await sim.run(inputs);

    const reference = new Map<number, number>(); // independent: plain matrix multiply into an address map
    cases.forEach(({ tile, W, act }, ci) => {
      const t0 = starts[ci]!;
      const doneAt = out.findIndex((o, k) => k > t0 && o.done === 1n);
      expect(doneAt - t0, `tile ${ci} cycle count`).toBe(mpeTileCycles(P, tile));
      const writes = out.slice(t0, doneAt + 1).filter((o) => o.res_wr_en === 1n).map((o) => ({ addr: Number(o.res_wr_addr), value: Number(BigInt.asIntN(32, o.res_wr_data!)) }));
      expect(writes, `tile ${ci} writes`).toEqual(modelWrites[ci]);
      for (let n = 0; n < (tile.batches && tile.windows ? tile.tokens : 0); n++) {
        for (let r = 0; r < tile.rows; r++) {
          const addr = tile.outBase + n * tile.outStride + r;
          const dot = W[r]!.reduce((s, w, k) => s + w * act[n]![k]!, 0);
          reference.set(addr, (tile.accumulate ? reference.get(addr) ?? 0 : 0) + dot);
        }
      }
      for (const w of writes) expect(w.value, `tile ${ci} addr ${w.addr}`).toBe(reference.get(w.addr));
      expect(writes.length).toBe(tile.batches && tile.windows ? tile.rows * tile.tokens : 0);
    });
}
