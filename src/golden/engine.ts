/**
 * The golden model as an inference engine: per token, the host writes the decode block's
 * length registers (src/compiler/runtime.ts), runs the block, and reads the fx logits back.
 */
import type { Compiled } from '../compiler/compile.ts';
import { decodeRegisters } from '../compiler/runtime.ts';
import { decodeProgram } from '../isa/decode.ts';
import type { Instr } from '../isa/instr.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Engine } from '../model/engine.ts';
import { MemoryImage } from '../compiler/memory.ts';
import { GoldenMachine } from './machine.ts';

export class GoldenEngine implements Engine {
  readonly config: ModelConfig;
  readonly machine: GoldenMachine;
  private readonly instrs: readonly Instr[];
  private readonly logits: Float32Array;
  private next = 0;

  constructor(private readonly compiled: Compiled) {
    if (!compiled.memory) throw new RangeError('the golden engine needs a memory image (compile with weights)');
    this.config = compiled.plan.model;
    // Run what the hardware would fetch: the encoded program, decoded again.
    this.instrs = decodeProgram(compiled.program);
    // The engine owns a copy: the KV cache lives in it.
    const mem = new MemoryImage(compiled.memory.hbm.length, compiled.memory.ddr.length);
    mem.hbm.set(compiled.memory.hbm);
    mem.ddr.set(compiled.memory.ddr);
    this.machine = new GoldenMachine(compiled.plan.hw, mem);
    this.logits = new Float32Array(this.config.vocabSize);
  }

  forward(token: number, pos: number): Float32Array {
    if (pos > this.next) throw new RangeError(`position ${pos} skips positions ${this.next}..${pos - 1}: feed positions in order`);
    this.next = pos + 1;
    const regs = decodeRegisters(this.compiled.plan, token, pos);
    regs.forEach((v, i) => (this.machine.regs[i] = v));
    const block = this.compiled.blocks.find((b) => b.name === 'decode')!;
    this.machine.run(this.instrs, block.start);
    const raw = this.machine.memory.readInt32(this.compiled.plan.layout.get('logits'), this.config.vocabSize);
    for (let i = 0; i < raw.length; i++) this.logits[i] = raw[i]! * this.compiled.logitScale;
    return this.logits;
  }
}
