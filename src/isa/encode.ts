/** Instruction encoder: walks the table, so it has no per-opcode code. */
import { HEADER, LEN_REGS, OPS, QUEUES, SLOT_BITS, SLOT_FIELD_BITS, HEADER_BITS, dynFields, slices, type FieldSpec, type OpSpec, type QueueName } from './table.ts';
import { isLenRef, type AnyInstr, type FieldValue, type Instr } from './instr.ts';

/** A value that does not fit its field (or an unknown opcode/field): names instruction and field. */
export class IsaEncodeError extends RangeError {
  override name = 'IsaEncodeError';
}

// Bit slices per field object: the table's fields are fixed, so each is split once.
const SLICES = new WeakMap<object, ReturnType<typeof slices>>();
function cachedSlices(f: Pick<FieldSpec, 'name' | 'word' | 'lsb' | 'width'>) {
  let s = SLICES.get(f);
  if (!s) SLICES.set(f, (s = slices(f)));
  return s;
}

/** ORs `raw` (0 <= raw < 2^width) into the field's bits; fields may span words. */
export function putBits(words: Uint32Array, f: Pick<FieldSpec, 'name' | 'word' | 'lsb' | 'width'>, raw: number): void {
  const sl = cachedSlices(f);
  if (sl.length === 1 && sl[0]!.width < 32) {
    // The common case: one slice inside a word, raw < 2^31.
    const s0 = sl[0]!;
    words[s0.word] = (words[s0.word]! | ((raw & ((1 << s0.width) - 1)) << s0.lsb)) >>> 0;
    return;
  }
  for (const s of sl) {
    const piece = Math.floor(raw / 2 ** s.fieldLsb) % 2 ** s.width;
    words[s.word] = (words[s.word]! | (piece * 2 ** s.lsb)) >>> 0;
  }
}

export function getBits(words: Uint32Array, f: Pick<FieldSpec, 'name' | 'word' | 'lsb' | 'width'>): number {
  let v = 0;
  for (const s of slices(f)) v += (Math.floor(words[s.word] / 2 ** s.lsb) % 2 ** s.width) * 2 ** s.fieldLsb;
  return v;
}

const RANGES = new WeakMap<FieldSpec, [number, number]>();
/** Allowed integer range of a field (dyn offsets: see dynRange). */
export function fieldRange(f: FieldSpec): [number, number] {
  let r = RANGES.get(f);
  if (!r) RANGES.set(f, (r = f.kind === 'int' ? [-(2 ** (f.width - 1)), 2 ** (f.width - 1) - 1] : [0, 2 ** f.width - 1]));
  return r;
}

/** Dyn offsets are stored modulo 2^width; both the signed and the unsigned reading are accepted. */
export function dynRange(f: FieldSpec): [number, number] {
  return [-(2 ** (f.width - 1)), 2 ** f.width - 1];
}

const fmtRange = ([lo, hi]: [number, number]) => `${lo}..${hi}`;

function queueMask(op: OpSpec, field: string, v: unknown): number {
  if (!Array.isArray(v)) throw new IsaEncodeError(`${op.name}.${field}: expected a list of queues (${QUEUES.join(', ')})`);
  let mask = 0;
  for (const q of v) {
    const i = QUEUES.indexOf(q as QueueName);
    if (i < 0) throw new IsaEncodeError(`${op.name}.${field}: unknown queue '${String(q)}' (expected ${QUEUES.join(', ')})`);
    if (q === op.queue) throw new IsaEncodeError(`${op.name}.${field}: names the instruction's own queue ${op.queue}`);
    if (mask & (1 << i)) throw new IsaEncodeError(`${op.name}.${field}: queue ${q} listed twice`);
    mask |= 1 << i;
  }
  return mask;
}

/** The raw bits of one field value, range-checked. */
export function fieldRaw(op: OpSpec, f: FieldSpec, v: FieldValue | undefined): number {
  const where = `${op.name}.${f.name}`;
  if (v === undefined) throw new IsaEncodeError(`${where}: missing`);
  switch (f.kind) {
    case 'flag':
      if (typeof v !== 'boolean') throw new IsaEncodeError(`${where}: expected true or false, got ${JSON.stringify(v)}`);
      return v ? 1 : 0;
    case 'enum': {
      const i = typeof v === 'string' ? f.values!.indexOf(v) : -1;
      if (i < 0) throw new IsaEncodeError(`${where}: ${JSON.stringify(v)} is not one of ${f.values!.join(', ')}`);
      return i;
    }
    case 'queues':
      return queueMask(op, f.name, v);
    case 'uint':
    case 'int': {
      if (isLenRef(v)) {
        if (!f.dyn) throw new IsaEncodeError(`${where}: cannot take a length register`);
        if (!Number.isInteger(v.reg) || v.reg < 0 || v.reg >= LEN_REGS.length) throw new IsaEncodeError(`${where}: length register ${v.reg} is not 0..${LEN_REGS.length - 1}`);
        const r = dynRange(f);
        if (!Number.isSafeInteger(v.offset) || v.offset < r[0] || v.offset > r[1]) throw new IsaEncodeError(`${where}: offset ${v.offset} does not fit a ${f.width}-bit field (${fmtRange(r)})`);
        return v.offset < 0 ? v.offset + 2 ** f.width : v.offset;
      }
      const r = fieldRange(f);
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < r[0] || v > r[1]) {
        throw new IsaEncodeError(`${where}: ${JSON.stringify(v)} does not fit ${f.width}-bit ${f.kind === 'int' ? 'signed' : 'unsigned'} field (${fmtRange(r)})`);
      }
      return v < 0 ? v + 2 ** f.width : v;
    }
  }
}

interface OpInfo {
  known: Set<string>;
  dyn: FieldSpec[];
  slots: { index: FieldSpec; reg: FieldSpec }[];
}
const OP_INFO = new Map<OpSpec, OpInfo>();
function opInfo(op: OpSpec): OpInfo {
  let i = OP_INFO.get(op);
  if (!i) {
    const slots = Array.from({ length: op.slots }, (_, s) => {
      const lsb = HEADER_BITS + s * SLOT_BITS;
      const index: FieldSpec = { name: 'slot', word: 0, lsb, width: SLOT_FIELD_BITS, kind: 'uint', doc: '' };
      const reg: FieldSpec = { name: 'slot', word: 0, lsb: lsb + SLOT_FIELD_BITS, width: SLOT_BITS - SLOT_FIELD_BITS, kind: 'uint', doc: '' };
      return { index, reg };
    });
    OP_INFO.set(op, (i = { known: new Set(['op', 'wait', 'release', ...op.fields.map((x) => x.name)]), dyn: dynFields(op), slots }));
  }
  return i;
}

/** Encodes one instruction into its words (fixed count per opcode). */
export function encode(instr: Instr | AnyInstr): Uint32Array {
  const op = OPS.get(instr.op);
  if (!op) throw new IsaEncodeError(`unknown instruction '${String(instr.op)}'`);
  const loose = instr as AnyInstr;
  const info = opInfo(op);
  for (const k in loose) if (!info.known.has(k)) throw new IsaEncodeError(`${op.name}: unknown field '${k}'`);
  const words = new Uint32Array(op.words);
  putBits(words, HEADER[0], op.code);
  putBits(words, HEADER[1], fieldRaw(op, HEADER[1], loose.wait));
  putBits(words, HEADER[2], fieldRaw(op, HEADER[2], loose.release));
  const dyn = info.dyn;
  const used: { field: string; index: number; reg: number }[] = [];
  for (const x of op.fields) {
    const v = loose[x.name];
    putBits(words, x, fieldRaw(op, x, v));
    if (isLenRef(v)) used.push({ field: x.name, index: dyn.indexOf(x) + 1, reg: v.reg });
  }
  if (used.length > op.slots) {
    throw new IsaEncodeError(`${op.name}: at most ${op.slots} field(s) may take a length register, got ${used.length} (${used.map((u) => u.field).join(', ')})`);
  }
  // Slots are filled in dyn-field order, so each program has exactly one encoding.
  used.forEach((u, s) => {
    putBits(words, info.slots[s]!.index, u.index);
    putBits(words, info.slots[s]!.reg, u.reg);
  });
  return words;
}

/** Encodes a program as the little-endian byte stream the dispatcher fetches. */
export function encodeProgram(instrs: readonly (Instr | AnyInstr)[]): Uint8Array {
  const parts = instrs.map((instr, i) => {
    try {
      return encode(instr);
    } catch (e) {
      if (e instanceof IsaEncodeError) throw new IsaEncodeError(`instruction ${i}: ${e.message}`);
      throw e;
    }
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length * 4, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) for (const w of p) view.setUint32((at++) * 4, w, true);
  return out;
}
