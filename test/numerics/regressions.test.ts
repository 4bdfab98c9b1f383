import { describe, expect, it } from 'vitest';
import { isqrt } from '../../src/numerics/fixed.ts';
import { quantizeMatrix } from '../../src/numerics/quant.ts';

describe('numerics regressions', () => {
  it('a beat narrower than a 16-lane weight group is rejected, whatever the beat count', () => {
    const shape = { chains: 1, length: 8, groupSize: 1 };
    const w = Float32Array.from({ length: 16 }, (_, i) => (i + 1) / 16);
    expect(() => quantizeMatrix(w, 1, 16, 'dense', 'int8', shape, 8)).toThrow(/not a multiple of the 16-lane weight group/);
  });

  it('isqrt is exact and fast far beyond float range', () => {
    for (const n of [(1n << 170n) * 3n + 987654321987654321n, 1n << 1100n, (1n << 64n) - 1n]) {
      const r = isqrt(n);
      expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
    }
  });
});
