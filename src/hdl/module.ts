import { Expr, lit, describe, type Operand, type SignalRef } from './expr.ts';
import { Bool, log2Ceil, sameType, typeName, UInt, type HwType } from './types.ts';
import { captureLoc, formatLoc, type SourceLoc } from './source.ts';
import { ElaborationError, MultipleDriversError, UnboundPortError, WidthMismatchError } from './errors.ts';
import { NameScope } from './names.ts';
import type { LoweredModule } from './emit/lower.ts';

export type SignalKind = 'input' | 'output' | 'wire' | 'reg' | 'instOut' | 'memRead';

export interface Driver {
  readonly expr: Expr;
  readonly loc: SourceLoc | undefined;
}

export interface RegOptions {
  /** Register loads only when this 1-bit expression is high. */
  enable?: Expr;
  /** Synchronous reset value (default 0); `null` for no reset (e.g. RAM output registers). */
  reset?: number | bigint | null;
}

/** A named hardware value in one module: port, wire, register, instance output or memory read. */
export class Signal extends Expr implements SignalRef {
  driver: Driver | undefined;
  readonly regOptions: { enable?: Expr; reset: bigint | null } | undefined;

  constructor(
    readonly owner: ModuleBuilder,
    readonly kind: SignalKind,
    readonly name: string,
    type: HwType,
    readonly loc: SourceLoc | undefined,
    reg?: RegOptions,
  ) {
    super(type, null as never);
    (this as { node: Expr['node'] }).node = { kind: 'ref', sig: this };
    if (kind === 'reg') {
      if (reg?.enable && reg.enable.width !== 1) {
        throw new WidthMismatchError(loc, `enable of register '${name}' must be 1 bit wide, got ${typeName(reg.enable.type)}`);
      }
      const reset = reg?.reset === null ? null : BigInt(reg?.reset ?? 0);
      if (reset !== null) lit(reset, type); // throws if the reset value does not fit
      this.regOptions = { enable: reg?.enable, reset };
    }
  }

  get ownerName(): string {
    return this.owner.name;
  }

  /** Drives a wire or output (combinationally) or sets a register's next value. */
  assign(value: Operand): void {
    const loc = captureLoc();
    this.owner.checkOpen(loc);
    if (this.kind === 'input' || this.kind === 'instOut' || this.kind === 'memRead') {
      throw new MultipleDriversError(loc, `cannot assign to ${this.kind === 'input' ? 'input port' : 'read-only signal'} '${this.name}' of module '${this.owner.name}' (it is driven by ${this.kind === 'input' ? 'the parent' : 'its instance or memory'})`);
    }
    const expr = value instanceof Expr ? value : lit(value, this.type);
    if (!sameType(expr.type, this.type)) {
      throw new WidthMismatchError(
        loc,
        `width mismatch: cannot assign ${typeName(expr.type)} ${describe(expr)} to '${this.name}' (${typeName(this.type)}) in module '${this.owner.name}'; use ext/trunc/asSInt to convert explicitly`,
      );
    }
    if (this.driver) {
      throw new MultipleDriversError(loc, `multiple drivers: '${this.name}' in module '${this.owner.name}' is already driven at ${formatLoc(this.driver.loc)}`);
    }
    this.driver = { expr, loc };
  }
}

/** One port binding of an instance. */
export interface Binding {
  readonly expr: Expr;
  readonly loc: SourceLoc | undefined;
}

/** A submodule instance; its outputs appear in the parent as wires named `<instance>_<port>`. */
export class Instance {
  readonly bindings = new Map<string, Binding>();
  readonly outputs = new Map<string, Signal>();

  constructor(
    readonly parent: ModuleBuilder,
    readonly name: string,
    readonly def: ModuleDef,
    readonly loc: SourceLoc | undefined,
    /** Verilog parameter overrides (`#(.AREG(1))`), for extern modules such as vendor primitives. */
    readonly verilogParams?: Readonly<Record<string, number | string>>,
  ) {
    for (const p of def.ports) {
      if (p.dir === 'output') {
        const s = new Signal(parent, 'instOut', parent.scope.claim(`${name}_${p.name}`, loc, 'instance output'), p.type, loc);
        this.outputs.set(p.name, s);
        parent.signals.push(s);
      }
    }
  }

  /** Binds input ports; each exactly once, with exactly the port's type. */
  bind(ports: Record<string, Operand>): this {
    const loc = captureLoc();
    this.parent.checkOpen(loc);
    for (const [port, value] of Object.entries(ports)) {
      const p = this.def.ports.find((q) => q.name === port);
      if (!p || p.implicit) {
        throw new UnboundPortError(loc, `module '${this.def.name}' has no input '${port}' (instance '${this.name}'); inputs: ${this.def.ports.filter((q) => q.dir === 'input' && !q.implicit).map((q) => q.name).join(', ')}`);
      }
      if (p.dir !== 'input') throw new UnboundPortError(loc, `'${port}' of instance '${this.name}' is an output; read it with out('${port}')`);
      const expr = value instanceof Expr ? value : lit(value, p.type);
      if (!sameType(expr.type, p.type)) {
        throw new WidthMismatchError(loc, `width mismatch: port '${port}' of instance '${this.name}' is ${typeName(p.type)}, bound to ${typeName(expr.type)} ${describe(expr)}`);
      }
      const prev = this.bindings.get(port);
      if (prev) throw new MultipleDriversError(loc, `multiple drivers: port '${port}' of instance '${this.name}' is already bound at ${formatLoc(prev.loc)}`);
      this.bindings.set(port, { expr, loc });
    }
    return this;
  }

  out(port: string): Signal {
    const s = this.outputs.get(port);
    if (!s) {
      throw new ElaborationError(captureLoc(), `module '${this.def.name}' has no output '${port}' (instance '${this.name}'); outputs: ${[...this.outputs.keys()].join(', ')}`);
    }
    return s;
  }
}

export type RamStyle = 'auto' | 'block' | 'ultra' | 'distributed';

export interface MemoryOptions {
  depth: number;
  type: HwType;
  /** Cycles from read address to read data: 1 (BRAM output latch) or 2 (plus output register). */
  readLatency?: 1 | 2;
  /** Xilinx `ram_style` hint; `ultra` maps to URAM288. */
  style?: RamStyle;
}

export interface MemWritePort {
  readonly enable: Expr;
  readonly addr: Expr;
  readonly data: Expr;
  readonly loc: SourceLoc | undefined;
}

export interface MemReadPort {
  readonly data: Signal;
  readonly addr: Expr;
  readonly enable: Expr;
  readonly loc: SourceLoc | undefined;
}

/** An inferred RAM: synchronous write port(s) and registered read port(s). */
export class Memory {
  readonly writes: MemWritePort[] = [];
  readonly reads: MemReadPort[] = [];
  readonly addrWidth: number;
  readonly readLatency: 1 | 2;
  readonly style: RamStyle;

  constructor(
    readonly owner: ModuleBuilder,
    readonly name: string,
    readonly depth: number,
    readonly type: HwType,
    readonly loc: SourceLoc | undefined,
    opts: MemoryOptions,
  ) {
    this.addrWidth = log2Ceil(depth);
    this.readLatency = opts.readLatency ?? 1;
    this.style = opts.style ?? 'auto';
  }

  private checkAddr(addr: Expr, loc: SourceLoc | undefined): void {
    if (addr.signed || addr.width !== this.addrWidth) {
      throw new WidthMismatchError(loc, `address of memory '${this.name}' must be ${typeName(UInt(this.addrWidth))} (depth ${this.depth}), got ${typeName(addr.type)}`);
    }
  }

  write(addr: Expr, data: Expr, enable: Expr): void {
    const loc = captureLoc();
    this.owner.checkOpen(loc);
    this.checkAddr(addr, loc);
    if (!sameType(data.type, this.type)) throw new WidthMismatchError(loc, `write data of memory '${this.name}' must be ${typeName(this.type)}, got ${typeName(data.type)}`);
    if (enable.width !== 1) throw new WidthMismatchError(loc, `write enable of memory '${this.name}' must be 1 bit wide`);
    this.writes.push({ addr, data, enable, loc });
  }

  /** A read port; data appears `readLatency` cycles after the address (held while `enable` is low). */
  read(name: string, addr: Expr, enable: Expr = lit(1, Bool)): Signal {
    const loc = captureLoc();
    this.owner.checkOpen(loc);
    this.checkAddr(addr, loc);
    if (enable.width !== 1) throw new WidthMismatchError(loc, `read enable of memory '${this.name}' must be 1 bit wide`);
    const data = new Signal(this.owner, 'memRead', this.owner.scope.claim(name, loc, 'memory read'), this.type, loc);
    this.owner.signals.push(data);
    this.reads.push({ data, addr, enable, loc });
    this.owner.useClock();
    return data;
  }
}

export interface PortInfo {
  readonly name: string;
  readonly dir: 'input' | 'output';
  readonly type: HwType;
  readonly loc: SourceLoc | undefined;
  /** clk/rst, added and connected by the DSL itself. */
  readonly implicit: boolean;
}

/** An elaborated, checked module, ready to print. */
export interface ModuleDef {
  readonly name: string;
  readonly generator: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly loc: SourceLoc | undefined;
  readonly ports: readonly PortInfo[];
  readonly instances: readonly Instance[];
  readonly memories: readonly Memory[];
  readonly signals: readonly Signal[];
  /** For each output, the inputs it depends on combinationally (used for loop checks above). */
  readonly combPaths: ReadonlyMap<string, ReadonlySet<string>>;
  readonly lowered: LoweredModule;
  readonly description: string | undefined;
  /** Set for modules written in Verilog rather than generated (e.g. a vendor primitive's model). */
  readonly extern?: ExternInfo;
}

export interface ExternInfo {
  /** The complete Verilog of the module (for simulation and lint). */
  readonly source: string;
  /** A vendor primitive: synthesis uses the vendor's cell, so `source` is a simulation model only. */
  readonly primitive: boolean;
}

export interface ExternSpec {
  readonly name: string;
  readonly ports: readonly { name: string; dir: 'input' | 'output'; type: HwType }[];
  /** Output -> inputs it depends on combinationally; outputs not listed are registered. */
  readonly combPaths?: Readonly<Record<string, readonly string[]>>;
  readonly source: string;
  readonly primitive?: boolean;
  readonly description?: string;
  readonly params?: Readonly<Record<string, unknown>>;
}

/** A module given as Verilog text (a vendor primitive's model, a hand-written reference). */
export function externModule(spec: ExternSpec): ModuleDef {
  const loc = captureLoc();
  return {
    name: spec.name,
    generator: 'extern',
    params: spec.params ?? {},
    loc,
    ports: spec.ports.map((p) => ({ ...p, loc: undefined, implicit: false })),
    instances: [],
    memories: [],
    signals: [],
    combPaths: new Map(Object.entries(spec.combPaths ?? {}).map(([o, ins]) => [o, new Set(ins)])),
    lowered: { ports: [], body: [] },
    description: spec.description,
    extern: { source: spec.source, primitive: spec.primitive ?? false },
  };
}

/** What a module body sees: declare ports, wires, registers, memories and instances. */
export class ModuleBuilder {
  readonly scope: NameScope;
  readonly signals: Signal[] = [];
  readonly instances: Instance[] = [];
  readonly memories: Memory[] = [];
  readonly unusedMarks: { expr: Expr; loc: SourceLoc | undefined }[] = [];
  description: string | undefined;
  private clockSig: Signal | undefined;
  private resetSig: Signal | undefined;
  private finished = false;

  constructor(
    readonly name: string,
    readonly instantiate: (parent: ModuleBuilder, gen: ModuleGenerator<any>, params: unknown) => ModuleDef,
  ) {
    this.scope = new NameScope(name);
    this.scope.claim('clk', undefined, 'port');
    this.scope.claim('rst', undefined, 'port');
  }

  checkOpen(loc: SourceLoc | undefined): void {
    if (this.finished) throw new ElaborationError(loc, `module '${this.name}' is already elaborated; it cannot be changed`);
  }

  private add(kind: SignalKind, name: string, type: HwType, reg?: RegOptions): Signal {
    const loc = captureLoc();
    this.checkOpen(loc);
    const s = new Signal(this, kind, this.scope.claim(name, loc, kind), type, loc, reg);
    this.signals.push(s);
    return s;
  }

  /** A doc line printed above the module in the Verilog. */
  doc(text: string): void {
    this.description = text;
  }

  input(name: string, type: HwType): Signal {
    return this.add('input', name, type);
  }
  output(name: string, type: HwType): Signal {
    return this.add('output', name, type);
  }
  wire(name: string, type: HwType, value?: Operand): Signal {
    const w = this.add('wire', name, type);
    if (value !== undefined) w.assign(value);
    return w;
  }
  /** A clocked register (synchronous reset to 0 unless told otherwise). */
  reg(name: string, type: HwType, opts: RegOptions = {}): Signal {
    const r = this.add('reg', name, type, opts);
    this.useClock();
    if (r.regOptions!.reset !== null) this.useReset();
    return r;
  }
  /** `n` wires named `<name>_0 .. <name>_{n-1}`. */
  wires(name: string, n: number, type: HwType): Signal[] {
    return Array.from({ length: n }, (_, i) => this.wire(`${name}_${i}`, type));
  }
  regs(name: string, n: number, type: HwType, opts: RegOptions = {}): Signal[] {
    return Array.from({ length: n }, (_, i) => this.reg(`${name}_${i}`, type, opts));
  }

  memory(name: string, opts: MemoryOptions): Memory {
    const loc = captureLoc();
    this.checkOpen(loc);
    if (!Number.isInteger(opts.depth) || opts.depth < 2) throw new ElaborationError(loc, `memory '${name}' depth must be an integer >= 2`);
    const mem = new Memory(this, this.scope.claim(name, loc, 'memory'), opts.depth, opts.type, loc, opts);
    this.memories.push(mem);
    this.useClock();
    return mem;
  }

  /** Instantiates a submodule generated from `gen` with `params` (deduplicated by parameters). */
  instance<P>(name: string, gen: ModuleGenerator<P>, params: P, ports?: Record<string, Operand>): Instance {
    const loc = captureLoc();
    this.checkOpen(loc);
    const def = this.instantiate(this, gen, params);
    const inst = new Instance(this, this.scope.claim(name, loc, 'instance'), def, loc);
    this.instances.push(inst);
    if (def.ports.some((p) => p.implicit && p.name === 'clk')) this.useClock();
    if (def.ports.some((p) => p.implicit && p.name === 'rst')) this.useReset();
    if (ports) inst.bind(ports);
    return inst;
  }

  /**
   * Instantiates an extern module (see externModule), with optional Verilog parameter
   * overrides. Signed values bound to its ports go through unsigned wires, as vendor
   * primitives expect (and Yosys 0.55 asserts on signed wires at DSP48E2 ports).
   */
  externInstance(name: string, def: ModuleDef, ports: Record<string, Operand>, verilogParams?: Record<string, number | string>): Instance {
    const loc = captureLoc();
    this.checkOpen(loc);
    if (!def.extern) throw new ElaborationError(loc, `externInstance needs an extern module; '${def.name}' is generated (use instance())`);
    const inst = new Instance(this, this.scope.claim(name, loc, 'instance'), def, loc, verilogParams);
    this.instances.push(inst);
    inst.bind(ports);
    return inst;
  }

  /** Declares that these bits are deliberately not read (keeps lint quiet, documents intent). */
  unused(...exprs: Expr[]): void {
    const loc = captureLoc();
    for (const expr of exprs) this.unusedMarks.push({ expr, loc });
  }

  /** The implicit clock, created on first use. */
  get clock(): Signal {
    return this.useClock();
  }
  /** The implicit synchronous, active-high reset, created on first use. */
  get reset(): Signal {
    return this.useReset();
  }

  useClock(): Signal {
    this.clockSig ??= this.implicitPort('clk');
    return this.clockSig;
  }
  useReset(): Signal {
    this.resetSig ??= this.implicitPort('rst');
    return this.resetSig;
  }
  private implicitPort(name: string): Signal {
    const s = new Signal(this, 'input', name, Bool, undefined);
    this.signals.push(s);
    return s;
  }

  markFinished(): void {
    this.finished = true;
  }

  isImplicit(s: Signal): boolean {
    return s === this.clockSig || s === this.resetSig;
  }
}

/** A hardware generator: a name function and a body over a plain parameter object. */
export interface ModuleGenerator<P> {
  readonly id: string;
  readonly name: (params: P) => string;
  readonly body: (m: ModuleBuilder, params: P) => void;
  readonly loc: SourceLoc | undefined;
}

export function defineModule<P>(id: string, name: (params: P) => string, body: (m: ModuleBuilder, params: P) => void): ModuleGenerator<P> {
  return { id, name, body, loc: captureLoc() };
}
