import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/random.ts';
import { OPCODES, OPS, dynFields, type FieldSpec, type OpSpec } from '../../src/isa/table.ts';
import { encode, encodeProgram, IsaEncodeError, fieldRange } from '../../src/isa/encode.ts';
import { decodeProgram, decodeWords } from '../../src/isa/decode.ts';
import { assemble, disassemble, parseAsm } from '../../src/isa/asm.ts';
import type { AnyInstr, FieldValue, Instr } from '../../src/isa/instr.ts';
import { randomInstr, randomProgram } from './random-instr.ts';

/** A valid instruction of `op` with every field at its first legal value, for edits in tests. */
function base(op: OpSpec): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = { op: op.name, wait: [], release: [] };
  for (const f of op.fields) out[f.name] = f.kind === 'enum' ? f.values![0] : f.kind === 'flag' ? false : 0;
  return out;
}
const enc = (x: Record<string, FieldValue>) => encode(x as AnyInstr);

describe('encode/decode round trip', () => {
  for (const op of OPCODES) {
    it(`${op.name}: 1500 random instructions decode to themselves and re-encode to the same words`, () => {
      const rng = new Rng(0x15a + op.code);
      for (let n = 0; n < 1500; n++) {
        const instr = randomInstr(rng, op);
        const words = encode(instr);
        expect(words.length).toBe(op.words);
        const back = decodeWords(words, 0);
        expect(back).toEqual(instr);
        expect(encode(back)).toEqual(words);
      }
    });
  }

  it('a 4000-instruction program: binary, text and back agree', () => {
    const prog = randomProgram(new Rng(2024), 4000);
    const bin = encodeProgram(prog);
    expect(decodeProgram(bin)).toEqual(prog);
    const text = disassemble(bin);
    expect(text.split('\n').length).toBe(prog.length + 1);
    expect(parseAsm(text)).toEqual(prog);
    expect(assemble(text)).toEqual(bin);
    expect(assemble(disassemble(bin, { offsets: true }))).toEqual(bin);
  });
});

describe('field boundaries', () => {
  for (const op of OPCODES) {
    for (const f of op.fields.filter((x) => x.kind === 'uint' || x.kind === 'int') as FieldSpec[]) {
      it(`${op.name}.${f.name}: both ends encode, one past either end is refused naming the field`, () => {
        const [lo, hi] = fieldRange(f);
        for (const v of [lo, hi]) {
          const instr = { ...base(op), [f.name]: v };
          expect(decodeWords(enc(instr))).toEqual(instr);
        }
        for (const v of [lo - 1, hi + 1, 0.5]) {
          expect(() => enc({ ...base(op), [f.name]: v })).toThrow(new RegExp(`^${op.name}\\.${f.name}: .* does not fit ${f.width}-bit`));
        }
      });
    }
  }

  it('signed fields store two\'s complement', () => {
    const sfu = { ...base(OPS.get('SFU')!), shift: -1 };
    expect((enc(sfu)[1] >>> 9) & 0x3f).toBe(0x3f);
    expect(decodeWords(enc({ ...sfu, shift: -32 }))).toMatchObject({ shift: -32 });
  });

  it('dyn offsets: signed and unsigned readings both accepted, decoded canonically', () => {
    const ld = base(OPS.get('LD')!);
    // len (16 bits, decimal): canonical signed
    expect(decodeWords(enc({ ...ld, len: { reg: 7, offset: -32768 } }))).toMatchObject({ len: { reg: 7, offset: -32768 } });
    expect(decodeWords(enc({ ...ld, len: { reg: 7, offset: 65535 } }))).toMatchObject({ len: { reg: 7, offset: -1 } });
    expect(() => enc({ ...ld, len: { reg: 7, offset: 65536 } })).toThrow(/LD\.len: offset 65536 does not fit a 16-bit field/);
    expect(() => enc({ ...ld, len: { reg: 7, offset: -32769 } })).toThrow(/LD\.len: offset -32769/);
    // addr (36 bits, hex): canonical unsigned
    expect(decodeWords(enc({ ...ld, addr: { reg: 0, offset: -1 } }))).toMatchObject({ addr: { reg: 0, offset: 2 ** 36 - 1 } });
    expect(() => enc({ ...ld, addr: { reg: 8, offset: 0 } })).toThrow(/LD\.addr: length register 8 is not 0\.\.7/);
    expect(() => enc({ ...ld, chan: { reg: 0, offset: 0 } })).toThrow(/LD\.chan: cannot take a length register/);
  });

  it('no more dyn fields than slots; slots fill in field order', () => {
    const mm = base(OPS.get('MM')!);
    expect(() => enc({ ...mm, m: { reg: 1, offset: 0 }, k: { reg: 2, offset: 0 }, obase: { reg: 3, offset: 0 } })).toThrow(
      /^MM: at most 2 field\(s\) may take a length register, got 3 \(m, k, obase\)$/,
    );
    const w0 = enc({ ...mm, obase: { reg: 3, offset: 0 }, m: { reg: 1, offset: 0 } })[0];
    const slot = (s: number) => [(w0 >>> (14 + 6 * s)) & 7, (w0 >>> (17 + 6 * s)) & 7];
    expect([slot(0), slot(1)]).toEqual([[1, 1], [dynFields(OPS.get('MM')!).findIndex((f) => f.name === 'obase') + 1, 3]]);
  });

  it('fixed encodings (pins the layout)', () => {
    const end = { op: 'SYS', fn: 'end', reg: 'L0', imm: 0, wait: ['MX'], release: [] } as Instr;
    expect([...encode(end)]).toEqual([0x6 | (1 << 6) | (1 << 20), 0]);
    const ld = { ...base(OPS.get('LD')!), addr: 0xa_1234_5678, estride0: 0xabcdef, sram: 0xfffff, space: 'ddr', wait: ['SFU', 'MX'] };
    const w = enc(ld);
    expect(w[0]).toBe((0x1 | (0b01100 << 4) | (1 << 31)) >>> 0);
    expect(w[1]).toBe(0x12345678);
    expect(w[2]).toBe((0xa | (0xfffff << 11)) >>> 0);
    expect(w[6] >>> 16).toBe(0xcdef);
    expect(w[7] & 0xff).toBe(0xab);
    expect(decodeWords(w)).toMatchObject({ wait: ['MX', 'SFU'] }); // canonical queue order
  });

  it('bad masks, enums, flags and unknown fields are refused naming instruction and field', () => {
    const ld = base(OPS.get('LD')!);
    expect(() => enc({ ...ld, wait: ['LD'] })).toThrow(/^LD\.wait: names the instruction's own queue LD$/);
    expect(() => enc({ ...ld, release: ['MX', 'MX'] })).toThrow(/^LD\.release: queue MX listed twice$/);
    expect(() => enc({ ...ld, release: ['XX'] })).toThrow(/^LD\.release: unknown queue 'XX'/);
    expect(() => enc({ ...ld, buf: 'dram' })).toThrow(/^LD\.buf: "dram" is not one of weight, meta/);
    expect(() => enc({ ...ld, chstep: 1 })).toThrow(/^LD\.chstep: expected true or false/);
    expect(() => enc({ ...ld, rows: 1 })).toThrow(/^LD: unknown field 'rows'$/);
    const { len: _, ...noLen } = ld;
    expect(() => enc(noLen)).toThrow(/^LD\.len: missing$/);
    expect(() => encode({ op: 'NOP' } as unknown as Instr)).toThrow(IsaEncodeError);
    expect(() => encodeProgram([base(OPS.get('MV')!) as unknown as AnyInstr, { ...ld, len: -1 } as unknown as AnyInstr])).toThrow(/^instruction 1: LD\.len: -1 does not fit/);
  });
});
