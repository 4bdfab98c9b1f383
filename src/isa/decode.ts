/** Instruction decoder: strict, so every accepted binary re-encodes to the same bytes. */
import { HEADER, OPS_BY_CODE, QUEUES, SLOT_BITS, SLOT_FIELD_BITS, HEADER_BITS, dynFields, usedMasks, type FieldSpec, type OpSpec } from './table.ts';
import { getBits } from './encode.ts';
import type { FieldValue, Instr, LenRef } from './instr.ts';

const hex = (n: number, digits = 1) => `0x${n.toString(16).padStart(digits, '0')}`;

/** A malformed binary: `offset` is the byte offset of the offending instruction. */
export class IsaDecodeError extends Error {
  override name = 'IsaDecodeError';
  constructor(
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`byte ${hex(offset, 4)}: ${detail}`);
  }
}

const USED = new Map<OpSpec, Uint32Array>();
function used(op: OpSpec): Uint32Array {
  let m = USED.get(op);
  if (!m) USED.set(op, (m = usedMasks(op)));
  return m;
}

/** The canonical reading of a dyn offset: unsigned for addresses (bases), signed otherwise. */
export function dynOffset(f: FieldSpec, raw: number): number {
  return f.fmt === 'hex' || raw < 2 ** (f.width - 1) ? raw : raw - 2 ** f.width;
}

function queues(op: OpSpec, name: string, raw: number, fail: (m: string) => never): string[] {
  if (raw & (1 << QUEUES.indexOf(op.queue))) fail(`${op.name} ${name} mask names the instruction's own queue ${op.queue}`);
  return QUEUES.filter((_, i) => raw & (1 << i));
}

/** Decodes one instruction from its words (`words.length` must be the opcode's word count). */
export function decodeWords(words: Uint32Array, offset = 0): Instr {
  const fail = (m: string): never => {
    throw new IsaDecodeError(offset, m);
  };
  const code = getBits(words, HEADER[0]);
  const op = OPS_BY_CODE.get(code) ?? fail(`unknown opcode ${hex(code)}`);
  if (words.length !== op.words) fail(`${op.name} needs ${op.words} words, got ${words.length}`);
  const mask = used(op);
  for (let w = 0; w < op.words; w++) {
    const extra = (words[w] & ~mask[w]) >>> 0;
    if (extra) fail(`${op.name} word ${w}: reserved bits ${hex(extra, 8)} set`);
  }
  const out: Record<string, FieldValue> = { op: op.name };
  out.wait = queues(op, 'wait', getBits(words, HEADER[1]), fail);
  out.release = queues(op, 'release', getBits(words, HEADER[2]), fail);

  const dyn = dynFields(op);
  const regs = new Map<FieldSpec, number>();
  let last = 0;
  for (let s = 0; s < op.slots; s++) {
    const lsb = HEADER_BITS + s * SLOT_BITS;
    const index = getBits(words, { name: 'slot', word: 0, lsb, width: SLOT_FIELD_BITS });
    const reg = getBits(words, { name: 'slot', word: 0, lsb: lsb + SLOT_FIELD_BITS, width: SLOT_BITS - SLOT_FIELD_BITS });
    if (index === 0) {
      if (reg !== 0) fail(`${op.name} dyn slot ${s} is unused but its register bits are set`);
      last = dyn.length + 1; // later slots must be unused too
      continue;
    }
    if (index > dyn.length) fail(`${op.name} dyn slot ${s} names field ${index}, but ${op.name} has ${dyn.length} dyn fields`);
    if (index <= last) fail(`${op.name} dyn slots are not in canonical order (used slots first, fields ascending)`);
    last = index;
    regs.set(dyn[index - 1], reg);
  }

  for (const f of op.fields) {
    const raw = getBits(words, f);
    const reg = regs.get(f);
    if (reg !== undefined) {
      out[f.name] = { reg, offset: dynOffset(f, raw) } satisfies LenRef;
      continue;
    }
    switch (f.kind) {
      case 'flag':
        out[f.name] = raw === 1;
        break;
      case 'enum':
        out[f.name] = f.values![raw] ?? fail(`${op.name}.${f.name}: value ${raw} out of range (0..${f.values!.length - 1})`);
        break;
      case 'int':
        out[f.name] = raw >= 2 ** (f.width - 1) ? raw - 2 ** f.width : raw;
        break;
      default:
        out[f.name] = raw;
    }
  }
  return out as unknown as Instr;
}

/** Decodes a whole instruction stream; throws IsaDecodeError at the first bad instruction. */
export function decodeProgram(bytes: Uint8Array): Instr[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instr[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 4) throw new IsaDecodeError(at, `truncated instruction: ${bytes.length - at} byte(s) left, less than one word`);
    const code = view.getUint32(at, true) & 0xf;
    const op = OPS_BY_CODE.get(code);
    if (!op) throw new IsaDecodeError(at, `unknown opcode ${hex(code)}`);
    if (bytes.length - at < op.words * 4) throw new IsaDecodeError(at, `truncated instruction: ${op.name} needs ${op.words * 4} bytes, ${bytes.length - at} left`);
    const words = new Uint32Array(op.words);
    for (let w = 0; w < op.words; w++) words[w] = view.getUint32(at + 4 * w, true);
    out.push(decodeWords(words, at));
    at += op.words * 4;
  }
  return out;
}
