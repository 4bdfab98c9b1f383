/**
 * Delta debugging of failing programs, and reproducer folders.
 *
 * The program is handled as a tree (LOOP nodes own their bodies). Candidates drop chunks of
 * nodes from one list (ddmin, list by list), inline LOOPs, shrink LOOP counts and the loop
 * nests of transfers; each candidate is normalized (SYS sync before every LOOP and at body ends,
 * fresh tokens from the footprints; src/fuzz/analysis.ts), must be a valid program (dispatch
 * walk, no races, no reads of unwritten elements, and by default a clean golden run) and must
 * still fail the predicate. SYS end stays.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GenConfig } from '../arch/config.ts';
import type { MemoryImage } from '../compiler/memory.ts';
import { disassemble } from '../isa/asm.ts';
import { encodeProgram } from '../isa/encode.ts';
import type { Instr, InstrOf } from '../isa/instr.ts';
import { analyze, flatten, machineOf, normalize, parseTree, type Limits, type Node } from './analysis.ts';
import { programProblem, type RunResult } from './runner.ts';

export interface MinimizeOptions {
  readonly hw: GenConfig;
  /** Initial memory image the candidates run on. */
  readonly memory: MemoryImage;
  /** True while the candidate still shows the failure (called with valid, normalized candidates). */
  readonly predicate: (instrs: Instr[]) => Promise<boolean>;
  /**
   * Validity of a candidate; default: programProblem(hw, instrs, memory, limits) is undefined
   * (walk, races, uninitialized reads, golden run). `limits` bound candidates to about the
   * work of the original program (a dropped setlen can turn a LOOP count into 65535).
   */
  readonly valid?: (instrs: Instr[], limits: Limits) => boolean;
  /** Predicate calls at most (default 2000). */
  readonly maxTests?: number;
  readonly progress?: (msg: string) => void;
}

export interface MinimizeResult {
  readonly instrs: Instr[];
  /** Predicate calls and candidates considered. */
  readonly tests: number;
  readonly candidates: number;
  readonly reductions: number;
}

type Path = number[];

function listAt(tree: Node[], path: Path): Node[] | undefined {
  let l: Node[] | undefined = tree;
  for (const i of path) l = l?.[i]?.body;
  return l;
}

/** A deep copy of the tree with the list at `path` replaced. */
function withList(tree: Node[], path: Path, list: Node[]): Node[] {
  if (!path.length) return list;
  const [i, ...rest] = path;
  return tree.map((n, k) => (k === i ? { ins: n.ins, body: withList(n.body!, rest, list) } : n));
}

function listPaths(tree: Node[]): Path[] {
  const out: Path[] = [[]];
  const go = (l: Node[], p: Path) =>
    l.forEach((n, i) => {
      if (n.body) {
        out.push([...p, i]);
        go(n.body, [...p, i]);
      }
    });
  go(tree, []);
  return out;
}

const isEnd = (n: Node) => n.ins.op === 'SYS' && n.ins.fn === 'end';

/** Shrinks `instrs` while `predicate` holds; see the file comment. */
export async function minimize(instrs: readonly Instr[], opts: MinimizeOptions): Promise<MinimizeResult> {
  const { hw } = opts;
  const valid = opts.valid ?? ((c: Instr[], l: Limits) => programProblem(hw, c, opts.memory, l) === undefined);
  const maxTests = opts.maxTests ?? 2000;
  const base = analyze(hw, instrs, { tokens: false, races: false, uninit: false, collect: false });
  const limits: Limits = { maxSteps: 2 * base.walk.steps.length + 100, maxWork: 2 * base.work + 10_000 };
  let cur = [...instrs];
  let tree = parseTree(cur);
  let tests = 0;
  let candidates = 0;
  let reductions = 0;
  const seen = new Set<string>();

  const attempt = async (cand: Node[], allowSame = false): Promise<boolean> => {
    if (tests >= maxTests) return false;
    candidates++;
    let flat: Instr[];
    try {
      flat = normalize(hw, flatten(cand), limits);
    } catch {
      return false;
    }
    if (flat.length > cur.length || (!allowSame && flat.length === cur.length)) return false;
    const key = JSON.stringify(flat);
    if (seen.has(key)) return false;
    seen.add(key);
    if (!valid(flat, limits)) return false;
    tests++;
    if (!(await opts.predicate(flat))) return false;
    cur = flat;
    tree = parseTree(flat);
    reductions++;
    return true;
  };

  /** ddmin over the nodes of the list at `path` (SYS end at top level stays). */
  const reduceList = async (path: Path) => {
    let n = 2;
    for (;;) {
      const list = listAt(tree, path);
      if (!list) return;
      const removable = list.map((x, i) => i).filter((i) => !(path.length === 0 && isEnd(list[i]!)));
      if (!removable.length) return;
      n = Math.min(n, removable.length);
      const size = Math.ceil(removable.length / n);
      let removed = false;
      for (let c = 0; c < removable.length && !removed; c += size) {
        const drop = new Set(removable.slice(c, c + size));
        const next = list.filter((_, i) => !drop.has(i));
        if (path.length && next.length === 0) continue;
        removed = await attempt(withList(tree, path, next));
      }
      if (tests >= maxTests) return;
      if (removed) n = Math.max(2, n - 1);
      else if (size === 1) return;
      else n = Math.min(removable.length, n * 2);
    }
  };

  /** LOOP rewrites: inline the body, then smaller counts. */
  const reduceLoops = async () => {
    for (let changed = true; changed && tests < maxTests; ) {
      changed = false;
      for (const path of listPaths(tree).slice(1)) {
        const parent = listAt(tree, path.slice(0, -1));
        const idx = path[path.length - 1]!;
        const node = parent?.[idx];
        if (!node?.body) continue;
        const inlined = [...parent!.slice(0, idx), ...node.body, ...parent!.slice(idx + 1)];
        if (await attempt(withList(tree, path.slice(0, -1), inlined))) {
          changed = true;
          break;
        }
        const count = (node.ins as InstrOf<'LOOP'>).count;
        for (const c of [1, typeof count === 'number' ? Math.floor(count / 2) : 2]) {
          if (typeof count === 'number' && c >= count) continue;
          if (c < 1) continue;
          const n2: Node = { ins: { ...(node.ins as InstrOf<'LOOP'>), count: c }, body: node.body };
          if (await attempt(withList(tree, path.slice(0, -1), parent!.map((x, k) => (k === idx ? n2 : x))), true)) {
            changed = true;
            break;
          }
        }
        if (changed) break;
      }
    }
  };

  /** Smaller transfer nests and SFU/MX sizes (one field at a time, to 1). */
  const reduceFields = async () => {
    const fields: Record<string, string[]> = { LD: ['count2', 'count1', 'count0'], ST: ['count2', 'count1', 'count0'], SFU: ['rows'], MM: ['m'] };
    for (let i = 0; i < cur.length && tests < maxTests; i++) {
      for (const f of fields[cur[i]!.op] ?? []) {
        const v = (cur[i] as unknown as Record<string, unknown>)[f];
        if (typeof v !== 'number' || v <= 1) continue;
        const next = cur.map((x, k) => (k === i ? ({ ...x, [f]: 1 } as Instr) : x));
        await attempt(parseTree(next), true);
      }
    }
  };

  for (let round = 0; tests < maxTests; round++) {
    const before = reductions;
    for (const path of listPaths(tree)) await reduceList(path);
    await reduceLoops();
    await reduceFields();
    opts.progress?.(`minimize round ${round}: ${cur.length} instructions after ${tests} tests (${candidates} candidates)`);
    if (reductions === before) break;
  }
  return { instrs: cur, tests, candidates, reductions };
}

export interface Reproducer {
  readonly hw: GenConfig;
  readonly instrs: readonly Instr[];
  /** The initial memory image. */
  readonly memory: MemoryImage;
  readonly seed?: number;
  /** The mismatch (one line) and more text for the README. */
  readonly mismatch?: string;
  readonly notes?: string;
  readonly originalLength?: number;
  /** The reference run's result (its memory goes to expected.bin). */
  readonly expected?: RunResult;
  /** The binary when it differs from encodeProgram(instrs) (decode failures). */
  readonly words?: Uint8Array;
}

/** Writes program.s, program.bin, memory.bin, hw.json, README.md (and expected.bin) into `dir`. */
export function writeReproducer(dir: string, r: Reproducer): string {
  mkdirSync(dir, { recursive: true });
  const modes = machineOf(r.hw).modes;
  const words = r.words ?? encodeProgram(r.instrs);
  const header = [`# flightgen fuzz reproducer${r.seed !== undefined ? `, seed ${r.seed}` : ''}`, `# ${r.instrs.length} instructions${r.originalLength ? ` (minimized from ${r.originalLength})` : ''}`];
  if (r.mismatch) header.push(`# ${r.mismatch.replace(/\n/g, '\n# ')}`);
  writeFileSync(join(dir, 'program.s'), `${header.join('\n')}\n${disassemble([...r.instrs], { modes, offsets: true })}`);
  writeFileSync(join(dir, 'program.bin'), words);
  writeFileSync(join(dir, 'memory.bin'), r.memory.serialize());
  writeFileSync(join(dir, 'hw.json'), `${JSON.stringify(r.hw, null, 2)}\n`);
  if (r.expected) writeFileSync(join(dir, 'expected.bin'), r.expected.memory.serialize());
  const readme = [
    `# Fuzz reproducer${r.seed !== undefined ? ` (seed ${r.seed})` : ''}`,
    '',
    r.mismatch ? `Mismatch: ${r.mismatch}` : '',
    '',
    `Program: ${r.instrs.length} instructions${r.originalLength ? `, minimized from ${r.originalLength}` : ''}; hardware: ${r.hw.chains} chains x ${r.hw.chainLength}, modes ${modes.map((m) => (m === 'dense' ? 'dense' : `${m.n}:${m.m}`)).join(', ')}.`,
    '',
    'Files:',
    '- `program.s`: assembly (`flightgen isa asm` / parseAsm with the modes of hw.json), byte offsets in comments',
    '- `program.bin`: the instruction stream (little-endian words, start at word 0)',
    '- `memory.bin`: the initial external memory (MemoryImage.parse: "FGMEM001", HBM bytes, DDR bytes)',
    '- `hw.json`: the GenConfig',
    r.expected ? `- \`expected.bin\`: the reference run's final memory (status ${r.expected.status}${r.expected.errClass ? `, ${r.expected.errClass}` : ''})` : '',
    '',
    'Reproduce with the golden model:',
    '',
    '```ts',
    "import { readFileSync } from 'node:fs';",
    "import { MemoryImage } from './src/compiler/memory.ts';",
    "import { GoldenMachine } from './src/golden/machine.ts';",
    "import { decodeProgram } from './src/isa/decode.ts';",
    "const hw = JSON.parse(readFileSync('hw.json', 'utf8'));",
    "const mem = MemoryImage.parse(readFileSync('memory.bin'));",
    "new GoldenMachine(hw, mem).run(decodeProgram(readFileSync('program.bin')));",
    '```',
    r.notes ? `\n${r.notes}` : '',
    '',
  ];
  writeFileSync(join(dir, 'README.md'), readme.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n'));
  return dir;
}
