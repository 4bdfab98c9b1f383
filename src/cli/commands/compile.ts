import { Option, type Command } from 'commander';
import { MODEL_PRESETS } from '../../model/config.ts';
import { compile, compileSummary } from '../../compiler/compile.ts';
import { CompileError } from '../../compiler/plan.ts';
import { programManifest } from '../../compiler/files.ts';
import { lengthAdaptiveReport } from '../../compiler/storage.ts';
import { IsaEncodeError } from '../../isa/encode.ts';
import { UsageError } from '../errors.ts';
import { writeOutputDir } from '../output-dir.ts';
import { addCompileOptions, resolveCompileOptions, type CompileCliOptions } from '../compile-options.ts';
import { loadCheckpointForCli } from '../engines.ts';

interface Opts extends CompileCliOptions {
  model?: string;
  checkpoint?: string;
  out: string;
  weights: boolean;
  quiet?: boolean;
}

/** `compile`: model (+ weights) -> program.bin, memory.bin, compile.json. */
export function registerCompile(program: Command): void {
  const cmd = program
    .command('compile')
    .description('compile a model for the configured accelerator: program.bin, memory.bin and compile.json')
    .addOption(new Option('--model <name>', 'model preset (no weights unless --checkpoint)').choices(Object.keys(MODEL_PRESETS)))
    .option('--checkpoint <file>', 'llama2.c checkpoint: its shapes and weights')
    .requiredOption('--out <dir>', 'output folder (replaced atomically)')
    .option('--no-weights', 'skip quantization and memory.bin (instruction stream and sizes only; for 7B-size models)')
    .option('-q, --quiet', 'print nothing on success');
  addCompileOptions(cmd, '');
  cmd.action(async (o: Opts) => {
    if ((o.model === undefined) === (o.checkpoint === undefined)) throw new UsageError('give exactly one of --model NAME and --checkpoint FILE');
    const t0 = performance.now();
    const weights = o.checkpoint !== undefined ? loadCheckpointForCli(o.checkpoint) : undefined;
    const model = weights?.config ?? MODEL_PRESETS[o.model!]!;
    const { hw, options } = resolveCompileOptions(o);
    let compiled;
    try {
      compiled = compile({ model, weights: o.weights ? weights : undefined, hw, options });
    } catch (e) {
      if (e instanceof CompileError || e instanceof IsaEncodeError || e instanceof RangeError) throw new UsageError(`compile ${model.name}: ${e.message}`);
      throw e;
    }
    const compileMs = performance.now() - t0;
    const storage = lengthAdaptiveReport(compiled);
    const summary = compileSummary(compiled, { ...storage, compileMs: Math.round(compileMs), program: programManifest(compiled) });
    const files = new Map<string, string | Uint8Array>([
      ['program.bin', compiled.program],
      ['compile.json', `${JSON.stringify(summary, null, 2)}\n`],
    ]);
    if (compiled.memory) files.set('memory.bin', compiled.memory.serialize());
    await writeOutputDir(o.out, files);
    if (!o.quiet) {
      process.stdout.write(
        `flightgen: compiled ${model.name} (${options.precision}, int${options.actBits} activations, ${storage.sparsity}) in ${(compileMs / 1000).toFixed(2)} s: ` +
          `${compiled.instrs.length} instructions, ${compiled.program.length} bytes; length-adaptive storage ratio ${storage.storageRatio.toFixed(0)}x; wrote ${o.out}/\n`,
      );
    }
  });
}
