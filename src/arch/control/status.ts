/**
 * Status and error codes of the accelerator, defined once: the controller and the engines
 * drive them, the simulator harness and `infer --engine rtl` print them. An error stops the
 * machine (it never hangs): STATUS.error goes high, ERR_CODE holds the code and ERR_PC the
 * word address of the instruction that caused it.
 */

/** Error codes (8 bits). Dispatcher errors below 16, engine errors from 16. */
export const ERR = {
  none: 0,
  /** Undefined opcode (also what fetching past the end of the program finds: zeros). */
  opcode: 1,
  /** A reserved bit is set. */
  reserved: 2,
  /** An enum field holds a code past its value list. */
  enumValue: 3,
  /** LOOPs nest deeper than the design's loop depth. */
  loopDepth: 4,
  /** LOOP with an empty body, or a body running past the enclosing one. */
  loopBody: 5,
  /** SYS end inside a LOOP body. */
  endInLoop: 6,
  /** SYS end with tokens released but never consumed. */
  tokens: 7,
  /** No queue made progress for WATCHDOG_CYCLES while instructions waited: a token deadlock. */
  deadlock: 8,
  /** A buffer access outside the buffer. */
  range: 16,
  /** A misaligned operand (MV/MM abase, KV wbase, weight rows not whole beats). */
  align: 17,
  /** The engine cannot access that buffer (see src/arch/mmu/buffers.ts). */
  access: 18,
  /** Sparsity pattern outside the design's mode table, or a sparse pattern on KV operands. */
  pattern: 19,
  /** Malformed operands: grp misuse, odd int4 rows, fp16, dpitch < len, bad rope head size, ewr/erd misuse. */
  format: 20,
} as const;

export type ErrName = keyof typeof ERR;

export const ERR_TEXT: Record<number, string> = {
  [ERR.opcode]: 'undefined opcode',
  [ERR.reserved]: 'reserved bits set',
  [ERR.enumValue]: 'field value outside its enumeration',
  [ERR.loopDepth]: 'LOOPs nest too deep',
  [ERR.loopBody]: 'LOOP body empty or past the enclosing body',
  [ERR.endInLoop]: 'SYS end inside a LOOP body',
  [ERR.tokens]: 'block ends with unconsumed tokens',
  [ERR.deadlock]: 'queues deadlocked (watchdog)',
  [ERR.range]: 'buffer access out of range',
  [ERR.align]: 'misaligned operand',
  [ERR.access]: 'buffer not accessible by this instruction',
  [ERR.pattern]: 'sparsity pattern not available',
  [ERR.format]: 'malformed operands',
};

/** Cycles without progress (no dispatch, no engine start or completion) before ERR.deadlock. */
export const WATCHDOG_CYCLES = 4096;

/** Control/status registers (word addresses on the CSR port). */
export const CSR = {
  /** Write: bit 0 starts the machine at START_PC; bit 1 selects serial mode (one instruction at a time). */
  CTRL: 0,
  /** Word address of the first instruction. */
  START_PC: 1,
  /** Read: bit 0 busy, bit 1 done (since the last start), bit 2 error. */
  STATUS: 2,
  ERR_CODE: 3,
  /** Word address of the instruction that failed. */
  ERR_PC: 4,
  /** Cycles from start to done (or error), 64 bits. */
  CYCLES_LO: 5,
  CYCLES_HI: 6,
  /** Instructions dispatched since start (LOOP bodies count once per iteration). */
  INSTRS: 7,
  /** Length registers L0..L7 (read/write). */
  LEN0: 8,
  /** Busy cycles of the LD, ST, MX and SFU engines since start (cycles per op class). */
  BUSY_LD: 16,
  BUSY_ST: 17,
  BUSY_MX: 18,
  BUSY_SFU: 19,
} as const;

export const CSR_ADDR_BITS = 8;
