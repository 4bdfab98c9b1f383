import { Option, type Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { UsageError, list, sparsityPattern } from '../errors.ts';
import { DEFAULT_CONFIG } from '../../arch/config.ts';
import { modeTable, patternName, type Pattern } from '../../sparsity/pattern.ts';
import { AsmError, assemble, disassemble } from '../../isa/asm.ts';
import { IsaDecodeError } from '../../isa/decode.ts';
import { IsaEncodeError } from '../../isa/encode.ts';
import { generateIsaDocs } from '../../isa/docs.ts';

/** The design's mode table for `pattern=2:4` names (same option and default as `gen`). */
const sparsityOption = () =>
  new Option('--sparsity <list>', "the design's N:M patterns, in mode-table order after dense (as for gen)")
    .argParser(list('--sparsity', sparsityPattern('--sparsity')))
    .default(DEFAULT_CONFIG.sparsity, DEFAULT_CONFIG.sparsity.map(patternName).join(','));

async function read(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function write(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    throw new UsageError(`cannot write '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `asm`, `disasm` and `isa-docs`: the ISA tools (src/isa). */
export function registerIsa(program: Command): void {
  program
    .command('asm')
    .description('assemble an instruction listing into the binary instruction stream (see docs/isa.md)')
    .argument('<in.s>', 'assembly source')
    .requiredOption('-o, --out <out.bin>', 'binary output file')
    .addOption(sparsityOption())
    .action(async (input: string, o: { out: string; sparsity: Pattern[] }) => {
      const text = (await read(input)).toString('utf8');
      let bin: Uint8Array;
      try {
        bin = assemble(text, { modes: modeTable(o.sparsity) });
      } catch (e) {
        if (e instanceof AsmError || e instanceof IsaEncodeError) throw new UsageError(`${input}: ${e.message}`);
        throw e;
      }
      await write(o.out, bin);
    });

  program
    .command('disasm')
    .description('print a binary instruction stream as assembly text that assembles back to the same bytes')
    .argument('<in.bin>', 'binary instruction stream')
    .option('-o, --out <out.s>', 'write the listing to a file instead of stdout')
    .option('--offsets', 'append each instruction\'s byte offset as a comment')
    .addOption(sparsityOption())
    .action(async (input: string, o: { out?: string; offsets?: boolean; sparsity: Pattern[] }) => {
      const bin = await read(input);
      let text: string;
      try {
        text = disassemble(new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength), { modes: modeTable(o.sparsity), offsets: o.offsets });
      } catch (e) {
        if (e instanceof IsaDecodeError) throw new UsageError(`${input}: ${e.message}`);
        throw e;
      }
      if (o.out) await write(o.out, text);
      else process.stdout.write(text);
    });

  program
    .command('isa-docs')
    .description('write the ISA reference generated from src/isa/table.ts (the committed copy is docs/isa.md)')
    .option('-o, --out <file>', 'output file (default: stdout)')
    .action(async (o: { out?: string }) => {
      const md = generateIsaDocs();
      if (o.out) await write(o.out, md);
      else process.stdout.write(md);
    });
}
