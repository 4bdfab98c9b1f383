/**
 * Elaboration: runs module generators, deduplicates them by parameters, and checks each module
 * (undriven signals, unbound ports, unread bits, combinational loops) before it can be used.
 */
import { CombinationalLoopError, ElaborationError, UnboundPortError, UndrivenError, UnusedSignalError } from './errors.ts';
import type { Expr } from './expr.ts';
import { ModuleBuilder, type ModuleDef, type ModuleGenerator, type PortInfo, type Signal } from './module.ts';
import { checkModuleName } from './names.ts';
import { captureLoc, formatLoc, type SourceLoc } from './source.ts';
import { lowerModule } from './emit/lower.ts';

/** Canonical JSON (sorted keys) so equal parameter objects give equal keys. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export class Design {
  private readonly byKey = new Map<string, ModuleDef>();
  private readonly byName = new Map<string, string>();
  private readonly inProgress = new Set<string>();

  get modules(): ModuleDef[] {
    return [...this.byKey.values()];
  }

  /** Elaborates `gen(params)` once; later calls with equal parameters return the same module. */
  elaborate<P>(gen: ModuleGenerator<P>, params: P): ModuleDef {
    const key = `${gen.id}|${canonicalJson(params)}`;
    const known = this.byKey.get(key);
    if (known) return known;
    const name = gen.name(params);
    checkModuleName(name, gen.loc);
    const other = this.byName.get(name);
    if (other !== undefined && other !== key) {
      throw new ElaborationError(gen.loc, `module name '${name}' is produced by two different parameter sets (${other} and ${key}); include the differing parameters in the name`);
    }
    if (this.inProgress.has(key)) throw new ElaborationError(captureLoc(), `module '${name}' instantiates itself`);
    this.inProgress.add(key);
    const m = new ModuleBuilder(name, (_parent, g, p) => this.elaborate(g, p));
    gen.body(m, params);
    m.markFinished();
    const def = check(m, gen.id, gen.loc, params as Record<string, unknown>);
    this.inProgress.delete(key);
    this.byKey.set(key, def);
    this.byName.set(name, key);
    return def;
  }

  /** Modules reachable from `top`, children before parents, each once. */
  reachable(top: ModuleDef): ModuleDef[] {
    const out: ModuleDef[] = [];
    const seen = new Set<ModuleDef>();
    const visit = (d: ModuleDef) => {
      if (seen.has(d)) return;
      seen.add(d);
      for (const i of d.instances) visit(i.def);
      out.push(d);
    };
    visit(top);
    return out;
  }

  /** How many times each module occurs in the hierarchy under `top` (top counts once). */
  instanceCounts(top: ModuleDef): Map<ModuleDef, number> {
    const counts = new Map<ModuleDef, number>();
    const order = this.reachable(top).reverse(); // parents first
    counts.set(top, 1);
    for (const d of order) {
      const n = counts.get(d) ?? 0;
      for (const i of d.instances) counts.set(i.def, (counts.get(i.def) ?? 0) + n);
    }
    return counts;
  }
}

function check(m: ModuleBuilder, generator: string, loc: SourceLoc | undefined, params: Record<string, unknown>): ModuleDef {
  for (const s of m.signals) {
    if ((s.kind === 'output' || s.kind === 'wire' || s.kind === 'reg') && !s.driver) {
      throw new UndrivenError(s.loc, `undriven ${s.kind === 'reg' ? 'register' : s.kind}: '${s.name}' in module '${m.name}' is declared but never assigned`);
    }
  }
  for (const inst of m.instances) {
    for (const p of inst.def.ports) {
      if (p.dir === 'input' && !p.implicit && !inst.bindings.has(p.name)) {
        throw new UnboundPortError(inst.loc, `unbound port: input '${p.name}' of instance '${inst.name}' (module '${inst.def.name}') in module '${m.name}' is not connected`);
      }
    }
  }

  const ports: PortInfo[] = m.signals
    .filter((s) => s.kind === 'input' || s.kind === 'output')
    .sort((a, b) => Number(m.isImplicit(b)) - Number(m.isImplicit(a)))
    .map((s) => ({ name: s.name, dir: s.kind === 'input' ? 'input' : 'output', type: s.type, loc: s.loc, implicit: m.isImplicit(s) }));

  const combPaths = checkLoops(m);
  const { lowered, reads } = lowerModule(m, ports);

  for (const s of m.signals) {
    if (s.kind === 'output') continue;
    const unread = reads.unread(s);
    if (unread.length === 0) continue;
    const bits = unread.length === 1 && unread[0]![0] === s.width - 1 && unread[0]![1] === 0 ? '' : ` bits ${unread.map(([h, l]) => (h === l ? `[${h}]` : `[${h}:${l}]`)).join(', ')} of`;
    const what = s.kind === 'instOut' ? 'instance output' : s.kind === 'memRead' ? 'memory read' : s.kind === 'reg' ? 'register' : s.kind;
    throw new UnusedSignalError(s.loc, `unused signal:${bits} ${what} '${s.name}' in module '${m.name}' ${bits ? 'are' : 'is'} never read; use it or mark it with m.unused(...)`);
  }

  return {
    name: m.name,
    generator,
    params,
    loc,
    ports,
    instances: m.instances,
    memories: m.memories,
    signals: m.signals,
    combPaths,
    lowered,
    description: m.description,
  };
}

function refsOf(e: Expr, out: Set<Signal>): Set<Signal> {
  const n = e.node;
  switch (n.kind) {
    case 'ref':
      out.add(n.sig as Signal);
      break;
    case 'const':
      break;
    case 'bin':
    case 'cmp':
      refsOf(n.a, out);
      refsOf(n.b, out);
      break;
    case 'mux':
      refsOf(n.sel, out);
      refsOf(n.a, out);
      refsOf(n.b, out);
      break;
    case 'cat':
      for (const p of n.parts) refsOf(p, out);
      break;
    default:
      refsOf(n.a, out);
  }
  return out;
}

/**
 * Finds combinational cycles at signal granularity (through wires, outputs and instance
 * ports, using each child's input->output paths) and returns this module's own paths.
 */
function checkLoops(m: ModuleBuilder): Map<string, Set<string>> {
  const deps = new Map<Signal, Set<Signal>>();
  for (const s of m.signals) {
    if ((s.kind === 'wire' || s.kind === 'output') && s.driver) deps.set(s, refsOf(s.driver.expr, new Set()));
  }
  for (const inst of m.instances) {
    for (const [port, out] of inst.outputs) {
      const d = new Set<Signal>();
      for (const inPort of inst.def.combPaths.get(port) ?? []) {
        const b = inst.bindings.get(inPort);
        if (b) refsOf(b.expr, d);
      }
      deps.set(out, d);
    }
  }
  const state = new Map<Signal, 1 | 2>();
  const stack: Signal[] = [];
  const visit = (s: Signal) => {
    const st = state.get(s);
    if (st === 2) return;
    if (st === 1) {
      const cycle = stack.slice(stack.indexOf(s)).concat(s);
      const first = cycle[0]!;
      const loc = first.driver?.loc ?? first.loc;
      throw new CombinationalLoopError(loc, `combinational loop in module '${m.name}': ${cycle.map((c) => `'${c.name}'`).join(' -> ')} (${cycle.slice(0, -1).map((c) => `${c.name} at ${formatLoc(c.driver?.loc ?? c.loc)}`).join(', ')})`);
    }
    state.set(s, 1);
    stack.push(s);
    for (const d of deps.get(s) ?? []) visit(d);
    stack.pop();
    state.set(s, 2);
  };
  for (const s of deps.keys()) visit(s);

  const paths = new Map<string, Set<string>>();
  const reach = new Map<Signal, Set<string>>();
  const inputsOf = (s: Signal): Set<string> => {
    const known = reach.get(s);
    if (known) return known;
    const r = new Set<string>();
    reach.set(s, r);
    if (s.kind === 'input') r.add(s.name);
    for (const d of deps.get(s) ?? []) for (const i of inputsOf(d)) r.add(i);
    return r;
  };
  for (const s of m.signals) if (s.kind === 'output') paths.set(s.name, inputsOf(s));
  return paths;
}
