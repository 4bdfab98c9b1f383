import { join } from 'node:path';
import { DEFAULT_CONFIG, type GenConfig } from '../../src/arch/config.ts';
import { argmax, generate } from '../../src/model/engine.ts';
import { FloatEngine } from '../../src/model/float-ref.ts';
import type { Engine } from '../../src/model/engine.ts';
import type { ModelWeights } from '../../src/model/weights.ts';

export const STORIES = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'stories260K.bin');

/** A small accelerator (4 chains of 16, INT16 activations, 16-bit weight lanes) for fast golden runs. */
export const SMALL_HW: GenConfig = { ...DEFAULT_CONFIG, chains: 4, chainLength: 16, actWidth: 16, weightWidth: 16, weightDepth: 1024, kvDepth: 1 << 16 };

/** Teacher-forced comparison over the float engine's own greedy sequence: top-1 agreement and mean KL(float || engine). */
export function agreement(w: ModelWeights, engine: Engine, positions: number): { top1: number; meanKl: number } {
  const ref: Float32Array[] = [];
  const toks = generate(new FloatEngine(w), { tokens: positions, onLogits: (_, l) => ref.push(Float32Array.from(l)) });
  const forced = [1, ...toks];
  let agree = 0;
  let kl = 0;
  const softmax = (x: Float32Array) => {
    let m = -Infinity;
    for (const v of x) m = Math.max(m, v);
    const e = Array.from(x, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  for (let p = 0; p < positions; p++) {
    const l = engine.forward(forced[p]!, p);
    if (argmax(l) === argmax(ref[p]!)) agree++;
    const P = softmax(ref[p]!);
    const Q = softmax(l);
    kl += P.reduce((a, pv, i) => a + (pv > 0 ? pv * Math.log(pv / Math.max(Q[i]!, 1e-30)) : 0), 0);
  }
  return { top1: agree / positions, meanKl: kl / positions };
}
