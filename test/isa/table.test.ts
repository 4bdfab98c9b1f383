import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OPCODES, QUEUES, checkTable, layoutFields, usedMasks, type OpSpec } from '../../src/isa/table.ts';
import { generateIsaDocs } from '../../src/isa/docs.ts';
import type { Instr, InstrOf, LenRef } from '../../src/isa/instr.ts';

// Compile-time checks (tsc --noEmit covers test/): the Instr union follows the table.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(): T => true as T;
assertType<Equal<Instr['op'], 'LD' | 'ST' | 'MM' | 'MV' | 'SFU' | 'SYS' | 'LOOP'>>();
assertType<Equal<InstrOf<'LD'>['buf'], 'weight' | 'meta' | 'scale' | 'bias' | 'act' | 'kv' | 'acc' | 'global'>>();
assertType<Equal<InstrOf<'LD'>['len'], number | LenRef>>();
assertType<Equal<InstrOf<'LD'>['istride0'], number>>();
assertType<Equal<InstrOf<'MM'>['acc'], boolean>>();
assertType<Equal<InstrOf<'SYS'>['reg'], 'L0' | 'L1' | 'L2' | 'L3' | 'L4' | 'L5' | 'L6' | 'L7'>>();
assertType<Equal<keyof InstrOf<'LOOP'>, 'op' | 'wait' | 'release' | 'count' | 'body'>>();
assertType<Equal<InstrOf<'MV'>['wait'], (typeof QUEUES)[number][]>>();

describe('ISA table', () => {
  it('docs/isa.md is what `flightgen isa-docs` generates (regenerate: flightgen isa-docs -o docs/isa.md)', async () => {
    const committed = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'isa.md'), 'utf8');
    expect(committed).toBe(generateIsaDocs());
  });

  it('instruction formats: word counts and queues', () => {
    expect(Object.fromEntries(OPCODES.map((o) => [o.name, [o.code, o.words, o.queue, o.slots]]))).toEqual({
      LD: [1, 9, 'LD', 2], ST: [2, 9, 'ST', 2], MM: [3, 6, 'MX', 2], MV: [4, 6, 'MX', 2], SFU: [5, 7, 'SFU', 3], SYS: [6, 2, 'SYS', 1], LOOP: [7, 2, 'SYS', 1],
    });
  });

  it('every field has a doc string; layouts fit their word counts and do not overlap (checkTable)', () => {
    for (const op of OPCODES) {
      for (const f of layoutFields(op)) expect(f.doc.length, `${op.name}.${f.name}`).toBeGreaterThan(5);
      expect(usedMasks(op).length).toBe(op.words);
    }
    expect(() => checkTable()).not.toThrow();
  });

  it('checkTable refuses overlapping fields, fields past the end, and enums that do not fit', () => {
    const ld = OPCODES[0] as OpSpec;
    const bad = (fields: OpSpec['fields'], extra: Partial<OpSpec> = {}) => () => checkTable([{ ...ld, ...extra, fields }]);
    expect(bad([...ld.fields, { name: 'x', word: 3, lsb: 8, width: 4, kind: 'uint', doc: 'overlaps len' }])).toThrow(/LD\.x overlaps another field in word 3/);
    expect(bad(ld.fields, { words: 8 })).toThrow(/LD\.estride2 runs past word 7/);
    expect(bad([{ name: 'e', word: 2, lsb: 31, width: 1, kind: 'enum', values: ['a', 'b', 'c'], doc: 'x' }])).toThrow(/LD\.e enum does not fit 1 bits/);
    expect(bad([{ name: 'op', word: 2, lsb: 31, width: 1, kind: 'flag', doc: 'x' }])).toThrow(/LD\.op defined twice or named op/);
  });
});
