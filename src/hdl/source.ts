import { relative, basename, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where in the user's TypeScript a hardware object was created. */
export interface SourceLoc {
  readonly file: string; // path relative to the working directory
  readonly line: number;
  readonly column: number;
}

const HDL_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * Captures the first stack frame outside the DSL itself: the user's line that declared a
 * signal, made an assignment or bound a port. Stack traces are source-mapped under tsx/vitest,
 * so lines are TypeScript lines.
 */
export function captureLoc(): SourceLoc | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 16;
  Error.captureStackTrace(holder, captureLoc);
  Error.stackTraceLimit = limit;
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith(HDL_DIR) || file.startsWith('node:') || file.includes(`${sep}node_modules${sep}`)) continue;
    return { file: relative(process.cwd(), file) || file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

export function formatLoc(loc: SourceLoc | undefined): string {
  return loc ? `${loc.file}:${loc.line}` : '<unknown>';
}

/** The short form used in emitted Verilog comments, like Chisel's `@[File.scala 12:3]`. */
export function shortLoc(loc: SourceLoc | undefined): string {
  return loc ? `${basename(loc.file)}:${loc.line}` : '';
}
