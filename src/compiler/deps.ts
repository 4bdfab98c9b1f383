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

export class Emitter {
  readonly instrs: Instr[] = [];
  /** Queue index of each emitted instruction. */
  private readonly queueOf: number[] = [];
  private lastWriter = new Map<string, number>();
  private readers = new Map<string, number[]>();
  /** lastWaited[p * Q + c]: highest instruction index of queue p that queue c has waited for. */
  private readonly lastWaited = new Int32Array(QUEUES.length * QUEUES.length).fill(-1);
  private readonly latest = new Int32Array(QUEUES.length);

  emit(body: InstrBody, reads: readonly string[] = [], writes: readonly string[] = []): number {
    const op = OPS.get(body.op)!;
    const queue = QUEUES.indexOf(op.queue);
    const sys = QUEUES.indexOf('SYS');
    const instr = { ...body, wait: [] as QueueName[], release: [] as QueueName[] } as Instr;
    const idx = this.instrs.length;
    // Latest conflicting instruction per queue: waiting for it covers the earlier ones (queues are in order).
    const latest = this.latest.fill(-1);
    const dep = (d: number | undefined) => {
      if (d === undefined) return;
      const q = this.queueOf[d]!;
      if (q !== queue && q !== sys && d > latest[q]!) latest[q] = d;
    };
    for (const r of reads) dep(this.lastWriter.get(r));
    for (const r of writes) {
      dep(this.lastWriter.get(r));
      const rs = this.readers.get(r);
      if (rs) for (const d of rs) dep(d);
    }
    for (let q = 0; q < QUEUES.length; q++) {
      const d = latest[q]!;
      if (d < 0 || this.lastWaited[q * QUEUES.length + queue]! >= d) continue;
      this.instrs[d]!.release.push(op.queue);
      instr.wait.push(QUEUES[q]!);
      this.lastWaited[q * QUEUES.length + queue] = d;
    }
    for (const r of reads) {
      const list = this.readers.get(r);
      if (list) list.push(idx);
      else this.readers.set(r, [idx]);
    }
    for (const r of writes) {
      this.lastWriter.set(r, idx);
      this.readers.set(r, []);
    }
    this.queueOf.push(queue);
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
    const order = (a: QueueName, b: QueueName) => QUEUES.indexOf(a) - QUEUES.indexOf(b);
    for (const i of this.instrs) {
      if (i.wait.length > 1) i.wait.sort(order);
      if (i.release.length > 1) i.release.sort(order);
    }
    return this.instrs;
  }
}
