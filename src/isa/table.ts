/**
 * The accelerator's ISA, defined once. The encoder, decoder, assembler, disassembler, the
 * generated docs/isa.md and (later) the controller's Verilog decoder all read this table, so a
 * field is changed here and nowhere else.
 *
 * Bit numbering: an instruction of W words is one little-endian bit vector of 32*W bits; field
 * bit i of a field at (word, lsb) is instruction bit 32*word + lsb + i, so a field may run on
 * into the next word (the 36-bit external addresses do). Bits no field covers are reserved:
 * the encoder writes 0 and the decoder rejects anything else.
 */

/** Instruction queues, in mask bit order (bit q of a wait/release mask names queue q). */
export const QUEUES = ['LD', 'ST', 'MX', 'SFU', 'SYS'] as const;
export type QueueName = (typeof QUEUES)[number];

/** On-chip buffers (LD/ST targets and SFU operands). */
export const BUFFERS = ['weight', 'meta', 'scale', 'bias', 'act', 'kv', 'acc', 'global'] as const;
/** Element formats: code = log2(bits) - 2, so the hardware gets the element width as 4 << code. */
export const DTYPES = ['int4', 'int8', 'int16', 'int32'] as const;
export const SFU_TYPES = ['int8', 'int16', 'int32', 'fp16'] as const;
export const SFU_OPS = ['copy', 'add', 'mul', 'softmax', 'rmsnorm', 'layernorm', 'silu', 'gelu', 'rope', 'requant'] as const;
export const SYS_OPS = ['sync', 'end', 'setlen'] as const;
/** Length registers: set by the runtime per request and by SYS setlen. */
export const LEN_REGS = ['L0', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7'] as const;
export const LEN_REG_BITS = 32;

export type FieldKind = 'uint' | 'int' | 'enum' | 'flag' | 'queues';

export interface FieldSpec {
  readonly name: string;
  readonly word: number;
  /** Bit offset inside `word`; the field continues into the following words if lsb + width > 32. */
  readonly lsb: number;
  readonly width: number;
  readonly kind: FieldKind;
  /** enum: value names, index = code. Codes past the end are invalid. */
  readonly values?: readonly string[];
  /** May be written as `L<r>+offset`: the dispatcher adds length register r (see docs). */
  readonly dyn?: boolean;
  /** Text format: hex (addresses), pattern (index into the design's sparsity table), label (LOOP body). */
  readonly fmt?: 'hex' | 'pattern' | 'label';
  /** The assembler fills this in when the field is omitted; the disassembler omits it. */
  readonly default?: number | string | boolean | readonly string[];
  readonly doc: string;
}

export interface OpSpec {
  readonly name: string;
  readonly code: number;
  readonly queue: QueueName;
  readonly words: number;
  /** Dyn slots (3-bit field index + 3-bit register each) right after the common header. */
  readonly slots: number;
  readonly doc: string;
  readonly fields: readonly FieldSpec[];
}

export const OPCODE_BITS = 4;
/** Common header of every instruction, bits 0..13 of word 0. */
export const HEADER = [
  { name: 'opcode', word: 0, lsb: 0, width: 4, kind: 'uint', doc: 'Selects the instruction and with it the word count and queue.' },
  { name: 'wait', word: 0, lsb: 4, width: 5, kind: 'queues', default: [], doc: 'Queues this instruction takes one token from before it starts (own queue not allowed).' },
  { name: 'release', word: 0, lsb: 9, width: 5, kind: 'queues', default: [], doc: 'Queues this instruction gives one token to when it completes (own queue not allowed).' },
] as const satisfies readonly FieldSpec[];
export const HEADER_BITS = 14;
export const SLOT_FIELD_BITS = 3;
export const SLOT_REG_BITS = 3;
export const SLOT_BITS = SLOT_FIELD_BITS + SLOT_REG_BITS;

const f = <const T extends FieldSpec>(x: T): T => x;

// LD and ST share one layout; only the direction differs.
const XFER_FIELDS = [
  f({ name: 'buf', word: 0, lsb: 26, width: 3, kind: 'enum', values: BUFFERS, doc: 'On-chip buffer.' }),
  f({ name: 'dtype', word: 0, lsb: 29, width: 2, kind: 'enum', values: DTYPES, doc: 'Element format in external memory; int4 is sign-extended to the buffer element width on load and packed two per byte on store.' }),
  f({ name: 'space', word: 0, lsb: 31, width: 1, kind: 'enum', values: ['hbm', 'ddr'], doc: 'External memory: HBM or DDR.' }),
  f({ name: 'addr', word: 1, lsb: 0, width: 36, kind: 'uint', dyn: true, fmt: 'hex', doc: 'External byte address of the first element (up to 64 GiB).' }),
  f({ name: 'chan', word: 2, lsb: 4, width: 6, kind: 'uint', doc: 'Memory port: HBM pseudo-channel (0..63) or DDR controller.' }),
  f({ name: 'chstep', word: 2, lsb: 10, width: 1, kind: 'flag', default: false, doc: 'Loop 2 also advances `chan` by one per iteration (one instruction for the same block in consecutive pseudo-channels).' }),
  f({ name: 'sram', word: 2, lsb: 11, width: 20, kind: 'uint', dyn: true, fmt: 'hex', doc: 'On-chip address of the first element: an element address, except in the weight and meta buffers, which are addressed in beats of C x L lanes (rows there are whole beats; the istrides count beats too).' }),
  f({ name: 'len', word: 3, lsb: 0, width: 16, kind: 'uint', dyn: true, doc: 'Elements per row (one contiguous external burst).' }),
  f({ name: 'count0', word: 3, lsb: 16, width: 16, kind: 'uint', dyn: true, default: 1, doc: 'Iterations of loop 0 (innermost).' }),
  f({ name: 'count1', word: 4, lsb: 0, width: 16, kind: 'uint', dyn: true, default: 1, doc: 'Iterations of loop 1.' }),
  f({ name: 'count2', word: 4, lsb: 16, width: 16, kind: 'uint', dyn: true, default: 1, doc: 'Iterations of loop 2 (outermost).' }),
  f({ name: 'istride0', word: 5, lsb: 0, width: 16, kind: 'uint', default: 0, doc: 'On-chip address step of loop 0, in elements.' }),
  f({ name: 'istride1', word: 5, lsb: 16, width: 16, kind: 'uint', default: 0, doc: 'On-chip address step of loop 1, in elements.' }),
  f({ name: 'istride2', word: 6, lsb: 0, width: 16, kind: 'uint', default: 0, doc: 'On-chip address step of loop 2, in elements.' }),
  f({ name: 'estride0', word: 6, lsb: 16, width: 24, kind: 'uint', default: 0, fmt: 'hex', doc: 'External address step of loop 0, in bytes (up to 16 MiB).' }),
  f({ name: 'estride1', word: 7, lsb: 8, width: 24, kind: 'uint', default: 0, fmt: 'hex', doc: 'External address step of loop 1, in bytes.' }),
  f({ name: 'estride2', word: 8, lsb: 0, width: 24, kind: 'uint', default: 0, fmt: 'hex', doc: 'External address step of loop 2, in bytes.' }),
  f({ name: 'grp', word: 2, lsb: 31, width: 1, kind: 'flag', default: false, doc: 'LD to the weight buffer: the stream carries two group-multiplier bytes after every 32 elements (one per 16 elements; see src/numerics/quant.ts); lanes are element x multiplier.' }),
] as const;

// MM and MV: same bit positions so the matrix queue decodes one layout (MV leaves m reserved).
const MX_HEAD = [
  f({ name: 'pattern', word: 0, lsb: 26, width: 4, kind: 'uint', fmt: 'pattern', doc: "Sparsity mode: index into the design's mode table (0 = dense, then its N:M patterns)." }),
  f({ name: 'wprec', word: 0, lsb: 30, width: 1, kind: 'enum', values: ['int8', 'int4'], doc: 'Weight lane format in the weight buffer (int4: two weights per byte).' }),
  f({ name: 'aprec', word: 0, lsb: 31, width: 1, kind: 'enum', values: ['int8', 'int16'], doc: 'Activation format.' }),
] as const;
const MX_TAIL = [
  f({ name: 'acc', word: 2, lsb: 16, width: 1, kind: 'flag', default: false, doc: 'Add to the accumulator buffer contents instead of overwriting them.' }),
  f({ name: 'wsrc', word: 2, lsb: 17, width: 1, kind: 'enum', values: ['weight', 'kv'], default: 'weight', doc: 'Weight operand buffer: weights, or the KV buffer for attention (K for scores, V transposed for the output).' }),
  f({ name: 'asrc', word: 2, lsb: 18, width: 1, kind: 'enum', values: ['act', 'global'], default: 'act', doc: 'Activation operand buffer.' }),
  f({ name: 'wbase', word: 2, lsb: 20, width: 20, kind: 'uint', dyn: true, fmt: 'hex', doc: 'Weight operand base: a beat address in the weight buffer, an element address (beat-aligned) in the KV buffer.' }),
  f({ name: 'mbase', word: 3, lsb: 8, width: 20, kind: 'uint', fmt: 'hex', doc: 'N:M index metadata base in the meta buffer, a beat address (ignored when dense).' }),
  f({ name: 'sbase', word: 3, lsb: 28, width: 20, kind: 'uint', fmt: 'hex', doc: 'Weight scale base in the scale buffer.' }),
  f({ name: 'abase', word: 4, lsb: 16, width: 20, kind: 'uint', dyn: true, fmt: 'hex', doc: 'Activation base (elements, row-major tokens x K).' }),
  f({ name: 'obase', word: 5, lsb: 4, width: 20, kind: 'uint', dyn: true, fmt: 'hex', doc: 'Output base in the accumulator buffer (INT32, row-major tokens x rows).' }),
] as const;

const BUF_ADDR_DOC = 'element address';
export const OPCODES = [
  {
    name: 'LD', code: 1, queue: 'LD', words: 9, slots: 2, fields: XFER_FIELDS,
    doc: 'Copy rows from external memory to an on-chip buffer: for each (i2, i1, i0) in count2 x count1 x count0, `len` elements from addr + i2*estride2 + i1*estride1 + i0*estride0 to sram + i2*istride2 + i1*istride1 + i0*istride0.',
  },
  {
    name: 'ST', code: 2, queue: 'ST', words: 9, slots: 2, fields: XFER_FIELDS,
    doc: 'Copy rows from an on-chip buffer to external memory; same fields and loop nest as LD, opposite direction.',
  },
  {
    name: 'MM', code: 3, queue: 'MX', words: 6, slots: 2,
    doc: 'Matrix tile in prefill mode: out[m x n] (+)= act[m x k] * W[n x k]^T, weights read once per token pass.',
    fields: [
      ...MX_HEAD,
      f({ name: 'm', word: 1, lsb: 0, width: 16, kind: 'uint', dyn: true, doc: 'Tokens (activation rows) M.' }),
      f({ name: 'k', word: 1, lsb: 16, width: 16, kind: 'uint', dyn: true, doc: 'Reduction length K (weight columns).' }),
      f({ name: 'n', word: 2, lsb: 0, width: 16, kind: 'uint', dyn: true, doc: 'Weight rows N (output columns).' }),
      ...MX_TAIL,
    ],
  },
  {
    name: 'MV', code: 4, queue: 'MX', words: 6, slots: 2,
    doc: 'Matrix-vector tile in decode mode: out[rows] (+)= W[rows x cols] * act[cols]; bits of MM.m are reserved.',
    fields: [
      ...MX_HEAD,
      f({ name: 'cols', word: 1, lsb: 16, width: 16, kind: 'uint', dyn: true, doc: 'Reduction length K (weight columns).' }),
      f({ name: 'rows', word: 2, lsb: 0, width: 16, kind: 'uint', dyn: true, doc: 'Weight rows (outputs).' }),
      ...MX_TAIL,
    ],
  },
  {
    name: 'SFU', code: 5, queue: 'SFU', words: 7, slots: 3,
    doc: 'Special function over `rows` rows of `len` elements (operand rows dense, pitch = len; result rows `dpitch` apart), in the fixed-point arithmetic of src/numerics/fixed.ts (int32 operands are Q15.16 except the raw accumulators read by requant).',
    fields: [
      f({ name: 'fn', word: 1, lsb: 0, width: 4, kind: 'enum', values: SFU_OPS, doc: 'Function (see the SFU table).' }),
      f({ name: 'causal', word: 1, lsb: 4, width: 1, kind: 'flag', default: false, doc: 'softmax: mask key j of row i when j > pos + i.' }),
      f({ name: 'itype', word: 1, lsb: 5, width: 2, kind: 'enum', values: SFU_TYPES, doc: 'Element format of operands a and b.' }),
      f({ name: 'otype', word: 1, lsb: 7, width: 2, kind: 'enum', values: SFU_TYPES, doc: 'Element format of the result d.' }),
      f({ name: 'shift', word: 1, lsb: 9, width: 6, kind: 'int', default: 0, doc: 'Output scaling shift: right shift after the multiply by imm (negative: left shift).' }),
      f({ name: 'imm', word: 1, lsb: 16, width: 16, kind: 'uint', default: 0, fmt: 'hex', doc: 'Output multiplier (unsigned): when non-zero the result is scaled by imm * 2^-shift and saturated to otype; requant with imm = 0 takes a per-column multiplier from operand b (scale buffer); rope: the head size.' }),
      f({ name: 'len', word: 2, lsb: 0, width: 16, kind: 'uint', dyn: true, doc: 'Elements per row (reduction length of softmax and the norms).' }),
      f({ name: 'rows', word: 2, lsb: 16, width: 16, kind: 'uint', dyn: true, doc: 'Rows (tokens).' }),
      f({ name: 'pos', word: 3, lsb: 0, width: 16, kind: 'uint', dyn: true, default: 0, doc: 'Sequence position of row 0 (causal mask offset, rope position).' }),
      f({ name: 'abuf', word: 3, lsb: 16, width: 3, kind: 'enum', values: BUFFERS, doc: 'Buffer of operand a.' }),
      f({ name: 'bbuf', word: 3, lsb: 19, width: 3, kind: 'enum', values: BUFFERS, default: 'act', doc: 'Buffer of operand b.' }),
      f({ name: 'dbuf', word: 3, lsb: 22, width: 3, kind: 'enum', values: BUFFERS, doc: 'Buffer of the result d.' }),
      f({ name: 'ewr', word: 3, lsb: 25, width: 3, kind: 'uint', default: 0, doc: 'Dynamic per-row scaling of an INT8/INT16 result: k > 0 scales each row i so that its largest magnitude maps to the type maximum, and stores the factor back to the static scale (imm * 2^-shift) in row-scale slot k, entry i (0: static scaling; see rowScale in src/numerics/fixed.ts).' }),
      f({ name: 'erd', word: 3, lsb: 28, width: 3, kind: 'uint', default: 0, doc: 'requant: k > 0 multiplies row i by the factor in row-scale slot k, entry i, for results of an MV/MM whose input rows were scaled with ewr = k.' }),
      f({ name: 'a', word: 4, lsb: 0, width: 20, kind: 'uint', dyn: true, fmt: 'hex', doc: `Operand a ${BUF_ADDR_DOC}.` }),
      f({ name: 'b', word: 4, lsb: 20, width: 20, kind: 'uint', dyn: true, default: 0, fmt: 'hex', doc: `Operand b ${BUF_ADDR_DOC} (second operand, norm weights, rope table).` }),
      f({ name: 'd', word: 5, lsb: 8, width: 20, kind: 'uint', dyn: true, fmt: 'hex', doc: `Result ${BUF_ADDR_DOC}.` }),
      f({ name: 'dpitch', word: 6, lsb: 0, width: 20, kind: 'uint', default: 0, doc: 'Row pitch of the result d in elements (0: len, rows dense); lets one op write rows into a wider matrix (MM tile results, window-padded MPE inputs).' }),
    ],
  },
  {
    name: 'SYS', code: 6, queue: 'SYS', words: 2, slots: 1,
    doc: 'Executed by the dispatcher in program order: sync (wait until every queue is idle), end (sync, then halt and signal done), setlen (L[reg] = imm).',
    fields: [
      f({ name: 'fn', word: 0, lsb: 20, width: 2, kind: 'enum', values: SYS_OPS, doc: 'System function.' }),
      f({ name: 'reg', word: 0, lsb: 22, width: 3, kind: 'enum', values: LEN_REGS, default: 'L0', doc: 'setlen: length register written.' }),
      f({ name: 'imm', word: 1, lsb: 0, width: 32, kind: 'uint', dyn: true, default: 0, doc: 'setlen: value (`L<r>+c` copies or increments a register).' }),
    ],
  },
  {
    name: 'LOOP', code: 7, queue: 'SYS', words: 2, slots: 1,
    doc: 'Executed by the dispatcher: dispatch the next `body` instructions `count` times (count 0 skips them). Loops nest up to the design\'s loop depth (default 4).',
    fields: [
      f({ name: 'count', word: 1, lsb: 0, width: 16, kind: 'uint', dyn: true, doc: 'Iterations.' }),
      f({ name: 'body', word: 1, lsb: 16, width: 16, kind: 'uint', fmt: 'label', doc: 'Instructions in the body (in assembly also a label placed after the body).' }),
    ],
  },
] as const satisfies readonly OpSpec[];

export type OpName = (typeof OPCODES)[number]['name'];
export const OPS: ReadonlyMap<string, OpSpec> = new Map(OPCODES.map((o) => [o.name, o]));
export const OPS_BY_CODE: ReadonlyMap<number, OpSpec> = new Map(OPCODES.map((o) => [o.code, o]));

/** Fields of `op` that may take a length register, in slot-index order (slot field index k names dynFields[k-1]). */
export function dynFields(op: OpSpec): FieldSpec[] {
  return op.fields.filter((x) => x.dyn);
}

/** A field's absolute bit range inside the instruction, split at word boundaries. */
export interface BitSlice {
  readonly field: string;
  readonly word: number;
  readonly lsb: number;
  readonly width: number;
  /** Bit of the field this slice starts at. */
  readonly fieldLsb: number;
}

export function slices(x: Pick<FieldSpec, 'name' | 'word' | 'lsb' | 'width'>): BitSlice[] {
  const out: BitSlice[] = [];
  let bit = x.word * 32 + x.lsb;
  let done = 0;
  while (done < x.width) {
    const w = Math.floor(bit / 32);
    const lsb = bit % 32;
    const n = Math.min(32 - lsb, x.width - done);
    out.push({ field: x.name, word: w, lsb, width: n, fieldLsb: done });
    bit += n;
    done += n;
  }
  return out;
}

/** Every bit-level field of `op` in layout order: header, dyn slots, then the op's own fields. */
export function layoutFields(op: OpSpec): FieldSpec[] {
  const slotFields: FieldSpec[] = [];
  for (let s = 0; s < op.slots; s++) {
    const lsb = HEADER_BITS + s * SLOT_BITS;
    slotFields.push({ name: `dyn${s}.field`, word: 0, lsb, width: SLOT_FIELD_BITS, kind: 'uint', doc: `Dyn slot ${s}: 1-based index of the dyn-capable field it modifies (0 = unused).` });
    slotFields.push({ name: `dyn${s}.reg`, word: 0, lsb: lsb + SLOT_FIELD_BITS, width: SLOT_REG_BITS, kind: 'uint', doc: `Dyn slot ${s}: length register added to that field.` });
  }
  return [...HEADER, ...slotFields, ...op.fields];
}

/** Per-word masks of the bits some field covers (the rest are reserved and must be 0). */
export function usedMasks(op: OpSpec): Uint32Array {
  const m = new Uint32Array(op.words);
  for (const x of layoutFields(op)) for (const s of slices(x)) m[s.word] |= s.width === 32 ? 0xffffffff : ((2 ** s.width - 1) << s.lsb) >>> 0;
  return m;
}

/** Throws if the table is inconsistent (overlaps, fields past the end, bad enums); runs at import. */
export function checkTable(ops: readonly OpSpec[] = OPCODES): void {
  const codes = new Set<number>();
  for (const op of ops) {
    if (op.code < 1 || op.code >= 2 ** OPCODE_BITS || codes.has(op.code)) throw new Error(`ISA table: ${op.name} has a bad or duplicate opcode ${op.code}`);
    codes.add(op.code);
    const used = new Uint32Array(op.words);
    const names = new Set<string>();
    for (const x of layoutFields(op)) {
      // `op` is the Instr discriminant; a field of that name would make the instruction type empty.
      if (x.name === 'op' || names.has(x.name)) throw new Error(`ISA table: ${op.name}.${x.name} defined twice or named op`);
      names.add(x.name);
      if (x.kind === 'enum' && (!x.values || x.values.length > 2 ** x.width || x.values.length === 0)) throw new Error(`ISA table: ${op.name}.${x.name} enum does not fit ${x.width} bits`);
      if (x.kind === 'flag' && x.width !== 1) throw new Error(`ISA table: ${op.name}.${x.name} flag must be 1 bit`);
      if (x.kind === 'queues' && x.width !== QUEUES.length) throw new Error(`ISA table: ${op.name}.${x.name} mask must be ${QUEUES.length} bits`);
      if (x.dyn && x.kind !== 'uint') throw new Error(`ISA table: ${op.name}.${x.name} dyn fields must be uint`);
      for (const s of slices(x)) {
        if (s.word >= op.words) throw new Error(`ISA table: ${op.name}.${x.name} runs past word ${op.words - 1}`);
        const bits = s.width === 32 ? 0xffffffff : ((2 ** s.width - 1) << s.lsb) >>> 0;
        if ((used[s.word] & bits) !== 0) throw new Error(`ISA table: ${op.name}.${x.name} overlaps another field in word ${s.word}`);
        used[s.word] |= bits;
      }
    }
    if (dynFields(op).length >= 2 ** SLOT_FIELD_BITS) throw new Error(`ISA table: ${op.name} has too many dyn fields for a ${SLOT_FIELD_BITS}-bit slot index`);
    if (op.slots > 0 && dynFields(op).length === 0) throw new Error(`ISA table: ${op.name} has dyn slots but no dyn fields`);
  }
}
checkTable();
