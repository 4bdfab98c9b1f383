/**
 * The versal-dsp58 backend (one DSP58 instance per MAC, on flightgen's DSP58 subset model
 * rtl-templates/dsp58-sim.v.hbs) on Verilator, against the same TypeScript models as the other
 * backends: what the shared parameterised tests (chain-sim, sparse-chain-sim) do not cover --
 * the DSP58-only 27 x 24 operand widths, the packed chain, and a small MPE.
 */
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { VerilatorSim, type PortValue } from '../../src/sim/verilator.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { denseChainVectors, firstMismatch, macSliceVectors } from '../../src/arch/chain/vectors.ts';
import { sparseChainVectors } from '../../src/arch/chain/sparse-vectors.ts';
import { PackedChainModel } from '../../src/arch/chain/packed-model.ts';
import type { SparseChainParams } from '../../src/arch/chain/sparse-chain.ts';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { MpeModel, type MpeTile } from '../../src/arch/mpe/model.ts';
import { mpeTileCycles, type MpeParams } from '../../src/arch/mpe/mpe.ts';
import { chainGeometry, indexWidth, modeTable } from '../../src/sparsity/pattern.ts';
import { packWeights } from '../../src/sparsity/packing.ts';
import { packFields, toRawBig } from '../../src/numerics/bits.ts';
import { Rng } from '../../src/util/random.ts';
import { mpeSystem } from '../fixtures/mpe-system.ts';

const backend = 'versal-dsp58' as const;

describe('versal-dsp58 backend on Verilator', () => {
  it('refuses operands the DSP58 multiplier cannot take (27 x 24), accepts 24-bit weights only on this backend', () => {
    expect(() => generate({ ...DEFAULT_CONFIG, top: 'mac', weightWidth: 25, dspBackend: backend })).toThrow(/weightWidth must be an integer in 2\.\.24/);
    expect(() => generate({ ...DEFAULT_CONFIG, top: 'mac', actWidth: 28, dspBackend: backend })).toThrow(/actWidth/);
    expect(() => generate({ ...DEFAULT_CONFIG, top: 'mac', weightWidth: 24, dspBackend: 'xilinx-dsp48e2' })).toThrow(/2\.\.18/);
    const g = generate({ ...DEFAULT_CONFIG, top: 'mac', actWidth: 27, weightWidth: 24, dspBackend: backend });
    expect(g.manifest.simModelFiles).toEqual(['DSP58.v']);
    expect([...g.files.keys()].sort()).toEqual(['DSP58.v', 'mac_slice_a27_b24_dsp58.v']);
  });

  it('MAC slice a27 x b24: 5000 random cycles with stalls, resets and extreme values agree with the model cycle by cycle', async () => {
    const g = generate({ ...DEFAULT_CONFIG, top: 'mac', actWidth: 27, weightWidth: 24, dspBackend: backend });
    const sim = await VerilatorSim.build(g.top, g.files);
    const { inputs, expected } = macSliceVectors({ aWidth: 27, bWidth: 24, backend }, { cycles: 5000, seed: 2724, extremeBurstEvery: 4 });
    const out = await sim.run(inputs);
    expect(firstMismatch(expected, out.map((o) => o.p!))).toBeUndefined();
    // pcout is P: 48 bits like p, or the full 58-bit cascade (docs/dsp58.md), whose low 48 bits are p.
    expect(out.map((o) => BigInt.asUintN(48, o.pcout!))).toEqual(out.map((o) => o.p));
    expect(new Set(expected).size).toBeGreaterThan(1000);
  });

  it('dense chain L=8, int16 x int24: agrees with the model, and the output is the dot product L+2 cycles later', async () => {
    const p = { length: 8, aWidth: 16, bWidth: 24, backend };
    const g = generate({ ...DEFAULT_CONFIG, top: 'chain', chainLength: 8, actWidth: 16, weightWidth: 24, dspBackend: backend });
    const sim = await VerilatorSim.build(g.top, g.files);
    const { inputs, expected } = denseChainVectors(p, { cycles: 4000, seed: 58, extremeBurstEvery: 5 });
    const out = await sim.run(inputs);
    expect(firstMismatch(expected, out.map((o) => o.p!))).toBeUndefined();
    const clean = denseChainVectors(p, { cycles: 300, seed: 59, stallRate: 0, resetRate: 0 });
    const out2 = await sim.run(clean.inputs);
    const field = (bus: bigint, i: number, w: number) => BigInt.asIntN(w, bus >> BigInt(i * w));
    for (let t = 2; t < 250; t++) {
      let dot = 0n;
      for (let i = 0; i < 8; i++) dot += field(clean.inputs[t]!.a as bigint, i, 16) * field(clean.inputs[t]!.b as bigint, i, 24);
      expect(BigInt.asIntN(48, out2[t + 10]!.p!)).toBe(dot);
    }
  });

  it('packed sparse chain (--pack 2) L=8, G=2, dense and 2:4: RTL = model cycle by cycle, both tokens = their dot products', async () => {
    const c = { ...DEFAULT_CONFIG, top: 'sparse-chain' as const, pack: 2 as const, chainLength: 8, groupSize: 2, sparsity: [{ n: 2, m: 4 }], dspBackend: backend };
    const g = generate(c);
    expect(g.manifest.dsps).toBe(8);
    expect(g.manifest.macs).toBe(16);
    // Group starts get no PCIN wire, as with the other backends.
    const chain = g.files.get(`${g.top.name}.v`)!;
    expect(chain.match(/\.pcin\s*\((48|58)'d0\)/g)).toHaveLength(4);
    const params: SparseChainParams = { length: 8, groupSize: 2, patterns: c.sparsity, aWidth: 8, bWidth: 8, backend };
    const v = sparseChainVectors(params, { rows: 600, seed: 581, weights: 'int8', pack: true }, new PackedChainModel(params));
    const sim = await VerilatorSim.build(g.top, g.files);
    const out = await sim.run(v.inputs);
    const bad = out.findIndex((o, t) => o.res !== v.model[t]!.res || o.res2 !== v.model[t]!.res2 || o.res_valid !== v.model[t]!.res_valid);
    expect(bad).toBe(-1);
    const emitted = [0, 1].map(() => Array.from({ length: 4 }, () => [] as bigint[]));
    const field = (bus: bigint, k: number) => (bus >> BigInt(48 * k)) & ((1n << 48n) - 1n);
    for (const o of out) {
      for (let k = 0; k < 4; k++) {
        if ((o.res_valid! >> BigInt(k)) & 1n) {
          emitted[0]![k]!.push(field(o.res!, k));
          emitted[1]![k]!.push(field(o.res2!, k));
        }
      }
    }
    expect(emitted).toEqual([v.expected, v.expected2]);
  });

  it('MPE 2 chains x 8, dense and 2:4, MV and MM tiles, accumulate: RTL = model (results and cycles) = plain matrix multiply', async () => {
    const P: MpeParams = { chains: 2, length: 8, groupSize: 2, patterns: [{ n: 2, m: 4 }], aWidth: 8, bWidth: 8, actDepth: 64, weightDepth: 128, accDepth: 64, backend };
    const rng = new Rng(5858);
    const modes = modeTable(P.patterns);
    const iw = indexWidth(modes);
    const actMem: number[][] = Array.from({ length: P.actDepth }, () => new Array(P.length).fill(0));
    const wMem: { w: ArrayLike<number>; idx: ArrayLike<number> }[] = Array.from({ length: P.weightDepth }, () => ({ w: new Array(P.chains * P.length).fill(0), idx: new Array(P.chains * P.length).fill(0) }));
    const cases: { tile: MpeTile; W: number[][]; act: number[][] }[] = [];
    let wNext = 0;
    let actNext = 0;
    for (const [i, shape] of [{ rows: 5, K: 16, tokens: 1 }, { rows: 7, K: 20, tokens: 2 }, { rows: 6, K: 24, tokens: 1 }].entries()) {
      for (let mode = 0; mode < modes.length; mode++) {
        const g = chainGeometry(modes[mode]!, P.length, P.groupSize);
        const W = Array.from({ length: shape.rows }, () => new Array<number>(shape.K).fill(0));
        for (const row of W) {
          for (let k0 = 0; k0 < shape.K; k0 += g.groupSpan) {
            const span = Math.min(g.groupSpan, shape.K - k0);
            const keep = new Set<number>();
            while (keep.size < Math.min(g.keptPerGroup, span)) keep.add(rng.int(0, span - 1));
            for (const k of keep) row[k0 + k] = rng.signed(8);
          }
        }
        const packed = packWeights(shape.rows, shape.K, (r, k) => W[r]![k]!, modes[mode]!, P);
        const act = Array.from({ length: shape.tokens }, () => Array.from({ length: shape.K }, () => rng.signed(8)));
        const wBase = wNext;
        packed.beats.forEach((b, j) => (wMem[wBase + j] = b));
        wNext += packed.beats.length;
        const actBase = actNext;
        for (let n = 0; n < shape.tokens; n++) {
          for (let t = 0; t < packed.windows; t++) actMem[actBase + n * packed.windows + t] = Array.from({ length: P.length }, (_, j) => act[n]![t * P.length + j] ?? 0);
        }
        actNext += shape.tokens * packed.windows;
        const accumulate = i === 2 && mode > 0; // the last shape's 2:4 tile accumulates onto its dense results (both at 40)
        const tile: MpeTile = { mode, rows: shape.rows, batches: packed.batches, windows: packed.windows, tokens: shape.tokens, actBase, actStride: packed.windows, wBase, outBase: i === 2 ? 40 : (cases.length * 8) % 40, outStride: shape.rows, accumulate };
        cases.push({ tile, W, act });
      }
    }
    expect(wNext).toBeLessThanOrEqual(P.weightDepth);
    expect(actNext).toBeLessThanOrEqual(P.actDepth);

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
    expect(files.has('DSP58.v')).toBe(true);
    expect((await verilatorLint(files, top.name)).messages).toEqual([]);
    const sim = await VerilatorSim.build(top, files);
    const out = await sim.run(inputs);

    const reference = new Map<number, number>();
    cases.forEach(({ tile, W, act }, ci) => {
      const t0 = starts[ci]!;
      const doneAt = out.findIndex((o, k) => k > t0 && o.done === 1n);
      expect(doneAt - t0, `tile ${ci} cycle count`).toBe(mpeTileCycles(P, tile));
      const writes = out.slice(t0, doneAt + 1).filter((o) => o.res_wr_en === 1n).map((o) => ({ addr: Number(o.res_wr_addr), value: Number(BigInt.asIntN(32, o.res_wr_data!)) }));
      expect(writes, `tile ${ci} writes`).toEqual(modelWrites[ci]);
      for (let n = 0; n < tile.tokens; n++) {
        for (let r = 0; r < tile.rows; r++) {
          const addr = tile.outBase + n * tile.outStride + r;
          const dot = W[r]!.reduce((s, w, k) => s + w * act[n]![k]!, 0);
          reference.set(addr, (tile.accumulate ? reference.get(addr) ?? 0 : 0) + dot);
        }
      }
      for (const w of writes) expect(w.value, `tile ${ci} addr ${w.addr}`).toBe(reference.get(w.addr));
      expect(writes.length).toBe(tile.rows * tile.tokens);
    });
  });
});
