import { describe, expect, it } from 'vitest';
import {
  Bool,
  CombinationalLoopError,
  defineModule,
  Design,
  MultipleDriversError,
  NameError,
  SInt,
  UInt,
  UnboundPortError,
  UndrivenError,
  UnusedSignalError,
  WidthMismatchError,
  type ModuleBuilder,
} from '../../src/hdl/index.ts';

/** The line number of the caller, so each test can say where the error must point. */
function here(): number {
  const frame = new Error().stack!.split('\n')[2]!;
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

function elaborate(body: (m: ModuleBuilder) => void): unknown {
  const gen = defineModule<Record<string, never>>('t', () => 't', (m) => body(m));
  try {
    new Design().elaborate(gen, {});
  } catch (e) {
    return e;
  }
  throw new Error('elaboration did not fail');
}

function expectAt(err: unknown, type: new (...a: never[]) => Error, line: number, ...words: string[]) {
  expect(err).toBeInstanceOf(type);
  const msg = (err as Error).message;
  expect(msg.startsWith(`test/hdl/errors.test.ts:${line}: `), msg).toBe(true);
  for (const w of words) expect(msg).toContain(w);
}

const Leaf = defineModule<{ w: number }>('leaf', (p) => `leaf_w${p.w}`, (m, p) => {
  const x = m.input('x', UInt(p.w));
  m.output('y', UInt(p.w)).assign(x);
});

describe('elaboration errors name the problem and the TypeScript line', () => {
  it('width mismatch on assignment', () => {
    let line = 0;
    const e = elaborate((m) => {
      const a = m.input('a', UInt(8));
      const y = m.output('y', UInt(8));
      line = here() + 1;
      y.assign(a.add(a));
    });
    expectAt(e, WidthMismatchError, line, "'y'", 'UInt(9)', 'UInt(8)');
  });

  it('signedness mismatch in an operation', () => {
    let line = 0;
    const e = elaborate((m) => {
      const a = m.input('a', UInt(8));
      const b = m.input('b', SInt(8));
      line = here() + 1;
      m.output('y', UInt(9)).assign(a.add(b));
    });
    expectAt(e, WidthMismatchError, line, 'add mixes', "'a'", "'b'");
  });

  it('undriven output', () => {
    let line = 0;
    const e = elaborate((m) => {
      m.input('a', UInt(8));
      line = here() + 1;
      m.output('y', UInt(8));
    });
    expectAt(e, UndrivenError, line, "'y'", 'never assigned');
  });

  it('undriven wire', () => {
    let line = 0;
    const e = elaborate((m) => {
      line = here() + 1;
      const w = m.wire('w', UInt(4));
      m.output('y', UInt(4)).assign(w);
    });
    expectAt(e, UndrivenError, line, "wire: 'w'");
  });

  it('multiple drivers, naming both lines', () => {
    let first = 0;
    let second = 0;
    const e = elaborate((m) => {
      const a = m.input('a', UInt(8));
      const y = m.output('y', UInt(8));
      first = here() + 1;
      y.assign(a);
      second = here() + 1;
      y.assign(a.not());
    });
    expectAt(e, MultipleDriversError, second, "'y'", `errors.test.ts:${first}`);
  });

  it('combinational loop through wires', () => {
    let line = 0;
    const e = elaborate((m) => {
      const a = m.input('a', UInt(8));
      const w1 = m.wire('w1', UInt(8));
      const w2 = m.wire('w2', UInt(8));
      line = here() + 1;
      w1.assign(w2.xor(a));
      w2.assign(w1);
      m.output('y', UInt(8)).assign(w2);
    });
    expectAt(e, CombinationalLoopError, line, 'combinational loop', "'w1' -> 'w2' -> 'w1'");
  });

  it('combinational loop through a submodule path', () => {
    let line = 0;
    const e = elaborate((m) => {
      const inst = m.instance('leaf0', Leaf, { w: 4 });
      const w = m.wire('w', UInt(4));
      inst.bind({ x: w });
      line = here() + 1;
      w.assign(inst.out('y'));
      m.output('y', UInt(4)).assign(w);
    });
    expectAt(e, CombinationalLoopError, line, "'leaf0_y'");
  });

  it('a register breaks the loop (no error)', () => {
    const gen = defineModule<Record<string, never>>('ok', () => 'ok', (m) => {
      const r = m.reg('r', UInt(8));
      r.assign(r.add(1).trunc(8));
      m.output('y', UInt(8)).assign(r);
    });
    expect(() => new Design().elaborate(gen, {})).not.toThrow();
  });

  it('unbound instance port', () => {
    let line = 0;
    const e = elaborate((m) => {
      line = here() + 1;
      const inst = m.instance('leaf0', Leaf, { w: 4 });
      m.output('y', UInt(4)).assign(inst.out('y'));
    });
    expectAt(e, UnboundPortError, line, "input 'x'", "instance 'leaf0'");
  });

  it('binding a port with the wrong width', () => {
    let line = 0;
    const e = elaborate((m) => {
      const a = m.input('a', UInt(8));
      const inst = m.instance('leaf0', Leaf, { w: 4 });
      line = here() + 1;
      inst.bind({ x: a });
      m.output('y', UInt(4)).assign(inst.out('y'));
    });
    expectAt(e, WidthMismatchError, line, "port 'x'", 'UInt(4)', 'UInt(8)');
  });

  it('unread bits of a signal', () => {
    let line = 0;
    const e = elaborate((m) => {
      line = here() + 1;
      const a = m.input('a', UInt(8));
      m.output('y', UInt(4)).assign(a.slice(3, 0));
    });
    expectAt(e, UnusedSignalError, line, 'bits [7:4]', "'a'", 'm.unused');
  });

  it('m.unused() silences a deliberate unread', () => {
    const gen = defineModule<Record<string, never>>('ok2', () => 'ok2', (m) => {
      const a = m.input('a', UInt(8));
      m.output('y', UInt(4)).assign(a.slice(3, 0));
      m.unused(a.slice(7, 4));
    });
    expect(() => new Design().elaborate(gen, {})).not.toThrow();
  });

  it('bad and duplicate names', () => {
    let line = 0;
    let e = elaborate((m) => {
      line = here() + 1;
      m.input('module', Bool);
    });
    expectAt(e, NameError, line, 'keyword');
    e = elaborate((m) => {
      m.input('a', Bool);
      line = here() + 1;
      m.wire('a', Bool);
    });
    expectAt(e, NameError, line, 'declared twice');
  });

  it('a constant that does not fit', () => {
    let line = 0;
    const e = elaborate((m) => {
      const y = m.output('y', UInt(4));
      line = here() + 1;
      y.assign(16);
    });
    expectAt(e, WidthMismatchError, line, 'does not fit UInt(4)');
  });
});
