/**
 * The RTL simulation as an inference engine: the compiled program runs on the generated
 * flightllm_top in Verilator (src/sim/accel.ts), block by block exactly as the golden engine
 * runs it (same staged inputs, same length registers, src/compiler/runtime.ts). With `check`
 * on, a golden engine runs beside it and every block's logits and the whole external memory
 * (KV cache included) must agree bit for bit; the first difference stops the run with the
 * instruction that stored the differing bytes.
 */
import type { Compiled } from '../compiler/compile.ts';
import type { MemoryImage, Space } from '../compiler/memory.ts';
import { blockRegisters, checkTokens, prefillRuns, stagedInputs, type BlockRun } from '../compiler/runtime.ts';
import { generate as generateRtl } from '../generate.ts';
import { GoldenEngine, logitRows } from '../golden/engine.ts';
import { disassemble } from '../isa/asm.ts';
import type { Instr } from '../isa/instr.ts';
import { OPS } from '../isa/table.ts';
import type { ModelConfig } from '../model/config.ts';
import type { AsyncEngine } from '../model/engine.ts';
import { accelSimOptions, memoryTiming } from '../perf/memory.ts';
import { AccelSim, type AccelRun, type AccelSimOptions } from './accel.ts';

export interface RtlBlockReport {
  readonly block: 'decode' | 'prefill';
  readonly pos: number;
  readonly tokens: number;
  /** Simulated cycles of the block run. */
  readonly cycles: number;
  readonly busy: AccelRun['busy'];
  /** AXI read beats per LD read port. */
  readonly portReadBeats: readonly number[];
  /** Wall time of the simulation in ms. */
  readonly wallMs: number;
}

export interface RtlEngineOptions extends AccelSimOptions {
  /** Compare with the golden model after every block (default true). */
  readonly check?: boolean;
  /**
   * Also compare after every ST (needs check): the RTL runs in serial mode (one instruction at
   * a time) and stops after each store to compare the rows it wrote with the golden model's.
   */
  readonly checkEveryStore?: boolean;
  /** Cycle limit of one block run. */
  readonly maxCycles?: number;
  /** Called after every block run. */
  readonly onBlock?: (r: RtlBlockReport) => void;
  /** Progress of the simulator build (it takes minutes when not cached). */
  readonly onBuild?: (message: string) => void;
}

/** A difference between the RTL and the golden model: a one-line message for the user. */
export class CosimMismatch extends Error {
  override name = 'CosimMismatch';
}

interface StoreRow {
  pc: number;
  instr: Instr;
  /** 0-based index of the ST among the block's executed instructions (LOOP bodies unrolled). */
  seq: number;
  space: Space;
  addr: number;
  bytes: number;
  /** What the golden model stored. */
  data: Uint8Array;
}

export class RtlEngine implements AsyncEngine {
  readonly config: ModelConfig;
  readonly reports: RtlBlockReport[] = [];
  private next = 0;
  private stores: StoreRow[] = [];
  private executedBefore = 0;

  private constructor(
    private readonly compiled: Compiled,
    private readonly memory: MemoryImage,
    private readonly sim: AccelSim,
    private readonly golden: GoldenEngine | undefined,
    private readonly opts: RtlEngineOptions,
  ) {
    this.config = compiled.plan.model;
    if (golden) {
      const mem = golden.machine.memory;
      golden.machine.onStore = (row) => this.stores.push({ ...row, seq: row.executed - 1 - this.executedBefore, data: mem.space(row.space).slice(row.addr, row.addr + row.bytes) });
    }
  }

  /** Generates flightllm_top for the program's hardware, builds (or reuses) the simulator and loads the program. */
  static async create(compiled: Compiled, opts: RtlEngineOptions = {}): Promise<RtlEngine> {
    if (!compiled.memory) throw new RangeError('the RTL engine needs a memory image (compile with weights)');
    const gen = generateRtl({ ...compiled.plan.hw, top: 'flightllm' });
    opts.onBuild?.(`building ${gen.manifest.top} (${gen.files.size} Verilog files, ${gen.manifest.macs} MACs) with Verilator, or reusing a cached build`);
    const sim = await AccelSim.build(gen.files, gen.manifest.top, opts);
    opts.onBuild?.(sim.cached ? 'simulator from the cache' : `simulator built in ${(sim.buildMs / 1000).toFixed(1)} s`);
    // The memory channels of the target the performance model uses too (src/perf/memory.ts).
    await sim.start(accelSimOptions(memoryTiming('u280', compiled.plan.hw)));
    await sim.loadProgram(compiled.program);
    await sim.loadMemory(compiled.memory);
    const golden = opts.check === false ? undefined : new GoldenEngine(compiled);
    return new RtlEngine(compiled, compiled.memory, sim, golden, opts);
  }

  async close(): Promise<void> {
    await this.sim.close();
  }

  async forward(token: number, pos: number): Promise<Float32Array> {
    if (pos !== this.next) throw new RangeError(`position ${pos}: feed positions in order (next is ${this.next})`);
    const rows = await this.runBlock({ block: 'decode', tokens: [token], pos });
    this.next = pos + 1;
    return rows[0]!;
  }

  async prefill(tokens: readonly number[], pos: number): Promise<Float32Array[]> {
    if (pos !== this.next) throw new RangeError(`position ${pos}: feed positions in order (next is ${this.next})`);
    const out: Float32Array[] = [];
    for (const r of prefillRuns(this.compiled.plan, tokens, pos)) {
      out.push(...(await this.runBlock(r)));
      this.next = r.pos + r.tokens.length;
    }
    return out;
  }

  private async runBlock(r: BlockRun): Promise<Float32Array[]> {
    const { plan, blocks } = this.compiled;
    const block = blocks.find((b) => b.name === r.block);
    if (!block) throw new RangeError(`the program has no ${r.block} block`);
    checkTokens(plan, r.tokens);
    // The golden model runs the block first: its stores are what the RTL's are checked against.
    const want = this.golden ? this.goldenBlock(r) : undefined;
    const staged = stagedInputs(plan, this.memory, r.tokens, block.tokens);
    await this.sim.writeMem('ddr', staged.addr, staged.bytes);
    const regs = blockRegisters(plan, r.pos, block.tokens);
    for (let i = 0; i < regs.length; i++) await this.sim.setLength(i, regs[i]!);
    const t0 = performance.now();
    const max = this.opts.maxCycles ?? 2 ** 40;
    let run: AccelRun;
    if (this.golden && this.opts.checkEveryStore) {
      run = await this.sim.run(block.byteOffset / 4, 0, { serial: true });
      for (const st of this.stores) {
        run = await this.sim.waitInstrs(st.seq + 2, max);
        if (run.status !== 'paused' && run.status !== 'done') break;
        await this.compareStore(r, st);
      }
      if (run.status === 'paused') run = await this.sim.wait(max);
    } else {
      run = await this.sim.run(block.byteOffset / 4, max);
    }
    const report: RtlBlockReport = { block: r.block, pos: r.pos, tokens: r.tokens.length, cycles: run.cycles, busy: run.busy, portReadBeats: run.traffic.portReadBeats, wallMs: performance.now() - t0 };
    if (run.status !== 'done') {
      const where = run.status === 'error' ? `${run.errText} at ${this.describePc(run.errPc)}` : `no SYS end after ${run.cycles} cycles`;
      throw new CosimMismatch(`RTL ${r.block} block at position ${r.pos} stopped: ${where}`);
    }
    this.reports.push(report);
    this.opts.onBlock?.(report);
    const logits = plan.layout.get('logits');
    const raw = await this.sim.readMem(logits.space, logits.addr, r.tokens.length * this.config.vocabSize * 4);
    const rows = logitRows(this.compiled, new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), r.tokens.length);
    if (want) await this.check(r, rows, want);
    return rows;
  }

  /** The golden model's run of the same block (its stores are logged in this.stores). */
  private goldenBlock(r: BlockRun): Float32Array[] {
    this.stores = [];
    this.executedBefore = this.golden!.machine.stats.instructions;
    return r.block === 'decode' ? [this.golden!.forward(r.tokens[0]!, r.pos)] : this.golden!.prefill(r.tokens, r.pos);
  }

  private async compareStore(r: BlockRun, st: StoreRow): Promise<void> {
    const got = await this.sim.readMem(st.space, st.addr, st.bytes);
    const i = firstDifference(got, st.data);
    if (i >= 0) throw new CosimMismatch(`RTL and golden model differ after instruction ${st.pc} (${disassemble([st.instr]).trim()}) of the ${r.block} block at position ${r.pos}: ${st.space} byte 0x${(st.addr + i).toString(16)}: RTL ${hexBytes(got, i)}, golden ${hexBytes(st.data, i)}`);
  }

  /** Compares logits and both memories byte for byte with the golden model's run of the block. */
  private async check(r: BlockRun, rows: Float32Array[], want: Float32Array[]): Promise<void> {
    const mem = this.golden!.machine.memory;
    for (const space of ['hbm', 'ddr'] as const) {
      const ref = mem.space(space);
      const got = await this.sim.readMem(space, 0, ref.length);
      const i = firstDifference(got, ref);
      if (i < 0) continue;
      const region = [...this.compiled.plan.layout.regions].find(([, g]) => g.space === space && i >= g.addr && i < g.addr + g.bytes)?.[0] ?? 'unallocated';
      const st = [...this.stores].reverse().find((s) => s.space === space && i >= s.addr && i < s.addr + s.bytes);
      const by = st ? `stored by instruction ${st.pc} (${disassemble([st.instr]).trim()})` : 'not stored by this block';
      throw new CosimMismatch(`RTL and golden model differ after the ${r.block} block at position ${r.pos}: ${space} byte 0x${i.toString(16)} (region ${region}): RTL ${hexBytes(got, i)}, golden ${hexBytes(ref, i)}; ${by}`);
    }
    rows.forEach((row, t) => {
      const j = row.findIndex((v, k) => v !== want[t]![k]);
      if (j >= 0) throw new CosimMismatch(`RTL and golden model logits differ at position ${r.pos + t}, index ${j}: RTL ${row[j]}, golden ${want[t]![j]}`);
    });
  }

  private describePc(wordPc: number): string {
    let words = 0;
    for (const [i, ins] of this.compiled.instrs.entries()) {
      if (words === wordPc) return `instruction ${i} (${disassemble([ins]).trim()})`;
      words += OPS.get(ins.op)!.words;
    }
    return `word ${wordPc}`;
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function hexBytes(x: Uint8Array, i: number): string {
  return [...x.subarray(i, i + 8)].map((v) => v.toString(16).padStart(2, '0')).join(' ');
}
