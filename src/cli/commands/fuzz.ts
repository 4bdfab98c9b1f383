import { Option, type Command } from 'commander';
import { FUZZ_CONFIGS, fuzzMain, GoldenRunner } from '../../fuzz/index.ts';
import { RtlRunner } from '../../sim/rtl-runner.ts';
import { positiveInt, UsageError } from '../errors.ts';

const say = (line: string) => process.stderr.write(`flightgen: fuzz: ${line}\n`);

/** `fuzz`: random programs on the RTL against the golden model; the first failure is minimised into a reproducer. */
export function registerFuzz(program: Command): void {
  program
    .command('fuzz')
    .description('run random valid (and deliberately failing) programs on the RTL and the golden model; any difference is a failure with a minimised reproducer')
    .option('--count <n>', 'programs to run', positiveInt('--count'), 200)
    .option('--seed <n>', 'first seed (programs use seed, seed+1, ...)', (v) => {
      if (!/^\d+$/.test(v)) throw new UsageError(`--seed: '${v}' is not a non-negative integer`);
      return Number(v);
    }, 1)
    .addOption(new Option('--hw <name>', 'hardware: tiny (the tiny preset) or stories (the co-simulation configuration)').choices(Object.keys(FUZZ_CONFIGS)).default('tiny'))
    .option('--out <dir>', 'folder for reproducers', 'fuzz-out')
    .option('--no-minimize', 'do not minimise the first failure')
    .action(async (o: { count: number; seed: number; hw: keyof typeof FUZZ_CONFIGS; out: string; minimize: boolean }) => {
      const rtl = new RtlRunner({ onBuild: say });
      let summary;
      try {
        summary = await fuzzMain({ count: o.count, seed: o.seed, engine: rtl, reference: new GoldenRunner(), out: o.out, hw: FUZZ_CONFIGS[o.hw], minimize: o.minimize, progress: say });
      } finally {
        await rtl.close();
      }
      process.stdout.write(`${summary.text}\n`);
      if (summary.failures.length) throw new UsageError(`${summary.failures.length} of ${summary.runs} programs differ${summary.reproducer ? `; reproducer in ${summary.reproducer.dir}` : ''}`);
    });
}
