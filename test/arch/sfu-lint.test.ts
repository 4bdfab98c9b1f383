/**
 * The SFU modules pass the same gates as every generated module (test/lint.test.ts):
 * `verilator --lint-only -Wall` with no message and Yosys `hierarchy -check; proc; check -assert`,
 * for 1 and 4 lanes (RoPE: 1 and 2 pairs per beat, i.e. 2 and 4 elements).
 */
import { describe, expect, it } from 'vitest';
import { Design, emitDesign, type ModuleGenerator } from '../../src/hdl/index.ts';
import { verilatorLint } from '../../src/sim/lint.ts';
import { yosysCheck } from '../../src/synth/yosys.ts';
import { sfuElem } from '../../src/arch/sfu/elem.ts';
import { sfuSoftmax } from '../../src/arch/sfu/softmax.ts';
import { sfuRmsnorm } from '../../src/arch/sfu/rmsnorm.ts';
import { sfuRope } from '../../src/arch/sfu/rope.ts';

const MATRIX: { label: string; gen: ModuleGenerator<any>; params: object }[] = [
  ...[1, 4].flatMap((lanes) => [
    { label: `sfu_elem lanes=${lanes}`, gen: sfuElem, params: { lanes } },
    { label: `sfu_softmax lanes=${lanes}`, gen: sfuSoftmax, params: { lanes } },
    { label: `sfu_rmsnorm lanes=${lanes}`, gen: sfuRmsnorm, params: { lanes } },
  ]),
  { label: 'sfu_rope pairs=1', gen: sfuRope, params: { pairs: 1 } },
  { label: 'sfu_rope pairs=2', gen: sfuRope, params: { pairs: 2 } },
  { label: 'sfu_elem lanes=3', gen: sfuElem, params: { lanes: 3 } },
];

describe('SFU modules are lint-clean', () => {
  for (const { label, gen, params } of MATRIX) {
    it(`${label}: verilator -Wall silent, yosys check -assert passes`, async () => {
      const d = new Design();
      const top = d.elaborate(gen, params);
      const files = emitDesign(d, top);
      const r = await verilatorLint(files, top.name);
      expect(r.messages).toEqual([]);
      expect(r.ok).toBe(true);
      expect(await yosysCheck(files, top.name)).toContain('Found and reported 0 problems');
    });
  }
});
