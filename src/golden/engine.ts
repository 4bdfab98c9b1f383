/**
 * The golden model as an inference engine. Per block the host stages the tokens' fx embedding
 * rows in DDR, writes the length registers (src/compiler/runtime.ts), runs the block and reads
 * the fx logits back. Prompts go through the prefill block in chunks (MM tiles); the last chunk
 * is padded with token 0, whose K/V entries are overwritten before anything reads them.
 */
import type { Compiled } from '../compiler/compile.ts';
import { blockRegisters, checkTokens, prefillRuns, stagedInputs } from '../compiler/runtime.ts';
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
  }

  /** Runs a block over `tokens` (padded with 0 to the block size) at p0; returns one logits row per real token. */
  private runBlock(name: 'decode' | 'prefill', tokens: readonly number[], p0: number): Float32Array[] {
    const plan = this.compiled.plan;
    const block = this.compiled.blocks.find((b) => b.name === name);
    if (!block) throw new RangeError(`the program has no ${name} block`);
    checkTokens(plan, tokens);
    const mem = this.machine.memory;
    const staged = stagedInputs(plan, mem, tokens, block.tokens);
    mem.ddr.set(staged.bytes, staged.addr);
    blockRegisters(plan, p0, block.tokens).forEach((v, i) => (this.machine.regs[i] = v));
    this.machine.run(this.instrs, block.start);
    return logitRows(this.compiled, mem.readInt32(plan.layout.get('logits'), tokens.length * this.config.vocabSize), tokens.length);
  }

  forward(token: number, pos: number): Float32Array {
    if (pos !== this.next) throw new RangeError(`position ${pos}: feed positions in order (next is ${this.next})`);
    this.next = pos + 1;
    return this.runBlock('decode', [token], pos)[0]!;
  }

  /** Runs `tokens` at positions pos.. through the prefill block (chunks of its size). */
  prefill(tokens: readonly number[], pos: number): Float32Array[] {
    if (pos !== this.next) throw new RangeError(`position ${pos}: feed positions in order (next is ${this.next})`);
    const out: Float32Array[] = [];
    for (const r of prefillRuns(this.compiled.plan, tokens, pos)) {
      out.push(...this.runBlock(r.block, r.tokens, r.pos));
      this.next = r.pos + r.tokens.length;
    }
    return out;
  }
}

/** Float logits rows from the raw fx logits of `n` tokens. */
export function logitRows(compiled: Compiled, raw: Int32Array, n: number): Float32Array[] {
  const V = compiled.plan.model.vocabSize;
  return Array.from({ length: n }, (_, t) => Float32Array.from(raw.subarray(t * V, (t + 1) * V), (v) => v * compiled.logitScale));
}
