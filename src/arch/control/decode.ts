/**
 * The controller's instruction decoder as HDL expressions, generated from the ISA table
 * (src/isa/table.ts): word counts per opcode, the decode checks of src/isa/decode.ts and the
 * dyn-field resolution. Every bit position comes from the table.
 */
import { Bool, cat, lit, mux, select, UInt, type Expr, type ModuleBuilder } from '../../hdl/index.ts';
import { dynFields, HEADER, layoutFields, OPCODE_BITS, OPCODES, OPS_BY_CODE, QUEUES, usedMasks, type FieldSpec, type OpSpec } from '../../isa/table.ts';
import { ERR } from './status.ts';

/** Words of the longest instruction (the decoder's instruction register). */
export const MAX_WORDS = Math.max(...OPCODES.map((o) => o.words));
/** A dyn slot's field index and the length register it names. */
export type SlotLen = { index: Expr; len: Expr };

export const WAIT = HEADER[1];
export const RELEASE = HEADER[2];

/** A field's bits in a little-endian instruction vector (one contiguous run: word w is bits 32w..32w+31). */
export function bitsOf(vec: Expr, f: Pick<FieldSpec, 'word' | 'lsb' | 'width'>): Expr {
  const lo = 32 * f.word + f.lsb;
  return vec.slice(lo + f.width - 1, lo);
}

/** The slot fields of `op` (index and register), from the table's layout. */
export function slotFields(op: OpSpec): { index: FieldSpec; reg: FieldSpec }[] {
  const all = layoutFields(op);
  return Array.from({ length: op.slots }, (_, s) => ({ index: all.find((f) => f.name === `dyn${s}.field`)!, reg: all.find((f) => f.name === `dyn${s}.reg`)! }));
}

/** The op with the most slots: its slot fields name the slot bits shared by every op. */
const WIDEST_SLOTS = slotFields(OPCODES.reduce((a, b) => (b.slots > a.slots ? b : a)));

/** Instruction words per opcode (undefined opcodes: 1, so the decoder sees them at once). */
export function wordsOf(opcode: Expr): Expr {
  const w = UInt(4);
  return select(opcode, Array.from({ length: 2 ** OPCODE_BITS }, (_, c) => lit(OPS_BY_CODE.get(c)?.words ?? 1, w)));
}

/**
 * The decode checks of src/isa/decode.ts for one op, in the decoder's order:
 * - `reserved` (ERR.reserved): a reserved bit set, a wait/release mask naming the op's own
 *   queue, or a dyn slot that is not canonical (index past the op's dyn fields, register bits
 *   of an unused slot, a used slot after an unused one, indexes not ascending). The hardware
 *   reports every malformed encoding that is not an enum as ERR.reserved.
 * - `enumBad` (ERR.enumValue): an enum field holds a code past its value list.
 */
export function opChecks(vec: Expr, op: OpSpec): { reserved: Expr; enumBad: Expr } {
  const masks = usedMasks(op);
  const terms: Expr[] = [];
  for (let w = 0; w < op.words; w++) {
    const free = ~masks[w]! >>> 0;
    if (free) terms.push(vec.slice(32 * w + 31, 32 * w).and(lit(free, UInt(32))).ne(0));
  }
  const own = QUEUES.indexOf(op.queue);
  terms.push(bitsOf(vec, WAIT).bit(own), bitsOf(vec, RELEASE).bit(own));
  const dyn = dynFields(op).length;
  const slots = slotFields(op).map((s) => ({ index: bitsOf(vec, s.index), reg: bitsOf(vec, s.reg) }));
  slots.forEach((s, i) => {
    const used = s.index.ne(0);
    terms.push(used.not().and(s.reg.ne(0)), s.index.gt(dyn));
    if (i > 0) {
      const prev = slots[i - 1]!.index;
      terms.push(used.and(prev.eq(0).or(s.index.le(prev))));
    }
  });
  const enums = op.fields.filter((f) => f.kind === 'enum' && f.values!.length < 2 ** f.width).map((f) => bitsOf(vec, f).ge(f.values!.length));
  const any = (xs: Expr[]) => (xs.length ? xs.reduce((a, b) => a.or(b)) : lit(0, Bool));
  return { reserved: any(terms), enumBad: any(enums) };
}

/** The error code of the instruction in `vec` (0 if it is well formed). */
export function decodeError(m: ModuleBuilder, vec: Expr, opcode: Expr): Expr {
  const checks = OPCODES.map((op) => ({ hit: opcode.eq(op.code), ...opChecks(vec, op) }));
  const known = m.wire('dec_known', Bool, checks.map((c) => c.hit).reduce((a, b) => a.or(b)));
  const reserved = m.wire('dec_reserved', Bool, checks.map((c) => c.hit.and(c.reserved)).reduce((a, b) => a.or(b)));
  const enumBad = m.wire('dec_enum', Bool, checks.map((c) => c.hit.and(c.enumBad)).reduce((a, b) => a.or(b)));
  const code = UInt(8);
  return mux(known.not(), lit(ERR.opcode, code), mux(reserved, lit(ERR.reserved, code), mux(enumBad, lit(ERR.enumValue, code), lit(ERR.none, code))));
}

/**
 * L[reg] of each dyn slot. Slot s has the same bits in every op, so one register mux per slot
 * serves all of them; it is as wide as the widest field (at most 32 bits) that slot can modify.
 */
export function slotLengths(m: ModuleBuilder, vec: Expr, lens: readonly Expr[]): SlotLen[] {
  return WIDEST_SLOTS.map((s, i) => {
    const width = Math.min(32, Math.max(...OPCODES.filter((o) => o.slots > i).flatMap((o) => dynFields(o).map((f) => f.width))));
    return {
      index: m.wire(`slot${i}_index`, UInt(s.index.width), bitsOf(vec, s.index)),
      len: m.wire(`slot${i}_len`, UInt(width), select(bitsOf(vec, s.reg), lens.map((l) => l.resize(width)))),
    };
  });
}

/** Field `f` of `op` as dispatched: (L[reg] + field) mod 2^width if a slot names it, else the field. */
export function resolveField(vec: Expr, op: OpSpec, f: FieldSpec, slots: readonly SlotLen[]): Expr {
  const k = dynFields(op).indexOf(f);
  const raw = bitsOf(vec, f);
  if (k < 0) return raw;
  // Canonical slots name each field at most once, so at most one hit.
  let add: Expr | undefined;
  let hit: Expr = lit(0, Bool);
  for (let s = 0; s < op.slots; s++) {
    const h = slots[s]!.index.eq(k + 1);
    add = add ? mux(h, slots[s]!.len, add) : slots[s]!.len;
    hit = hit.or(h);
  }
  return mux(hit, raw.add(add!.resize(f.width)).trunc(f.width), raw);
}

const RESOLVED = new WeakMap<ModuleBuilder, Map<string, Expr>>();

/**
 * The instruction as an engine sees it (op.words x 32 bits): each dyn field named by a slot
 * becomes (L[reg] + field) mod 2^width, and the slot bits are cleared. Ops with the same layout
 * (LD and ST) share one wire and one set of adders.
 */
export function resolveInstr(m: ModuleBuilder, vec: Expr, op: OpSpec, slots: readonly SlotLen[]): Expr {
  let cache = RESOLVED.get(m);
  if (!cache) RESOLVED.set(m, (cache = new Map()));
  const key = JSON.stringify([op.words, op.slots, op.fields.map((f) => [f.name, f.word, f.lsb, f.width, f.dyn ?? false])]);
  const known = cache.get(key);
  if (known) return known;
  const W = 32 * op.words;
  const pieces: { lo: number; width: number; expr: Expr }[] = [];
  for (const s of slotFields(op)) for (const f of [s.index, s.reg]) pieces.push({ lo: 32 * f.word + f.lsb, width: f.width, expr: lit(0, UInt(f.width)) });
  for (const f of dynFields(op)) pieces.push({ lo: 32 * f.word + f.lsb, width: f.width, expr: resolveField(vec, op, f, slots) });
  pieces.sort((a, b) => a.lo - b.lo);
  const parts: Expr[] = [];
  let at = 0;
  for (const p of pieces) {
    if (p.lo > at) parts.push(vec.slice(p.lo - 1, at));
    parts.push(p.expr);
    at = p.lo + p.width;
  }
  if (at < W) parts.push(vec.slice(W - 1, at));
  const out = m.wire(`resolved_${op.name.toLowerCase()}`, UInt(W), cat(...parts.reverse()));
  cache.set(key, out);
  return out;
}
