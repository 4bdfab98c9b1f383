import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';

/** A 4 x 16 accelerator with small buffers (they fit stories260K): a quick Verilator build and a small simulator. */
export const COSIM_HW: GenConfig = { ...DEFAULT_CONFIG, chains: 4, chainLength: 16, actWidth: 16, weightWidth: 16, weightDepth: 64, actDepth: 256, accDepth: 1024, kvDepth: 32768, globalDepth: 4096, biasDepth: 1024 };
