import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { MemoryImage } from '../../src/compiler/memory.ts';
import { GoldenMachine, MachineError } from '../../src/golden/machine.ts';
import { parseAsm } from '../../src/isa/asm.ts';
import { rmsnormRow, toFx } from '../../src/numerics/fixed.ts';

const hw = { ...DEFAULT_CONFIG, chains: 4, chainLength: 16, actWidth: 16, weightDepth: 64, accDepth: 256, actDepth: 64, kvDepth: 4096, globalDepth: 4096, biasDepth: 1024 };
const machine = (ddr = 4096) => new GoldenMachine(hw, new MemoryImage(4096, ddr));
const run = (m: GoldenMachine, text: string) => m.run(parseAsm(text));

describe('golden machine', () => {
  it('LD with a 3-level loop nest gathers exactly the addressed bytes', () => {
    const m = machine();
    m.memory.ddr.forEach((_, i) => (m.memory.ddr[i] = i & 0x7f));
    // 2 x 3 rows of 4 int8 elements, external rows 16 bytes apart, row groups 100 bytes apart.
    run(m, 'LD buf=global dtype=int8 space=ddr addr=7 chan=0 sram=10 len=4 count0=3 estride0=16 istride0=4 count1=2 estride1=100 istride1=12\nSYS fn=end');
    const got = Array.from(m.buffers.global.subarray(10, 34));
    const want: number[] = [];
    for (let i1 = 0; i1 < 2; i1++) for (let i0 = 0; i0 < 3; i0++) for (let j = 0; j < 4; j++) want.push((7 + 100 * i1 + 16 * i0 + j) & 0x7f);
    expect(got).toEqual(want);
  });

  it('length registers feed dyn fields (L<r>+c)', () => {
    const m = machine();
    m.memory.ddr[40] = 5;
    m.regs[3] = 30;
    run(m, 'LD buf=global dtype=int8 space=ddr addr=L3+10 chan=0 sram=0 len=1\nSYS fn=end');
    expect(m.buffers.global[0]).toBe(5);
  });

  it('SFU rmsnorm matches the numerics module and saturates into INT16 with the output multiplier', () => {
    const m = machine();
    const x = [1.5, -2, 0.25, 3, -0.5, 1, 2, -1].map(toFx);
    m.buffers.global.set(x, 0);
    m.buffers.bias.set(new Array(8).fill(toFx(1)), 0);
    run(m, `SFU fn=rmsnorm itype=int32 otype=int16 imm=${1 << 12} shift=16 len=8 rows=1 abuf=global bbuf=bias dbuf=act a=0 b=0 d=0\nSYS fn=end`);
    const want = rmsnormRow(x, new Array(8).fill(toFx(1)), 8).map((v) => Math.max(-32768, Math.min(32767, Math.floor((v * 4096 + 2 ** 15) / 2 ** 16))));
    expect(Array.from(m.buffers.act.subarray(0, 8))).toEqual(want);
    expect(want.filter((v) => v !== 0).length).toBe(8);
  });

  it('a wait without an earlier release is a deadlock error naming the instruction', () => {
    const m = machine();
    expect(() => run(m, 'SFU fn=copy wait=LD itype=int32 otype=int32 len=1 rows=1 abuf=global dbuf=global a=0 d=1\nSYS fn=end')).toThrow(MachineError);
    expect(() => run(m, 'SFU fn=copy wait=LD itype=int32 otype=int32 len=1 rows=1 abuf=global dbuf=global a=0 d=1\nSYS fn=end')).toThrow(/instruction 0 .*no earlier instruction released/);
  });

  it('a block that ends with unconsumed tokens is rejected', () => {
    const m = machine();
    expect(() => run(m, 'LD release=MX buf=global dtype=int8 space=ddr addr=0 chan=0 sram=0 len=1\nSYS fn=end')).toThrow(/unconsumed tokens LD>MX:1/);
  });

  it('misaligned MV operands and out-of-range buffer accesses are errors, never silent', () => {
    const m = machine();
    expect(() => run(m, 'MV pattern=0 wprec=int8 aprec=int16 cols=16 rows=4 wbase=0 mbase=0 sbase=0 abase=3 obase=0\nSYS fn=end')).toThrow(/abase 3 is not a multiple of the window size 16/);
    expect(() => run(m, 'LD buf=global dtype=int32 space=ddr addr=0 chan=0 sram=4090 len=8\nSYS fn=end')).toThrow(/outside the 4096-element buffer/);
    expect(() => run(m, 'LD buf=global dtype=int32 space=ddr addr=4090 chan=0 sram=0 len=8\nSYS fn=end')).toThrow(/outside the 4096-byte image/);
  });

  it('LOOP repeats its body; SYS setlen writes a length register', () => {
    const m = machine();
    m.memory.ddr.set([1, 2, 3], 0);
    run(m, 'SYS fn=setlen reg=L1 imm=0\nLOOP count=3 body=2\nLD buf=global dtype=int8 space=ddr addr=L1+0 chan=0 sram=L1+100 len=1\nSYS fn=setlen reg=L1 imm=L1+1\nSYS fn=end');
    expect(Array.from(m.buffers.global.subarray(100, 103))).toEqual([1, 2, 3]);
    expect(m.regs[1]).toBe(3);
  });
});

describe('dynamic per-row activation scaling (SFU ewr / erd)', () => {
  it('each row maps its largest magnitude to the INT8 maximum, and requant with erd restores the static scale', () => {
    const m = new GoldenMachine({ ...DEFAULT_CONFIG, chains: 4, chainLength: 16, actWidth: 16, weightDepth: 64, accDepth: 256, actDepth: 64, kvDepth: 4096, globalDepth: 4096, biasDepth: 1024 }, new MemoryImage(64, 64));
    const v = [100, -50, 25, 10, 60000, -90000, 30000, 5];
    m.buffers.global.set(v, 0);
    // Static scale 0.5 (imm 0x8000 >> 16) would give row 0 tiny values and saturate row 1.
    m.run(parseAsm('SFU fn=copy itype=int32 otype=int8 imm=0x8000 shift=16 ewr=2 len=4 rows=2 abuf=global dbuf=act a=0 d=0\nSYS fn=end'));
    const q = Array.from(m.buffers.act.subarray(0, 8));
    expect(q).toEqual([127, -63, 32, 13, 85, -127, 42, 0]); // -50 * 127/100 = -63.5 rounds half up
    // The MPE result of a 1-weight dot product is q itself; requant (x 1 here) with erd = 2
    // must give back the static-scale values v * 0.5, to within one row quantization step.
    m.buffers.acc.set(q, 0);
    m.run(parseAsm('SFU fn=requant itype=int32 otype=int32 imm=0x8000 shift=15 erd=2 len=4 rows=2 abuf=acc dbuf=global a=0 d=100\nSYS fn=end'));
    const back = Array.from(m.buffers.global.subarray(100, 108));
    const step = [50 / 127, 45000 / 127];
    v.forEach((x, i) => expect(Math.abs(back[i]! - x / 2)).toBeLessThanOrEqual(step[i < 4 ? 0 : 1]! + 1));
    // Without erd the same results stay in the dynamic scale (row 1 would be 354x off).
    m.run(parseAsm('SFU fn=requant itype=int32 otype=int32 imm=0x8000 shift=15 len=4 rows=2 abuf=acc dbuf=global a=0 d=100\nSYS fn=end'));
    expect(Array.from(m.buffers.global.subarray(100, 108))).toEqual(q);
  });
});
