import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../../src/arch/config.ts';
import { compile } from '../../src/compiler/compile.ts';
import { lengthAdaptiveReport } from '../../src/compiler/storage.ts';
import { MODEL_PRESETS } from '../../src/model/config.ts';
import { randomWeights } from '../../src/model/checkpoint.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import { STORIES, SMALL_HW } from '../golden/fixtures.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'flightgen.js');
const cli = (args: string[]) => execa('node', [CLI, ...args], { reject: false });

describe('compiler', () => {
  it('is deterministic: same inputs, same program and memory bytes', () => {
    const w = randomWeights(MODEL_PRESETS.tiny!, 5);
    const opts = { precision: 'int4', actBits: 16, pattern: { n: 2, m: 4 } } as const;
    const a = compile({ model: w.config, weights: w, hw: SMALL_HW, options: opts });
    const b = compile({ model: w.config, weights: w, hw: SMALL_HW, options: opts });
    expect(Buffer.from(a.program).equals(Buffer.from(b.program))).toBe(true);
    expect(Buffer.from(a.memory!.serialize()).equals(Buffer.from(b.memory!.serialize()))).toBe(true);
    // The stream decodes back to the instructions the compiler emitted.
    expect(decodeProgram(a.program)).toEqual(JSON.parse(JSON.stringify(a.instrs)));
  });

  it('llama2-7b compiles without weights in under 10 s: a decode block and a 16-token prefill block serve every length', () => {
    const hw = { ...DEFAULT_CONFIG, actWidth: 16, actDepth: 65536, globalDepth: 1 << 20, accDepth: 65536 };
    const t0 = performance.now();
    const c = compile({ model: MODEL_PRESETS['llama2-7b']!, hw, options: { precision: 'int4', actBits: 8, pattern: 'dense' } });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(10_000);
    expect(c.memory).toBeUndefined();
    expect(c.blocks.map((b) => [b.name, b.tokens])).toEqual([['decode', 1], ['prefill', 16]]);
    const r = lengthAdaptiveReport(c);
    expect(r.maxLength).toBe(2048);
    expect(r.instructionBytes).toBe(c.program.length);
    expect(r.instructionBytes).toBe(c.blocks[0]!.bytes + c.blocks[1]!.bytes);
    expect(r.storageRatio).toBeGreaterThan(500);
    // Decode uses MV tiles only, prefill MM tiles for every weight matrix.
    const block = (n: number) => c.instrs.slice(c.blocks[n]!.start, c.blocks[n]!.start + c.blocks[n]!.count);
    expect(block(0).some((i) => i.op === 'MM')).toBe(false);
    expect(block(1).filter((i) => i.op === 'MM').length).toBeGreaterThanOrEqual(32 * 7 + 1);
  }, 60_000);

  it('rejects a design that cannot hold the model, naming the buffer', () => {
    expect(() => compile({ model: MODEL_PRESETS['llama2-7b']!, hw: { ...DEFAULT_CONFIG, actDepth: 64 }, options: { precision: 'int8', actBits: 8, pattern: 'dense' } })).toThrow(/activation buffer too small/);
    expect(() => compile({ model: MODEL_PRESETS.tiny!, hw: DEFAULT_CONFIG, options: { precision: 'int8', actBits: 8, pattern: { n: 1, m: 16 } } })).toThrow(/not in the design's mode table/);
  });
});

describe('flightgen compile / infer --program', () => {
  it('writes program.bin, memory.bin and compile.json; infer --program runs it like --checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-compile-'));
    const hw = ['--chains', '4', '--weight-width', '16', '--kv-depth', '65536', '--weight-depth', '1024'];
    const c = await cli(['compile', '--checkpoint', STORIES, '--out', dir, '-q', ...hw]);
    expect(c.stderr).toBe('');
    expect(c.exitCode).toBe(0);
    const json = JSON.parse(await readFile(join(dir, 'compile.json'), 'utf8'));
    for (const k of ['instructionCount', 'instructionBytes', 'naiveInstructionBytes', 'storageRatio', 'perOp']) expect(json).toHaveProperty(k);
    expect(json.instructionBytes).toBe((await readFile(join(dir, 'program.bin'))).length);
    const a = await cli(['infer', '--program', dir, '--engine', 'golden', '--tokens', '6', '--prompt-ids', '5,9']);
    const b = await cli(['infer', '--checkpoint', STORIES, '--engine', 'golden', '--tokens', '6', '--prompt-ids', '5,9', ...hw]);
    expect(a.exitCode).toBe(0);
    expect(a.stdout).toMatch(/^\d+( \d+){5}$/);
    expect(a.stdout).toBe(b.stdout);
  }, 120_000);

  it('a damaged program folder is a one-line error naming the file and the problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-compile-'));
    const hw = ['--chains', '4', '--weight-width', '16', '--kv-depth', '65536', '--weight-depth', '1024'];
    expect((await cli(['compile', '--checkpoint', STORIES, '--out', dir, '-q', ...hw])).exitCode).toBe(0);
    const prog = await readFile(join(dir, 'program.bin'));
    const infer = () => cli(['infer', '--program', dir, '--engine', 'golden', '--tokens', '2']);
    await writeFile(join(dir, 'program.bin'), prog.subarray(0, prog.length - 6));
    let r = await infer();
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/program\.bin: .*(truncated|byte)/);
    await writeFile(join(dir, 'program.bin'), prog);
    const mem = await readFile(join(dir, 'memory.bin'));
    await writeFile(join(dir, 'memory.bin'), mem.subarray(0, 100));
    r = await infer();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/memory\.bin: .*bytes, the header announces/);
    await writeFile(join(dir, 'compile.json'), '{ not json');
    r = await infer();
    expect(r.stderr).toMatch(/compile\.json: not valid JSON/);
  }, 120_000);

  it('bad input: one line, exit 2, nothing written', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'fg-compile-')), 'out');
    const r1 = await cli(['compile', '--model', 'llama2-7b', '--act-depth', '8', '--out', dir]);
    expect(r1.exitCode).toBe(2);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    expect(r1.stderr).toMatch(/activation buffer too small/);
    await expect(readFile(join(dir, 'compile.json'))).rejects.toThrow();
    const r2 = await cli(['compile', '--out', dir]);
    expect(r2.stderr).toMatch(/exactly one of --model NAME and --checkpoint FILE/);
    const r3 = await cli(['infer', '--program', dir, '--engine', 'golden', '--tokens', '2']);
    expect(r3.exitCode).toBe(2);
    expect(r3.stderr).toMatch(/cannot read/);
  }, 60_000);
});
