import { beforeAll, describe, expect, it } from 'vitest';
import { Design, emitDesign } from '../../src/hdl/index.ts';
import { controller, controllerParams, type ControllerConfig } from '../../src/arch/control/controller.ts';
import { checkInstr, dispatchModel, ENGINE_QUEUES, type DispatchTrace, type Outcome } from '../../src/arch/control/model.ts';
import { CSR, ERR } from '../../src/arch/control/status.ts';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { assemble } from '../../src/isa/asm.ts';
import { decodeWords, IsaDecodeError } from '../../src/isa/decode.ts';
import { encode, encodeProgram, putBits } from '../../src/isa/encode.ts';
import { layoutFields, LEN_REGS, OPS, OPS_BY_CODE, QUEUES, slices, type FieldSpec, type QueueName } from '../../src/isa/table.ts';
import { queueInstrBits } from '../../src/isa/hdl-fields.ts';
import type { AnyInstr, Instr } from '../../src/isa/instr.ts';
import { GoldenMachine, MachineError } from '../../src/golden/machine.ts';
import { MemoryImage } from '../../src/compiler/memory.ts';
import { VerilatorSim, type PortValue } from '../../src/sim/verilator.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { Rng } from '../../src/util/random.ts';
import { controllerBench, DUR_BITS, fetchBench, NOW_BITS } from '../fixtures/controller-bench.ts';
import { randomInstr } from '../isa/random-instr.ts';

const CP = controllerParams(DEFAULT_CONFIG);
/** A second design at the small end: one-entry queues, two loop levels, three tokens per counter. */
const SMALL = controllerParams({ queueDepth: 1, loopDepth: 2 }, { tokenDepth: 3, watchdogCycles: 1000 });

interface Bench {
  readonly cp: ControllerConfig;
  readonly sim: VerilatorSim;
}
const IMEM = 4096;
const LOG_DEPTH = 1024;

const toWords = (b: Uint8Array) => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const asm = (text: string) => toWords(assemble(text));
const cat32 = (...parts: Uint32Array[]) => Uint32Array.from(parts.flatMap((p) => [...p]));

/** Sets a field of an encoded instruction (clearing it first), by name from the table. */
function setField(words: Uint32Array, op: string, name: string, v: number): Uint32Array {
  const spec = OPS.get(op)!;
  const f = [...layoutFields(spec)].find((x) => x.name === name) as FieldSpec;
  for (const s of slices(f)) words[s.word] = (words[s.word]! & ~(((2 ** s.width - 1) << s.lsb) >>> 0)) >>> 0;
  putBits(words, f, v);
  return words;
}

// ---- random well-formed programs --------------------------------------------------------
type Mutable = Record<string, unknown> & { op: string; wait: QueueName[]; release: QueueName[] };
interface Node {
  instr: Mutable;
  body?: Node[];
}
const ENGINE_OPS = ['LD', 'ST', 'MM', 'MV', 'SFU'];
const LOOP_WORDS = OPS.get('LOOP')!.words;
const sysInstr = (fn: string, reg = 'L0', imm: unknown = 0): Mutable => ({ op: 'SYS', fn, reg, imm, wait: [], release: [] });

/** How genBlock nests: LOOP probability per item, body lengths (items) and static counts. */
interface Shape {
  readonly loop: number;
  readonly body: (rng: Rng, depth: number) => number;
  readonly counts: readonly number[];
}
const PLAIN: Shape = { loop: 0.14, body: (rng) => (rng.int(0, 5) ? rng.int(1, 4) : rng.int(5, 10)), counts: [0, 1, 1, 2, 3] };
/**
 * Loop-heavy: nests three deep, outer bodies often far longer than the half ring the fetch
 * protects for replays (up to about 100 words), so replays of bodies that partly left the
 * ring, rewinds to nested targets and ring wrap-around all occur (fuzz seed 1031).
 */
const LOOPY: Shape = { loop: 0.3, body: (rng, depth) => (depth === 0 && rng.int(0, 2) ? rng.int(7, 14) : rng.int(0, 1) ? rng.int(4, 8) : rng.int(1, 3)), counts: [1, 2, 2, 3] };

function genBlock(rng: Rng, n: number, depth: number, maxDepth: number, shape: Shape = PLAIN): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < shape.loop && depth < maxDepth) {
      // L0..L3 stay in 0..3 so dyn loop counts stay small.
      const count = rng.int(0, 3) === 0 ? { reg: rng.int(0, 3), offset: rng.int(0, 1) } : rng.pick(shape.counts);
      out.push({ instr: { op: 'LOOP', count, body: 0, wait: [], release: [] }, body: genBlock(rng, shape.body(rng, depth), depth + 1, maxDepth, shape) });
    } else if (r < shape.loop + 0.1) {
      const reg = rng.int(0, 7);
      const imm = reg < 4 ? (rng.int(0, 1) ? rng.int(0, 3) : { reg: rng.int(0, 3), offset: 0 }) : rng.int(0, 1) ? rng.int(0, 2 ** 32 - 1) : { reg: rng.int(0, 7), offset: rng.int(-5000, 100000) };
      out.push({ instr: sysInstr('setlen', LEN_REGS[reg], imm) });
    } else if (r < shape.loop + 0.15) {
      out.push({ instr: sysInstr('sync') });
    } else {
      const ins = randomInstr(rng, OPS.get(rng.pick(ENGINE_OPS))!) as unknown as Mutable;
      out.push({ instr: { ...ins, wait: [], release: [] } });
    }
  }
  return out;
}

/**
 * Tokens inside one block (a LOOP body is its own block, balanced per iteration): waits take
 * tokens released earlier in the block; releases nobody consumed are dropped again (the latest
 * ones, which keeps every counter non-negative).
 */
function assignTokens(rng: Rng, block: Node[], cap: number): void {
  const pending = QUEUES.map(() => QUEUES.map(() => 0));
  const rels: { node: Node; p: number; c: number }[] = [];
  for (const node of block) {
    const c = QUEUES.indexOf(OPS.get(node.instr.op)!.queue);
    for (let p = 0; p < QUEUES.length; p++) {
      if (p !== c && pending[p]![c]! > 0 && rng.int(0, 1)) {
        node.instr.wait.push(QUEUES[p]!);
        pending[p]![c]!--;
      }
    }
    if (node.instr.op !== 'LOOP') {
      for (let r = 0; r < QUEUES.length; r++) {
        if (r !== c && pending[c]![r]! < cap && rng.int(0, 3) === 0) {
          node.instr.release.push(QUEUES[r]!);
          pending[c]![r]!++;
          rels.push({ node, p: c, c: r });
        }
      }
    }
    if (node.body) assignTokens(rng, node.body, cap);
  }
  for (let i = rels.length - 1; i >= 0; i--) {
    const { node, p, c } = rels[i]!;
    if (pending[p]![c]! > 0) {
      node.instr.release = node.instr.release.filter((q) => q !== QUEUES[c]);
      pending[p]![c]!--;
    }
  }
}

function flatten(block: Node[]): Mutable[] {
  const out: Mutable[] = [];
  for (const node of block) {
    out.push(node.instr);
    if (node.body) {
      const b = flatten(node.body);
      node.instr.body = b.length;
      out.push(...b);
    }
  }
  return out;
}

/**
 * A random program whose outstanding tokens per queue pair stay within tokenDepth in program
 * order (the compiler's rule): each block holds at most `cap` per pair, blocks nest loopDepth deep.
 */
function randomProgram(rng: Rng, items: number, cp: ControllerConfig, shape: Shape = PLAIN): Uint32Array {
  const top = genBlock(rng, items, 0, shape === LOOPY ? Math.min(3, cp.loopDepth) : cp.loopDepth, shape);
  assignTokens(rng, top, Math.max(1, Math.floor(cp.tokenDepth / (cp.loopDepth + 1))));
  return toWords(encodeProgram([...flatten(top), sysInstr('end')] as unknown as AnyInstr[]));
}

// ---- the bench and its scripts ------------------------------------------------------------
interface Job {
  readonly name: string;
  readonly prog: Uint32Array;
  readonly base: number;
  readonly lens: readonly number[];
  readonly serial?: boolean;
  /** Probability of an IF stall per cycle (AR and R independently). */
  readonly stall?: number;
  /** Engine delay inputs: random 0..15 or 0. */
  readonly fast?: boolean;
  /** Engine delay inputs all 15 (every engine instruction 16 cycles longer). */
  readonly slow?: boolean;
  /** Fake engines fail an instruction whose word 1 equals this. */
  readonly magic?: number;
  /** Expected outcome when the model cannot know it (engine errors). */
  readonly expect?: Outcome;
  readonly budget?: number;
  readonly reset?: boolean;
  /** Host writes to L7 and START_PC while the program runs (they must be ignored). */
  readonly busyWrites?: boolean;
  /** First start this program (it must fail at once), then after `cycles` start the job's own. */
  readonly pre?: { readonly prog: Uint32Array; readonly base: number; readonly cycles: number };
}

interface LogEntry {
  readonly instr: bigint;
  readonly now: number;
  readonly dur: number;
}

interface JobResult {
  readonly job: Job;
  readonly trace: DispatchTrace;
  readonly csr: Record<number, number>;
  readonly starts: number[];
  readonly logs: LogEntry[][];
  readonly viol: boolean;
  /** STATUS and ERR_CODE after the `pre` program. */
  readonly pre?: { status: number; code: number };
}

const CSR_READS = [CSR.CTRL, CSR.START_PC, CSR.STATUS, CSR.ERR_CODE, CSR.ERR_PC, CSR.CYCLES_LO, CSR.CYCLES_HI, CSR.INSTRS, ...LEN_REGS.map((_, i) => CSR.LEN0 + i), CSR.BUSY_LD, CSR.BUSY_ST, CSR.BUSY_MX, CSR.BUSY_SFU];
const csrW = (addr: number, data: number) => ({ csr_wr_en: 1, csr_addr: addr, csr_wr_data: data >>> 0 });
const ENGINE_BITS = ENGINE_QUEUES.map((q) => queueInstrBits(q));

function budgetFor(t: DispatchTrace, job: Job, cp: ControllerConfig): number {
  const engine = ENGINE_QUEUES.reduce((n, q) => n + t.queues[q].length, 0);
  let b = 200 + 14 * t.instrs + 40 * engine + 30 * t.iterations + (job.serial ? 40 * engine : 0);
  b = Math.ceil(b * (1 + 3 * (job.stall ?? 0)));
  if (t.outcome.kind === 'error' && t.outcome.code === ERR.deadlock) b += cp.watchdogCycles + 200;
  return b;
}

async function runJobs({ sim, cp }: Bench, jobs: readonly Job[], seed: number): Promise<JobResult[]> {
  const rng = new Rng(seed);
  const mirror = new Uint32Array(IMEM);
  const cyc: Record<string, PortValue>[] = [{ rst: 1 }];
  const marks = jobs.map((job) => {
    if (job.reset) cyc.push({ rst: 1 });
    cyc.push({ clear: 1 });
    const load = (prog: Uint32Array, base: number) =>
      prog.forEach((w, i) => {
        const a = (base + i) % IMEM;
        mirror[a] = w;
        cyc.push({ imem_we: 1, imem_addr: a, imem_data: w });
      });
    if (job.pre) load(job.pre.prog, job.pre.base);
    load(job.prog, job.base);
    const snapshot = Uint32Array.from(mirror);
    const trace = dispatchModel((a) => snapshot[a % IMEM]!, job.base, job.lens, { loopDepth: cp.loopDepth, maxInstrs: 20_000 });
    job.lens.forEach((v, r) => cyc.push(csrW(CSR.LEN0 + r, v)));
    let preAt: number | undefined;
    if (job.pre) {
      cyc.push(csrW(CSR.START_PC, job.pre.base));
      cyc.push(csrW(CSR.CTRL, 1));
      for (let c = 0; c < job.pre.cycles; c++) cyc.push({});
      preAt = cyc.length;
      cyc.push({ csr_addr: CSR.STATUS }, { csr_addr: CSR.ERR_CODE });
    }
    cyc.push(csrW(CSR.START_PC, job.base));
    const run = (): Record<string, PortValue> => ({
      ar_stall: rng.next() < (job.stall ?? 0) ? 1 : 0,
      r_stall: rng.next() < (job.stall ?? 0) ? 1 : 0,
      delays: job.fast ? 0 : job.slow ? 0xffff : rng.int(0, 0xffff),
      magic: job.magic ?? 0,
      magic_en: job.magic === undefined ? 0 : 1,
    });
    cyc.push({ ...run(), ...csrW(CSR.CTRL, 1 | (job.serial ? 2 : 0)) });
    const budget = job.budget ?? budgetFor(trace, job, cp);
    for (let c = 0; c < budget; c++) cyc.push({ ...run(), ...(job.busyWrites && c === 3 ? csrW(CSR.LEN0 + 7, 0xdeadbeef) : job.busyWrites && c === 4 ? csrW(CSR.START_PC, 0x77) : {}) });
    const csrAt = CSR_READS.map((a) => {
      cyc.push({ csr_addr: a });
      return cyc.length - 1;
    });
    // Log reads: the address in one cycle, the data in the next.
    const logAt = ENGINE_QUEUES.map((q, k) => {
      const rows = trace.queues[q].slice(0, LOG_DEPTH).map((_, i) => {
        cyc.push({ log_sel: k, log_addr: i });
        return cyc.length;
      });
      cyc.push({ log_sel: k }); // log_sel picks the engine's registered read data: hold it for the last one
      return rows;
    });
    return { job, trace, csrAt, logAt, preAt };
  });
  cyc.push({});
  const out = await sim.run(cyc);
  return marks.map(({ job, trace, csrAt, logAt, preAt }) => {
    const last = out[csrAt[0]!]!;
    return {
      job,
      trace,
      pre: preAt === undefined ? undefined : { status: Number(out[preAt]!.csr_rd_data), code: Number(out[preAt + 1]!.csr_rd_data) },
      csr: Object.fromEntries(CSR_READS.map((a, i) => [a, Number(out[csrAt[i]!]!.csr_rd_data)])),
      starts: ENGINE_QUEUES.map((q, k) => Number(last[`${['ld', 'st', 'mx', 'sfu'][k]}_starts`])),
      logs: logAt.map((rows, k) =>
        rows.map((t) => {
          const v = out[t]!.log_data!;
          const bits = BigInt(ENGINE_BITS[k]!);
          return { instr: v & ((1n << bits) - 1n), now: Number((v >> bits) & ((1n << BigInt(NOW_BITS)) - 1n)), dur: Number((v >> (bits + BigInt(NOW_BITS))) & ((1n << BigInt(DUR_BITS)) - 1n)) };
        }),
      ),
      viol: last.viol === 1n,
    };
  });
}

const asBig = (w: Uint32Array) => w.reduceRight((acc, x) => (acc << 32n) | BigInt(x), 0n);

/** Every check of a run that ended with SYS end. */
function checkDone(r: JobResult): void {
  const { job, trace, csr } = r;
  const at = `${job.name}`;
  expect(trace.outcome, at).toEqual({ kind: 'done' });
  expect({ status: csr[CSR.STATUS], code: csr[CSR.ERR_CODE] }, at).toEqual({ status: 2, code: 0 });
  expect(csr[CSR.INSTRS], `${at} INSTRS`).toBe(trace.instrs);
  expect(LEN_REGS.map((_, i) => csr[CSR.LEN0 + i]), `${at} L registers`).toEqual(trace.regs);
  expect(csr[CSR.CYCLES_LO]!, at).toBeGreaterThan(0);
  expect(csr[CSR.CYCLES_HI], at).toBe(0);
  expect(csr[CSR.START_PC], at).toBe(job.base);
  expect(csr[CSR.CTRL], at).toBe(job.serial ? 2 : 0);
  expect(r.viol, `${at}: engine started while busy or IF port rule broken`).toBe(false);
  ENGINE_QUEUES.forEach((q, k) => {
    const want = trace.queues[q];
    expect(r.starts[k], `${at} ${q} starts`).toBe(want.length);
    const got = r.logs[k]!;
    want.forEach((d, i) => expect(got[i]!.instr, `${at} ${q}[${i}] (pc ${d.pc})`).toBe(asBig(d.words)));
    expect(csr[CSR.BUSY_LD + k], `${at} BUSY_${q}`).toBe(got.reduce((s, e) => s + e.dur, 0));
  });
  // Times: tokens between engines, syncs, serial mode.
  const ev = ENGINE_QUEUES.flatMap((q, k) => trace.queues[q].map((d, i) => ({ ...d, q: QUEUES.indexOf(q), start: r.logs[k]![i]!.now, done: r.logs[k]![i]!.now + r.logs[k]![i]!.dur })));
  for (const p of ENGINE_QUEUES.map((q) => QUEUES.indexOf(q))) {
    for (const c of ENGINE_QUEUES.map((q) => QUEUES.indexOf(q))) {
      if (p === c) continue;
      const rel = ev.filter((e) => e.q === p && e.release & (1 << c)).sort((a, b) => a.seq - b.seq);
      const wt = ev.filter((e) => e.q === c && e.wait & (1 << p)).sort((a, b) => a.seq - b.seq);
      expect(wt.length, `${at} ${QUEUES[p]}->${QUEUES[c]} tokens`).toBeLessThanOrEqual(rel.length);
      wt.forEach((w, k) => expect(w.start, `${at} wait ${k} of ${QUEUES[c]} on ${QUEUES[p]}`).toBeGreaterThan(rel[k]!.done));
    }
  }
  const byEpoch = [...ev].sort((a, b) => a.epoch - b.epoch);
  let doneBefore = -1;
  let epochDone = -1;
  let epoch = -1;
  for (const e of byEpoch) {
    if (e.epoch !== epoch) {
      doneBefore = Math.max(doneBefore, epochDone);
      epoch = e.epoch;
    }
    expect(e.start, `${at}: instruction at pc ${e.pc} started before a sync completed`).toBeGreaterThan(doneBefore);
    epochDone = Math.max(epochDone, e.done);
  }
  if (job.serial) {
    const seq = [...ev].sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < seq.length; i++) expect(seq[i]!.start, `${at} serial`).toBeGreaterThan(seq[i - 1]!.done);
  }
}

function checkError(r: JobResult): void {
  const want = r.job.expect ?? r.trace.outcome;
  expect(want.kind, r.job.name).toBe('error');
  if (want.kind !== 'error') return;
  expect({ status: r.csr[CSR.STATUS], code: r.csr[CSR.ERR_CODE], pc: r.csr[CSR.ERR_PC] }, r.job.name).toEqual({ status: 4, code: want.code, pc: want.pc });
  expect(r.viol, r.job.name).toBe(false);
}

function randomJob(rng: Rng, cp: ControllerConfig, name: string, extra: Partial<Job> = {}, shape: Shape = PLAIN): Job {
  for (;;) {
    const prog = shape === LOOPY ? randomProgram(rng, rng.int(3, 10), cp, LOOPY) : randomProgram(rng, rng.int(6, 28), cp);
    const lens = LEN_REGS.map((_, i) => (i < 4 ? rng.int(0, 3) : rng.int(0, 2 ** 32 - 1)));
    const base = rng.int(0, IMEM - prog.length - 1);
    const t = dispatchModel((a) => (a - base >= 0 && a - base < prog.length ? prog[a - base]! : 0), base, lens, { loopDepth: cp.loopDepth, maxInstrs: 20_000 });
    const n = ENGINE_QUEUES.reduce((s, q) => s + t.queues[q].length, 0);
    if (t.instrs > 700 || n > LOG_DEPTH) continue;
    return { name, prog, base, lens, stall: rng.pick([0, 0, 0.2, 0.5]), serial: rng.int(0, 4) === 0, ...extra };
  }
}

let big: Bench;
let small: Bench;
let fetchSim: VerilatorSim;

describe('controller', () => {
  beforeAll(async () => {
    const build = async (cp: ControllerConfig): Promise<Bench> => {
      const d = new Design();
      const top = d.elaborate(controllerBench, { ...cp, imemWords: IMEM, logDepth: LOG_DEPTH });
      return { cp, sim: await VerilatorSim.build(top, emitDesign(d, top)) };
    };
    const fetchTop = async () => {
      const d = new Design();
      const top = d.elaborate(fetchBench, { words: 1024, bufferWords: CP.fetchWords });
      return VerilatorSim.build(top, emitDesign(d, top));
    };
    [big, small, fetchSim] = await Promise.all([build(CP), build(SMALL), fetchTop()]);
  });

  it('lints clean under verilator -Wall', async () => {
    const d = new Design();
    const top = d.elaborate(controller, CP);
    expect((await verilatorLint(emitDesign(d, top), top.name)).messages).toEqual([]);
    const d2 = new Design();
    const tiny = d2.elaborate(controller, controllerParams({ queueDepth: 1, loopDepth: 1 }, { tokenDepth: 1, watchdogCycles: 100, fetchWords: 128 }));
    expect((await verilatorLint(emitDesign(d2, tiny), tiny.name)).messages).toEqual([]);
  });

  it('the dispatch model agrees with golden run() (registers, instruction count, errors) and its decode checks with decodeWords', () => {
    const rng = new Rng(11);
    const hw = { ...DEFAULT_CONFIG, chains: 4, chainLength: 16, actWidth: 16, weightDepth: 64, accDepth: 256, actDepth: 64, kvDepth: 4096, globalDepth: 4096, biasDepth: 1024 };
    // Engine instructions that do nothing in the golden model, so its run() checks only order, tokens and registers.
    const nops: [QueueName, string][] = [
      ['LD', 'LD buf=act dtype=int8 space=hbm addr=0 chan=0 sram=0 len=0'],
      ['ST', 'ST buf=act dtype=int8 space=ddr addr=0 chan=0 sram=0 len=L2'],
      ['SFU', 'SFU fn=copy itype=int32 otype=int32 len=0 rows=0 abuf=global dbuf=global a=0 d=0'],
    ];
    const CODES: [RegExp, number][] = [[/LOOP body must/, ERR.loopBody], [/past the enclosing/, ERR.loopBody], [/nest deeper/, ERR.loopDepth], [/unconsumed tokens/, ERR.tokens], [/inside a LOOP/, ERR.endInLoop], [/waits for a/, ERR.deadlock], [/ran past the end/, ERR.opcode]];
    let errors = 0;
    for (let n = 0; n < 200; n++) {
      const lines: string[] = [];
      const items = rng.int(3, 25);
      for (let i = 0; i < items; i++) {
        const r = rng.next();
        const [queue, text] = r < 0.15 ? (['SYS', `LOOP count=${rng.pick(['0', '1', '2', 'L0', 'L0+1'])} body=${rng.pick([0, 1, 1, 2, 3, 5])}`] as const)
          : r < 0.35 ? (['SYS', `SYS fn=setlen reg=L${rng.int(0, 1)} imm=${rng.pick(['0', '1', '2', 'L0', 'L1+1', 'L0-1'])}`] as const)
          : r < 0.4 ? (['SYS', 'SYS fn=sync'] as const)
          : r < 0.43 ? (['SYS', 'SYS fn=end'] as const)
          : rng.pick(nops);
        const others = ['LD', 'ST', 'SFU', 'SYS'].filter((q) => q !== queue);
        const wait = rng.int(0, 3) === 0 ? ` wait=${rng.pick(others)}` : '';
        const release = rng.int(0, 3) === 0 && !text.startsWith('LOOP') ? ` release=${rng.pick(others)}` : '';
        lines.push(text + wait + release);
      }
      lines.push('SYS fn=end');
      const bytes = assemble(lines.join('\n'));
      const words = toWords(bytes);
      const lens = [rng.int(0, 2), rng.int(0, 2), rng.int(0, 3), 0, 0, 0, 0, 0];
      let t: DispatchTrace;
      try {
        t = dispatchModel((a) => words[a] ?? 0, 0, lens, { loopDepth: 4, maxInstrs: 20_000 });
      } catch {
        continue; // a count of L0-1 = 65535 iterations: too long to be worth comparing
      }
      const g = new GoldenMachine(hw, new MemoryImage(64, 64));
      g.regs.splice(0, 8, ...lens);
      const prog = (() => {
        const out: Instr[] = [];
        const starts: number[] = [];
        for (let at = 0; at < words.length; ) {
          const op = OPS_BY_CODE.get(words[at]! & 15)!;
          starts.push(at);
          out.push(decodeWords(words.slice(at, at + op.words)));
          at += op.words;
        }
        return { out, starts };
      })();
      let outcome: Outcome;
      try {
        g.run(prog.out);
        outcome = { kind: 'done' };
      } catch (e) {
        if (!(e instanceof MachineError)) throw e;
        const code = CODES.find(([re]) => re.test(e.message))?.[1];
        if (code === undefined) throw e;
        // Past the end (a count-0 body running off the program) the controller decodes the zero word after it.
        outcome = { kind: 'error', code, pc: prog.starts[e.index] ?? words.length };
      }
      // A count-0 LOOP whose body runs past the enclosing one: run() jumps past the enclosing end (it never checks); the controller reports it.
      if (t.outcome.kind === 'error' && t.outcome.code === ERR.loopBody && JSON.stringify(outcome) !== JSON.stringify(t.outcome)) continue;
      expect(t.outcome, lines.join('\n')).toEqual(outcome);
      if (outcome.kind === 'done') {
        expect(t.regs).toEqual(g.regs);
        expect(t.instrs).toBe(g.stats.instructions);
      } else errors++;
    }
    expect(errors).toBeGreaterThan(20);

    // Decode checks: random valid instructions with random bits flipped; the model's code is
    // 0 exactly when decodeWords accepts, else the code of decodeWords' complaint.
    const seen = new Map<number, number>();
    for (let n = 0; n < 10000; n++) {
      const w = encode(randomInstr(rng));
      for (let k = rng.int(0, 2); k > 0; k--) {
        const bit = rng.int(0, 32 * w.length - 1);
        w[bit >> 5] = (w[bit >> 5]! ^ (1 << (bit & 31))) >>> 0;
      }
      const c = checkInstr((a) => w[a] ?? 0, 0);
      const op = OPS_BY_CODE.get(w[0]! & 15);
      let want = 0;
      try {
        if (!op) throw new IsaDecodeError(0, 'unknown opcode');
        const padded = new Uint32Array(op.words);
        padded.set(w.slice(0, op.words));
        decodeWords(padded);
      } catch (e) {
        if (!(e instanceof IsaDecodeError)) throw e;
        want = /unknown opcode/.test(e.detail) ? ERR.opcode : /: value \d+ out of range/.test(e.detail) ? ERR.enumValue : ERR.reserved;
      }
      seen.set(want, (seen.get(want) ?? 0) + 1);
      expect(c.code, `${[...w].map((x) => x.toString(16))}`).toBe(want);
    }
    for (const code of [0, ERR.opcode, ERR.reserved, ERR.enumValue]) expect(seen.get(code), `code ${code}`).toBeGreaterThan(20);
  });

  it('fetch ring: each word handed out is the memory word at its address, through random pops, rewinds into the ring, far jumps, stalls and pauses', async () => {
    const rng = new Rng(12);
    const mem = Uint32Array.from({ length: 1024 }, () => rng.int(0, 2 ** 32 - 1));
    const cyc: Record<string, PortValue>[] = [{ rst: 1 }, { clear: 1 }];
    mem.forEach((w, a) => cyc.push({ imem_we: 1, imem_addr: a, imem_data: w }));
    cyc.push({ enable: 1, redirect: 1, target: 100 });
    let stall = 0;
    let popRate = 0.8;
    // Rare jumps let the history grow past the protected half ring; a pause after a jump back
    // (the dispatcher waiting on an engine) lets the words in flight land before the replay.
    let jumpRate = 0.03;
    let pause = 0;
    let paused = 0;
    /** Cycles of jumps followed by a pause (a refetch would look as quick as a replay). */
    const pausedJumps = new Set<number>();
    for (let t = 0; t < 30000; t++) {
      if (t % 500 === 0) {
        stall = rng.pick([0, 0, 0.3, 0.7]);
        popRate = rng.pick([0.2, 0.8, 1, 1]);
        jumpRate = rng.pick([0.03, 0.03, 0.01]);
        pause = rng.pick([0, 0, 12, 30]);
      }
      const redirect = rng.next() < jumpRate ? 1 : 0;
      const pop = paused > 0 ? 0 : rng.next() < popRate ? 1 : 0;
      paused = redirect ? pause : Math.max(0, paused - 1);
      if (redirect && pause) pausedJumps.add(cyc.length);
      cyc.push({
        enable: rng.next() < 0.01 ? 0 : 1,
        pop,
        redirect,
        reuse: rng.next() < 0.8 ? 1 : 0,
        back: rng.pick([rng.int(0, 8), rng.int(0, 40), rng.int(24, 40), rng.int(0, 80), rng.int(32, 64)]), // the ring keeps about 32 handed-out words, often more
        target: rng.int(0, 2 ** 32 - 1),
        ar_stall: rng.next() < stall ? 1 : 0,
        r_stall: rng.next() < stall ? 1 : 0,
      });
    }
    const out = await fetchSim.run(cyc);
    let expectAddr: number | undefined;
    let pops = 0;
    let quick = 0;
    let sinceRedirect = -1;
    out.forEach((o, t) => {
      if (o.popped === 1n) {
        pops++;
        const addr = Number(o.addr);
        if (expectAddr !== undefined) expect(addr, `cycle ${t}`).toBe(expectAddr);
        expect(Number(o.word), `cycle ${t}: word at ${addr}`).toBe(mem[addr % 1024]);
        expectAddr = (addr + 1) >>> 0;
        if (sinceRedirect >= 0 && sinceRedirect <= 2) quick++;
        sinceRedirect = -1;
      }
      if (cyc[t]!.redirect) {
        expectAddr = Number(o.jump_to);
        sinceRedirect = pausedJumps.has(t) ? -1 : 0;
      } else if (sinceRedirect >= 0) sinceRedirect++;
      expect(o.viol, `cycle ${t}`).toBe(0n);
    });
    expect(pops).toBeGreaterThan(3000);
    expect(quick, 'rewinds served from the ring').toBeGreaterThan(30);
  });

  it('random programs (LOOPs, setlen, sync, dyn fields, tokens; serial mode; IF stalls; restarts without reset): each engine receives what run() dispatches, in order, resolved', async () => {
    for (const [bench, seed, n] of [[big, 2024, 36], [small, 77, 24]] as const) {
      const rng = new Rng(seed);
      const jobs = Array.from({ length: n }, (_, i) => randomJob(rng, bench.cp, `${bench === big ? 'default' : 'small'} design, random ${i}`, i % 9 === 4 ? { reset: true } : { busyWrites: i % 3 === 1 }));
      const results = await runJobs(bench, jobs, seed);
      for (const r of results) checkDone(r);
      const loops = results.reduce((s, r) => s + r.trace.iterations, 0);
      const dispatched = results.reduce((s, r) => s + ENGINE_QUEUES.reduce((k, q) => k + r.trace.queues[q].length, 0), 0);
      expect(loops).toBeGreaterThan(20);
      expect(dispatched).toBeGreaterThan(300);
    }
  });

  it('LOOP bodies longer than the half ring the fetch protects replay right while bursts are in flight (fuzz seed 1031); loop-heavy random programs', async () => {
    const sfu = (fn: string) => `SFU fn=${fn} itype=int32 otype=int32 len=4 rows=1 abuf=global dbuf=global a=0 d=0x100`;
    const ld = (buf: string, count0: number) => `LD buf=${buf} dtype=int8 space=ddr addr=0x100 chan=3 sram=0x10 len=16 count0=${count0}`;
    const lens = [0, 0, 0, 0, 0, 0, 0, 0];
    // The shape of fuzz seed 1031: a 49-word outer body holding two nested LOOPs. When it jumps
    // back, 53 words are history, 11 unread and 15 on their way from bursts the fetch requested
    // (only half the ring is protected for replays); the replay turns the 50 words back into
    // unread ones, the dispatcher stops at the sync behind the SFU, and the 15 words used to
    // land over the replayed ones: ERR.opcode at the middle LOOP.
    const nested = (pre: number, outer: number) =>
      asm([
        ...Array.from({ length: pre }, () => sfu('copy')),
        `LOOP count=${outer} body=15`,
        sfu('requant'),
        'SYS fn=setlen reg=L1',
        'SYS fn=sync',
        'LOOP count=3 body=8',
        'SYS fn=setlen reg=L4 imm=L1+3',
        'SYS fn=sync',
        'LOOP count=2 body=3',
        'SYS fn=setlen reg=L4 imm=L4+4',
        ld('kv', 4),
        ld('weight', 2),
        'SYS fn=sync',
        'SYS fn=setlen reg=L1 imm=L1',
        'SYS fn=sync',
        'SYS fn=setlen imm=L0+16',
        'SYS fn=sync',
        sfu('copy'),
        'SYS fn=end',
      ].join('\n'));
    // The same in one level: a 49- or 53-word body starting with an SFU and a sync.
    const flat = (n: number) => asm([`LOOP count=3 body=${n + 2}`, sfu('requant'), 'SYS fn=sync', ...Array.from({ length: n }, () => 'SYS fn=setlen reg=L4 imm=L4+1'), 'SYS fn=end'].join('\n'));
    const crafted: Job[] = [];
    for (const pre of [0, 1, 2, 3, 4]) for (const off of [0, 3, 7, 11, 14]) crafted.push({ name: `nested, ${pre} SFU before, base +${off}`, prog: nested(pre, 2 + (off & 2)), base: 0x200 + 0x40 * pre + off, lens, fast: true });
    for (const n of [20, 22]) for (const off of [0, 3, 11]) crafted.push({ name: `flat ${n + 2}-instruction body, base +${off}`, prog: flat(n), base: 0x600 + off, lens, fast: true });
    crafted.push({ name: 'nested, random engine times', prog: nested(0, 4), base: 0x700, lens });
    crafted.push({ name: 'nested, slow engines', prog: nested(1, 4), base: 0x740, lens, slow: true });
    crafted.push({ name: 'nested, IF stalls', prog: nested(2, 4), base: 0x780, lens, stall: 0.3 });
    for (const r of await runJobs(big, crafted, 31)) checkDone(r);

    // Loop-heavy random programs: three levels, long bodies, slow engines, IF stalls.
    const longest = (prog: Uint32Array): number => {
      const at: number[] = [];
      for (let a = 0; a < prog.length; a += OPS_BY_CODE.get(prog[a]! & 15)!.words) at.push(a);
      at.push(prog.length);
      let most = 0;
      at.forEach((a, i) => {
        if (i < at.length - 1 && OPS_BY_CODE.get(prog[a]! & 15)!.name === 'LOOP') {
          const { body } = decodeWords(prog.slice(a, a + LOOP_WORDS)) as unknown as { body: number };
          most = Math.max(most, at[Math.min(i + 1 + body, at.length - 1)]! - at[i + 1]!);
        }
      });
      return most;
    };
    for (const [bench, seed, n] of [[big, 1031, 40], [small, 1032, 16]] as const) {
      const rng = new Rng(seed);
      const jobs = Array.from({ length: n }, (_, i) => randomJob(rng, bench.cp, `${bench === big ? 'default' : 'small'} design, loop-heavy random ${i}`, i % 4 === 1 ? { slow: true } : i % 4 === 2 ? { fast: true } : {}, LOOPY));
      const results = await runJobs(bench, jobs, seed);
      for (const r of results) checkDone(r);
      expect(jobs.filter((j) => longest(j.prog) > 40).length, 'programs with a LOOP body over 40 words').toBeGreaterThan(n / 4);
      expect(results.reduce((s, r) => s + r.trace.iterations, 0)).toBeGreaterThan(5 * n);
    }
  });

  it('every error code fires with its ERR_PC, and the next start runs normally', async () => {
    const rng = new Rng(99);
    const sfu = 'SFU fn=copy itype=int32 otype=int32 len=4 rows=1 abuf=global dbuf=global a=0 d=0x100';
    const ld = 'LD buf=act dtype=int8 space=hbm addr=0x12345678 chan=1 sram=0 len=16 release=MX';
    const mv = 'MV pattern=dense wprec=int8 aprec=int8 cols=16 rows=16 wbase=0 mbase=0 sbase=0 abase=0 obase=0';
    const end = 'SYS fn=end';
    const sfuW = asm(sfu);
    const word = (w: number) => Uint32Array.of(w);
    const nest = (n: number) => Array.from({ length: n }, (_, i) => `LOOP count=1 body=${n - i}`).join('\n');
    const crafted: { name: string; prog: Uint32Array; code: number; at?: number; magic?: number }[] = [
      { name: 'opcode', prog: cat32(sfuW, word(0xe), asm(end)), code: ERR.opcode },
      { name: 'reserved bit (MV.m)', prog: cat32(sfuW, setField(asm(mv), 'MM', 'm', 3), asm(end)), code: ERR.reserved },
      { name: 'reserved: wait on own queue', prog: cat32(setField(asm(ld.replace(' release=MX', '')), 'LD', 'wait', 1), asm(end)), code: ERR.reserved },
      { name: 'reserved: slot index past the dyn fields', prog: cat32(sfuW, setField(asm('SYS fn=setlen reg=L1 imm=5'), 'SYS', 'dyn0.field', 2), asm(end)), code: ERR.reserved },
      { name: 'reserved: slot register without index', prog: cat32(setField(asm(sfu), 'SFU', 'dyn1.reg', 3), asm(end)), code: ERR.reserved },
      { name: 'reserved: slots out of order', prog: cat32(asm('LD buf=act dtype=int8 space=hbm addr=L1+0 chan=1 sram=L2+0 len=16'), asm(end)).map((w, i) => (i === 0 ? setField(Uint32Array.of(w), 'LD', 'dyn0.field', 2)[0]! : w)), code: ERR.reserved },
      { name: 'enum: SFU fn 12', prog: cat32(sfuW, setField(asm(sfu), 'SFU', 'fn', 12), asm(end)), code: ERR.enumValue },
      { name: 'enum: SYS fn 3', prog: cat32(setField(asm(end), 'SYS', 'fn', 3), asm(end)), code: ERR.enumValue },
      { name: 'loop too deep', prog: asm(`${nest(CP.loopDepth + 1)}\n${sfu}\n${end}`), code: ERR.loopDepth },
      { name: 'loop body 0', prog: asm(`${sfu}\nLOOP count=2 body=0\n${sfu}\n${end}`), code: ERR.loopBody },
      { name: 'body past the enclosing one', prog: asm(`LOOP count=2 body=2\nLOOP count=2 body=3\n${sfu}\n${sfu}\n${sfu}\n${end}`), code: ERR.loopBody },
      { name: 'count-0 body past the enclosing one', prog: asm(`LOOP count=2 body=2\nLOOP count=0 body=3\n${sfu}\n${sfu}\n${sfu}\n${end}`), code: ERR.loopBody },
      { name: 'bad opcode inside a skipped body', prog: cat32(asm(`LOOP count=0 body=2\n${sfu}`), word(0xf), asm(end)), code: ERR.opcode },
      { name: 'end in loop', prog: asm(`LOOP count=2 body=2\n${sfu}\n${end}`), code: ERR.endInLoop },
      { name: 'unconsumed token', prog: asm(`${ld}\n${sfu}\n${end}`), code: ERR.tokens },
      { name: 'end waits for a token, then finds another left', prog: asm(`${ld.replace('MX', 'MX,SYS')}\n${end} wait=LD`), code: ERR.tokens },
      { name: 'deadlock: engine waits for a token never released', prog: asm(`${sfu}\n${mv} wait=LD\n${sfu}\n${end}`), code: ERR.deadlock },
      { name: 'deadlock: sync waits for a token never released', prog: asm(`${sfu}\nSYS fn=sync wait=SFU\n${end}`), code: ERR.deadlock },
      { name: 'engine error', prog: asm(`${sfu}\n${sfu}\n${ld}\n${mv} wait=LD\n${sfu}\n${end}`), code: 16, at: 14, magic: 0x12345678 },
    ];
    const jobs: Job[] = [];
    crafted.forEach((c, i) => {
      const base = rng.int(0, IMEM - 200);
      jobs.push({ name: c.name, prog: c.prog, base, lens: [1, 2, 3, 0, 5, 6, 7, 8], magic: c.magic, expect: c.at !== undefined ? { kind: 'error', code: c.code, pc: base + c.at } : undefined });
      jobs.push(randomJob(rng, CP, `after ${c.name}`, { stall: i % 2 ? 0.3 : 0 }));
    });
    // Restart right after a failure while the fetch still has bursts in flight (their words must be dropped).
    jobs.push({ ...randomJob(rng, CP, 'restart with the fetch in flight'), stall: 0, pre: { prog: cat32(word(0), sfuW, sfuW, sfuW, sfuW), base: 0xf00, cycles: 8 } });
    // A well-formed program ending with SYS end waiting on (and consuming) the last token.
    jobs.push({ name: 'end consumes the last token', prog: asm(`${ld.replace('MX', 'SYS')}\n${end} wait=LD`), base: 100, lens: [0, 0, 0, 0, 0, 0, 0, 0] });
    const results = await runJobs(big, jobs, 3);
    results.forEach((r, i) => {
      if (i % 2 === 0 && i < 2 * crafted.length) {
        const c = crafted[i / 2]!;
        if (c.at === undefined) expect(r.trace.outcome, c.name).toMatchObject({ kind: 'error', code: c.code });
        checkError(r);
      } else checkDone(r);
      if (r.job.pre) expect(r.pre, r.job.name).toEqual({ status: 4, code: ERR.opcode });
    });
  });

  it('decoder fuzz: single instructions with flipped bits give the model\'s outcome (error code and ERR_PC, or what the engines receive)', async () => {
    const rng = new Rng(5);
    const jobs: Job[] = [];
    const end = asm('SYS fn=end');
    while (jobs.length < 160) {
      const ins = randomInstr(rng) as unknown as Mutable;
      const w = encode({ ...ins, wait: [], release: [] } as unknown as AnyInstr);
      // Flip bits outside the token masks (a stray wait would only wait for the watchdog).
      for (let k = rng.int(1, 2); k > 0; k--) {
        let bit: number;
        do bit = rng.int(0, 3) === 0 ? rng.int(0, 3) : rng.int(0, 32 * w.length - 1);
        while (bit >= 4 && bit < 14);
        w[bit >> 5] = (w[bit >> 5]! ^ (1 << (bit & 31))) >>> 0;
      }
      const prog = cat32(w, end);
      const base = rng.int(0, IMEM - 64);
      const lens = LEN_REGS.map((_, i) => (i < 4 ? rng.int(0, 3) : rng.int(0, 2 ** 32 - 1)));
      // Skip what would run long (a LOOP of thousands of iterations over the words after it).
      try {
        const t = dispatchModel((a) => (a >= base && a < base + prog.length ? prog[a - base]! : 0), base, lens, { loopDepth: CP.loopDepth, maxInstrs: 200 });
        if (ENGINE_QUEUES.some((q) => t.queues[q].length > 40)) continue;
      } catch {
        continue;
      }
      jobs.push({ name: `fuzz ${jobs.length}`, prog, base, lens, stall: rng.pick([0, 0.3]) });
    }
    const results = await runJobs(big, jobs, 6);
    const kinds = new Map<number, number>();
    for (const r of results) {
      const code = r.trace.outcome.kind === 'error' ? r.trace.outcome.code : 0;
      kinds.set(code, (kinds.get(code) ?? 0) + 1);
      if (code) checkError(r);
      else checkDone(r);
    }
    for (const code of [0, ERR.opcode, ERR.reserved]) expect(kinds.get(code), `outcome ${code}`).toBeGreaterThan(10);
    console.log(`controller decoder fuzz outcomes: ${[...kinds].map(([k, v]) => `${k}:${v}`).join(' ')}`);
  });

  it('small design: queue depth 1, loop depth 2, token capacity stalls the releasing queue', async () => {
    const rng = new Rng(8);
    const sfu = (fn: string, extra = '') => `SFU fn=${fn} itype=int32 otype=int32 len=4 rows=1 abuf=global dbuf=global a=0 d=0x100${extra}`;
    const ld = 'LD buf=act dtype=int8 space=hbm addr=0x0 chan=1 sram=0 len=16 release=MX';
    const mm = (extra: string) => `MM pattern=dense wprec=int8 aprec=int8 m=15 k=16 n=16 wbase=0 mbase=0 sbase=0 abase=0 obase=0 wait=LD${extra}`;
    // Three LD tokens for MX are outstanding when the fourth LD reaches the head of its queue:
    // it may start only once the first MM has taken one.
    const capacity = asm([ld, ld, ld, sfu('requant'), sfu('requant', ' release=MX'), mm(',SFU'), ld, mm(''), mm(''), mm(''), 'SYS fn=end'].join('\n'));
    const nest = asm(['LOOP count=1 body=3', 'LOOP count=1 body=2', 'LOOP count=1 body=1', sfu('copy'), 'SYS fn=end'].join('\n'));
    const jobs: Job[] = [
      { name: 'token capacity', prog: capacity, base: 0x40, lens: [0, 0, 0, 0, 0, 0, 0, 0], fast: true },
      { name: 'loop depth 2', prog: nest, base: 0x300, lens: [0, 0, 0, 0, 0, 0, 0, 0] },
      randomJob(rng, SMALL, 'after the loop depth error'),
    ];
    const [cap, deep, after] = await runJobs(small, jobs, 4);
    checkDone(cap!);
    const [ldLog, , mxLog] = cap!.logs;
    expect(ldLog![3]!.now, 'the fourth LD waits for the first MM').toBeGreaterThan(mxLog![0]!.now);
    expect(ldLog![3]!.now - (ldLog![2]!.now + ldLog![2]!.dur), 'and would otherwise have started earlier').toBeGreaterThan(1);
    checkError(deep!);
    expect(deep!.trace.outcome).toEqual({ kind: 'error', code: ERR.loopDepth, pc: 0x304 });
    checkDone(after!);
  });

  it('throughput: about one instruction word per cycle, LOOP bodies replayed from the prefetch ring, a back-to-back start one cycle after done', async () => {
    const n = 120;
    const sfu = (fn: string) => `SFU fn=${fn} itype=int32 otype=int32 len=4 rows=1 abuf=global dbuf=global a=0 d=0x100`;
    const straight = asm([...Array.from({ length: n }, (_, i) => (i % 3 === 0 ? sfu('copy') : i % 3 === 1 ? 'SYS fn=setlen reg=L4 imm=L4+1' : 'LD buf=act dtype=int8 space=hbm addr=0x0 chan=0 sram=0 len=16')), 'SYS fn=end'].join('\n'));
    const looped = asm([`LOOP count=${n / 2} body=2`, sfu('copy'), sfu('copy'), 'SYS fn=end'].join('\n'));
    const longBody = asm(['LOOP count=4 body=12', ...Array.from({ length: 12 }, () => sfu('copy')), 'SYS fn=end'].join('\n'));
    const slow = asm([...Array.from({ length: 30 }, () => sfu('requant')), 'SYS fn=end'].join('\n'));
    const lens = [0, 0, 0, 0, 0, 0, 0, 0];
    const results = await runJobs(big, [
      { name: 'straight', prog: straight, base: 0x10, lens, fast: true },
      { name: 'loop', prog: looped, base: 0x203, lens, fast: true },
      { name: 'long loop body', prog: longBody, base: 0x305, lens, fast: true },
      { name: 'engine bound', prog: slow, base: 0x400, lens, fast: true },
    ], 1);
    results.forEach(checkDone);
    const [a, b, l, c] = results.map((r) => r.csr[CSR.CYCLES_LO]!);
    const perIteration = (b! - 14) / (n / 2);
    const perLongIteration = (l! - 14) / 4;
    console.log(`controller: ${straight.length} words straight-line in ${a} cycles; ${n / 2} LOOP iterations of 2 SFU (14 words) at ${perIteration.toFixed(1)} cycles each; 4 iterations of 12 SFU (84 words, refetched) at ${perLongIteration.toFixed(1)}; 30 x 10-cycle SFU ops in ${c} cycles`);
    expect(a!).toBeLessThan(straight.length * 1.05 + 30);
    expect(perIteration).toBeLessThan(14 + 4);
    expect(perLongIteration).toBeLessThan(84 + 40);
    // Engine bound: each start follows the previous done by one cycle.
    const log = results[3]!.logs[3]!;
    for (let i = 1; i < log.length; i++) expect(log[i]!.now - (log[i - 1]!.now + log[i - 1]!.dur)).toBe(1);
  });
});
