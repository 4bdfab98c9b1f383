import type { ModuleBuilder, Signal } from '../../hdl/index.ts';
import type { MacSliceParams } from './mac-slice.ts';

export interface MacSlicePorts {
  ce: Signal;
  a: Signal;
  b: Signal;
  pcin: Signal;
  cascEn: Signal;
  accEn: Signal;
  p: Signal;
  pcout: Signal;
}

/** The `xilinx-dsp48e2` backend of mac_slice: one DSP48E2 instance with the same cycle timing. */
export function dsp48e2Slice(_m: ModuleBuilder, _p: MacSliceParams, _ports: MacSlicePorts): void {
  throw new RangeError('the xilinx-dsp48e2 backend is not implemented yet');
}
