/** The ISA: table, instruction type, encoder/decoder, assembler/disassembler, docs generator. */
export * from './table.ts';
export * from './instr.ts';
export { encode, encodeProgram, IsaEncodeError, fieldRange, dynRange } from './encode.ts';
export { decodeProgram, decodeWords, IsaDecodeError } from './decode.ts';
export { assemble, disassemble, parseAsm, formatInstr, AsmError, DEFAULT_MODES, type AsmOptions, type DisasmOptions } from './asm.ts';
export { generateIsaDocs } from './docs.ts';
