/**
 * What the SFU units compute, written with the functions of src/numerics/fixed.ts (the only
 * definition of the arithmetic): the per-element result of sfu_elem and the conversion every
 * unit applies. The RTL tests compare against these; the golden model's SFU applies the same.
 */
import { FX, geluFx, mulShift, sat, siluFx, unpackColumnScale } from '../../numerics/fixed.ts';
import { SFU_OPS } from '../../isa/table.ts';

/** Destination bits of an otype code (0 int8, 1 int16, 2 int32, 3 fp16: reserved, int32 here). */
export const otypeBits = (otype: number): number => [8, 16, 32, 32][otype]!;

/** The output conversion: sat(mulShift(v, imm, shift), bits) when imm != 0, else sat(v, bits). */
export function convert(v: number, otype: number, imm: number, shift: number): number {
  const bits = otypeBits(otype);
  return imm !== 0 ? sat(mulShift(v, imm, shift), bits) : sat(v, bits);
}

export interface ElemBeat {
  /** ISA fn code (SFU_OPS index). */
  fn: number;
  otype: number;
  imm: number;
  /** Signed output shift (-32..31). */
  shift: number;
}

/** sfu_elem's result for one element: fn(a, b), converted (requant: by the column scale rq unless imm != 0). */
export function elemRef(c: ElemBeat, a: number, b: number, rq: number): number {
  const op = SFU_OPS[c.fn];
  let v: number;
  switch (op) {
    case 'add':
      v = sat(a + b, 32);
      break;
    case 'mul':
      v = sat(mulShift(a, b, FX), 32);
      break;
    case 'silu':
      v = siluFx(a);
      break;
    case 'gelu':
      v = geluFx(a);
      break;
    case 'requant': {
      const { m, sh } = c.imm !== 0 ? { m: c.imm, sh: c.shift } : unpackColumnScale(rq);
      return sat(mulShift(a, m, sh), otypeBits(c.otype));
    }
    default:
      v = a;
  }
  return convert(v, c.otype, c.imm, c.shift);
}
