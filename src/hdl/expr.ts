/**
 * Hardware expressions and their width rules. Every operation keeps full precision, so the
 * only ways to lose bits are the explicit `trunc` and `slice`:
 *
 * | operation            | result type                                   |
 * |----------------------|-----------------------------------------------|
 * | a.add(b), a.sub(b)   | max(wa, wb) + 1, signedness of the operands   |
 * | a.mul(b)             | wa + wb                                        |
 * | a.neg()              | SInt(wa + 1) (a must be signed)               |
 * | a.and/or/xor(b)      | max(wa, wb)                                    |
 * | a.not()              | wa                                             |
 * | eq ne lt le gt ge    | UInt(1)                                        |
 * | reduceAnd/Or/Xor     | UInt(1)                                        |
 * | mux(s, a, b)         | max(wa, wb); s must be UInt(1)                |
 * | a.slice(hi, lo)      | UInt(hi - lo + 1); a.bit(i) is UInt(1)         |
 * | cat(a, b, ...)       | UInt(sum of widths), first argument is the MSBs|
 * | a.shl(n) / a.shr(n)  | wa + n / wa - n (arithmetic for SInt)          |
 * | a.ext(w)             | w >= wa, sign- or zero-extended by a's type    |
 * | a.trunc(w)           | w <= wa, low bits, a's signedness kept         |
 * | a.asSInt/asUInt()    | same bits, other signedness                    |
 * | a.toSInt()           | SInt(wa + 1) for UInt (value-preserving)       |
 *
 * Binary operands must agree in signedness (convert explicitly); a plain number or bigint
 * operand becomes a constant of the other operand's signedness and just enough width.
 */
import { bitsFor, Bool, SInt, UInt, typeName, type HwType } from './types.ts';
import { captureLoc, type SourceLoc } from './source.ts';
import { ElaborationError, WidthMismatchError } from './errors.ts';

export type BinOp = '+' | '-' | '*' | '&' | '|' | '^';
export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type ReduceOp = '&' | '|' | '^';

/** What every signal (port, wire, register, instance output) offers to expressions. */
export interface SignalRef {
  readonly name: string;
  readonly type: HwType;
  readonly loc: SourceLoc | undefined;
  readonly ownerName: string;
}

export type Node =
  | { kind: 'ref'; sig: SignalRef }
  | { kind: 'const'; value: bigint }
  | { kind: 'bin'; op: BinOp; a: Expr; b: Expr }
  | { kind: 'cmp'; op: CmpOp; a: Expr; b: Expr }
  | { kind: 'neg'; a: Expr }
  | { kind: 'not'; a: Expr }
  | { kind: 'reduce'; op: ReduceOp; a: Expr }
  | { kind: 'mux'; sel: Expr; a: Expr; b: Expr }
  | { kind: 'slice'; a: Expr; hi: number; lo: number }
  | { kind: 'cat'; parts: Expr[] }
  | { kind: 'ext'; a: Expr }
  | { kind: 'trunc'; a: Expr }
  | { kind: 'cast'; a: Expr };

export type Operand = Expr | number | bigint;

export class Expr {
  constructor(
    readonly type: HwType,
    readonly node: Node,
  ) {}

  get width(): number {
    return this.type.width;
  }
  get signed(): boolean {
    return this.type.signed;
  }

  add(b: Operand): Expr {
    return arith('+', this, b);
  }
  sub(b: Operand): Expr {
    return arith('-', this, b);
  }
  mul(b: Operand): Expr {
    const o = operand(b, this);
    sameSign('mul', this, o);
    return new Expr(mk(this.signed, this.width + o.width), { kind: 'bin', op: '*', a: this, b: o });
  }
  neg(): Expr {
    if (!this.signed) throw new ElaborationError(captureLoc(), `neg() needs a signed operand, got ${typeName(this.type)}`);
    return new Expr(SInt(this.width + 1), { kind: 'neg', a: this });
  }
  and(b: Operand): Expr {
    return bitwise('&', this, b);
  }
  or(b: Operand): Expr {
    return bitwise('|', this, b);
  }
  xor(b: Operand): Expr {
    return bitwise('^', this, b);
  }
  not(): Expr {
    return new Expr(this.type, { kind: 'not', a: this });
  }
  eq(b: Operand): Expr {
    return compare('==', this, b);
  }
  ne(b: Operand): Expr {
    return compare('!=', this, b);
  }
  lt(b: Operand): Expr {
    return compare('<', this, b);
  }
  le(b: Operand): Expr {
    return compare('<=', this, b);
  }
  gt(b: Operand): Expr {
    return compare('>', this, b);
  }
  ge(b: Operand): Expr {
    return compare('>=', this, b);
  }
  reduceAnd(): Expr {
    return new Expr(Bool, { kind: 'reduce', op: '&', a: this });
  }
  reduceOr(): Expr {
    return new Expr(Bool, { kind: 'reduce', op: '|', a: this });
  }
  reduceXor(): Expr {
    return new Expr(Bool, { kind: 'reduce', op: '^', a: this });
  }

  /** Bits hi..lo (inclusive) as a UInt. */
  slice(hi: number, lo: number): Expr {
    if (!Number.isInteger(hi) || !Number.isInteger(lo) || lo < 0 || hi < lo || hi >= this.width) {
      throw new ElaborationError(captureLoc(), `slice [${hi}:${lo}] is out of range for ${describe(this)} (${typeName(this.type)})`);
    }
    return new Expr(UInt(hi - lo + 1), { kind: 'slice', a: this, hi, lo });
  }
  bit(i: number): Expr {
    return this.slice(i, i);
  }
  /** Widens to `width`, sign-extending signed values. */
  ext(width: number): Expr {
    if (width < this.width) {
      throw new WidthMismatchError(captureLoc(), `ext(${width}) would narrow ${describe(this)} (${typeName(this.type)}); use trunc()`);
    }
    return width === this.width ? this : new Expr(mk(this.signed, width), { kind: 'ext', a: this });
  }
  /** Keeps the low `width` bits (an explicit, visible wrap-around). */
  trunc(width: number): Expr {
    if (width > this.width) {
      throw new WidthMismatchError(captureLoc(), `trunc(${width}) would widen ${describe(this)} (${typeName(this.type)}); use ext()`);
    }
    return width === this.width ? this : new Expr(mk(this.signed, width), { kind: 'trunc', a: this });
  }
  /** ext() or trunc(), whichever reaches `width`. */
  resize(width: number): Expr {
    return width >= this.width ? this.ext(width) : this.trunc(width);
  }
  asSInt(): Expr {
    return this.signed ? this : new Expr(SInt(this.width), { kind: 'cast', a: this });
  }
  asUInt(): Expr {
    return this.signed ? new Expr(UInt(this.width), { kind: 'cast', a: this }) : this;
  }
  /** Value-preserving conversion of an unsigned value to signed (one bit wider). */
  toSInt(): Expr {
    return this.signed ? this : this.ext(this.width + 1).asSInt();
  }
  shl(n: number): Expr {
    checkShift(n, this);
    if (n === 0) return this;
    const c = cat(this, lit(0, UInt(n)));
    return this.signed ? c.asSInt() : c;
  }
  shr(n: number): Expr {
    checkShift(n, this);
    if (n === 0) return this;
    if (n >= this.width) throw new ElaborationError(captureLoc(), `shr(${n}) removes every bit of ${describe(this)}`);
    const s = this.slice(this.width - 1, n);
    return this.signed ? s.asSInt() : s;
  }
}

function mk(signed: boolean, width: number): HwType {
  return signed ? SInt(width) : UInt(width);
}

function checkShift(n: number, e: Expr): void {
  if (!Number.isInteger(n) || n < 0) throw new ElaborationError(captureLoc(), `shift amount must be a non-negative integer constant, got ${n} for ${describe(e)}`);
}

export function describe(e: Expr): string {
  return e.node.kind === 'ref' ? `'${e.node.sig.name}'` : e.node.kind === 'const' ? `constant ${e.node.value}` : `a ${e.node.kind} expression`;
}

function operand(b: Operand, like: Expr): Expr {
  if (b instanceof Expr) return b;
  const v = BigInt(b);
  if (!like.signed && v < 0n) throw new ElaborationError(captureLoc(), `negative constant ${v} used with unsigned ${describe(like)}`);
  return lit(v, mk(like.signed, bitsFor(v, like.signed)));
}

function sameSign(op: string, a: Expr, b: Expr): void {
  if (a.signed !== b.signed) {
    throw new WidthMismatchError(
      captureLoc(),
      `${op} mixes ${typeName(a.type)} ${describe(a)} with ${typeName(b.type)} ${describe(b)}; convert one with asSInt()/toSInt()/asUInt()`,
    );
  }
}

function arith(op: '+' | '-', a: Expr, bIn: Operand): Expr {
  const b = operand(bIn, a);
  sameSign(op === '+' ? 'add' : 'sub', a, b);
  return new Expr(mk(a.signed, Math.max(a.width, b.width) + 1), { kind: 'bin', op, a, b });
}

function bitwise(op: '&' | '|' | '^', a: Expr, bIn: Operand): Expr {
  const b = operand(bIn, a);
  sameSign(op, a, b);
  return new Expr(mk(a.signed, Math.max(a.width, b.width)), { kind: 'bin', op, a, b });
}

function compare(op: CmpOp, a: Expr, bIn: Operand): Expr {
  const b = operand(bIn, a);
  sameSign(op, a, b);
  return new Expr(Bool, { kind: 'cmp', op, a, b });
}

/** A constant of the given type; the value must fit. */
export function lit(value: number | bigint, type: HwType): Expr {
  const v = BigInt(value);
  const min = type.signed ? -(1n << BigInt(type.width - 1)) : 0n;
  const max = type.signed ? (1n << BigInt(type.width - 1)) - 1n : (1n << BigInt(type.width)) - 1n;
  if (v < min || v > max) throw new WidthMismatchError(captureLoc(), `constant ${v} does not fit ${typeName(type)}`);
  return new Expr(type, { kind: 'const', value: v });
}

/** `sel ? a : b`. */
export function mux(sel: Expr, a: Operand, b: Operand): Expr {
  if (sel.width !== 1) throw new WidthMismatchError(captureLoc(), `mux select ${describe(sel)} must be 1 bit wide, got ${typeName(sel.type)}`);
  const ea = a instanceof Expr ? a : b instanceof Expr ? operand(a, b) : operand(a, lit(0, UInt(1)));
  const eb = operand(b, ea);
  sameSign('mux', ea, eb);
  return new Expr(mk(ea.signed, Math.max(ea.width, eb.width)), { kind: 'mux', sel, a: ea, b: eb });
}

/** Concatenation; the first argument becomes the most significant bits. */
export function cat(...parts: Expr[]): Expr {
  if (parts.length === 0) throw new ElaborationError(captureLoc(), 'cat() needs at least one part');
  if (parts.length === 1) return parts[0]!.asUInt();
  return new Expr(UInt(parts.reduce((s, p) => s + p.width, 0)), { kind: 'cat', parts });
}

/**
 * Picks `options[index]` (a mux tree emitted as a readable ternary chain); indexes past the end
 * give the last option. All options must have the same type.
 */
export function select(index: Expr, options: readonly Expr[]): Expr {
  if (options.length === 0) throw new ElaborationError(captureLoc(), 'select() needs at least one option');
  const t = options[0]!.type;
  for (const o of options) {
    if (o.width !== t.width || o.signed !== t.signed) {
      throw new WidthMismatchError(captureLoc(), `select() options must share one type: ${typeName(t)} vs ${typeName(o.type)} (${describe(o)})`);
    }
  }
  // A trailing run of options equal to the last one collapses into the default branch.
  const same = (a: Expr, b: Expr) => a === b || (a.node.kind === 'const' && b.node.kind === 'const' && a.node.value === b.node.value);
  let last = options.length - 1;
  while (last > 0 && same(options[last - 1]!, options[last]!)) last--;
  let out = options[last]!;
  for (let i = last - 1; i >= 0; i--) out = mux(index.eq(i), options[i]!, out);
  return out;
}

/** Splits a packed bus into `n` equal fields, element 0 in the least significant bits. */
export function split(bus: Expr, n: number, type?: HwType): Expr[] {
  if (!Number.isInteger(n) || n < 1 || bus.width % n !== 0) {
    throw new WidthMismatchError(captureLoc(), `cannot split ${describe(bus)} (${bus.width} bits) into ${n} equal fields`);
  }
  const w = bus.width / n;
  return Array.from({ length: n }, (_, i) => {
    const f = bus.slice((i + 1) * w - 1, i * w);
    return type?.signed ? f.asSInt() : f;
  });
}

/** Packs fields into a bus, element 0 in the least significant bits (inverse of split). */
export function pack(fields: readonly Expr[]): Expr {
  return cat(...[...fields].reverse());
}
