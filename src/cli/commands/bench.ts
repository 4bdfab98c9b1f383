import type { Command } from 'commander';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure generator speed and Verilator build/simulation speed; writes bench/results.json')
    .option('--quick', 'fewer repetitions')
    .action(async (o: { quick?: boolean }) => {
      const { runBench } = await import('../../../bench/run.ts');
      await runBench({ quick: !!o.quick });
    });
}
