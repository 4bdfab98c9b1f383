import { Command, CommanderError } from 'commander';
import { UsageError } from './errors.ts';
import { registerGen } from './commands/gen.ts';
import { registerBench } from './commands/bench.ts';
import { registerLint } from './commands/lint.ts';
import { registerIsa } from './commands/isa.ts';
import { registerCompile } from './commands/compile.ts';
import { registerInfer } from './commands/infer.ts';
import { registerSynth } from './commands/synth.ts';
import { registerFuzz } from './commands/fuzz.ts';
import { registerPerf } from './commands/perf.ts';
import { registerReport } from './commands/report.ts';
import { VERSION } from '../version.ts';

/** Builds the `flightgen` command tree; each command lives in its own module under commands/. */
export function buildProgram(): Command {
  const program = new Command('flightgen')
    .description('FlightLLM-style LLM accelerator generator: Verilog, synthesis, compiler and simulation')
    .version(VERSION)
    .exitOverride()
    // Commander's own messages ("error: unknown option ...") become our one-line format.
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `flightgen: ${s.trimEnd()} (see --help)\n` : s) });
  registerGen(program);
  registerLint(program);
  registerCompile(program);
  registerIsa(program);
  registerBench(program);
  registerInfer(program);
  registerSynth(program);
  registerFuzz(program);
  registerPerf(program);
  registerReport(program);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI and returns the exit status: 0 ok, 2 bad input or failure (one line, no stack trace). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end through exitOverride with exit code 0.
      if (e.exitCode === 0) return 0;
      return 2; // commander already printed its one-line message
    }
    if (e instanceof UsageError) {
      process.stderr.write(`flightgen: error: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    process.stderr.write(`flightgen: error: ${err?.message ?? String(e)}\n`);
    if (process.env.FLIGHTGEN_DEBUG) process.stderr.write(`${err?.stack}\n`);
    return 2;
  }
}
