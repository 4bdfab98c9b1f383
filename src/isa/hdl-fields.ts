/**
 * ISA fields as HDL expressions: the engines and the controller slice instruction bit vectors
 * through these helpers, so every bit position comes from src/isa/table.ts.
 */
import { cat, lit, UInt, type Expr } from '../hdl/index.ts';
import { HEADER, OPS, QUEUES, slices, type FieldSpec, type OpSpec, type QueueName } from './table.ts';

export function opSpec(op: string): OpSpec {
  const spec = OPS.get(op);
  if (!spec) throw new RangeError(`unknown opcode ${op}`);
  return spec;
}

export function fieldSpec(op: string, name: string): FieldSpec {
  const f = [...HEADER, ...opSpec(op).fields].find((x) => x.name === name);
  if (!f) throw new RangeError(`${op} has no field ${name}`);
  return f;
}

/** Bits of field `name` of `op` in the instruction vector `instr` (UInt of the field width). */
export function field(instr: Expr, op: string, name: string): Expr {
  const parts = slices(fieldSpec(op, name)).map((s) => instr.slice(32 * s.word + s.lsb + s.width - 1, 32 * s.word + s.lsb));
  return cat(...parts.reverse());
}

/** Bits of the instruction vector of the widest op of `queue` (the engine's `instr` port). */
export function queueInstrBits(queue: QueueName): number {
  return 32 * Math.max(...[...OPS.values()].filter((o) => o.queue === queue).map((o) => o.words));
}

/** The opcode constant of `op` (4 bits), for comparisons with field(instr, op, 'opcode'). */
export function opcodeLit(op: string): Expr {
  return lit(opSpec(op).code, UInt(4));
}

export { QUEUES };
