/**
 * Differential fuzzing of the accelerator against the golden model (see src/fuzz/main.ts).
 * A `flightgen fuzz` command needs: fuzzMain, GoldenRunner, an RTL ProgramRunner, FUZZ_HW /
 * randomHw for the hardware, and writeReproducer for failures found elsewhere.
 */
export { fuzzMain, type FuzzMainOptions, type FuzzSummary, type FuzzFailure } from './main.ts';
export { GoldenRunner, compareRuns, programProblem, runSafely, findStore, copyMemory, classifyMessage, type ProgramRunner, type RunnerProgram, type RunResult, type Mismatch, type StoreSite } from './runner.ts';
export { randomProgram, randomFailingProgram, failureKinds, features, expectedFeatures, type FuzzProgram, type GenerateOptions, type ExpectedError } from './generate.ts';
export { minimize, writeReproducer, type MinimizeOptions, type MinimizeResult, type Reproducer } from './minimize.ts';
export { FUZZ_HW, STORIES_HW, FUZZ_CONFIGS, randomHw } from './hw.ts';
export { analyze, normalize, walk, checkInstr, footprint, type ErrClass } from './analysis.ts';
