/**
 * Verilator co-simulation of the whole accelerator: builds the generated top with the
 * command-driven testbench of rtl-templates/flightllm-tb.cpp.hbs (cached by a hash of the
 * Verilog, the harness and the flags) and drives the persistent harness process from
 * TypeScript. The harness models the instruction memory, HBM and DDR with latency and
 * bandwidth; see sim/README.md for the models and the line protocol.
 *
 *   const sim = await AccelSim.build(files, 'flightllm_top');
 *   await sim.start({ latency: { all: { read: 30, write: 15 } } });
 *   await sim.loadProgram(program); await sim.loadMemory(image);
 *   const r = await sim.run(0, 1e6);   // { status: 'done', cycles, busy, ... }
 *   const out = await sim.saveMemory(); await sim.close();
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CSR, ERR_TEXT } from '../arch/control/status.ts';
import { MemoryImage, type Space } from '../compiler/memory.ts';
import { render } from '../templates.ts';
import { VERSION } from '../version.ts';
import { cachedVerilatorBuild } from './build-cache.ts';
import { DEFAULT_CACHE } from './verilator.ts';

export interface AccelBuildOptions {
  /** Build cache folder (default .cache/verilator, or $FLIGHTGEN_CACHE). */
  readonly cacheDir?: string;
  /** Build with FST waveform support (`--trace-fst`); enables the `trace` command. */
  readonly trace?: boolean;
  /** External port width; read from the top's `m_r_data` (or `m0_r_data`) port when omitted. */
  readonly axiDataBits?: number;
  /** C++ optimization of the model (Verilator's OPT_FAST); default -O2 (faster cycles, slower build than Verilator's -Os). */
  readonly cppOpt?: string;
}

export type MemSpace = Space | 'all';

export interface ChannelLatency {
  /** Cycles from AR accept to the first R beat. */
  readonly read: number;
  /** Cycles from AW accept to the B response (and at least one cycle after the last W beat). */
  readonly write: number;
}

/** Beats per cycle as num/den (at most 1): a beat every den/num cycles on average. */
export interface Bandwidth {
  readonly num: number;
  readonly den: number;
}

/**
 * The HBM address map of the LD read ports: a read's pseudo-channel is (address / bytes) mod
 * count; read port p sits on channel p mod count; a read of a channel in another group of
 * `perSwitch` channels crosses the HBM switch (bandwidth), one in the port's own group gets the
 * local rate (localBandwidth).
 */
export interface ChannelMap {
  readonly bytes: number;
  readonly count: number;
  readonly perSwitch: number;
}

export interface AccelStartOptions {
  readonly latency?: Partial<Record<MemSpace, ChannelLatency>>;
  /** Beats per cycle of each read port and of the write port (reads through the HBM switch). */
  readonly bandwidth?: Partial<Record<MemSpace, Bandwidth>>;
  /** A read port's rate for reads in its own switch group (needs channelMap; default: bandwidth). */
  readonly localBandwidth?: Partial<Record<MemSpace, Bandwidth>>;
  readonly channelMap?: ChannelMap;
  /** Cycles from IF address accept to the first instruction word. */
  readonly ifLatency?: number;
  readonly outstanding?: { readonly reads: number; readonly writes: number };
  /** Memory sizes before any image is loaded (bytes; default 0). */
  readonly memSize?: { readonly hbm: number; readonly ddr: number };
  /** Open an FST waveform at start (needs a build with `trace: true`). */
  readonly traceFile?: string;
  /** Reset cycles at startup (default 4). */
  readonly resetCycles?: number;
  /** Lines the design itself prints on stdout ($display); default: collected in `output`. */
  readonly onOutput?: (line: string) => void;
}

export interface EngineBusy {
  readonly ld: number;
  readonly st: number;
  readonly mx: number;
  readonly sfu: number;
}

export interface Traffic {
  readonly readBursts: number;
  readonly readBeats: number;
  readonly writeBursts: number;
  readonly writeBeats: number;
  readonly ifBursts: number;
  readonly ifWords: number;
  /** Read beats served at a port's local rate (channel map). */
  readonly localReadBeats: number;
  /** Read beats per LD read port. */
  readonly portReadBeats: readonly number[];
}

export interface RunResult {
  /** `error`: STATUS.error, or the design finished but the memory models saw a bad access (`fault`). */
  readonly status: 'done' | 'error' | 'timeout' | 'paused';
  /** Cycles the harness clocked after the start (until STATUS showed done or error). */
  readonly cycles: number;
  /** The design's own CYCLES counter. */
  readonly hwCycles: number;
  readonly errCode: number;
  /** ERR_TEXT of errCode, or the harness fault when the design reported none; '' when fine. */
  readonly errText: string;
  readonly errPc: number;
  readonly instrs: number;
  readonly busy: EngineBusy;
  /** Bursts and beats the memory models served during this run. */
  readonly traffic: Traffic;
  /** Bad accesses seen by the memory models during this run, and the first one. */
  readonly faults: number;
  readonly fault?: string;
  readonly wallMs: number;
  readonly cyclesPerSecond: number;
}

const BASE_FLAGS = ['--cc', '--exe', '--build', '-j', '2', '-O3', '--x-assign', 'fast', '--x-initial', 'fast', '-Wno-fatal', '-Wno-lint', '-Wno-style'];

/** Width of `port` in module `top`, from the emitted Verilog (ANSI port list). */
export function verilogPortWidth(files: ReadonlyMap<string, string>, top: string, port: string): number | undefined {
  for (const text of files.values()) {
    const start = text.search(new RegExp(`\\bmodule\\s+${top}\\b`));
    if (start < 0) continue;
    const header = text.slice(start, text.indexOf(');', start));
    const m = new RegExp(`\\b(?:input|output)\\s+(?:wire|reg)?\\s*(?:signed\\s+)?(?:\\[(\\d+):(\\d+)\\]\\s*)?${port}\\b`).exec(header);
    if (m) return m[1] === undefined ? 1 : Number(m[1]) - Number(m[2]) + 1;
  }
  return undefined;
}

/** LD read ports of `top`: 1 with an `m_r_data` port, else the number of `m<p>_r_data` ports. */
export function readPortCount(files: ReadonlyMap<string, string>, top: string): number {
  if (verilogPortWidth(files, top, 'm_r_data') !== undefined) return 1;
  let n = 0;
  while (verilogPortWidth(files, top, `m${n}_r_data`) !== undefined) n++;
  return Math.max(n, 1);
}

export type AccelSimOptions = AccelBuildOptions & AccelStartOptions;
export type AccelRun = RunResult;

/**
 * A built harness for one top, and (after start()) its running process. Every command method
 * sends its command at the moment it is called (input files are written synchronously first),
 * so calls made without awaiting run in call order, pipelined; each promise settles with that
 * command's reply. For a second process of the same design, build again (a cache hit).
 */
export class AccelSim {
  private proc: HarnessProcess | undefined;

  private constructor(
    readonly top: string,
    readonly binary: string,
    readonly beatBytes: number,
    /** LD read ports of the top (m_* or m0_*, m1_*, ...). */
    readonly readPorts: number,
    readonly trace: boolean,
    /** Wall time of the Verilator build in ms (0 when it came from the cache). */
    readonly buildMs: number,
    readonly cached: boolean,
    private readonly defaults: AccelStartOptions,
  ) {}

  /** The harness C++ for a top with `readPorts` LD read ports (exported for inspection and hand builds). */
  static harness(top: string, axiDataBits: number, trace = false, readPorts = 1): string {
    const prefixes = readPorts === 1 ? ['m'] : Array.from({ length: readPorts }, (_, p) => `m${p}`);
    return render('flightllm-tb.cpp', { version: VERSION, top, beatBytes: axiDataBits / 8, trace, csr: CSR, readPorts: prefixes, firstPort: prefixes[0] });
  }

  /**
   * Verilates `files` (the top `topName` and its submodules) with the accelerator harness.
   * Start options given here become the defaults of start().
   */
  static async build(files: ReadonlyMap<string, string>, topName: string, opts: AccelSimOptions = {}): Promise<AccelSim> {
    const ports = readPortCount(files, topName);
    const bits = opts.axiDataBits ?? verilogPortWidth(files, topName, ports === 1 ? 'm_r_data' : 'm0_r_data');
    if (bits === undefined) throw new Error(`module '${topName}' with an m_r_data port not found in the Verilog files (${[...files.keys()].join(', ')})`);
    if (bits < 64 || bits > 1024 || bits & (bits - 1)) throw new Error(`axiDataBits ${bits}: the harness supports powers of two from 64 to 1024`);
    const trace = opts.trace ?? false;
    const flags = [...BASE_FLAGS, ...(trace ? ['--trace-fst'] : []), '-MAKEFLAGS', `OPT_FAST=${opts.cppOpt ?? '-O2'}`];
    const b = await cachedVerilatorBuild({ files, top: topName, harness: AccelSim.harness(topName, bits, trace, ports), flags, cacheDir: opts.cacheDir ?? DEFAULT_CACHE, prefix: 'accel-', binaryName: 'Vaccel' });
    return new AccelSim(topName, b.binary, bits / 8, ports, trace, b.buildMs, b.cached, opts);
  }

  /** Starts the harness process (the design comes out of reset) and applies the settings. */
  async start(options: AccelStartOptions = {}): Promise<this> {
    if (this.proc?.alive) throw new Error(`the ${this.top} harness is already running: close() it first, or build again (a cache hit) for a second process`);
    const opts = { ...this.defaults, ...options };
    this.proc = await HarnessProcess.spawn(this.top, this.binary, opts.resetCycles !== undefined ? [`--reset-cycles=${opts.resetCycles}`] : [], opts.onOutput);
    try {
      if (opts.memSize) await this.setMemorySize(opts.memSize.hbm, opts.memSize.ddr);
      for (const sp of ['all', 'hbm', 'ddr'] as const) {
        const l = opts.latency?.[sp];
        if (l) await this.setLatency(sp, l.read, l.write);
        const b = opts.bandwidth?.[sp];
        if (b) await this.setBandwidth(sp, b.num, b.den);
        const lb = opts.localBandwidth?.[sp];
        if (lb) await this.setLocalBandwidth(sp, lb.num, lb.den);
      }
      if (opts.channelMap) await this.setChannelMap(opts.channelMap);
      if (opts.ifLatency !== undefined) await this.setIfLatency(opts.ifLatency);
      if (opts.outstanding) await this.setOutstanding(opts.outstanding.reads, opts.outstanding.writes);
      if (opts.traceFile) {
        await this.setTrace(opts.traceFile);
        await this.reset(opts.resetCycles); // the waveform shows the reset
      }
    } catch (e) {
      await this.kill();
      throw e;
    }
    return this;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.proc?.alive ?? false;
  }

  /** Design output lines ($display), when no onOutput callback was given. */
  get output(): readonly string[] {
    return this.proc?.output ?? [];
  }

  /** Sends one command line; resolves with the reply after `ok` (rejects on `err`). */
  command(line: string): Promise<string> {
    if (!this.proc) return Promise.reject(new Error(`the ${this.top} harness is not running: call start() first`));
    return this.proc.command(line);
  }

  /** Runs `send(path)` with a fresh temp file (holding `data` if given), removed afterwards. */
  private async withFile<T>(data: Uint8Array | undefined, send: (path: string) => Promise<T>): Promise<T> {
    if (!this.proc) throw new Error(`the ${this.top} harness is not running: call start() first`);
    const path = this.proc.tempFile();
    try {
      if (data) writeFileSync(path, data); // synchronous: the command goes out in call order
      return await send(path);
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Program words (program.bin): a Uint32Array, its bytes, or a file path. Returns the word count. */
  async loadProgram(program: Uint32Array | Uint8Array | string): Promise<number> {
    const r = typeof program === 'string' ? await this.command(`load_program ${program}`) : await this.withFile(new Uint8Array(program.buffer, program.byteOffset, program.byteLength), (p) => this.command(`load_program ${p}`));
    return Number(/words=(\d+)/.exec(r)![1]);
  }

  /** Replaces both memories (and their sizes) by an image or a memory.bin file. */
  async loadMemory(image: MemoryImage | string): Promise<void> {
    if (typeof image === 'string') await this.command(`load_memory ${image}`);
    else await this.withFile(image.serialize(), (p) => this.command(`load_memory ${p}`));
  }

  /** A program folder written by `flightgen compile` (program.bin and memory.bin, src/compiler/files.ts). */
  async loadFolder(dir: string): Promise<number> {
    const [words] = await Promise.all([this.loadProgram(join(dir, 'program.bin')), this.loadMemory(join(dir, 'memory.bin'))]);
    return words;
  }

  /** Both memories as an image (or written to `file` in the memory.bin format). */
  async saveMemory(): Promise<MemoryImage>;
  async saveMemory(file: string): Promise<void>;
  async saveMemory(file?: string): Promise<MemoryImage | void> {
    if (file !== undefined) return void (await this.command(`save_memory ${file}`));
    return this.withFile(undefined, async (p) => {
      await this.command(`save_memory ${p}`);
      return MemoryImage.parse(new Uint8Array(await readFile(p)), 'harness memory');
    });
  }

  /** Resizes the memories (contents kept, new bytes zero). */
  async setMemorySize(hbmBytes: number, ddrBytes: number): Promise<void> {
    await this.command(`mem_size ${hbmBytes} ${ddrBytes}`);
  }

  async writeMem(space: Space, addr: number, data: Uint8Array): Promise<void> {
    await this.withFile(data, (p) => this.command(`write_mem ${space} ${addr} ${p}`));
  }

  async readMem(space: Space, addr: number, len: number): Promise<Uint8Array> {
    return this.withFile(undefined, async (p) => {
      await this.command(`read_mem ${space} ${addr} ${len} ${p}`);
      return new Uint8Array(await readFile(p));
    });
  }

  /** One clock cycle with the CSR write. */
  async csrWrite(addr: number, value: number): Promise<void> {
    await this.command(`csr_write ${addr} ${value >>> 0}`);
  }

  async csrRead(addr: number): Promise<number> {
    return Number(await this.command(`csr_read ${addr}`));
  }

  /** Length register L[reg] (CSR LEN0 + reg). */
  async setLength(reg: number, value: number): Promise<void> {
    if (!Number.isInteger(reg) || reg < 0 || reg > 7) throw new RangeError(`length register L${reg} does not exist (L0..L7)`);
    await this.csrWrite(CSR.LEN0 + reg, value);
  }

  /** Writes START_PC, starts via CTRL and clocks until done, error or `maxCycles`. */
  async run(startPc: number, maxCycles: number, opts: { serial?: boolean } = {}): Promise<RunResult> {
    return parseRun(await this.command(`run ${startPc} ${maxCycles}${opts.serial ? ' serial' : ''}`));
  }

  /**
   * Keeps clocking a started run until done, error, `maxCycles`, or (status `paused`) the
   * INSTRS counter reaching `instrs`: in serial mode every instruction before the last
   * dispatched one is then complete (the store-by-store check of RtlEngine).
   */
  async waitInstrs(instrs: number, maxCycles: number): Promise<RunResult> {
    return parseRun(await this.command(`wait_instrs ${instrs} ${maxCycles}`));
  }

  /** Keeps clocking a started run (e.g. after a timeout) until done, error or `maxCycles`. */
  async wait(maxCycles: number): Promise<RunResult> {
    return parseRun(await this.command(`wait ${maxCycles}`));
  }

  /** Free-running cycles; returns the harness's total cycle count. */
  async step(cycles: number): Promise<number> {
    return Number(/cycle=(\d+)/.exec(await this.command(`step ${cycles}`))![1]);
  }

  /** Resets the design and drops every burst in flight (memories, program and settings stay). */
  async reset(cycles?: number): Promise<void> {
    await this.command(cycles === undefined ? 'reset' : `reset ${cycles}`);
  }

  async setLatency(space: MemSpace, read: number, write: number): Promise<void> {
    await this.command(`set_latency ${space} ${read} ${write}`);
  }

  async setBandwidth(space: MemSpace, num: number, den: number): Promise<void> {
    await this.command(`set_bandwidth ${space} ${num} ${den}`);
  }

  /** A read port's rate for reads in its own switch group (see ChannelMap). */
  async setLocalBandwidth(space: MemSpace, num: number, den: number): Promise<void> {
    await this.command(`set_local_bandwidth ${space} ${num} ${den}`);
  }

  /** The HBM channel map of the read ports (bytes 0: none, every read crosses the switch). */
  async setChannelMap(map: ChannelMap): Promise<void> {
    await this.command(`set_channel_map ${map.bytes} ${map.count} ${map.perSwitch}`);
  }

  async setIfLatency(cycles: number): Promise<void> {
    await this.command(`set_if_latency ${cycles}`);
  }

  async setOutstanding(reads: number, writes: number): Promise<void> {
    await this.command(`set_outstanding ${reads} ${writes}`);
  }

  /** Starts an FST waveform (`null` closes it); needs a build with `trace: true`. */
  async setTrace(file: string | null): Promise<void> {
    await this.command(file === null ? 'trace off' : `trace ${file}`);
  }

  async info(): Promise<Record<string, string>> {
    return Object.fromEntries((await this.command('info')).split(' ').map((kv) => kv.split('=') as [string, string]));
  }

  /** Ends the process after the commands already sent (start() may run it again). */
  async close(): Promise<void> {
    await this.proc?.close();
  }

  /** Ends the process now (commands in flight are rejected). */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }
}

interface Pending {
  readonly cmd: string;
  resolve(v: string): void;
  reject(e: Error): void;
}

/** A harness process and its line protocol (one reply line per command, in order). */
class HarnessProcess {
  readonly output: string[] = [];
  private readonly pending: Pending[] = [];
  private exited: Error | undefined;
  private stderr = '';
  private seq = 0;
  private readonly exit: Promise<void>;

  private constructor(
    top: string,
    private readonly proc: ChildProcessWithoutNullStreams,
    private readonly tmp: string,
    onOutput: ((line: string) => void) | undefined,
  ) {
    proc.stdin.on('error', () => {}); // reported through 'exit'
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line === 'ok' || line.startsWith('ok ') || line.startsWith('err ')) {
        const p = this.pending.shift();
        if (!p) return;
        if (line.startsWith('err ')) p.reject(new Error(`${top} harness: ${p.cmd.split(' ')[0]}: ${line.slice(4)}`));
        else p.resolve(line.slice(3));
      } else if (onOutput) onOutput(line);
      else this.output.push(line);
    });
    this.exit = new Promise((resolve) => {
      const done = (why: string) => {
        const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
        this.exited ??= new Error(`${top} harness ${why}${tail ? `: ${tail}` : ''}`);
        for (const p of this.pending.splice(0)) p.reject(this.exited);
        resolve();
      };
      proc.on('error', (e) => done(`could not run (${e.message})`));
      proc.on('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
    });
  }

  static async spawn(top: string, binary: string, args: string[], onOutput: ((line: string) => void) | undefined): Promise<HarnessProcess> {
    const tmp = await mkdtemp(join(tmpdir(), 'flightgen-accel-'));
    const proc = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const h = new HarnessProcess(top, proc, tmp, onOutput);
    try {
      await h.command('info'); // started and responsive
    } catch (e) {
      await h.kill();
      throw e;
    }
    return h;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  tempFile(): string {
    return join(this.tmp, `${this.seq++}.bin`);
  }

  command(line: string): Promise<string> {
    if (/[\r\n]/.test(line)) return Promise.reject(new Error(`harness commands are one line: ${JSON.stringify(line)}`));
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ cmd: line, resolve, reject });
      this.proc.stdin.write(`${line}\n`);
    });
  }

  async close(): Promise<void> {
    if (!this.exited) await this.command('quit').catch(() => {});
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exit;
    clearTimeout(t);
    await rm(this.tmp, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    if (!this.exited) this.proc.kill('SIGKILL');
    await this.exit;
    await rm(this.tmp, { recursive: true, force: true });
  }
}

function parseRun(reply: string): RunResult {
  const f = reply.indexOf(' fault=');
  const main = f < 0 ? reply : reply.slice(0, f);
  const fault = f < 0 ? undefined : reply.slice(f + 7);
  const [what, ...kv] = main.split(' ');
  const v = Object.fromEntries(kv.map((s) => s.split('=') as [string, string]));
  const n = (k: string) => Number(v[k]);
  const list = (k: string) => v[k]!.split(',').map(Number);
  const [ld, st, mx, sfu] = list('busy');
  const [readBursts, readBeats, writeBursts, writeBeats] = list('axi');
  const [ifBursts, ifWords] = list('if');
  const errCode = n('err');
  const faults = n('faults');
  const status = what === 'error' || (what === 'done' && faults > 0) ? 'error' : what === 'done' ? 'done' : what === 'paused' ? 'paused' : 'timeout';
  const errText = errCode ? (ERR_TEXT[errCode] ?? `unknown error code ${errCode}`) : fault ? `memory model: ${fault}` : '';
  const wallMs = n('us') / 1000;
  return {
    status,
    cycles: n('cycles'),
    hwCycles: n('hw_cycles'),
    errCode,
    errText,
    errPc: n('pc'),
    instrs: n('instrs'),
    busy: { ld: ld!, st: st!, mx: mx!, sfu: sfu! },
    traffic: { readBursts: readBursts!, readBeats: readBeats!, writeBursts: writeBursts!, writeBeats: writeBeats!, ifBursts: ifBursts!, ifWords: ifWords!, localReadBeats: n('local'), portReadBeats: list('port_beats') },
    faults,
    ...(fault !== undefined ? { fault } : {}),
    wallMs,
    cyclesPerSecond: wallMs > 0 ? (n('cycles') / wallMs) * 1000 : 0,
  };
}
