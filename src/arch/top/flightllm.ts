/**
 * flightllm_top: the whole accelerator (docs/accelerator.md): the controller, the LD and ST
 * engines, the MX engine (MPE) and the SFU engine around the on-chip buffers. This file only
 * wires: every block lives in its own generator, every buffer property in
 * src/arch/mmu/buffers.ts.
 */
import { Bool, defineModule, lit, log2Ceil, mux, UInt, type Expr, type Instance, type ModuleBuilder, type Signal } from '../../hdl/index.ts';
import { queueInstrBits } from '../../isa/hdl-fields.ts';
import { BUFFERS } from '../../isa/table.ts';
import { modeTable } from '../../sparsity/pattern.ts';
import type { GenConfig } from '../config.ts';
import { controller } from '../control/controller.ts';
import { CSR_ADDR_BITS } from '../control/status.ts';
import { bufMem, ELEM_ADDR_BITS } from '../mmu/buffer.ts';
import { accelGeometry, BUFFER_READ_LATENCY, checkAccelGeometry, type BufferGeometry } from '../mmu/buffers.ts';
import { ldEngine, ldPortPrefix } from '../mmu/ld.ts';
import { stEngine } from '../mmu/st.ts';
import { mxEngine } from '../mpe/mx.ts';
import { sfuEngine } from '../sfu/engine.ts';

/** Address bits of the external memory ports: bit 36 selects DDR. */
export const EXT_ADDR_BITS = 37;

const ENGINES = ['ld', 'st', 'mx', 'sfu'] as const;
const QUEUE_OF = { ld: 'LD', st: 'ST', mx: 'MX', sfu: 'SFU' } as const;

/** An element read port of an engine: who reads, with how many lanes. */
interface ReadClient {
  readonly port: string;
  readonly lanes: number;
  readonly may: (b: BufferGeometry) => boolean;
}

export const flightllmTop = defineModule<GenConfig>(
  'flightllm_top',
  () => 'flightllm_top',
  (m, c) => {
    const g = accelGeometry(c);
    checkAccelGeometry(g);
    const CL = g.CL;
    const DW = c.axiDataBits;
    m.doc(`FlightLLM-style accelerator: ${c.chains} x ${c.chainLength} MPE (modes ${modeTable(c.sparsity).length}), ${c.sfuLanes}-lane SFU, ${DW}-bit memory ports${c.ldPorts > 1 ? `, ${c.ldPorts} LD read ports` : ''}.`);

    // Engines and the controller.
    const ctl = m.instance('ctl', controller, c);
    const ld = m.instance('ld', ldEngine, c);
    const st = m.instance('st', stEngine, c);
    const mx = m.instance('mx', mxEngine, c);
    const sfu = m.instance('sfu', sfuEngine, c);
    const eng: Record<(typeof ENGINES)[number], Instance> = { ld, st, mx, sfu };
    for (const e of ENGINES) {
      eng[e].bind({ start: ctl.out(`${e}_start`), instr: ctl.out(`${e}_instr`) });
      ctl.bind({ [`${e}_busy`]: eng[e].out('busy'), [`${e}_done`]: eng[e].out('done'), [`${e}_error`]: eng[e].out('error'), [`${e}_err_code`]: eng[e].out('err_code') });
      if (ctl.out(`${e}_instr`).width !== queueInstrBits(QUEUE_OF[e])) throw new Error(`controller ${e}_instr width`);
    }

    // Ports: CSR, instruction fetch, AXI read (LD) and write (ST) masters.
    const passIn = (inst: Instance, names: readonly string[], widths: readonly number[]) => names.forEach((n, i) => inst.bind({ [n]: m.input(n, UInt(widths[i]!)) }));
    const passOut = (inst: Instance, names: readonly string[]) => names.forEach((n) => m.output(n, inst.out(n).type).assign(inst.out(n)));
    passIn(ctl, ['csr_wr_en', 'csr_addr', 'csr_wr_data'], [1, CSR_ADDR_BITS, 32]);
    passOut(ctl, ['csr_rd_data', 'halted']);
    passIn(ctl, ['if_ar_ready', 'if_r_valid', 'if_r_data', 'if_r_last'], [1, 1, 32, 1]);
    passOut(ctl, ['if_ar_valid', 'if_ar_addr', 'if_ar_len', 'if_r_ready']);
    for (let p = 0; p < c.ldPorts; p++) {
      const pre = ldPortPrefix(c, p);
      passIn(ld, [`${pre}_ar_ready`, `${pre}_r_valid`, `${pre}_r_data`, `${pre}_r_last`], [1, 1, DW, 1]);
      passOut(ld, [`${pre}_ar_valid`, `${pre}_ar_addr`, `${pre}_ar_len`, `${pre}_ar_chan`, `${pre}_r_ready`]);
    }
    passIn(st, ['m_aw_ready', 'm_w_ready', 'm_b_valid'], [1, 1, 1]);
    passOut(st, ['m_aw_valid', 'm_aw_addr', 'm_aw_len', 'm_aw_chan', 'm_w_valid', 'm_w_data', 'm_w_strb', 'm_w_last', 'm_b_ready']);

    // Weight and meta buffers: whole beats, written by LD, read by the MPE.
    const B = g.buffers;
    const beatMem = (name: 'weight' | 'meta') => {
      const mem = m.memory(`${name}_buf`, { depth: c.weightDepth, type: UInt(CL * B[name].bits), readLatency: 1, style: 'ultra' });
      const pre = name === 'weight' ? 'wbeat' : 'mbeat';
      mem.write(ld.out(`ld_${pre}_addr`), ld.out(`ld_${pre}_data`), ld.out(`ld_${pre}_en`));
      const rd = name === 'weight' ? 'w' : 'meta';
      mx.bind({ [`${rd}_rd_data`]: mem.read(`${name}_q`, mx.out(`${rd}_rd_addr`), mx.out(`${rd}_rd_en`)) });
    };
    beatMem('weight');
    beatMem('meta');

    // Element buffers: one write port (SFU first, LD waits; the MPE alone writes the acc mirror),
    // element read ports for the SFU (a, b) and ST, row ports for the MPE.
    const reads: ReadClient[] = [
      { port: 'sfu_a', lanes: g.sfuLanes, may: (b) => b.sfuRead },
      { port: 'sfu_b', lanes: g.sfuLanes, may: (b) => b.sfuRead },
      { port: 'st', lanes: g.stLanes, may: (b) => b.st },
    ];
    const engineRead: Record<string, { en: Expr; buf: Expr; addr: Expr }> = {
      sfu_a: { en: sfu.out('a_rd_en'), buf: sfu.out('a_rd_buf'), addr: sfu.out('a_rd_addr') },
      sfu_b: { en: sfu.out('b_rd_en'), buf: sfu.out('b_rd_buf'), addr: sfu.out('b_rd_addr') },
      st: { en: st.out('st_rd_en'), buf: st.out('st_rd_buf'), addr: st.out('st_rd_addr') },
    };
    const readData: Record<string, { code: number; data: Signal }[]> = { sfu_a: [], sfu_b: [], st: [] };
    const hit = (en: Expr, buf: Expr, b: BufferGeometry) => en.and(buf.eq(b.code));
    const sfuWr = { en: sfu.out('d_wr_en'), buf: sfu.out('d_wr_buf'), addr: sfu.out('d_wr_addr'), count: sfu.out('d_wr_count'), data: sfu.out('d_wr_data') };
    const ldWr = { en: ld.out('ld_wr_en'), buf: ld.out('ld_wr_buf'), addr: ld.out('ld_wr_addr'), count: ld.out('ld_wr_count'), data: ld.out('ld_wr_data') };
    const lanesOf = (x: Expr, have: number, want: number) => (have === want ? x : have > want ? x.trunc(32 * want) : x.ext(32 * want));
    const countOf = (x: Expr, w: number) => x.resize(w);
    for (const name of BUFFERS) {
      const b = B[name];
      if (b.beatOnly) continue;
      const clients = reads.filter((r) => r.may(b));
      const W = name === 'acc' ? 1 : b.writeLanes;
      const inst = m.instance(`${name}_buf`, bufMem, { name, bits: b.bits, signed: b.signed, banks: b.banks, rows: b.rows, writeLanes: W, readPorts: clients.map((r) => ({ name: r.port, lanes: r.lanes })), rowRead: b.mxRow });
      const cw = log2Ceil(W + 1);
      if (name === 'acc') {
        inst.bind({ wr_en: mx.out('res_wr_en'), wr_addr: mx.out('res_wr_addr').resize(ELEM_ADDR_BITS), wr_count: lit(1, UInt(cw)), wr_data: mx.out('res_wr_data') });
      } else {
        const s = hit(sfuWr.en, sfuWr.buf, b);
        const l = hit(ldWr.en, ldWr.buf, b);
        inst.bind({
          wr_en: s.or(l),
          wr_addr: mux(s, sfuWr.addr, ldWr.addr),
          wr_count: mux(s, countOf(sfuWr.count, cw), countOf(ldWr.count, cw)),
          wr_data: mux(s, lanesOf(sfuWr.data, g.sfuLanes, W), lanesOf(ldWr.data, g.ldLanes, W)),
        });
      }
      for (const r of clients) {
        const req = engineRead[r.port]!;
        inst.bind({ [`${r.port}_rd_en`]: hit(req.en, req.buf, b), [`${r.port}_rd_addr`]: req.addr });
        readData[r.port]!.push({ code: b.code, data: inst.out(`${r.port}_rd_data`) });
      }
      if (name === 'act') {
        inst.bind({ row_rd_en: mx.out('act_rd_en'), row_rd_addr: mx.out('act_rd_addr') });
        mx.bind({ act_rd_data: inst.out('row_rd_data') });
      }
      if (name === 'kv') {
        inst.bind({ row_rd_en: mx.out('kv_rd_en'), row_rd_addr: mx.out('kv_rd_addr') });
        mx.bind({ kv_rd_data: inst.out('row_rd_data') });
      }
    }
    // LD waits while the SFU writes the buffer it targets.
    ld.bind({ ld_wr_ready: sfuWr.en.and(sfuWr.buf.eq(ldWr.buf)).not() });

    // Read data returns BUFFER_READ_LATENCY cycles after the request: select by the delayed code.
    const delayed = (mb: ModuleBuilder, name: string, x: Expr, n: number) => {
      let cur = x;
      for (let i = 0; i < n; i++) {
        const r = mb.reg(`${name}_d${i + 1}`, UInt(x.width), { reset: null });
        r.assign(cur);
        cur = r;
      }
      return cur;
    };
    const back = (port: string, lanes: number) => {
      const code = delayed(m, `${port}_rd_code`, engineRead[port]!.buf, BUFFER_READ_LATENCY);
      let out: Expr = lit(0, UInt(32 * lanes));
      for (const { code: k, data } of readData[port]!) out = mux(code.eq(k), data, out);
      return out;
    };
    sfu.bind({ a_rd_data: back('sfu_a', g.sfuLanes), b_rd_data: back('sfu_b', g.sfuLanes) });
    st.bind({ st_rd_data: back('st', g.stLanes) });
  },
);
