import { Option, type Command } from 'commander';
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { WeightPrecision } from '../../arch/config.ts';
import { checkGenerate, generateAsync } from '../../model/engine.ts';
import type { Pattern } from '../../sparsity/pattern.ts';
import { ENGINES, makeEngine, type ActPrecision, type EngineName } from '../engines.ts';
import type { RtlBlockReport } from '../../sim/rtl-engine.ts';
import { UsageError, list, positiveInt } from '../errors.ts';
import { addCompileOptions, type CompileCliOptions } from '../compile-options.ts';

function tokenId(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--prompt-ids: '${text}' is not a token id (a non-negative integer)`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--prompt-ids: '${text}' is not a token id (a non-negative integer)`);
  return n;
}

interface InferOptions extends CompileCliOptions {
  checkpoint?: string;
  program?: string;
  engine: EngineName;
  tokens: number;
  promptIds?: number[];
  dumpLogits?: string;
  precision?: WeightPrecision;
  actPrecision?: ActPrecision;
  sparsity?: Pattern;
  progress?: boolean;
  check?: boolean;
  checkEveryStore?: boolean;
}

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * A binary file written through a temporary sibling and renamed into place by commit(), so a run
 * that fails leaves nothing behind (abort() removes the temporary file).
 */
class AtomicFile {
  private readonly tmp: string;
  private fd: number;

  constructor(readonly path: string) {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // Does not exist yet: fine.
    }
    if (isDir) throw new UsageError(`cannot write --dump-logits '${path}': it is a folder`);
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new UsageError(`cannot write --dump-logits '${path}': ${errCode(e)}`);
    }
  }

  write(data: Uint8Array): void {
    try {
      writeSync(this.fd, data);
    } catch (e) {
      throw new UsageError(`cannot write --dump-logits '${this.path}': ${errCode(e)}`);
    }
  }

  commit(): void {
    try {
      closeSync(this.fd);
      this.fd = -1;
      renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw new UsageError(`cannot write --dump-logits '${this.path}': ${errCode(e)}`);
    }
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.tmp);
    } catch {
      // Already gone.
    }
  }
}

/** float32 little-endian bytes of `v` (a copy on big-endian hosts). */
function littleEndian(v: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.byteLength);
  const dv = new DataView(out.buffer);
  v.forEach((x, i) => dv.setFloat32(4 * i, x, true));
  return out;
}

/** Progress on stderr: redrawn in place on a terminal, a line a second otherwise. */
function progressReporter(total: number, promptLength: number, engine: string) {
  const tty = Boolean(process.stderr.isTTY);
  const t0 = performance.now();
  let last = t0;
  const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
  return {
    token(index: number): void {
      const now = performance.now();
      if (index + 1 === total || now - last < (tty ? 100 : 1000)) return; // done() reports the end
      last = now;
      const line = `flightgen: infer: ${index + 1}/${total} tokens, ${rate(index + 1, now - t0).toFixed(1)} tokens/s`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    done(): void {
      const ms = performance.now() - t0;
      if (tty) process.stderr.write('\r\x1b[K');
      process.stderr.write(
        `flightgen: infer: ${total} tokens in ${(ms / 1000).toFixed(2)} s, ${rate(total, ms).toFixed(1)} tokens/s ` +
          `(engine ${engine}, after BOS + ${promptLength} forced prompt ids)\n`,
      );
    },
  };
}

/** RTL runs: a line per block on stderr (cycles, engine busy split, simulation speed) and a summary. */
function rtlReporter() {
  const cycles: number[] = [];
  let wall = 0;
  const say = (line: string) => process.stderr.write(`flightgen: infer: rtl: ${line}\n`);
  return {
    build: (msg: string) => say(msg),
    block(r: RtlBlockReport): void {
      cycles.push(...Array.from({ length: r.tokens }, () => r.cycles / r.tokens));
      wall += r.wallMs;
      const b = r.busy;
      say(`${r.block} block, position ${r.pos}${r.tokens > 1 ? `..${r.pos + r.tokens - 1}` : ''}: ${r.cycles} cycles (busy LD ${b.ld}, ST ${b.st}, MX ${b.mx}, SFU ${b.sfu}), ${((r.cycles / Math.max(r.wallMs, 1e-3)) * 1e3).toFixed(0)} cycles/s`);
    },
    done(checked: boolean): void {
      if (cycles.length === 0) return;
      const sorted = [...cycles].sort((a, b) => a - b);
      const total = cycles.reduce((a, b) => a + b, 0);
      say(`${cycles.length} positions, median ${sorted[sorted.length >> 1]!.toFixed(0)} cycles per token, ${total.toFixed(0)} cycles in all, ${((total / Math.max(wall, 1e-3)) * 1e3).toFixed(0)} simulated cycles/s${checked ? '; logits and memory equal to the golden model at every block' : ''}`);
    },
  };
}

/** `infer`: greedy generation with one of the engines (src/cli/engines.ts). */
export function registerInfer(program: Command): void {
  const cmd = program
    .command('infer')
    .description('greedy generation from BOS (+ an optional forced prompt); prints the generated token ids on one line')
    .option('--checkpoint <file>', 'llama2.c checkpoint (e.g. ../shared/models/stories260K.bin)')
    .option('--program <dir>', 'compiled program folder from `flightgen compile` (golden and rtl engines)')
    .addOption(new Option('--engine <name>', 'inference engine: float32 reference, INT golden model or RTL simulation').choices([...ENGINES]).default('float'))
    .requiredOption('--tokens <n>', 'number of tokens to generate (prompt + tokens must fit in seq_len)', positiveInt('--tokens'))
    .option('--prompt-ids <ids>', 'token ids forced after BOS (teacher forcing), e.g. 5,9,17', list('--prompt-ids', tokenId))
    .option('--dump-logits <file>', 'write the logits of every position from 0 on (prompt + tokens rows of vocab float32 LE values)')
    .option('--progress', 'report tokens/s on stderr even when stderr is not a terminal')
    .option('--no-check', 'rtl: do not compare every block with the golden model')
    .option('--check-every-store', 'rtl: also compare after every ST (runs the RTL one instruction at a time)');
  addCompileOptions(cmd, ' (golden/rtl with --checkpoint; ignored by float)');
  cmd.action(async (o: InferOptions) => {
      if ((o.checkpoint === undefined) === (o.program === undefined)) throw new UsageError('give exactly one of --checkpoint FILE and --program DIR');
      if (o.engine !== 'rtl' && (o.checkEveryStore || o.check === false)) throw new UsageError('--check-every-store and --no-check apply to --engine rtl');
      if (o.checkEveryStore && o.check === false) throw new UsageError('--check-every-store needs the golden comparison (drop --no-check)');
      const rtl = o.engine === 'rtl' ? rtlReporter() : undefined;
      const engine = await makeEngine(o.engine, { checkpoint: o.checkpoint, program: o.program, precision: o.precision, actPrecision: o.actPrecision, sparsity: o.sparsity, compile: o, rtl: { check: o.check, checkEveryStore: o.checkEveryStore, onBlock: rtl?.block, onBuild: rtl?.build } });
      const promptIds = o.promptIds ?? [];
      try {
        checkGenerate(engine.config, o.tokens, promptIds);
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(`${/^prompt token/.test(e.message) ? '--prompt-ids' : '--tokens'}: ${e.message}`);
        throw e;
      }
      const dump = o.dumpLogits === undefined ? undefined : new AtomicFile(o.dumpLogits);
      const progress = o.progress || process.stderr.isTTY ? progressReporter(o.tokens, promptIds.length, o.engine) : undefined;
      let ids: number[];
      try {
        ids = await generateAsync(engine, {
          tokens: o.tokens,
          promptIds,
          onLogits: dump && ((_, logits) => dump.write(littleEndian(logits))),
          onToken: progress && ((_, index) => progress.token(index)),
        });
        dump?.commit();
      } catch (e) {
        dump?.abort();
        throw e;
      } finally {
        await (engine as { close?: () => Promise<void> }).close?.();
      }
      progress?.done();
      rtl?.done(o.check !== false);
      process.stdout.write(`${ids.join(' ')}\n`);
    });
}
