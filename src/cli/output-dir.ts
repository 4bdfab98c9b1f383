import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { UsageError } from './errors.ts';

/** mkdir -p one level at a time (Node's recursive mkdir never returns for some paths, e.g. under /proc). */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let cur = dir;
  while (!(await stat(cur).catch(() => undefined))) {
    missing.push(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  const top = await stat(cur).catch(() => undefined);
  if (top && !top.isDirectory()) throw Object.assign(new Error(`'${cur}' is not a folder`), { code: 'ENOTDIR' });
  for (const d of missing.reverse()) await mkdir(d);
}

/**
 * Writes a set of files as one folder, atomically from the user's point of view: everything goes
 * to a temporary sibling folder first, which replaces `outDir` only when complete. A failure
 * leaves no partial output behind.
 */
export async function writeOutputDir(outDir: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<void> {
  const target = resolve(outDir);
  const parent = dirname(target);
  try {
    await makeDirs(parent);
  } catch (e) {
    throw new UsageError(`cannot create output folder '${outDir}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new UsageError(`output path '${outDir}' exists and is not a folder`);
  let tmp: string;
  try {
    tmp = await mkdtemp(join(parent, `.${basename(target)}.tmp-`));
  } catch (e) {
    throw new UsageError(`cannot write to output folder '${outDir}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    for (const [name, content] of files) {
      const path = join(tmp, name);
      await makeDirs(dirname(path));
      await writeFile(path, content);
    }
    if (existing) {
      // The folder's README (generated/README.md is tracked by git) survives regeneration.
      if (!files.has('README.md')) await copyFile(join(target, 'README.md'), join(tmp, 'README.md')).catch(() => undefined);
      await rm(target, { recursive: true, force: true });
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw new UsageError(`cannot write output folder '${outDir}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
