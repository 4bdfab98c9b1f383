/**
 * The `Instr` type, derived from the table by mapped types so a field added to table.ts appears
 * here (with its enum names as string literals) without a second definition.
 */
import { OPCODES, type OpName, type QueueName } from './table.ts';

/** A field value taken from a length register at dispatch: L[reg] + offset, modulo 2^width. */
export interface LenRef {
  readonly reg: number;
  readonly offset: number;
}

type Spec = (typeof OPCODES)[number];
type SpecOf<N extends OpName> = Extract<Spec, { name: N }>;

type ValueOf<F> = F extends { kind: 'enum'; values: readonly (infer V)[] }
  ? V
  : F extends { kind: 'flag' }
    ? boolean
    : F extends { dyn: true }
      ? number | LenRef
      : number;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** One instruction of opcode N: `op`, the token masks, and one property per table field. */
export type InstrOf<N extends OpName> = Simplify<
  { op: N; wait: QueueName[]; release: QueueName[] } & { [F in SpecOf<N>['fields'][number] as F['name']]: ValueOf<F> }
>;

export type Instr = { [N in OpName]: InstrOf<N> }[OpName];

/** Loose view used by the generic encoder/decoder, which walk the table rather than the type. */
export type FieldValue = number | boolean | string | LenRef | readonly string[];
export type AnyInstr = { readonly op: string } & { readonly [field: string]: FieldValue };

export function isLenRef(v: unknown): v is LenRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'reg' in v && 'offset' in v;
}
