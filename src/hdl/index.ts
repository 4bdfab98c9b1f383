/** The flightgen hardware construction DSL. */
export { UInt, SInt, Bool, typeName, log2Ceil, bitsFor, type HwType } from './types.ts';
export { Expr, lit, mux, cat, select, split, pack, type Operand } from './expr.ts';
export { defineModule, externModule, ModuleBuilder, Signal, Instance, Memory, type ModuleDef, type ModuleGenerator, type RegOptions, type MemoryOptions, type ExternSpec } from './module.ts';
export { Design, canonicalJson } from './design.ts';
export { emitModule, emitDesign, type EmitOptions } from './emit/verilog.ts';
export * from './errors.ts';
export { type SourceLoc, formatLoc } from './source.ts';
