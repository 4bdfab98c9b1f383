/**
 * Assembler and disassembler. One instruction per line: `MNEMONIC field=value ...`; `#` or `;`
 * starts a comment; `name:` defines a label (used by LOOP body=). Fields with a default may be
 * omitted; the disassembler omits exactly those, so assemble(disassemble(p)) gives p back.
 */
import { DEFAULT_CONFIG } from '../arch/config.ts';
import { modeTable, parsePattern, patternName, type Pattern } from '../sparsity/pattern.ts';
import { HEADER, OPS, QUEUES, type FieldSpec, type OpSpec } from './table.ts';
import { encode, encodeProgram } from './encode.ts';
import { decodeProgram } from './decode.ts';
import { isLenRef, type FieldValue, type Instr } from './instr.ts';

export interface AsmOptions {
  /** The design's sparsity mode table (index 0 dense): `pattern=2:4` means its index here. */
  readonly modes?: readonly Pattern[];
}

export const DEFAULT_MODES: readonly Pattern[] = modeTable(DEFAULT_CONFIG.sparsity);

/** An assembly error; `line` is 1-based. */
export class AsmError extends Error {
  override name = 'AsmError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

const NUM = /^[+-]?(0x[0-9a-f_]+|0b[01_]+|[0-9][0-9_]*)$/i;
const LABEL = /^[A-Za-z_.][\w.]*$/;

function parseNum(text: string): number | undefined {
  if (!NUM.test(text)) return undefined;
  const neg = text.startsWith('-');
  const body = text.replace(/^[+-]/, '').replace(/_/g, '').toLowerCase();
  const v = body.startsWith('0x') ? parseInt(body.slice(2), 16) : body.startsWith('0b') ? parseInt(body.slice(2), 2) : parseInt(body, 10);
  if (Number.isNaN(v)) return undefined;
  return neg ? -v : v;
}

interface Line {
  readonly line: number;
  readonly op: OpSpec;
  readonly args: readonly string[];
}

/** Splits the text into instruction lines and labels (label -> index of the next instruction). */
function scan(text: string): { lines: Line[]; labels: Map<string, number> } {
  const lines: Line[] = [];
  const labels = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const n = i + 1;
    let rest = raw.replace(/[#;].*$/, '').trim();
    for (let m = /^([^\s=:]+):/.exec(rest); m; m = /^([^\s=:]+):/.exec(rest)) {
      if (!LABEL.test(m[1])) throw new AsmError(n, `bad label name '${m[1]}'`);
      if (labels.has(m[1])) throw new AsmError(n, `label '${m[1]}' defined twice`);
      labels.set(m[1], lines.length);
      rest = rest.slice(m[0].length).trim();
    }
    if (!rest) return;
    const [mnemonic, ...args] = rest.split(/\s+/);
    const op = OPS.get(mnemonic.toUpperCase());
    if (!op) throw new AsmError(n, `unknown instruction '${mnemonic}' (expected ${[...OPS.keys()].join(', ')})`);
    lines.push({ line: n, op, args });
  });
  return { lines, labels };
}

function parseValue(op: OpSpec, f: FieldSpec, text: string, ctx: { modes: readonly Pattern[]; labels: Map<string, number>; index: number }): FieldValue {
  const where = `${op.name}.${f.name}`;
  switch (f.kind) {
    case 'flag': {
      const t = text.toLowerCase();
      if (t === '1' || t === 'true') return true;
      if (t === '0' || t === 'false') return false;
      throw new Error(`${where}: expected 0 or 1, got '${text}'`);
    }
    case 'enum': {
      const v = f.values!.find((x) => x.toLowerCase() === text.toLowerCase());
      if (v === undefined) throw new Error(`${where}: '${text}' is not one of ${f.values!.join(', ')}`);
      return v;
    }
    case 'queues': {
      if (text === '' || text === '-') return [];
      return text.split(',').map((q) => {
        const v = QUEUES.find((x) => x === q.toUpperCase());
        if (!v) throw new Error(`${where}: unknown queue '${q}' (expected ${QUEUES.join(', ')})`);
        return v;
      });
    }
    default: {
      const n = parseNum(text);
      if (n !== undefined) return n;
      const dyn = /^L(\d+)(?:([+-])(.+))?$/i.exec(text);
      if (dyn) {
        if (!f.dyn) throw new Error(`${where} cannot take a length register`);
        const off = dyn[3] === undefined ? 0 : parseNum(dyn[3]);
        if (off === undefined || dyn[3]?.match(/^[+-]/)) throw new Error(`${where}: bad offset in '${text}'`);
        return { reg: Number(dyn[1]), offset: dyn[2] === '-' ? -off : off };
      }
      if (f.fmt === 'pattern') {
        let p: Pattern;
        try {
          p = parsePattern(text);
        } catch (e) {
          throw new Error(`${where}: ${(e as Error).message}`);
        }
        const i = ctx.modes.findIndex((m) => patternName(m) === patternName(p));
        if (i < 0) throw new Error(`${where}: pattern ${patternName(p)} is not in the design's mode table (${ctx.modes.map(patternName).join(', ')})`);
        return i;
      }
      if (f.fmt === 'label' && LABEL.test(text)) {
        const target = ctx.labels.get(text);
        if (target === undefined) throw new Error(`${where}: undefined label '${text}'`);
        if (target <= ctx.index) throw new Error(`${where}: label '${text}' must come after the ${op.name}`);
        return target - ctx.index - 1;
      }
      throw new Error(`${where}: expected a number${f.dyn ? ' or L<r>+offset' : ''}, got '${text}'`);
    }
  }
}

/** Parses assembly text into instructions (range-checked by the encoder, with line numbers). */
export function parseAsm(text: string, opts: AsmOptions = {}): Instr[] {
  const modes = opts.modes ?? DEFAULT_MODES;
  const { lines, labels } = scan(text);
  return lines.map(({ line, op, args }, index) => {
    try {
      const fields = new Map<string, FieldSpec>([...HEADER.slice(1), ...op.fields].map((x) => [x.name, x]));
      const out: Record<string, FieldValue> = { op: op.name };
      for (const arg of args) {
        const eq = arg.indexOf('=');
        const key = (eq < 0 ? arg : arg.slice(0, eq)).toLowerCase();
        const f = fields.get(key);
        if (!f) throw new Error(`${op.name} has no field '${key}'`);
        if (key in out) throw new Error(`${op.name}.${key} given twice`);
        if (eq < 0 && f.kind !== 'flag') throw new Error(`${op.name}.${key} needs a value (${key}=...)`);
        out[key] = eq < 0 ? true : parseValue(op, f, arg.slice(eq + 1), { modes, labels, index });
      }
      for (const f of fields.values()) {
        if (f.name in out) continue;
        if (f.default === undefined) throw new Error(`${op.name}: missing field '${f.name}'`);
        out[f.name] = Array.isArray(f.default) ? [...f.default] : (f.default as FieldValue);
      }
      encode(out as unknown as Instr); // range checks, reported with this line number
      return out as unknown as Instr;
    } catch (e) {
      // Encoder range errors and parse errors alike become one line naming the source line.
      if (e instanceof Error) throw new AsmError(line, e.message);
      throw e;
    }
  });
}

/** Assembles text into the binary instruction stream. */
export function assemble(text: string, opts: AsmOptions = {}): Uint8Array {
  return encodeProgram(parseAsm(text, opts));
}

const hex = (n: number) => `0x${n.toString(16)}`;

function formatValue(f: FieldSpec, v: FieldValue, modes: readonly Pattern[]): string {
  if (isLenRef(v)) {
    const mag = Math.abs(v.offset);
    return v.offset === 0 ? `L${v.reg}` : `L${v.reg}${v.offset < 0 ? '-' : '+'}${f.fmt === 'hex' ? hex(mag) : mag}`;
  }
  if (Array.isArray(v)) return v.length ? v.join(',') : '-';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') {
    if (f.fmt === 'hex') return hex(v);
    if (f.fmt === 'pattern' && v < modes.length) return patternName(modes[v]);
  }
  return String(v);
}

function isDefault(f: FieldSpec, v: FieldValue): boolean {
  if (f.default === undefined) return false;
  if (Array.isArray(f.default)) return Array.isArray(v) && v.length === 0 && f.default.length === 0;
  return v === f.default;
}

/** One instruction as assembly text (defaults omitted, set flags as bare names). */
export function formatInstr(instr: Instr, opts: AsmOptions = {}): string {
  const modes = opts.modes ?? DEFAULT_MODES;
  const op = OPS.get(instr.op)!;
  const rec = instr as unknown as Record<string, FieldValue>;
  const parts: string[] = [op.name];
  for (const f of [...op.fields, ...HEADER.slice(1)]) {
    const v = rec[f.name];
    if (isDefault(f, v)) continue;
    parts.push(f.kind === 'flag' && v === true ? f.name : `${f.name}=${formatValue(f, v, modes)}`);
  }
  return parts.join(' ');
}

export interface DisasmOptions extends AsmOptions {
  /** Append `; @0x...` byte offsets (comments, so the text still assembles). */
  readonly offsets?: boolean;
}

/** Disassembles a binary (or decoded instructions) into assembly text, one line each. */
export function disassemble(program: Uint8Array | readonly Instr[], opts: DisasmOptions = {}): string {
  const instrs = program instanceof Uint8Array ? decodeProgram(program) : program;
  let at = 0;
  return instrs
    .map((i) => {
      const text = formatInstr(i, opts);
      const line = opts.offsets ? `${text.padEnd(60)} ; @${hex(at)}` : text;
      at += OPS.get(i.op)!.words * 4;
      return `${line}\n`;
    })
    .join('');
}
