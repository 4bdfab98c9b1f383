/** Pieces shared by the sparse chain and the packed sparse chain. */
import { Bool, lit, select, type Expr, type ModuleBuilder } from '../../hdl/index.ts';
import { activationPosition, type ChainGeometry, type Pattern } from '../../sparsity/pattern.ts';

/** The (mode, first, last) of d cycles ago, for d = 0..depth, as ce-enabled delay lines. */
export function controlLine(m: ModuleBuilder, ce: Expr, mode: Expr, first: Expr, last: Expr, depth: number): { mode: Expr[]; first: Expr[]; last: Expr[] } {
  const line = { mode: [mode], first: [first], last: [last] };
  for (let d = 1; d <= depth; d++) {
    for (const [key, src] of [['mode', mode], ['first', first], ['last', last]] as const) {
      const r = m.reg(`${key}_d${d}`, src.type, { enable: ce });
      r.assign(line[key][d - 1]!);
      line[key].push(r);
    }
  }
  // Only a line's last tap can go unread (each other tap feeds the next), e.g. the mode when no
  // mode changes what the last stage does; synthesis trims such registers.
  m.unused(line.mode[depth]!, line.first[depth]!, line.last[depth]!);
  return line;
}

/** A per-mode constant flag as a readable OR of mode comparisons (or its negation, if shorter). */
export function perMode(values: readonly boolean[], modeSig: Expr): Expr {
  if (values.every((v) => v === values[0])) return lit(values[0] ? 1 : 0, Bool);
  const on = values.flatMap((v, k) => (v ? [k] : []));
  const off = values.flatMap((v, k) => (v ? [] : [k]));
  const anyOf = (ks: number[]) => ks.map((k) => modeSig.eq(k)).reduce((x, y) => x.or(y));
  return on.length <= off.length ? anyOf(on) : anyOf(off).not();
}

/**
 * Slice j's sparse mux over an activation window: one multiplexer per distinct
 * (M-group base, M) among the modes, then the mode. `idx` is slice j's index field.
 */
export function sparseMux(window: readonly Expr[], idx: Expr | undefined, modes: readonly Pattern[], geoms: readonly ChainGeometry[], j: number, mode: Expr): Expr {
  const options = new Map<string, Expr>();
  const perModeAct = modes.map((q, k) => {
    if (q === 'dense') return window[j]!;
    const base = activationPosition(q, geoms[k]!, j, 0);
    const key = `${base}:${q.m}`;
    let e = options.get(key);
    if (!e) {
      const bits = Math.ceil(Math.log2(q.m));
      const sel = bits === idx!.width ? idx! : idx!.slice(bits - 1, 0);
      e = select(sel, window.slice(base, base + q.m));
      options.set(key, e);
    }
    return e;
  });
  return modes.length === 1 ? perModeAct[0]! : select(mode, perModeAct);
}

/** `x` delayed by `cycles` ce-enabled registers named `<name>_d1..`. */
export function delayLine(m: ModuleBuilder, ce: Expr, x: Expr, name: string, cycles: number): Expr {
  let cur = x;
  for (let k = 1; k <= cycles; k++) {
    const r = m.reg(`${name}_d${k}`, x.type, { enable: ce });
    r.assign(cur);
    cur = r;
  }
  return cur;
}

