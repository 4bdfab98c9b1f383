/** Seeded random instructions of every opcode, biased towards field edges. */
import { Rng } from '../../src/util/random.ts';
import { OPCODES, QUEUES, dynFields, type FieldSpec, type OpSpec } from '../../src/isa/table.ts';
import type { FieldValue, Instr } from '../../src/isa/instr.ts';

/** Uniform in [0, 2^width) for widths up to 53 (Rng gives 32 random bits per draw). */
function uint(rng: Rng, width: number): number {
  const max = 2 ** width - 1;
  if (rng.int(0, 7) === 0) return rng.pick([0, 1, max, max - 1].filter((v) => v >= 0));
  if (width <= 32) return rng.int(0, max);
  return rng.int(0, 2 ** (width - 32) - 1) * 2 ** 32 + rng.int(0, 2 ** 32 - 1);
}

/** A canonical dyn offset: unsigned for hex (address) fields, signed otherwise. */
function dynOffset(rng: Rng, f: FieldSpec): number {
  const u = uint(rng, f.width);
  return f.fmt === 'hex' || u < 2 ** (f.width - 1) ? u : u - 2 ** f.width;
}

function value(rng: Rng, f: FieldSpec): FieldValue {
  switch (f.kind) {
    case 'flag':
      return rng.int(0, 1) === 1;
    case 'enum':
      return rng.pick(f.values!);
    case 'int':
      return rng.signed(f.width);
    default:
      return uint(rng, f.width);
  }
}

export function randomInstr(rng: Rng, op: OpSpec = rng.pick(OPCODES)): Instr {
  const out: Record<string, FieldValue> = { op: op.name };
  const others = QUEUES.filter((q) => q !== op.queue);
  out.wait = others.filter(() => rng.int(0, 2) === 0);
  out.release = others.filter(() => rng.int(0, 2) === 0);
  // Pick up to `slots` dyn fields (sometimes none, sometimes all slots).
  const dyn = dynFields(op).filter(() => rng.int(0, 2) === 0).slice(0, op.slots);
  for (const f of op.fields) out[f.name] = dyn.includes(f) ? { reg: rng.int(0, 7), offset: dynOffset(rng, f) } : value(rng, f);
  return out as unknown as Instr;
}

export function randomProgram(rng: Rng, n: number): Instr[] {
  return Array.from({ length: n }, () => randomInstr(rng));
}
