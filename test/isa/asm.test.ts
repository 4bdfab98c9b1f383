import { describe, expect, it } from 'vitest';
import { AsmError, assemble, disassemble, parseAsm } from '../../src/isa/asm.ts';
import { generateIsaDocs } from '../../src/isa/docs.ts';
import type { InstrOf } from '../../src/isa/instr.ts';

const MV = 'MV rows=64 cols=256 pattern=2:4 wprec=int4 aprec=int8 wbase=0x100 mbase=0x40 sbase=0x8 abase=0 obase=0x200 wait=LD release=SFU';

function asmError(text: string): AsmError {
  try {
    parseAsm(text);
  } catch (e) {
    if (e instanceof AsmError) return e;
    throw e;
  }
  throw new Error('assembled without error');
}

describe('assembler', () => {
  it('parses the key=value form, filling defaults', () => {
    const [mv] = parseAsm(MV) as [InstrOf<'MV'>];
    expect(mv).toEqual({
      op: 'MV', rows: 64, cols: 256, pattern: 1, wprec: 'int4', aprec: 'int8', acc: false, wsrc: 'weight', asrc: 'act',
      wbase: 0x100, mbase: 0x40, sbase: 0x8, abase: 0, obase: 0x200, wait: ['LD'], release: ['SFU'],
    });
    expect(disassemble(assemble(MV))).toBe(
      'MV pattern=2:4 wprec=int4 aprec=int8 cols=256 rows=64 wbase=0x100 mbase=0x40 sbase=0x8 abase=0x0 obase=0x200 wait=LD release=SFU\n',
    );
  });

  it('comments, blank lines, labels, case, flags, number forms and dyn values', () => {
    const text = [
      '# a comment line',
      '  ; another',
      'start:',
      '  sys fn=SETLEN reg=l3 imm=0b1010_1010   # set L3',
      'top: LOOP count=L0 body=done ; loop over layers',
      '  MM pattern=dense wprec=int8 aprec=int16 m=64 k=4096 n=L1-1 acc wbase=L3+0x10 mbase=0 sbase=0 abase=0 obase=0',
      '  SFU fn=softmax causal=1 itype=int32 otype=int8 len=L1 rows=L2 pos=L4+0 abuf=acc dbuf=act a=0 d=0x1_0000 shift=-3',
      'done:',
      '  SYS fn=end wait=MX,SFU',
      '',
    ].join('\n');
    const p = parseAsm(text);
    expect(p.map((i) => i.op)).toEqual(['SYS', 'LOOP', 'MM', 'SFU', 'SYS']);
    expect(p[0]).toMatchObject({ fn: 'setlen', reg: 'L3', imm: 0xaa });
    expect(p[1]).toMatchObject({ count: { reg: 0, offset: 0 }, body: 2 });
    expect(p[2]).toMatchObject({ m: 64, n: { reg: 1, offset: -1 }, acc: true, wbase: { reg: 3, offset: 0x10 } });
    expect(p[3]).toMatchObject({ causal: true, pos: { reg: 4, offset: 0 }, d: 0x10000, shift: -3, bbuf: 'act', b: 0 });
    expect(p[4]).toMatchObject({ fn: 'end', wait: ['MX', 'SFU'], release: [] });
    const bin = assemble(text);
    expect(assemble(disassemble(bin))).toEqual(bin);
    expect(disassemble(bin).split('\n')[2]).toBe('MM pattern=dense wprec=int8 aprec=int16 m=64 k=4096 n=L1-1 acc wbase=L3+0x10 mbase=0x0 sbase=0x0 abase=0x0 obase=0x0');
  });

  it('uses the given sparsity mode table for pattern names', () => {
    const modes = ['dense', { n: 1, m: 8 }, { n: 2, m: 4 }] as const;
    const [mv] = parseAsm(MV, { modes: [...modes] });
    expect(mv).toMatchObject({ pattern: 2 });
    expect(disassemble(assemble(MV, { modes: [...modes] }), { modes: [...modes] })).toContain('pattern=2:4');
    // an index past the table prints as a number and still round-trips
    const raw = MV.replace('pattern=2:4', 'pattern=9');
    expect(disassemble(assemble(raw))).toContain('pattern=9 ');
    expect(asmError(MV.replace('2:4', '4:8')).message).toBe("line 1: MV.pattern: pattern 4:8 is not in the design's mode table (dense, 2:4, 1:4, 2:8)");
  });

  const ERRORS: [string, string, string][] = [
    ['unknown mnemonic', '\n\nNOP x=1', "line 3: unknown instruction 'NOP' (expected LD, ST, MM, MV, SFU, SYS, LOOP)"],
    ['unknown field', `${MV} foo=1`, "line 1: MV has no field 'foo'"],
    ['field given twice', `${MV} rows=1`, 'line 1: MV.rows given twice'],
    ['missing field', MV.replace('rows=64 ', ''), "line 1: MV: missing field 'rows'"],
    ['value out of range', '# x\nLD buf=act dtype=int8 space=hbm addr=0 chan=0 sram=0 len=70000', 'line 2: LD.len: 70000 does not fit 16-bit unsigned field (0..65535)'],
    ['36-bit address out of range', 'LD buf=act dtype=int8 space=hbm addr=0x1000000000 chan=0 sram=0 len=1', 'line 1: LD.addr: 68719476736 does not fit 36-bit unsigned field (0..68719476735)'],
    ['signed out of range', 'SFU fn=requant itype=int32 otype=int8 len=1 rows=1 abuf=acc dbuf=act a=0 d=0 shift=-33', 'line 1: SFU.shift: -33 does not fit 6-bit signed field (-32..31)'],
    ['bad enum', MV.replace('wprec=int4', 'wprec=int2'), "line 1: MV.wprec: 'int2' is not one of int8, int4"],
    ['not a number', MV.replace('rows=64', 'rows=sixty'), "line 1: MV.rows: expected a number or L<r>+offset, got 'sixty'"],
    ['dyn on a fixed field', MV.replace('mbase=0x40', 'mbase=L1'), 'line 1: MV.mbase cannot take a length register'],
    ['bad register', MV.replace('rows=64', 'rows=L9'), 'line 1: MV.rows: length register 9 is not 0..7'],
    ['too many dyn fields', MV.replace('rows=64', 'rows=L1').replace('cols=256', 'cols=L2').replace('abase=0', 'abase=L3'), 'line 1: MV: at most 2 field(s) may take a length register, got 3 (cols, rows, abase)'],
    ['own queue', `${MV} `.replace('wait=LD', 'wait=LD,MX'), "line 1: MV.wait: names the instruction's own queue MX"],
    ['unknown queue', MV.replace('wait=LD', 'wait=DMA'), "line 1: MV.wait: unknown queue 'DMA' (expected LD, ST, MX, SFU, SYS)"],
    ['bare non-flag', MV.replace('rows=64', 'rows'), 'line 1: MV.rows needs a value (rows=...)'],
    ['bad flag value', `${MV} acc=2`, "line 1: MV.acc: expected 0 or 1, got '2'"],
    ['undefined label', 'LOOP count=2 body=nowhere\nSYS fn=sync', "line 1: LOOP.body: undefined label 'nowhere'"],
    ['label before the loop', 'back: SYS fn=sync\nLOOP count=2 body=back', "line 2: LOOP.body: label 'back' must come after the LOOP"],
    ['duplicate label', 'a: SYS fn=sync\na: SYS fn=end', "line 2: label 'a' defined twice"],
  ];
  for (const [label, text, message] of ERRORS) {
    it(`error: ${label}`, () => {
      const e = asmError(text);
      expect(e.message).toBe(message);
      expect(e.line).toBe(Number(/^line (\d+)/.exec(message)![1]));
    });
  }

  it('the examples in docs/isa.md assemble', () => {
    const blocks = [...generateIsaDocs().matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(() => assemble(b)).not.toThrow();
  });
});
