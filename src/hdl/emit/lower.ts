/**
 * Lowers one module's IR to Verilog text fragments (declarations, assigns, instances, always
 * blocks). It runs during elaboration because the unused-bit check needs to know exactly which
 * bits the emitted Verilog reads.
 */
import { ElaborationError } from '../errors.ts';
import type { Expr, SignalRef } from '../expr.ts';
import type { ModuleBuilder, PortInfo, Signal } from '../module.ts';
import type { SourceLoc } from '../source.ts';
import { declRange, ExprLowerer, litText, ReadSet } from './expr-lower.ts';

export interface Line {
  readonly text: string;
  readonly loc?: SourceLoc;
}

export interface LoweredModule {
  readonly ports: readonly Line[];
  readonly body: readonly Line[];
}

const I = '  ';

export function lowerModule(m: ModuleBuilder, ports: readonly PortInfo[]): { lowered: LoweredModule; reads: ReadSet } {
  const reads = new ReadSet();
  let ctxLoc: SourceLoc | undefined;
  const lower = new ExprLowerer(m.name, reads, (base) => m.scope.fresh(base), (sig: SignalRef) => {
    if (sig.ownerName !== m.name) {
      throw new ElaborationError(ctxLoc, `signal '${sig.name}' of module '${sig.ownerName}' is used inside module '${m.name}'; pass it through a port`);
    }
  });
  const ex = (e: Expr, base: string, loc: SourceLoc | undefined): string => {
    ctxLoc = loc;
    return lower.top(e, base);
  };

  const kinds = ports.map((p) => `${p.dir === 'input' ? 'input ' : 'output'} wire ${declRange(p.type)}`);
  const pad = Math.max(...kinds.map((k) => k.length));
  const portLines: Line[] = ports.map((p, i) => ({ text: `${kinds[i]!.padEnd(pad)}${p.name}`, loc: p.loc }));

  const decls: Line[] = [];
  const assigns: Line[] = [];
  const seq: Line[] = [];
  const insts: Line[] = [];

  // Combinational drivers and register next-state, in declaration order.
  const regGroups = new Map<string, { enable: string | undefined; reset: boolean; regs: Signal[]; next: string[] }>();
  for (const s of m.signals) {
    if (s.kind === 'wire' || s.kind === 'reg' || s.kind === 'instOut') {
      decls.push({ text: `${s.kind === 'reg' ? 'reg ' : 'wire'} ${declRange(s.type)}${s.name};`, loc: s.loc });
    }
    if ((s.kind === 'wire' || s.kind === 'output') && s.driver) {
      assigns.push({ text: `assign ${s.name} = ${ex(s.driver.expr, s.name, s.driver.loc)};`, loc: s.driver.loc });
    }
    if (s.kind === 'reg' && s.driver) {
      const o = s.regOptions!;
      const enable = o.enable ? ex(o.enable, `${s.name}_en`, s.loc) : undefined;
      const key = `${enable ?? ''}|${o.reset !== null}`;
      let g = regGroups.get(key);
      if (!g) regGroups.set(key, (g = { enable, reset: o.reset !== null, regs: [], next: [] }));
      g.regs.push(s);
      g.next.push(ex(s.driver.expr, `${s.name}_next`, s.driver.loc));
    }
  }

  for (const mem of m.memories) {
    if (mem.style !== 'auto') decls.push({ text: `(* ram_style = "${mem.style}" *)` });
    decls.push({ text: `reg ${declRange(mem.type)}${mem.name} [0:${mem.depth - 1}];`, loc: mem.loc });
    for (const w of mem.writes) {
      const en = ex(w.enable, `${mem.name}_we`, w.loc);
      const addr = ex(w.addr, `${mem.name}_waddr`, w.loc);
      const data = ex(w.data, `${mem.name}_wdata`, w.loc);
      seq.push(
        { text: `always @(posedge clk) begin`, loc: w.loc },
        { text: `${I}if (${en}) begin` },
        { text: `${I}${I}${mem.name}[${addr}] <= ${data};` },
        { text: `${I}end` },
        { text: `end` },
      );
    }
    for (const r of mem.reads) {
      const en = ex(r.enable, `${r.data.name}_en`, r.loc);
      const addr = ex(r.addr, `${r.data.name}_addr`, r.loc);
      decls.push({ text: `reg  ${declRange(mem.type)}${r.data.name};`, loc: r.loc });
      const body: Line[] = [];
      if (mem.readLatency === 2) {
        const pipe = m.scope.fresh(`${r.data.name}_pipe`);
        decls.push({ text: `reg  ${declRange(mem.type)}${pipe};` });
        body.push({ text: `${I}${I}${pipe} <= ${mem.name}[${addr}];` }, { text: `${I}${I}${r.data.name} <= ${pipe};` });
      } else {
        body.push({ text: `${I}${I}${r.data.name} <= ${mem.name}[${addr}];` });
      }
      seq.push({ text: `always @(posedge clk) begin`, loc: r.loc }, { text: `${I}if (${en}) begin` }, ...body, { text: `${I}end` }, { text: `end` });
    }
  }
  if (m.memories.some((mem) => mem.reads.length > 0 || mem.writes.length > 0)) reads.mark(m.clock, 0, 0);

  for (const g of regGroups.values()) {
    reads.mark(m.clock, 0, 0);
    seq.push({ text: `always @(posedge clk) begin` });
    let depth = I;
    if (g.reset) {
      reads.mark(m.reset, 0, 0);
      seq.push({ text: `${I}if (rst) begin` });
      for (const r of g.regs) seq.push({ text: `${I}${I}${r.name} <= ${litText(r.regOptions!.reset!, r.width)};` });
      seq.push({ text: g.enable ? `${I}end else if (${g.enable}) begin` : `${I}end else begin` });
      depth = I + I;
    } else if (g.enable) {
      seq.push({ text: `${I}if (${g.enable}) begin` });
      depth = I + I;
    }
    g.regs.forEach((r, i) => seq.push({ text: `${depth}${r.name} <= ${g.next[i]};`, loc: r.driver!.loc }));
    if (g.reset || g.enable) seq.push({ text: `${I}end` });
    seq.push({ text: `end` });
  }

  for (const inst of m.instances) {
    const conns: [string, string][] = [];
    for (const p of inst.def.ports) {
      if (p.implicit) {
        const s = p.name === 'clk' ? m.clock : m.reset;
        reads.mark(s, 0, 0);
        conns.push([p.name, p.name]);
      } else if (p.dir === 'output') {
        conns.push([p.name, inst.out(p.name).name]);
      } else {
        const b = inst.bindings.get(p.name);
        // Ports pass bits, not signedness; a top-level $signed() here also trips a Yosys 0.55 assertion.
        let e = b!.expr;
        while (e.node.kind === 'cast') e = e.node.a;
        if (inst.def.extern && e.signed) {
          ctxLoc = b!.loc;
          conns.push([p.name, lower.unsignedWire(e, `${inst.name}_${p.name}`)]);
        } else {
          conns.push([p.name, ex(e, `${inst.name}_${p.name}`, b!.loc)]);
        }
      }
    }
    const pad = Math.max(...conns.map(([n]) => n.length));
    const vp = Object.entries(inst.verilogParams ?? {});
    if (vp.length > 0) {
      const ppad = Math.max(...vp.map(([n]) => n.length));
      insts.push({ text: `${inst.def.name} #(`, loc: inst.loc });
      vp.forEach(([n, v], i) => insts.push({ text: `${I}.${n.padEnd(ppad)} (${typeof v === 'number' ? v : `"${v}"`})${i < vp.length - 1 ? ',' : ''}` }));
      insts.push({ text: `) ${inst.name} (` });
    } else {
      insts.push({ text: `${inst.def.name} ${inst.name} (`, loc: inst.loc });
    }
    conns.forEach(([n, v], i) => insts.push({ text: `${I}.${n.padEnd(pad)} (${v})${i < conns.length - 1 ? ',' : ''}` }));
    insts.push({ text: `);` });
  }

  // Deliberately unread bits, and temporaries' bits that only serve a narrower use.
  const sink: string[] = [];
  for (const u of m.unusedMarks) sink.push(ex(u.expr, 'unused', u.loc));
  const tempDecls: Line[] = lower.temps.map((t) => ({ text: `wire ${declRange(t.type)}${t.name};` }));
  const tempAssigns: Line[] = lower.temps.map((t) => ({ text: `assign ${t.name} = ${t.text};` }));
  for (const t of lower.temps) {
    for (const [hi, lo] of reads.unread(t.sig)) sink.push(t.type.width === 1 ? t.name : hi === lo ? `${t.name}[${hi}]` : `${t.name}[${hi}:${lo}]`);
  }

  const body: Line[] = [];
  const section = (title: string, lines: Line[]) => {
    if (lines.length === 0) return;
    if (body.length > 0) body.push({ text: '' });
    body.push({ text: `// ${title}` }, ...lines);
  };
  section('Signals', decls);
  section('Generator temporaries', tempDecls);
  section('Combinational logic', [...tempAssigns, ...assigns]);
  section('Submodules', insts);
  section('Sequential logic', seq);
  if (sink.length > 0) section('Bits deliberately left unread (Verilator skips names with "unused")', [{ text: `wire ${m.scope.fresh('unused')} = &{1'b0, ${sink.join(', ')}};` }]);
  return { lowered: { ports: portLines, body: body.map((l) => (l.text === '' ? l : { ...l, text: I + l.text })) }, reads };
}
