import { join } from 'node:path';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';

export const STORIES = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'stories260K.bin');

/** A small accelerator (4 chains of 16, INT16 activations, 16-bit weight lanes) for fast golden runs. */
export const SMALL_HW: GenConfig = { ...DEFAULT_CONFIG, chains: 4, chainLength: 16, actWidth: 16, weightWidth: 16, weightDepth: 1024, kvDepth: 1 << 16 };
