/**
 * `flightgen perf`: the performance model (src/perf, docs/perf.md) on a compiled LLM. Compiles
 * the model for a preset's hardware without weights, runs a prefill pass and decode steps
 * through the schedule model and prints latency, tokens/s, HBM bandwidth and MPE utilisation,
 * the split by instruction class and the HBM roofline, at the preset's clock.
 */
import { Option, type Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { validateConfig, WEIGHT_PRECISIONS, type GenConfig, type WeightPrecision } from '../../arch/config.ts';
import { compile, type Compiled } from '../../compiler/compile.ts';
import { CompileError } from '../../compiler/plan.ts';
import { IsaEncodeError } from '../../isa/encode.ts';
import { MODEL_PRESETS } from '../../model/config.ts';
import { memoryTiming } from '../../perf/memory.ts';
import { formatPerfReport, perfReport } from '../../perf/report.ts';
import { evaluationPoints, formatEvaluation, type Evaluation } from '../../perf/evaluation.ts';
import { PerfModel } from '../../perf/model.ts';
import { patternName, type Pattern } from '../../sparsity/pattern.ts';
import { getDevice } from '../../targets/devices.ts';
import { getPreset, PRESET_NAMES, type Preset } from '../../targets/presets.ts';
import { UsageError, nonNegativeInt, positiveInt, positiveNumber, sparsityPattern } from '../errors.ts';
import { addPresetOverrideOptions, presetOverrides } from '../preset-overrides.ts';

/** The models `perf` knows (7B-class presets; smaller ones work too). */
const PERF_MODELS = Object.keys(MODEL_PRESETS);

interface PerfOptions {
  preset: string;
  model: string;
  prefill: number;
  decode: number;
  sparsity?: Pattern;
  precision: WeightPrecision;
  actPrecision: 'int8' | 'int16';
  clock?: number;
  samples: number;
  json?: string;
  quiet?: boolean;
  paperPoints?: boolean;
  whatIfGrpLanes?: number;
}

function presetHw(preset: Preset, o: PerfOptions): GenConfig {
  const hw: GenConfig = {
    ...preset.config,
    ...(o.actPrecision === 'int16' ? { actWidth: Math.max(preset.config.actWidth, 16) } : {}),
    top: 'flightllm',
    ...presetOverrides(o as unknown as Record<string, unknown>),
  };
  try {
    validateConfig(hw);
  } catch (e) {
    throw new UsageError(`${preset.name}: ${(e as Error).message}`);
  }
  return hw;
}

/** `perf`: predicted prefill/decode performance of a model on a preset (no weights needed). */
export function registerPerf(program: Command): void {
  const cmd = program
    .command('perf')
    .description('predict prefill latency, decode tokens/s, HBM bandwidth and MPE utilisation of a model on a preset (performance model calibrated against the RTL; docs/perf.md)')
    .addOption(new Option('--preset <name>', 'hardware preset').choices([...PRESET_NAMES]).makeOptionMandatory())
    .addOption(new Option('--model <name>', 'model preset').choices(PERF_MODELS).makeOptionMandatory())
    .option('--prefill <n>', 'prompt tokens (one prefill pass; 0: none)', nonNegativeInt('--prefill'), 128)
    .option('--decode <n>', 'decode steps after the prompt', positiveInt('--decode'), 512)
    .option('--sparsity <pattern>', "weight sparsity of the linear layers, dense or N:M (must be in the preset's mode table)", sparsityPattern('--sparsity'))
    .addOption(new Option('--precision <p>', 'weight precision').choices([...WEIGHT_PRECISIONS]).default('int4'))
    .addOption(new Option('--act-precision <p>', 'activation precision').choices(['int8', 'int16']).default('int8'))
    .option('--clock <MHz>', "clock frequency (default: the preset device's FlightLLM clock)", positiveNumber('--clock'))
    .option('--samples <n>', 'decode positions simulated at most (the others interpolated)', positiveInt('--samples'), 17);
  addPresetOverrideOptions(cmd)
    .option('--what-if-grp-lanes <n>', 'what-if, not the RTL: grp (grouped low-bit weight) expansion of n lanes per cycle in each LD read pipeline instead of 32', positiveInt('--what-if-grp-lanes'))
    .option('--paper-points', "also run the paper's evaluation points (prefill 128/512 x decode 512/1024/1536) and print them beside the paper's figures")
    .option('--json <file>', 'also write the report as JSON')
    .option('-q, --quiet', 'no progress lines on stderr')
    .action(async (o: PerfOptions) => {
      const preset = getPreset(o.preset);
      const model = MODEL_PRESETS[o.model]!;
      const hw = presetHw(preset, o);
      const pattern = o.sparsity ?? 'dense';
      const actBits = o.actPrecision === 'int16' ? 16 : 8;
      if (o.prefill + o.decode > model.seqLen) throw new UsageError(`--prefill ${o.prefill} + --decode ${o.decode} pass ${model.name}'s ${model.seqLen} positions`);
      const clockMHz = o.clock ?? getDevice(preset.device).clockMHz;
      const say = (s: string) => {
        if (!o.quiet) process.stderr.write(`flightgen perf: ${s}\n`);
      };
      say(`compiling ${model.name} for ${preset.name} (${hw.chains} x ${hw.chainLength}, ${o.precision} weights, ${patternName(pattern)}, no weights)`);
      let compiled: Compiled;
      try {
        compiled = compile({ model, hw, options: { precision: o.precision, actBits, pattern } });
      } catch (e) {
        if (e instanceof CompileError || e instanceof IsaEncodeError || e instanceof RangeError) throw new UsageError(`compile ${model.name} for ${preset.name}: ${e.message}`);
        throw e;
      }
      if (o.whatIfGrpLanes !== undefined && !(o.whatIfGrpLanes % 32 === 0 || 32 % o.whatIfGrpLanes === 0)) throw new UsageError(`--what-if-grp-lanes must be a multiple or a divisor of 32, got ${o.whatIfGrpLanes}`);
      const whatIf = o.whatIfGrpLanes !== undefined ? { grpLanes: o.whatIfGrpLanes } : {};
      // The LD's read ports (hw.ldPorts) on the device's HBM channel map (src/perf/memory.ts).
      const mem = memoryTiming(preset.device, hw, clockMHz);
      let report;
      try {
        report = perfReport({ compiled, device: preset.device, clockMHz, mem, prefill: o.prefill, decode: o.decode, samples: o.samples, preset: preset.name, whatIf, onPhase: (w) => say(`simulating the ${w}`) });
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      }
      process.stdout.write(formatPerfReport(report));
      let evaluation: Evaluation | undefined;
      if (o.paperPoints) {
        evaluation = evaluationPoints(new PerfModel(compiled, mem, whatIf), compiled, preset.device, clockMHz, o.samples, (w) => say(`evaluation point: ${w}`));
        process.stdout.write(formatEvaluation(evaluation, `${model.name} on ${preset.name}, ${clockMHz} MHz, ${o.precision} weights, ${patternName(pattern)}${Object.keys(whatIf).length ? ', WHAT-IF LD engine, not the RTL' : ''}`));
      }
      if (o.json) {
        try {
          await mkdir(dirname(resolve(o.json)), { recursive: true });
          await writeFile(o.json, `${JSON.stringify(evaluation ? { ...report, evaluation } : report, null, 2)}\n`);
        } catch (e) {
          throw new UsageError(`cannot write --json '${o.json}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
    });
}
