/** The co-simulation configuration: 4 x 16 chains with buffers just large enough for stories260K. */
export { STORIES_HW as COSIM_HW } from '../../src/fuzz/hw.ts';
