/**
 * The interface every inference engine implements (the float reference, the INT golden model,
 * the RTL simulation), and the greedy generation loop they all share.
 */
import type { ModelConfig } from './config.ts';

/** Token id of BOS in llama2.c models: position 0 always holds it. */
export const BOS = 1;

export interface Engine {
  readonly config: ModelConfig;
  /**
   * Runs `token` at position `pos` (positions are fed in order 0, 1, 2, ...; the engine keeps
   * its own KV cache) and returns the logits for the next token, length config.vocabSize.
   * The returned array may be reused by the next call: copy it to keep it.
   */
  forward(token: number, pos: number): Float32Array;
  /**
   * Optional: runs several tokens at positions pos, pos+1, ... at once (an accelerator's prefill)
   * and returns each position's logits. Must equal calling forward() for each in turn.
   */
  prefill?(tokens: readonly number[], pos: number): Float32Array[];
}

/** An engine whose steps are asynchronous (the RTL simulation talks to a simulator process). */
export interface AsyncEngine {
  readonly config: ModelConfig;
  forward(token: number, pos: number): Promise<Float32Array>;
  prefill?(tokens: readonly number[], pos: number): Promise<Float32Array[]>;
  /** Releases what the engine holds (a simulator process). */
  close?(): Promise<void>;
}

export interface GenerateOptions {
  /** Number of tokens to generate (N >= 1). */
  readonly tokens: number;
  /** Prompt token ids, forced at positions 1..k after BOS (teacher forcing). */
  readonly promptIds?: readonly number[];
  /** Called with the logits computed at every position from 0 on: k + N rows in all. */
  readonly onLogits?: (pos: number, logits: Float32Array) => void;
  /** Called for each generated token: `index` 0..N-1, `pos` the position whose logits chose it. */
  readonly onToken?: (token: number, index: number, pos: number) => void;
}

/** Positions a run of `tokens` generated tokens after a `promptLength`-token prompt occupies. */
export const positionsNeeded = (promptLength: number, tokens: number): number => promptLength + tokens;

/** First index of the largest value (llama2.c's argmax: ties go to the lowest id). */
export function argmax(v: Float32Array): number {
  let best = 0;
  let max = v[0]!;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! > max) {
      max = v[i]!;
      best = i;
    }
  }
  return best;
}

/**
 * Checks a generation request against the model before anything runs; throws a RangeError
 * naming the problem (token id out of range, too many positions for seqLen).
 */
export function checkGenerate(config: ModelConfig, tokens: number, promptIds: readonly number[] = []): void {
  if (!Number.isInteger(tokens) || tokens < 1) throw new RangeError(`the number of tokens to generate must be a positive integer, got ${tokens}`);
  promptIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new RangeError(`prompt token ${i + 1} is ${id}, outside the vocabulary 0..${config.vocabSize - 1} of model ${config.name}`);
    }
  });
  const need = positionsNeeded(promptIds.length, tokens);
  if (need > config.seqLen) {
    throw new RangeError(
      `BOS + ${promptIds.length} prompt tokens + ${tokens} generated tokens need positions 0..${need - 1}, ` +
        `but model ${config.name} has seq_len ${config.seqLen} (at most ${config.seqLen - promptIds.length} tokens after this prompt)`,
    );
  }
}

/**
 * Greedy generation. Position 0 holds BOS; prompt ids are forced at positions 1..k whatever the
 * model predicts; then `tokens` ids are chosen by argmax (first index wins ties, as llama2.c).
 * The i-th generated id comes from the logits of position k + i and is fed at position k + i + 1
 * (the last one is never fed), so positions 0..k+N-1 are run and must all be < seqLen.
 *
 * Unlike llama2.c's `run`, generation does NOT stop when the model predicts BOS (id 1): exactly
 * `tokens` ids are returned and a generated BOS is fed back like any other token. This keeps the
 * output length (and a --dump-logits file) a function of the request alone, so engines can be
 * compared row by row. llama2.c's output is the prefix before the first generated 1.
 */
export function generate(engine: Engine, opts: GenerateOptions): number[] {
  const loop = generationLoop(engine, opts);
  for (let step = loop.next(); ; ) {
    if (step.done) return step.value;
    const r = step.value;
    step = loop.next(r.kind === 'prefill' ? engine.prefill!(r.tokens, r.pos) : engine.forward(r.token, r.pos));
  }
}

/** generate() for engines of either kind: the same loop, awaiting each step. */
export async function generateAsync(engine: Engine | AsyncEngine, opts: GenerateOptions): Promise<number[]> {
  const loop = generationLoop(engine, opts);
  for (let step = loop.next(); ; ) {
    if (step.done) return step.value;
    const r = step.value;
    step = loop.next(r.kind === 'prefill' ? await engine.prefill!(r.tokens, r.pos) : await engine.forward(r.token, r.pos));
  }
}

type Step = { kind: 'prefill'; tokens: number[]; pos: number } | { kind: 'forward'; token: number; pos: number };

/** The generation loop, written once: it yields the engine calls and receives their results. */
function* generationLoop(engine: { readonly config: ModelConfig; readonly prefill?: unknown }, opts: GenerateOptions): Generator<Step, number[], any> {
  const prompt = opts.promptIds ?? [];
  checkGenerate(engine.config, opts.tokens, prompt);
  const k = prompt.length;
  const out: number[] = [];
  const check = (logits: Float32Array, pos: number) => {
    if (logits.length !== engine.config.vocabSize) throw new Error(`engine returned ${logits.length} logits at position ${pos}, expected ${engine.config.vocabSize}`);
    opts.onLogits?.(pos, logits);
  };
  let token = BOS;
  let pos = 0;
  if (engine.prefill) {
    // BOS and the prompt in one go; the last row chooses the first generated token.
    const rows: Float32Array[] = yield { kind: 'prefill', tokens: [BOS, ...prompt], pos: 0 };
    rows.forEach((l, p) => check(l, p));
    pos = k + 1;
    token = argmax(rows[k]!);
    opts.onToken?.(token, 0, k);
    out.push(token);
  }
  for (; out.length < opts.tokens; pos++) {
    const logits: Float32Array = yield { kind: 'forward', token, pos };
    check(logits, pos);
    if (pos < k) {
      token = prompt[pos]!;
    } else {
      token = argmax(logits);
      opts.onToken?.(token, out.length, pos);
      out.push(token);
    }
  }
  return out;
}
