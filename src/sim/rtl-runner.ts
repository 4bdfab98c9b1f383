/**
 * The RTL as a fuzzing ProgramRunner (src/fuzz/runner.ts): each program runs on the generated
 * flightllm_top in one persistent Verilator process per hardware configuration, from word
 * address 0 after a reset (length registers zero), with its own memory image.
 */
import type { GenConfig } from '../arch/config.ts';
import { ERR } from '../arch/control/status.ts';
import type { MemoryImage } from '../compiler/memory.ts';
import type { ProgramRunner, RunnerProgram, RunResult } from '../fuzz/runner.ts';
import { generate } from '../generate.ts';
import { accelSimOptions, memoryTiming, type MemoryTiming } from '../perf/memory.ts';
import { AccelSim } from './accel.ts';

const ERR_NAME = new Map<number, string>(Object.entries(ERR).map(([k, v]) => [v, k]));

export class RtlRunner implements ProgramRunner {
  readonly name = 'rtl';
  private readonly sims = new Map<string, Promise<AccelSim>>();

  constructor(private readonly opts: { maxCycles?: number; onBuild?: (message: string) => void; /** Memory timing (default: the U280's, src/perf/memory.ts). */ timing?: MemoryTiming } = {}) {}

  private sim(hw: GenConfig): Promise<AccelSim> {
    const key = JSON.stringify(hw);
    let s = this.sims.get(key);
    if (!s) {
      s = (async () => {
        const gen = generate({ ...hw, top: 'flightllm' });
        this.opts.onBuild?.(`building ${gen.manifest.top} for ${hw.chains} x ${hw.chainLength} with Verilator (or reusing a cached build)`);
        const sim = await AccelSim.build(gen.files, gen.manifest.top);
        // The memory channels of the target the performance model uses too (src/perf/memory.ts).
        return sim.start(accelSimOptions(this.opts.timing ?? memoryTiming('u280', hw)));
      })();
      this.sims.set(key, s);
    }
    return s;
  }

  async run(hw: GenConfig, program: RunnerProgram, memory: MemoryImage): Promise<RunResult> {
    const sim = await this.sim(hw);
    await sim.reset();
    await sim.loadMemory(memory);
    await sim.loadProgram(program.words);
    const r = await sim.run(0, this.opts.maxCycles ?? 50_000_000);
    const out = await sim.saveMemory();
    if (r.status === 'done') return { status: 'done', memory: out, cycles: r.cycles };
    if (r.status === 'timeout') return { status: 'error', memory: out, errClass: 'timeout', message: `no SYS end after ${r.cycles} cycles`, cycles: r.cycles };
    if (r.errCode === 0) return { status: 'error', memory: out, errClass: 'external', message: r.fault ?? r.errText, cycles: r.cycles };
    return { status: 'error', memory: out, errClass: ERR_NAME.get(r.errCode) ?? `code ${r.errCode}`, errPc: r.errPc, message: r.errText, cycles: r.cycles };
  }

  async close(): Promise<void> {
    for (const s of this.sims.values()) await (await s).close();
    this.sims.clear();
  }
}
