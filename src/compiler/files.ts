/**
 * The compiled-program folder: program.bin, memory.bin (optional) and compile.json. The JSON
 * holds the model, hardware and options, from which the plan (and with it the memory map and
 * the runtime protocol) is recomputed exactly on load.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type GenConfig } from '../arch/config.ts';
import { decodeProgram } from '../isa/decode.ts';
import type { ModelConfig } from '../model/config.ts';
import { patternName, parsePattern } from '../sparsity/pattern.ts';
import { FX } from '../numerics/fixed.ts';
import type { Block, Compiled } from './compile.ts';
import { MemoryImage } from './memory.ts';
import { makePlan, type CompileOptions } from './plan.ts';

export const PROGRAM_FORMAT = 'flightgen-program-1';

export interface ProgramManifest {
  readonly format: string;
  readonly model: ModelConfig;
  readonly hardware: GenConfig;
  readonly options: { precision: CompileOptions['precision']; actBits: 8 | 16; attnBits: 8 | 16; sparsity: string; chunking?: CompileOptions['chunking'] };
  readonly blocks: readonly Block[];
}

export function programManifest(c: Compiled): ProgramManifest {
  const p = c.plan;
  return { format: PROGRAM_FORMAT, model: p.model, hardware: p.hw, options: { precision: p.options.precision, actBits: p.options.actBits, attnBits: p.attnBits, sparsity: patternName(p.options.pattern), ...(p.options.chunking ? { chunking: p.options.chunking } : {}) }, blocks: c.blocks };
}

export class ProgramLoadError extends Error {}

/** Loads a folder written by `flightgen compile` (with weights). */
export function loadCompiled(dir: string): Compiled {
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f));
    } catch (e) {
      throw new ProgramLoadError(`cannot read '${join(dir, f)}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  let json: { program?: ProgramManifest };
  try {
    json = JSON.parse(read('compile.json').toString('utf8'));
  } catch (e) {
    if (e instanceof ProgramLoadError) throw e;
    throw new ProgramLoadError(`${join(dir, 'compile.json')}: not valid JSON (${(e as Error).message})`);
  }
  const m = json.program;
  if (!m || m.format !== PROGRAM_FORMAT) throw new ProgramLoadError(`${join(dir, 'compile.json')}: not a ${PROGRAM_FORMAT} manifest`);
  // Programs compiled before the accelerator top existed lack its fields: they get the defaults.
  const { sfuLanes, axiDataBits, queueDepth, loopDepth, ldPorts } = DEFAULT_CONFIG;
  const hardware: GenConfig = { ...m.hardware, sfuLanes: m.hardware.sfuLanes ?? sfuLanes, axiDataBits: m.hardware.axiDataBits ?? axiDataBits, queueDepth: m.hardware.queueDepth ?? queueDepth, loopDepth: m.hardware.loopDepth ?? loopDepth, ldPorts: m.hardware.ldPorts ?? ldPorts };
  const plan = makePlan(m.model, hardware, { precision: m.options.precision, actBits: m.options.actBits, attnBits: m.options.attnBits, pattern: parsePattern(m.options.sparsity), ...(m.options.chunking ? { chunking: m.options.chunking } : {}) });
  const program = new Uint8Array(read('program.bin'));
  let memory: MemoryImage;
  try {
    memory = MemoryImage.parse(new Uint8Array(read('memory.bin')), join(dir, 'memory.bin'));
  } catch (e) {
    if (e instanceof ProgramLoadError && /ENOENT/.test(e.message)) throw new ProgramLoadError(`${dir} has no memory.bin (compiled with --no-weights): it cannot be executed`);
    throw new ProgramLoadError((e as Error).message);
  }
  if (memory.hbm.length !== plan.layout.size('hbm') || memory.ddr.length !== plan.layout.size('ddr')) throw new ProgramLoadError(`${join(dir, 'memory.bin')}: sizes do not match the memory map of compile.json`);
  let instrs;
  try {
    instrs = decodeProgram(program);
  } catch (e) {
    throw new ProgramLoadError(`${join(dir, 'program.bin')}: ${(e as Error).message}`);
  }
  return { plan, scales: { layers: [], xf: 0 }, instrs, program, blocks: m.blocks, memory, logitScale: 2 ** -FX };
}
