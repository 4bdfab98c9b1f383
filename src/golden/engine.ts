/**
 * The golden model as an inference engine. Per block the host stages the tokens' fx embedding
 * rows in DDR, writes the length registers (src/compiler/runtime.ts), runs the block and reads
 * the fx logits back. Prompts go through the prefill block in chunks (MM tiles); the last chunk
 * is padded with token 0, whose K/V entries are overwritten before anything reads them.
 */
import type { Compiled } from '../compiler/compile.ts';
import { blockRegisters, checkTokens } from '../compiler/runtime.ts';
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
    const emb = plan.layout.get('embedding');
    const input = plan.layout.get('input');
    const rowBytes = this.config.dim * 4;
    for (let t = 0; t < block.tokens; t++) {
      const id = tokens[t] ?? 0;
      mem.ddr.copyWithin(input.addr + t * rowBytes, emb.addr + id * rowBytes, emb.addr + (id + 1) * rowBytes);
    }
    blockRegisters(plan, p0, block.tokens).forEach((v, i) => (this.machine.regs[i] = v));
    this.machine.run(this.instrs, block.start);
    const raw = mem.readInt32(plan.layout.get('logits'), tokens.length * this.config.vocabSize);
    const V = this.config.vocabSize;
    return tokens.map((_, t) => Float32Array.from(raw.subarray(t * V, (t + 1) * V), (v) => v * this.compiled.logitScale));
  }

  forward(token: number, pos: number): Float32Array {
    if (pos !== this.next) throw new RangeError(`position ${pos}: feed positions in order (next is ${this.next})`);
    this.next = pos + 1;
    return this.runBlock('decode', [token], pos)[0]!;
  }

  /** Runs `tokens` at positions pos.. through the prefill block (chunks of its size). */
  prefill(tokens: readonly number[], pos: number): Float32Array[] {
    const T = this.compiled.plan.prefillTokens;
    if (T === 0) return tokens.map((t, i) => this.forward(t, pos + i));
    if (pos !== this.next) throw new RangeError(`position ${pos}: feed positions in order (next is ${this.next})`);
    const out: Float32Array[] = [];
    for (let i = 0; i < tokens.length; i += T) {
      const chunk = tokens.slice(i, i + T);
      // A chunk must not run past seq_len: the tail goes through the decode block instead.
      if (pos + i + T > this.config.seqLen) {
        for (let j = 0; j < chunk.length; j++) out.push(this.forward(chunk[j]!, pos + i + j));
        continue;
      }
      out.push(...this.runBlock('prefill', chunk, pos + i));
      this.next = pos + i + chunk.length;
    }
    return out;
  }
}
