/**
 * What the DSP48E2 and DSP58 backends share: the attribute table type, the attributes both set
 * the same way (pipeline registers as in the behavioural slice, unregistered dynamic controls),
 * and the rendering of a subset simulation model from its attribute table.
 */
import { render } from '../../templates.ts';

export interface PrimParam {
  readonly name: string;
  /** The one value the slice uses (and the model implements). */
  readonly value: number | string;
  /** The silicon's default (vendor user guide); the model documents where it differs. */
  readonly default: number | string;
}

/** Direct A/B inputs into the multiplier, no SIMD, (A, B, M, P) registered, controls not. */
export function commonDspParams(simd: string): PrimParam[] {
  return [
    { name: 'A_INPUT', value: 'DIRECT', default: 'DIRECT' },
    { name: 'B_INPUT', value: 'DIRECT', default: 'DIRECT' },
    { name: 'AMULTSEL', value: 'A', default: 'A' },
    { name: 'BMULTSEL', value: 'B', default: 'B' },
    { name: 'USE_MULT', value: 'MULTIPLY', default: 'MULTIPLY' },
    { name: 'USE_SIMD', value: simd, default: simd },
    { name: 'AREG', value: 1, default: 1 },
    { name: 'ACASCREG', value: 1, default: 1 },
    { name: 'BREG', value: 1, default: 1 },
    { name: 'BCASCREG', value: 1, default: 1 },
    { name: 'MREG', value: 1, default: 1 },
    { name: 'PREG', value: 1, default: 1 },
    // casc_en/acc_en act in the cycle they are presented, as in the behavioural slice.
    { name: 'OPMODEREG', value: 0, default: 1 },
    // Constant controls: their registers would only add a cycle after reset.
    { name: 'INMODEREG', value: 0, default: 1 },
    { name: 'ALUMODEREG', value: 0, default: 1 },
    { name: 'CARRYINREG', value: 0, default: 1 },
    { name: 'CARRYINSELREG', value: 0, default: 1 },
  ];
}

const vlog = (v: number | string) => (typeof v === 'number' ? String(v) : `"${v}"`);

/** A subset simulation model's Verilog from its template and attribute table. */
export function renderSimModel(template: string, params: readonly PrimParam[]): string {
  return render(template, {
    params: params.map((p) => ({ name: p.name, string: typeof p.value === 'string', default: vlog(p.default), differs: p.default !== p.value, value: vlog(p.value), token: String(p.value) })),
  });
}
