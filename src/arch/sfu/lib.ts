/**
 * Datapath helpers shared by the SFU generators: constant ROMs as balanced mux trees, barrel
 * shifters, the round-half-up shifts and saturations of src/numerics/fixed.ts, and pipeline
 * registers. Every helper that uses an intermediate value more than once names it (a wire), so
 * the emitted Verilog stays linear in size (the DSL inlines expressions otherwise).
 */
import { Bool, lit, mux, SInt, UInt, type Expr, type HwType, type ModuleBuilder, type Signal } from '../../hdl/index.ts';

/** A named wire holding `e`. */
export function named(m: ModuleBuilder, name: string, e: Expr): Signal {
  return m.wire(name, e.type, e);
}

/** A pipeline register loading `e` when `ce` is high; no reset (datapath), so it maps to SRLs/FFs freely. */
export function pipe(m: ModuleBuilder, name: string, e: Expr, ce: Expr): Signal {
  const r = m.reg(name, e.type, { enable: ce, reset: null });
  r.assign(e);
  return r;
}

/** `depth` pipeline registers in a row (depth 0 returns `e`). */
export function delay(m: ModuleBuilder, name: string, e: Expr, ce: Expr, depth: number): Expr {
  let cur = e;
  for (let i = 0; i < depth; i++) cur = pipe(m, `${name}_d${i + 1}`, cur, ce);
  return cur;
}

/** `depth` valid-bit registers (reset to 0) in a row. */
export function delayValid(m: ModuleBuilder, name: string, e: Expr, ce: Expr, depth: number): Expr {
  let cur = e;
  for (let i = 0; i < depth; i++) cur = validReg(m, `${name}_v${i + 1}`, cur, ce);
  return cur;
}

/** A valid-bit pipeline register (reset to 0). */
export function validReg(m: ModuleBuilder, name: string, e: Expr, ce: Expr): Signal {
  const r = m.reg(name, Bool, { enable: ce });
  r.assign(e);
  return r;
}

/**
 * table[index] as a balanced binary mux tree over the index bits (equal subtrees fold into one
 * constant). Entries past the end of the table read `pad`. Yosys maps the tree to LUT ROMs.
 */
export function rom(index: Expr, table: readonly (number | bigint)[], type: HwType, pad: number | bigint = 0): Expr {
  if (index.signed) throw new Error('rom index must be unsigned');
  const at = (i: number): bigint => BigInt(i < table.length ? table[i]! : pad);
  const build = (bit: number, base: number): Expr | bigint => {
    if (bit < 0) return at(base);
    const lo = build(bit - 1, base);
    const hi = build(bit - 1, base + 2 ** bit);
    if (typeof lo === 'bigint' && typeof hi === 'bigint' && lo === hi) return lo;
    return mux(index.bit(bit), typeof hi === 'bigint' ? lit(hi, type) : hi, typeof lo === 'bigint' ? lit(lo, type) : lo);
  };
  const t = build(index.width - 1, 0);
  return typeof t === 'bigint' ? lit(t, type) : t;
}

/** All-ones (signed: -1) or zero of `x`'s type, by the sign bit of `x` (for shifts past the width). */
function signFill(x: Expr): Expr {
  if (!x.signed) return lit(0, x.type);
  return mux(x.bit(x.width - 1), lit(-1, x.type), lit(0, x.type));
}

/** x >> amt (arithmetic for SInt), same width as x; one named wire per amount bit. */
export function shrVar(m: ModuleBuilder, name: string, x: Expr, amtIn: Expr): Expr {
  const amt = amtIn.node.kind === 'ref' ? amtIn : named(m, `${name}_amt`, amtIn);
  let cur: Expr = x;
  for (let i = 0; i < amt.width; i++) {
    const n = 2 ** i;
    const shifted = n >= cur.width ? signFill(cur) : cur.shr(n).ext(cur.width);
    cur = named(m, `${name}_r${i}`, mux(amt.bit(i), shifted, cur));
  }
  return cur;
}

/** (x << amt) truncated to x's width; one named wire per amount bit. */
export function shlVar(m: ModuleBuilder, name: string, x: Expr, amtIn: Expr): Expr {
  const amt = amtIn.node.kind === 'ref' ? amtIn : named(m, `${name}_amt`, amtIn);
  let cur: Expr = x;
  for (let i = 0; i < amt.width; i++) {
    const n = 2 ** i;
    const shifted = n >= cur.width ? lit(0, cur.type) : cur.shl(n).trunc(cur.width);
    cur = named(m, `${name}_l${i}`, mux(amt.bit(i), shifted, cur));
  }
  return cur;
}

/** roundShift(x, sh) for a constant sh >= 1: floor((x + 2^(sh-1)) / 2^sh). */
export function roundShiftConst(x: Expr, sh: number): Expr {
  if (sh <= 0) throw new Error('roundShiftConst needs sh >= 1');
  const s = x.add(2n ** BigInt(sh - 1));
  if (sh >= s.width) return signFill(s); // never reached by the SFU's widths
  return s.shr(sh);
}

/**
 * roundShift(x, sh) for a variable sh >= 0 (UInt): floor((x + 2^(sh-1)) / 2^sh) equals
 * floor((floor(x / 2^(sh-1)) + 1) / 2) for sh >= 1 (the dropped bits are below the half),
 * so a barrel shift by sh - 1, an increment and a fixed one-bit shift; x itself for sh = 0.
 * Same width and signedness as x.
 */
export function roundShiftVar(m: ModuleBuilder, name: string, x: Expr, sh: Expr): Expr {
  const t = shrVar(m, name, x, sh.sub(1).trunc(sh.width).asUInt());
  const r = t.add(1).shr(1);
  return named(m, `${name}_rs`, mux(sh.eq(0), x, r.resize(x.width)));
}

/** Saturates a signed value to SInt(bits) (fixed.ts `sat`). */
export function satS(x: Expr, bits: number): Expr {
  if (!x.signed) throw new Error('satS needs a signed value');
  if (x.width <= bits) return x.ext(bits);
  const hi = 2n ** BigInt(bits - 1) - 1n;
  const lo = -(2n ** BigInt(bits - 1));
  return mux(x.gt(hi), lit(hi, SInt(bits)), mux(x.lt(lo), lit(lo, SInt(bits)), x.trunc(bits)));
}

/** min(x, hi) for an unsigned or signed x, as x's type narrowed to `bits`. */
export function clampHi(x: Expr, hi: bigint, type: HwType): Expr {
  return mux(x.gt(hi), lit(hi, type), x.resize(type.width));
}

/** Output element types (the ISA's SFU_TYPES codes): 0 int8, 1 int16, 2 int32, 3 fp16 (reserved: int32). */
export const OTYPE_BITS = [8, 16, 32, 32] as const;
export const OTYPE_WIDTH = 2;

/** sat(x, bits of otype) as SInt(32): a saturation to int8, int16 or int32 picked at run time. */
export function satOtype(m: ModuleBuilder, name: string, x: Expr, otype: Expr): Expr {
  const s32 = named(m, `${name}_s32`, satS(x, 32));
  const s16 = satS(s32, 16).ext(32);
  const s8 = satS(s32, 8).ext(32);
  return mux(otype.eq(0), s8, mux(otype.eq(1), s16, s32));
}

/** Balanced reduction of a list of expressions with a binary operator. */
export function tree(items: readonly Expr[], op: (a: Expr, b: Expr) => Expr): Expr {
  if (items.length === 0) throw new Error('tree() of nothing');
  let level = [...items];
  while (level.length > 1) {
    const next: Expr[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? op(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

export { Bool, SInt, UInt };
