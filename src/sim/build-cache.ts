/**
 * A Verilator `--cc --exe --build` of generated Verilog plus one C++ harness, cached in
 * `<cacheDir>/<prefix><hash>/` by a hash of the sources, the harness, the flags and the top
 * name (the same scheme as src/sim/verilator.ts), so a second build of the same design is a
 * cache hit. Concurrent builders race safely: the first finished directory wins.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export interface CachedBuildRequest {
  /** Verilog sources by file name (only `.v`/`.sv` files are compiled; every file is hashed). */
  readonly files: ReadonlyMap<string, string>;
  readonly top: string;
  /** The harness C++ source (written as harness.cpp). */
  readonly harness: string;
  /** Verilator flags besides --top-module, -Mdir, -o and the file names. */
  readonly flags: readonly string[];
  readonly cacheDir: string;
  /** Prefix of the cache folder name (keeps different harness kinds apart). */
  readonly prefix?: string;
  readonly binaryName?: string;
}

export interface CachedBuild {
  readonly dir: string;
  readonly binary: string;
  /** Wall time of the Verilator build in ms (0 on a cache hit). */
  readonly buildMs: number;
  readonly cached: boolean;
}

export async function cachedVerilatorBuild(req: CachedBuildRequest): Promise<CachedBuild> {
  const names = [...req.files.keys()].sort();
  const bin = req.binaryName ?? 'Vsim';
  const hash = createHash('sha256');
  for (const n of names) hash.update(`${n}\0${req.files.get(n)}\0`);
  hash.update(req.harness).update('\0').update(req.flags.join(' ')).update('\0').update(req.top).update('\0').update(bin);
  const key = `${req.prefix ?? ''}${hash.digest('hex').slice(0, 24)}`;
  const cache = resolve(req.cacheDir);
  const dir = join(cache, key);
  const binary = join(dir, 'obj', bin);
  if (await stat(binary).catch(() => undefined)) return { dir, binary, buildMs: 0, cached: true };

  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, `${key}.tmp-`));
  const t0 = performance.now();
  try {
    for (const n of names) await writeFile(join(tmp, n), req.files.get(n)!);
    await writeFile(join(tmp, 'harness.cpp'), req.harness);
    const sources = names.filter((n) => /\.s?v$/.test(n));
    await execa('verilator', [...req.flags, '--top-module', req.top, '-Mdir', 'obj', '-o', bin, ...sources, 'harness.cpp'], { cwd: tmp, all: true });
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another process built the same design first: use theirs.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const out = (e as { all?: string }).all ?? (e as Error).message;
    throw new Error(`Verilator build of '${req.top}' failed:\n${out.split('\n').slice(-30).join('\n')}`);
  }
  return { dir, binary, buildMs: performance.now() - t0, cached: false };
}
