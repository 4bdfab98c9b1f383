/**
 * Turns DSL expressions into Verilog-2005 text whose value is exactly the DSL's, whatever
 * Verilog's context-dependent width rules would do: every operand is brought explicitly to the
 * width of its operation (`at`), so each operation is evaluated at one known width and no
 * lint WIDTH warning can arise. Add, sub, mul, bitwise ops, neg and mux commute with extension
 * and truncation (two's complement arithmetic mod 2^W), so they are computed directly at the
 * requested width; anything else that must change width and is not a plain name goes through
 * a named temporary wire.
 */
import type { Expr, SignalRef } from '../expr.ts';
import type { HwType } from '../types.ts';

export interface Temp {
  readonly sig: SignalRef;
  readonly name: string;
  readonly type: HwType;
  readonly text: string;
}

/** Bit-level record of what the emitted Verilog reads, for the unused-signal check. */
export class ReadSet {
  readonly bits = new Map<SignalRef, Uint8Array>();

  mark(sig: SignalRef, hi: number, lo: number): void {
    let b = this.bits.get(sig);
    if (!b) this.bits.set(sig, (b = new Uint8Array(sig.type.width)));
    b.fill(1, lo, hi + 1);
  }

  /** Inclusive [hi, lo] ranges of bits never read, most significant first. */
  unread(sig: SignalRef): [number, number][] {
    const b = this.bits.get(sig);
    const out: [number, number][] = [];
    let hi = -1;
    for (let i = sig.type.width - 1; i >= -1; i--) {
      const free = i >= 0 && (!b || b[i] === 0);
      if (free && hi < 0) hi = i;
      if (!free && hi >= 0) {
        out.push([hi, i + 1]);
        hi = -1;
      }
    }
    return out;
  }
}

export function declRange(t: HwType): string {
  return `${t.signed ? 'signed ' : ''}${t.width > 1 ? `[${t.width - 1}:0] ` : ''}`;
}

export function litText(value: bigint, width: number): string {
  if (value >= 0n) return `${width}'d${value}`;
  if (-value < 1n << BigInt(width - 1) || width === 1) return `-${width}'sd${-value}`;
  return `${width}'h${((1n << BigInt(width)) + value).toString(16)}`; // the most negative value
}

function bitSel(name: string, width: number, hi: number, lo: number): string {
  if (width === 1 || (hi === width - 1 && lo === 0)) return name;
  return hi === lo ? `${name}[${hi}]` : `${name}[${hi}:${lo}]`;
}

function strip(text: string): string {
  if (!text.startsWith('(') || !text.endsWith(')')) return text;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0 && i < text.length - 1) return text;
  }
  return text.slice(1, -1);
}

export class ExprLowerer {
  readonly temps: Temp[] = [];

  constructor(
    private readonly moduleName: string,
    readonly reads: ReadSet,
    private readonly freshTemp: (base: string) => string,
    private readonly onRef: (sig: SignalRef) => void,
  ) {}

  /** Top-level text: the expression at its own width, outer parentheses removed. */
  top(e: Expr, base: string): string {
    this.base = base;
    return strip(this.self(e));
  }

  private base = 't';

  private ref(sig: SignalRef, hi: number, lo: number): string {
    this.onRef(sig);
    this.reads.mark(sig, hi, lo);
    return bitSel(sig.name, sig.type.width, hi, lo);
  }

  /** The expression's value at exactly its own width. */
  self(e: Expr): string {
    const n = e.node;
    const W = e.width;
    switch (n.kind) {
      case 'ref':
        this.onRef(n.sig);
        this.reads.mark(n.sig, W - 1, 0);
        return n.sig.name;
      case 'const':
        return litText(n.value, W);
      case 'bin':
        return `(${this.at(n.a, W)} ${n.op} ${this.at(n.b, W)})`;
      case 'cmp': {
        const wc = Math.max(n.a.width, n.b.width);
        const a = this.at(n.a, wc);
        const b = this.at(n.b, wc);
        if (n.a.signed && n.op !== '==' && n.op !== '!=') return `($signed(${strip(a)}) ${n.op} $signed(${strip(b)}))`;
        return `(${a} ${n.op} ${b})`;
      }
      case 'neg':
        return `(-${this.at(n.a, W)})`;
      case 'not':
        return `(~${this.self(n.a)})`;
      case 'reduce':
        return `(${n.op}${this.self(n.a)})`;
      case 'mux':
        return `(${this.self(n.sel)} ? ${this.at(n.a, W)} : ${this.at(n.b, W)})`;
      case 'slice':
        return this.slice(n.a, n.hi, n.lo);
      case 'cat':
        return `{${n.parts.map((p) => strip(this.catPart(p))).join(', ')}}`;
      case 'ext':
      case 'trunc':
        return this.at(n.a, W);
      case 'cast':
        return `${e.signed ? '$signed' : '$unsigned'}(${strip(this.self(n.a))})`;
    }
  }

  private catPart(p: Expr): string {
    // Inside a concatenation every operand is self-determined: exactly its own width.
    return p.node.kind === 'cast' ? this.self(p.node.a) : this.self(p);
  }

  private slice(a: Expr, hi: number, lo: number): string {
    const n = a.node;
    if (n.kind === 'ref') return this.ref(n.sig, hi, lo);
    if (n.kind === 'slice') return this.slice(n.a, n.lo + hi, n.lo + lo);
    if (n.kind === 'cast') return this.slice(n.a, hi, lo);
    if (lo === 0) return this.at(a, hi + 1);
    return this.slice(this.temp(a), hi, lo);
  }

  /** The expression's value extended (by its signedness) or truncated to exactly `W` bits. */
  at(e: Expr, W: number): string {
    if (W === e.width) return this.self(e);
    const n = e.node;
    const widen = W > e.width;
    switch (n.kind) {
      case 'const': {
        const m = 1n << BigInt(W);
        return litText(widen ? n.value : ((n.value % m) + m) % m, W);
      }
      case 'ref':
        if (!widen) return this.ref(n.sig, W - 1, 0);
        if (!e.signed) return `{${W - e.width}'d0, ${this.ref(n.sig, e.width - 1, 0)}}`;
        const msb = this.ref(n.sig, e.width - 1, e.width - 1);
        return `{${W - e.width === 1 ? msb : `{${W - e.width}{${msb}}}`}, ${this.ref(n.sig, e.width - 1, 0)}}`;
      case 'bin':
        return `(${this.at(n.a, W)} ${n.op} ${this.at(n.b, W)})`;
      case 'neg':
        return `(-${this.at(n.a, W)})`;
      case 'mux':
        return `(${this.self(n.sel)} ? ${this.at(n.a, W)} : ${this.at(n.b, W)})`;
      case 'ext':
        return this.at(n.a, W);
      case 'not':
        if (!widen || e.signed) return `(~${this.at(n.a, W)})`;
        break;
      case 'trunc':
        if (!widen) return this.at(n.a, W);
        break;
      case 'cast':
        if (!widen) return this.at(n.a, W);
        break;
      case 'slice':
        if (!widen) return this.slice(n.a, n.lo + W - 1, n.lo);
        break;
    }
    if (widen && !e.signed) return `{${W - e.width}'d0, ${strip(this.self(e))}}`;
    return this.at(this.temp(e), W);
  }

  /** An unsigned wire holding the expression's bits (for ports of vendor primitives). */
  unsignedWire(e: Expr, base: string): string {
    this.base = base;
    const name = this.freshTemp(base);
    const type = { width: e.width, signed: false };
    const sig: SignalRef = { name, type, loc: undefined, ownerName: this.moduleName };
    this.temps.push({ sig, name, type, text: strip(this.self(e)) });
    this.reads.mark(sig, e.width - 1, 0);
    return name;
  }

  /** Materialises an expression as a named wire so it can be sliced or sign-extended. */
  private temp(e: Expr): Expr {
    const text = strip(this.self(e));
    const name = this.freshTemp(this.base);
    const sig: SignalRef = { name, type: e.type, loc: undefined, ownerName: this.moduleName };
    this.temps.push({ sig, name, type: e.type, text });
    // A stand-in expression object: only `node`, `type` and `width` are read by the lowerer.
    return { type: e.type, width: e.width, signed: e.signed, node: { kind: 'ref', sig } } as unknown as Expr;
  }
}
