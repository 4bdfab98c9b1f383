/**
 * Instruction emission with dependency tokens. Each instruction names the resources (buffer
 * regions, external tensors) it reads and writes; the emitter adds the wait/release masks that
 * order it after every earlier instruction it conflicts with (RAW, WAR, WAW) in another queue.
 *
 * Tokens are counting semaphores per (producer queue, consumer queue) pair, consumed in order,
 * so a release is added only when a consumer waits for it: the k-th wait on a pair then always
 * matches the k-th release, and every block ends with all counts back at zero.
 */
import { OPS, QUEUES, type QueueName } from '../isa/table.ts';
import type { Instr } from '../isa/instr.ts';

type Body<I> = I extends Instr ? Omit<I, 'wait' | 'release'> : never;
export type InstrBody = Body<Instr>;

interface Slot {
  instr: Instr;
  queue: QueueName;
}

export class Emitter {
  readonly instrs: Instr[] = [];
  private readonly slots: Slot[] = [];
  private lastWriter = new Map<string, number>();
  private readers = new Map<string, number[]>();
  /** lastWaited[p][c]: highest instruction index of queue p that queue c has waited for. */
  private lastWaited = new Map<string, number>();

  emit(body: InstrBody, reads: readonly string[] = [], writes: readonly string[] = []): number {
    const op = OPS.get(body.op)!;
    const queue = op.queue;
    const instr = { ...body, wait: [] as QueueName[], release: [] as QueueName[] } as Instr;
    const idx = this.slots.length;
    const deps: number[] = [];
    for (const r of [...reads, ...writes]) {
      const w = this.lastWriter.get(r);
      if (w !== undefined) deps.push(w);
    }
    for (const r of writes) deps.push(...(this.readers.get(r) ?? []));
    // Latest producer per queue: waiting for it covers the earlier ones (queues are in order).
    const latest = new Map<QueueName, number>();
    for (const d of deps) {
      const q = this.slots[d]!.queue;
      if (q === queue || q === 'SYS') continue;
      latest.set(q, Math.max(latest.get(q) ?? -1, d));
    }
    for (const q of QUEUES) {
      const d = latest.get(q);
      if (d === undefined) continue;
      const key = `${q}>${queue}`;
      if ((this.lastWaited.get(key) ?? -1) >= d) continue;
      const p = this.slots[d]!.instr;
      p.release.push(queue);
      instr.wait.push(q);
      this.lastWaited.set(key, d);
    }
    for (const r of reads) {
      const list = this.readers.get(r) ?? [];
      list.push(idx);
      this.readers.set(r, list);
    }
    for (const r of writes) {
      this.lastWriter.set(r, idx);
      this.readers.set(r, []);
    }
    this.slots.push({ instr, queue });
    this.instrs.push(instr);
    return idx;
  }

  /** SYS instructions run in program order once every queue is idle (sync/end): tracking restarts. */
  barrier(body: InstrBody): void {
    this.emit(body);
    this.lastWriter.clear();
    this.readers.clear();
  }

  /** Masks in table order (the encoder wants them canonical). */
  finish(): Instr[] {
    for (const i of this.instrs) {
      i.wait.sort((a, b) => QUEUES.indexOf(a) - QUEUES.indexOf(b));
      i.release.sort((a, b) => QUEUES.indexOf(a) - QUEUES.indexOf(b));
    }
    return this.instrs;
  }
}
