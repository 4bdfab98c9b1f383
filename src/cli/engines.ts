/**
 * The inference engines `flightgen infer --engine NAME` can run, behind one factory: each entry
 * of ENGINE_FACTORIES turns the command-line request into an Engine (src/model/engine.ts).
 * float is the float32 llama2.c reference (src/model/float-ref.ts); golden (the INT golden model
 * of a compiled program) and rtl (its RTL simulation) plug in here.
 */
import type { WeightPrecision } from '../arch/config.ts';
import { CheckpointError, loadCheckpoint } from '../model/checkpoint.ts';
import type { AsyncEngine, Engine } from '../model/engine.ts';
import { FloatEngine } from '../model/float-ref.ts';
import type { Pattern } from '../sparsity/pattern.ts';
import { UsageError } from './errors.ts';
import { compile } from '../compiler/compile.ts';
import { loadCompiled, ProgramLoadError } from '../compiler/files.ts';
import { CompileError } from '../compiler/plan.ts';
import { GoldenEngine } from '../golden/engine.ts';
import { RtlEngine, type RtlBlockReport } from '../sim/rtl-engine.ts';
import type { Compiled } from '../compiler/compile.ts';
import { resolveCompileOptions, type CompileCliOptions } from './compile-options.ts';

export const ENGINES = ['float', 'golden', 'rtl'] as const;
export type EngineName = (typeof ENGINES)[number];

export type ActPrecision = 'int8' | 'int16';

/** What the command line asked for; exactly one of checkpoint and program is set. */
export interface EngineRequest {
  /** llama2.c checkpoint file (--checkpoint). */
  readonly checkpoint?: string;
  /** Compiled program folder (--program), as written by `flightgen compile`. */
  readonly program?: string;
  /** Weight precision (--precision); undefined: the engine's default. Ignored by float. */
  readonly precision?: WeightPrecision;
  /** Activation precision (--act-precision); undefined: the engine's default. Ignored by float. */
  readonly actPrecision?: ActPrecision;
  /** Weight sparsity (--sparsity); undefined: the engine's default. Ignored by float. */
  readonly sparsity?: Pattern;
  /** Hardware and compiler options for compiling a --checkpoint on the fly (golden, rtl). */
  readonly compile?: CompileCliOptions;
  /** rtl: compare with the golden model after every block (default on), progress hooks. */
  readonly rtl?: { readonly check?: boolean; readonly checkEveryStore?: boolean; readonly onBlock?: (r: RtlBlockReport) => void; readonly onBuild?: (msg: string) => void };
}

/** Builds an engine; throws UsageError for requests it cannot serve (one line for the user). */
export type EngineFactory = (request: EngineRequest) => Engine | AsyncEngine | Promise<Engine | AsyncEngine>;

/** Loads a checkpoint, turning loader errors into one-line usage errors. */
export function loadCheckpointForCli(path: string) {
  try {
    return loadCheckpoint(path);
  } catch (e) {
    if (e instanceof CheckpointError) throw new UsageError(e.message);
    throw e;
  }
}

function floatEngine(request: EngineRequest): Engine {
  if (request.checkpoint === undefined) throw new UsageError('engine float runs a llama2.c --checkpoint; a compiled --program needs --engine golden or rtl');
  const weights = loadCheckpointForCli(request.checkpoint);
  try {
    return new FloatEngine(weights);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`${request.checkpoint}: ${e.message}`);
    throw e;
  }
}

/** The compiled program of a request: a --program folder, or a --checkpoint compiled on the fly. */
function compiledProgram(request: EngineRequest): Compiled {
  try {
    if (request.program !== undefined) return loadCompiled(request.program);
    const weights = loadCheckpointForCli(request.checkpoint!);
    const { hw, options } = resolveCompileOptions({ ...request.compile, precision: request.precision, actPrecision: request.actPrecision, sparsity: request.sparsity });
    return compile({ model: weights.config, weights, hw, options });
  } catch (e) {
    if (e instanceof ProgramLoadError || e instanceof CompileError) throw new UsageError(e.message);
    throw e;
  }
}

/** The INT golden model of the compiled program. */
function goldenEngine(request: EngineRequest): Engine {
  return new GoldenEngine(compiledProgram(request));
}

/** The compiled program on the generated RTL (Verilator), checked against the golden model. */
async function rtlEngine(request: EngineRequest): Promise<AsyncEngine> {
  const compiled = compiledProgram(request);
  try {
    return await RtlEngine.create(compiled, { check: request.rtl?.check ?? true, checkEveryStore: request.rtl?.checkEveryStore, onBlock: request.rtl?.onBlock, onBuild: request.rtl?.onBuild });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

export const ENGINE_FACTORIES: Record<EngineName, EngineFactory> = {
  float: floatEngine,
  golden: goldenEngine,
  rtl: rtlEngine,
};

export async function makeEngine(name: EngineName, request: EngineRequest): Promise<Engine | AsyncEngine> {
  return ENGINE_FACTORIES[name](request);
}
