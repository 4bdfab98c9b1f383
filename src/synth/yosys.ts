/** Runs Yosys (the WebAssembly build from @yowasp/yosys) on in-memory Verilog files. */
import { runYosys } from '@yowasp/yosys';

export interface YosysResult {
  /** Everything Yosys printed. */
  log: string;
  /** Files Yosys wrote (e.g. `stat -json` output), by name. */
  files: Record<string, string>;
}

export class YosysError extends Error {
  override name = 'YosysError';
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
  }
}

/** Runs a Yosys script over `files`; throws YosysError (with the log) when Yosys fails. */
export async function yosys(script: string, files: ReadonlyMap<string, string>): Promise<YosysResult> {
  const input: Record<string, string> = {};
  for (const [n, t] of files) input[n] = t;
  const chunks: string[] = [];
  const sink = (b: Uint8Array | null) => {
    if (b) chunks.push(Buffer.from(b).toString('utf8'));
  };
  let out: Record<string, unknown> | undefined;
  try {
    out = (await runYosys(['-p', script], input, { stdout: sink, stderr: sink })) as Record<string, unknown> | undefined;
  } catch (e) {
    const log = chunks.join('');
    const err = log.split('\n').find((l) => /ERROR|Assert|Found and reported/.test(l)) ?? (e as Error).message;
    throw new YosysError(`yosys failed: ${err.trim()}`, log);
  }
  const files2: Record<string, string> = {};
  for (const [k, v] of Object.entries(out ?? {})) {
    if (typeof v === 'string') files2[k] = v;
    else if (v instanceof Uint8Array) files2[k] = Buffer.from(v).toString('utf8');
  }
  return { log: chunks.join(''), files: files2 };
}

/** `hierarchy -check; proc; check -assert`: the structural lint every generated design must pass. */
export async function yosysCheck(files: ReadonlyMap<string, string>, top: string): Promise<string> {
  const reads = [...files.keys()].filter((n) => n.endsWith('.v')).map((n) => `read_verilog ${n}`).join('; ');
  const { log } = await yosys(`${reads}; hierarchy -check -top ${top}; proc; check -assert`, files);
  return log;
}
