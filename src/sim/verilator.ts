/**
 * Builds a Verilator model of a generated module with a generic vector harness and runs it
 * cycle by cycle from TypeScript. Builds are cached by a hash of the Verilog, the harness and
 * the flags, so a second run of the same design does not rebuild.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedVerilatorBuild } from './build-cache.ts';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { ModuleDef } from '../hdl/index.ts';
import { render } from '../templates.ts';
import { VERSION } from '../version.ts';

export interface SimPort {
  readonly name: string;
  readonly width: number;
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_CACHE = process.env.FLIGHTGEN_CACHE ?? join(REPO, '.cache', 'verilator');
const FLAGS = ['--cc', '--exe', '--build', '-j', '2', '-O3', '--x-assign', 'fast', '--x-initial', 'fast', '-Wno-fatal', '-Wno-lint', '-Wno-style'];

const words = (w: number) => Math.ceil(w / 32);
const mask = (w: number) => (w >= 64 ? '0xffffffffffffffffULL' : `0x${((1n << BigInt(w)) - 1n).toString(16)}ULL`);

function setter(p: SimPort, k: number): string[] {
  if (p.width <= 32) return [`top->${p.name} = iw[${k}] & ${mask(p.width)};`];
  if (p.width <= 64) return [`top->${p.name} = ((static_cast<uint64_t>(iw[${k + 1}]) << 32) | iw[${k}]) & ${mask(p.width)};`];
  const n = words(p.width);
  const lines = Array.from({ length: n }, (_, j) => `top->${p.name}[${j}] = iw[${k + j}];`);
  if (p.width % 32) lines[n - 1] = `top->${p.name}[${n - 1}] = iw[${k + n - 1}] & ${mask(p.width % 32)};`;
  return lines;
}

function getter(p: SimPort, k: number): string[] {
  if (p.width <= 32) return [`ow[${k}] = static_cast<uint32_t>(top->${p.name} & ${mask(p.width)});`];
  if (p.width <= 64) {
    return [`ow[${k}] = static_cast<uint32_t>(top->${p.name} & ${mask(p.width)});`, `ow[${k + 1}] = static_cast<uint32_t>((top->${p.name} & ${mask(p.width)}) >> 32);`];
  }
  const n = words(p.width);
  const lines = Array.from({ length: n }, (_, j) => `ow[${k + j}] = top->${p.name}[${j}];`);
  if (p.width % 32) lines[n - 1] = `ow[${k + n - 1}] = top->${p.name}[${n - 1}] & ${mask(p.width % 32)};`;
  return lines;
}

export type PortValue = bigint | number | boolean;

export class VerilatorSim {
  private constructor(
    readonly top: string,
    readonly inputs: readonly SimPort[],
    readonly outputs: readonly SimPort[],
    readonly binary: string,
    /** Wall time of the Verilator build in ms (0 when it came from the cache). */
    readonly buildMs: number,
  ) {}

  /** Builds (or reuses) a simulator for `def`, whose Verilog (with submodules) is `files`. */
  static async build(def: ModuleDef, files: ReadonlyMap<string, string>, opts: { cacheDir?: string } = {}): Promise<VerilatorSim> {
    const inputs = def.ports.filter((p) => p.dir === 'input' && p.name !== 'clk').map((p) => ({ name: p.name, width: p.type.width }));
    const outputs = def.ports.filter((p) => p.dir === 'output').map((p) => ({ name: p.name, width: p.type.width }));
    if (inputs.length === 0 || outputs.length === 0) throw new Error(`module '${def.name}' needs at least one input besides clk and one output to simulate`);
    const hasClock = def.ports.some((p) => p.name === 'clk' && p.implicit);
    const setters: string[] = [];
    const getters: string[] = [];
    let k = 0;
    for (const p of inputs) (setters.push(...setter(p, k)), (k += words(p.width)));
    const inWords = k;
    k = 0;
    for (const p of outputs) (getters.push(...getter(p, k)), (k += words(p.width)));
    const harness = render('vector-harness.cpp', { version: VERSION, top: def.name, inWords, outWords: k, hasClock, setters, getters });

    const b = await cachedVerilatorBuild({ files, top: def.name, harness, flags: FLAGS, cacheDir: opts.cacheDir ?? DEFAULT_CACHE });
    return new VerilatorSim(def.name, inputs, outputs, b.binary, b.buildMs);
  }

  /**
   * Runs one cycle per entry of `cycles` (missing inputs are 0); returns the outputs sampled
   * in each cycle before its clock edge, as raw unsigned bit patterns.
   */
  async run(cycles: readonly Readonly<Record<string, PortValue>>[]): Promise<Record<string, bigint>[]> {
    const inWords = this.inputs.reduce((s, p) => s + words(p.width), 0);
    const outWords = this.outputs.reduce((s, p) => s + words(p.width), 0);
    const buf = new Uint32Array(cycles.length * inWords);
    cycles.forEach((c, t) => {
      let k = t * inWords;
      for (const p of this.inputs) {
        let v = BigInt(c[p.name] ?? 0);
        if (v < 0n) v += 1n << BigInt(p.width);
        for (let j = 0; j < words(p.width); j++, v >>= 32n) buf[k++] = Number(v & 0xffffffffn);
      }
    });
    const dir = await mkdtemp(join(tmpdir(), 'flightgen-sim-'));
    try {
      await writeFile(join(dir, 'in.bin'), buf);
      await execa(this.binary, [join(dir, 'in.bin'), join(dir, 'out.bin')]);
      const raw = await readFile(join(dir, 'out.bin'));
      const ow = new Uint32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      if (ow.length !== cycles.length * outWords) throw new Error(`simulator wrote ${ow.length} words, expected ${cycles.length * outWords}`);
      const result: Record<string, bigint>[] = [];
      for (let t = 0; t < cycles.length; t++) {
        let k = t * outWords;
        const row: Record<string, bigint> = {};
        for (const p of this.outputs) {
          let v = 0n;
          const n = words(p.width);
          for (let j = n - 1; j >= 0; j--) v = (v << 32n) | BigInt(ow[k + j]!);
          k += n;
          row[p.name] = v;
        }
        result.push(row);
      }
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
