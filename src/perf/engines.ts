/**
 * Start-to-done cycles of one resolved instruction on its engine, from the engines' own
 * cycle formulas (docs/accelerator.md, "Engines (cycle counts)"):
 * - MX: MX_SETUP_CYCLES + mpeTileCycles (src/arch/mpe/mx.ts, mpe.ts);
 * - SFU: sfuEngineCycles (src/arch/sfu/engine.ts);
 * - LD/ST: the burst-level model of xfer.ts against the memory timing.
 * Plus what each instruction moves and computes, for the utilisation figures.
 */
import type { GenConfig } from '../arch/config.ts';
import { accelGeometry } from '../arch/mmu/buffers.ts';
import { xferRowBytes, type XferOperands } from '../arch/mmu/xfer.ts';
import { mpeTileCycles } from '../arch/mpe/mpe.ts';
import { MX_SETUP_CYCLES, mxMpeParams } from '../arch/mpe/mx.ts';
import { sfuEngineCycles } from '../arch/sfu/engine.ts';
import type { Instr, InstrOf } from '../isa/instr.ts';
import { chainGeometry, modeTable, type Pattern } from '../sparsity/pattern.ts';
import type { MemoryTiming } from './memory.ts';
import { ldTiming, stTiming, type LdWhatIf } from './xfer.ts';

export type EngineName = 'ld' | 'st' | 'mx' | 'sfu';

export interface InstrCost {
  readonly engine: EngineName;
  /** Start-to-done cycles (the engine's busy cycles). */
  readonly cycles: number;
  /** Report class (e.g. `LD weight`, `MV`, `MV attn`, `SFU softmax`). */
  readonly cls: string;
  /** External bytes read / written (whole AXI beats) and the space. */
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly space?: 'hbm' | 'ddr';
  /** Multiply-accumulates the MPE performs (non-zero weights x tokens), MX only. */
  readonly macs: number;
  /** MPE issue cycles (windows x passes), MX only. */
  readonly issueCycles: number;
}

/** Per design: the derived tables the formulas need. */
export class EngineModel {
  private readonly cache = new Map<string, InstrCost>();
  private readonly modes: Pattern[];
  private readonly mpe: ReturnType<typeof mxMpeParams>;
  private readonly AB: number;

  constructor(
    readonly hw: GenConfig,
    readonly mem: MemoryTiming,
    /** What-if LD variations (not the RTL); default none. */
    readonly whatIf: LdWhatIf = {},
  ) {
    this.modes = modeTable(hw.sparsity);
    this.mpe = mxMpeParams(hw);
    this.AB = accelGeometry(hw).axiBytes;
  }

  /** The cost of a resolved LD/ST/MM/MV/SFU (memoised on the fields that matter). */
  cost(ins: Instr): InstrCost {
    switch (ins.op) {
      case 'LD':
      case 'ST':
        return this.xfer(ins);
      case 'MM':
      case 'MV':
        return this.mx(ins);
      case 'SFU':
        return this.sfu(ins);
      default:
        throw new Error(`${ins.op} runs in the dispatcher, not on an engine`);
    }
  }

  private memo(key: string, f: () => InstrCost): InstrCost {
    let c = this.cache.get(key);
    if (!c) this.cache.set(key, (c = f()));
    return c;
  }

  private xfer(ins: InstrOf<'LD'> | InstrOf<'ST'>): InstrCost {
    const x = ins as unknown as XferOperands;
    // Burst splits depend on the address modulo 4 KiB only; the read rate on the pseudo-channel
    // when a read port's own switch group is faster (channel map with a local rate).
    const map = this.mem.channelMap;
    let where = `${x.addr % 4096}`;
    if (ins.op === 'LD' && x.space === 'hbm' && map && this.mem.hbm.localBandwidth) {
      // Rows within one pseudo-channel: the channel decides; else every address does.
      const span = (x.count0 - 1) * x.estride0 + (x.count1 - 1) * x.estride1 + (x.count2 - 1) * x.estride2 + xferRowBytes(x);
      const ch = Math.floor(x.addr / map.bytes);
      const last = x.addr + Math.max(span, 1) - 1;
      where += last < 2 ** 36 && ch === Math.floor(last / map.bytes) ? `@${ch % map.count}` : `@${x.addr}`;
    }
    const key = `${ins.op}|${x.buf}|${x.dtype}|${x.space}|${x.grp ? 1 : 0}|${where}|${x.len}|${x.count0},${x.count1},${x.count2}|${x.estride0},${x.estride1},${x.estride2}|${x.istride0},${x.istride1},${x.istride2}`;
    return this.memo(key, () => {
      const load = ins.op === 'LD';
      const r = load ? ldTiming(this.hw, x, this.mem, this.whatIf) : stTiming(this.hw, x, this.mem);
      const cls = load ? (x.buf === 'weight' || x.buf === 'meta' || x.buf === 'scale' ? `LD ${x.buf}` : x.buf === 'kv' ? 'LD kv' : 'LD other') : 'ST';
      const moved = r.beats * this.AB;
      return { engine: load ? 'ld' : 'st', cycles: r.cycles, cls, readBytes: load ? moved : 0, writeBytes: load ? 0 : moved, space: x.space, macs: 0, issueCycles: 0 } satisfies InstrCost;
    });
  }

  private mx(ins: InstrOf<'MM'> | InstrOf<'MV'>): InstrCost {
    const cols = (ins.op === 'MM' ? ins.k : ins.cols) as number;
    const rows = (ins.op === 'MM' ? ins.n : ins.rows) as number;
    const tokens = ins.op === 'MM' ? (ins.m as number) : 1;
    const key = `${ins.op}|${ins.pattern}|${cols}|${rows}|${tokens}|${ins.wsrc}`;
    return this.memo(key, () => {
      const L = this.hw.chainLength;
      const pattern = this.modes[Math.min(ins.pattern, this.modes.length - 1)]!;
      const g = chainGeometry(pattern, L, this.hw.groupSize);
      const windows = Math.ceil(cols / L);
      const batches = Math.ceil(rows / (this.hw.chains * g.segments));
      const cycles = MX_SETUP_CYCLES + mpeTileCycles(this.mpe, { mode: ins.pattern, batches, tokens, windows });
      const density = pattern === 'dense' ? 1 : pattern.n / pattern.m;
      const cls = ins.wsrc === 'kv' ? `${ins.op} attn` : pattern === 'dense' ? ins.op : `${ins.op} ${pattern.n}:${pattern.m}`;
      return { engine: 'mx', cycles, cls, readBytes: 0, writeBytes: 0, macs: tokens * rows * cols * density, issueCycles: batches * tokens * windows } satisfies InstrCost;
    });
  }

  private sfu(ins: InstrOf<'SFU'>): InstrCost {
    const len = ins.len as number;
    const rows = ins.rows as number;
    const erd = ins.fn === 'requant' && ins.erd !== 0;
    const ewr = ins.imm !== 0 && ins.fn !== 'rope' && ins.fn !== 'requant' && ins.ewr !== 0;
    const key = `SFU|${ins.fn}|${len}|${rows}|${erd ? 1 : 0}|${ewr ? 1 : 0}`;
    return this.memo(key, () => ({
      engine: 'sfu',
      cycles: sfuEngineCycles({ fn: ins.fn, len, rows, lanes: this.hw.sfuLanes, erd, ewr }),
      cls: `SFU ${ins.fn}`,
      readBytes: 0,
      writeBytes: 0,
      macs: 0,
      issueCycles: 0,
    }));
  }
}
