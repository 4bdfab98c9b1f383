/**
 * N:M sparsity patterns and how a sparse DSP chain maps them (one definition for the hardware
 * generator, the compiler and the golden model).
 *
 * A chain of L MAC slices consumes an L-element activation window per cycle. In N:M mode each
 * weight row keeps N non-zeros in every M consecutive inputs, so one row needs S = L*N/M slices
 * per window: the chain splits into M/N segments of S slices, each computing a different row,
 * i.e. M/N dot products per cycle where the dense chain computes one. Slice q of a segment
 * holds the q-th kept weight and its index (0..M-1) inside M-group floor(q/N) of the window;
 * its sparse mux picks activation window[floor(q/N)*M + index].
 */
export interface NmPattern {
  readonly n: number;
  readonly m: number;
}

/** `dense` or an N:M pattern. */
export type Pattern = 'dense' | NmPattern;

export function patternName(p: Pattern): string {
  return p === 'dense' ? 'dense' : `${p.n}:${p.m}`;
}

/** Parses `dense` or `N:M` (M a power of two, 0 < N < M). */
export function parsePattern(text: string): Pattern {
  const t = text.trim().toLowerCase();
  if (t === 'dense') return 'dense';
  const m = /^(\d+):(\d+)$/.exec(t);
  if (!m) throw new RangeError(`sparsity pattern '${text}' is not 'dense' or N:M (e.g. 2:4)`);
  const n = Number(m[1]);
  const mm = Number(m[2]);
  if (!(mm >= 2 && (mm & (mm - 1)) === 0)) throw new RangeError(`sparsity pattern '${text}': M must be a power of two >= 2`);
  if (!(n >= 1 && n < mm)) throw new RangeError(`sparsity pattern '${text}': N must be in 1..M-1`);
  return { n, m: mm };
}

/** The run-time mode table of a chain: dense first, then the given N:M patterns, without duplicates. */
export function modeTable(patterns: readonly Pattern[]): Pattern[] {
  const out: Pattern[] = ['dense'];
  for (const p of patterns) if (!out.some((q) => patternName(q) === patternName(p))) out.push(p);
  return out;
}

export interface ChainGeometry {
  /** Slices per segment (one row per segment). */
  readonly segmentLength: number;
  /** Segments (rows computed per cycle). */
  readonly segments: number;
  /** Activation window elements per M-group (L for dense). */
  readonly groupSpan: number;
  /** Kept weights per M-group per row (L for dense). */
  readonly keptPerGroup: number;
}

/** How a chain of `length` slices in DSP groups of `groupSize` runs `p`; throws if it cannot. */
export function chainGeometry(p: Pattern, length: number, groupSize: number): ChainGeometry {
  if (p === 'dense') return { segmentLength: length, segments: 1, groupSpan: length, keptPerGroup: length };
  const name = patternName(p);
  if (length % p.m !== 0) throw new RangeError(`pattern ${name} needs the chain length (${length}) to be a multiple of M = ${p.m}`);
  const s = (length * p.n) / p.m;
  if (s % groupSize !== 0) {
    throw new RangeError(`pattern ${name} on a ${length}-slice chain gives ${s}-slice segments, not a multiple of the DSP group size ${groupSize}`);
  }
  return { segmentLength: s, segments: p.m / p.n, groupSpan: p.m, keptPerGroup: p.n };
}

/** Window position that slice `j` reads in mode `p` when its weight index is `index`. */
export function activationPosition(p: Pattern, g: ChainGeometry, j: number, index: number): number {
  if (p === 'dense') return j;
  const q = j % g.segmentLength;
  return Math.floor(q / g.keptPerGroup) * g.groupSpan + index;
}

/** Bits of the per-weight index field for a mode table (0 when only dense). */
export function indexWidth(modes: readonly Pattern[]): number {
  const mMax = Math.max(1, ...modes.map((p) => (p === 'dense' ? 1 : p.m)));
  return Math.max(1, Math.ceil(Math.log2(mMax)));
}

/** Dense-equivalent MACs per physical MAC per cycle in this mode (M/N for N:M). */
export function effectiveSpeedup(p: Pattern): number {
  return p === 'dense' ? 1 : p.m / p.n;
}
