import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/random.ts';
import { OPS, usedMasks } from '../../src/isa/table.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { decodeProgram, IsaDecodeError } from '../../src/isa/decode.ts';
import { parseAsm } from '../../src/isa/asm.ts';
import { randomProgram } from './random-instr.ts';

// A 3-instruction prefix (SYS 2 words + LD 9 + MV 6 = 68 bytes) puts the bad instruction at byte 68.
const PREFIX = parseAsm(`
  SYS fn=setlen reg=L1 imm=7
  LD buf=act dtype=int8 space=hbm addr=0x100 chan=0 sram=0 len=64
  MV pattern=dense wprec=int8 aprec=int8 cols=64 rows=64 wbase=0 mbase=0 sbase=0 abase=0 obase=0
`);
const AT = 68;

/** The prefix followed by `words` (little-endian). */
function program(words: number[]): Uint8Array {
  const head = encodeProgram(PREFIX);
  const out = new Uint8Array(head.length + words.length * 4);
  out.set(head);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(head.length + 4 * i, w >>> 0, true));
  return out;
}

function decodeError(bytes: Uint8Array): IsaDecodeError {
  try {
    decodeProgram(bytes);
  } catch (e) {
    if (e instanceof IsaDecodeError) return e;
    throw e;
  }
  throw new Error('decoded without error');
}

/** Words of one assembled instruction, for bit surgery. */
function words(line: string): number[] {
  const b = encodeProgram(parseAsm(line));
  const v = new DataView(b.buffer);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(4 * i, true));
}
const SYS_SYNC = 'SYS fn=sync';
const MV = 'MV pattern=dense wprec=int8 aprec=int8 cols=64 rows=64 wbase=0 mbase=0 sbase=0 abase=0 obase=0';
const SFU = 'SFU fn=copy itype=int8 otype=int8 len=1 rows=1 abuf=act dbuf=act a=0 d=0';

describe('decodeProgram rejects malformed binaries at the right byte offset', () => {
  const CASES: [string, number[], number, RegExp][] = [
    ['unknown opcode', [0x9, 0], AT, /^byte 0x0044: unknown opcode 0x9$/],
    ['opcode 0 (zeroed memory)', [0, 0], AT, /unknown opcode 0x0/],
    ['truncated instruction', words(MV).slice(0, 4), AT, /^byte 0x0044: truncated instruction: MV needs 24 bytes, 16 left$/],
    ['reserved bit in LD word 8', (() => { const w = words('LD buf=act dtype=int8 space=hbm addr=0 chan=0 sram=0 len=1'); w[8] |= 1 << 31; return w; })(), AT, /LD word 8: reserved bits 0x80000000 set/],
    ['MM.m bits in an MV', (() => { const w = words(MV); w[1] |= 1; return w; })(), AT, /MV word 1: reserved bits 0x00000001 set/],
    ['SFU fn out of range', (() => { const w = words(SFU); w[1] |= 12; return w; })(), AT, /SFU\.fn: value 12 out of range \(0\.\.9\)/],
    ['SYS fn out of range', [0x6 | (3 << 20), 0], AT, /SYS\.fn: value 3 out of range \(0\.\.2\)/],
    ['mask names own queue', [0x6 | (1 << (4 + 4)), 0], AT, /SYS wait mask names the instruction's own queue SYS/],
    ['dyn slot names a missing field', [0x6 | (2 << 14), 0], AT, /SYS dyn slot 0 names field 2, but SYS has 1 dyn fields/],
    ['unused dyn slot with register bits', [0x6 | (5 << 17), 0], AT, /SYS dyn slot 0 is unused but its register bits are set/],
    ['dyn slots out of order', (() => { const w = words(MV); w[0] |= (2 << 14) | (1 << 20); return w; })(), AT, /MV dyn slots are not in canonical order/],
    ['dyn slot after an unused one', (() => { const w = words(MV); w[0] |= 1 << 20; return w; })(), AT, /MV dyn slots are not in canonical order/],
    ['same field in two slots', (() => { const w = words(SFU); w[0] |= (1 << 14) | (1 << 20); return w; })(), AT, /SFU dyn slots are not in canonical order/],
  ];
  for (const [label, w, offset, message] of CASES) {
    it(label, () => {
      const e = decodeError(program(w));
      expect(e.offset).toBe(offset);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('\n');
    });
  }

  it('trailing bytes shorter than a word', () => {
    for (const extra of [1, 2, 3]) {
      const full = program(words(SYS_SYNC));
      const bytes = new Uint8Array(full.length + extra);
      bytes.set(full);
      const e = decodeError(bytes);
      expect(e.offset).toBe(AT + 8);
      expect(e.message).toBe(`byte 0x004c: truncated instruction: ${extra} byte(s) left, less than one word`);
    }
  });

  it('every truncation of a random program fails at the cut instruction', () => {
    const prog = randomProgram(new Rng(77), 40);
    const bin = encodeProgram(prog);
    const starts: number[] = [];
    let at = 0;
    for (const i of prog) {
      starts.push(at);
      at += OPS.get(i.op)!.words * 4;
    }
    for (let cut = 1; cut < bin.length; cut++) {
      const cutInstr = starts.filter((s) => s < cut).pop()!;
      const endsOnBoundary = starts.includes(cut);
      if (endsOnBoundary) {
        expect(decodeProgram(bin.subarray(0, cut))).toHaveLength(starts.indexOf(cut));
      } else {
        expect(decodeError(bin.slice(0, cut)).offset).toBe(cutInstr);
      }
    }
  });

  it('setting a reserved bit or an unused opcode in any instruction is caught at that instruction', () => {
    const rng = new Rng(9);
    const prog = randomProgram(rng, 300);
    const bin = encodeProgram(prog);
    let at = 0;
    let reserved = 0;
    for (const i of prog) {
      const op = OPS.get(i.op)!;
      const bad = bin.slice();
      bad[at] |= 0xf; // opcode 15 is unused
      expect(decodeError(bad).message).toMatch(/unknown opcode 0xf/);
      expect(decodeError(bad).offset).toBe(at);
      const used = usedMasks(op);
      const free = [...used].flatMap((m, w) => Array.from({ length: 32 }, (_, b) => b).filter((b) => !((m >>> b) & 1)).map((b) => [w, b] as const));
      if (free.length) {
        const [w, b] = rng.pick(free);
        const flipped = bin.slice();
        const v = new DataView(flipped.buffer);
        v.setUint32(at + 4 * w, (v.getUint32(at + 4 * w, true) | (1 << b)) >>> 0, true);
        const e = decodeError(flipped);
        expect(e.offset).toBe(at);
        expect(e.message).toMatch(new RegExp(`${op.name} word ${w}: reserved bits`));
        reserved++;
      }
      at += op.words * 4;
    }
    expect(reserved).toBeGreaterThan(100);
  });
});
