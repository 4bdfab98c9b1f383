/**
 * Float32 reference forward pass of a llama2.c model, with llama2.c's semantics and float32
 * rounding: every multiply, add and divide is rounded to float32 (Math.fround) in the order a
 * straightforward C float program performs it (no FMA contraction, no reassociation):
 *
 * - matmul: out[i] = sum_j W[i][j] * x[j], accumulated j = 0..n-1 from 0.0f;
 * - RMSNorm: ss = sum x*x sequentially; ss /= n; ss += 1e-5f; ss = 1/sqrtf(ss); out = w * (ss * x);
 * - RoPE on pairs (i, i+1) of each head: freq = 1/powf(theta, (i % hs)/hs), val = pos * freq,
 *   rotating q for all dims and k for i < kvDim;
 * - grouped-query attention: query head h reads kv head floor(h / (nHeads/nKvHeads));
 *   score = dot(q, k) / sqrtf(hs); softmax over positions 0..pos (max-subtract, expf, sum, divide);
 *   output = sum_t att[t] * v[t], accumulated t = 0..pos;
 * - SwiGLU: hb = silu(w1 x) * (w3 x) with silu(v) = v * (1/(1 + expf(-v))); w2; residual adds;
 * - final RMSNorm, logits = wcls x.
 *
 * The results therefore equal those of a C float32 program built with gcc -O2 (x86-64, no
 * -ffast-math) bit for bit, except where expf/sinf/cosf/powf in libm and Math.exp/sin/cos/pow
 * rounded to float32 differ (at most 1 ulp, rarely). test/model/c-ref/ref.c is such a program.
 */
import { headSize, kvDim, validateModel, type ModelConfig } from './config.ts';
import type { Engine } from './engine.ts';
import type { ModelWeights } from './weights.ts';

const f = Math.fround;

/** Sees intermediate tensors (calibration): rmsnorm outputs, q/k after RoPE, v, attention output, FFN product, final norm. */
export type Observer = (tensor: 'xn' | 'q' | 'k' | 'v' | 'ao' | 'xn2' | 'hm' | 'xf', layer: number, values: Float32Array) => void;

/** out[i] = sum_{j<n} w[i*n + j] * x[j] for i < d, each term and partial sum rounded to float32. */
export function matmul(out: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    const base = i * n;
    let acc = 0;
    for (let j = 0; j < n; j++) acc = f(acc + f(w[base + j]! * x[j]!));
    out[i] = acc;
  }
}

/** llama2.c RMSNorm in float32: out = w * (x / sqrt(mean(x^2) + eps)). `out` may alias `x`. */
export function rmsnorm(out: Float32Array, x: Float32Array, w: Float32Array, n: number, eps: number): void {
  let ss = 0;
  for (let j = 0; j < n; j++) ss = f(ss + f(x[j]! * x[j]!));
  ss = f(ss / n);
  ss = f(ss + f(eps));
  ss = f(1 / f(Math.sqrt(ss)));
  for (let j = 0; j < n; j++) out[j] = f(w[j]! * f(ss * x[j]!));
}

/** In-place softmax of x[0..n-1] in float32 (max-subtract, exp, sequential sum, divide). */
export function softmax(x: Float32Array, n: number): void {
  let max = x[0]!;
  for (let i = 1; i < n; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = f(Math.exp(f(x[i]! - max)));
    x[i] = e;
    sum = f(sum + e);
  }
  for (let i = 0; i < n; i++) x[i] = f(x[i]! / sum);
}

/** The float32 reference engine (llama family only). Keeps a KV cache per layer. */
export class FloatEngine implements Engine {
  readonly config: ModelConfig;
  private readonly w: ModelWeights;
  private readonly hs: number;
  private readonly kvDim: number;
  /** freq[i / 2] for the pair starting at head dimension i (float32, as powf would give). */
  private readonly freq: Float32Array;
  private readonly keyCache: Float32Array[];
  private readonly valueCache: Float32Array[];
  // Activations (reused between calls).
  private readonly x: Float32Array;
  private readonly xb: Float32Array;
  private readonly xb2: Float32Array;
  private readonly q: Float32Array;
  private readonly k: Float32Array;
  private readonly v: Float32Array;
  private readonly hb: Float32Array;
  private readonly hb2: Float32Array;
  private readonly att: Float32Array;
  private readonly cos: Float32Array;
  private readonly sin: Float32Array;
  private readonly logits: Float32Array;
  /** Positions 0..next-1 are in the KV cache. */
  private next = 0;

  constructor(weights: ModelWeights, private readonly observe?: Observer) {
    const c = weights.config;
    validateModel(c);
    if (c.family !== 'llama') throw new RangeError(`the float engine runs llama-family models; model ${c.name} is ${c.family}`);
    this.config = c;
    this.w = weights;
    this.hs = headSize(c);
    this.kvDim = kvDim(c);
    const hs = this.hs;
    const theta = f(c.ropeTheta);
    this.freq = new Float32Array(hs / 2);
    for (let i = 0; i < hs; i += 2) this.freq[i / 2] = f(1 / f(Math.pow(theta, f(i / hs))));
    this.keyCache = Array.from({ length: c.nLayers }, () => new Float32Array(c.seqLen * this.kvDim));
    this.valueCache = Array.from({ length: c.nLayers }, () => new Float32Array(c.seqLen * this.kvDim));
    this.x = new Float32Array(c.dim);
    this.xb = new Float32Array(c.dim);
    this.xb2 = new Float32Array(c.dim);
    this.q = new Float32Array(c.dim);
    this.k = new Float32Array(this.kvDim);
    this.v = new Float32Array(this.kvDim);
    this.hb = new Float32Array(c.hiddenDim);
    this.hb2 = new Float32Array(c.hiddenDim);
    this.att = new Float32Array(c.seqLen);
    this.cos = new Float32Array(hs / 2);
    this.sin = new Float32Array(hs / 2);
    this.logits = new Float32Array(c.vocabSize);
  }

  /** Rotates consecutive pairs of each head of `vec[0..n-1]` by the angles of this position. */
  private rope(vec: Float32Array, n: number): void {
    const hs = this.hs;
    for (let i = 0; i < n; i += 2) {
      const p = (i % hs) / 2;
      const fcr = this.cos[p]!;
      const fci = this.sin[p]!;
      const v0 = vec[i]!;
      const v1 = vec[i + 1]!;
      vec[i] = f(f(v0 * fcr) - f(v1 * fci));
      vec[i + 1] = f(f(v0 * fci) + f(v1 * fcr));
    }
  }

  forward(token: number, pos: number): Float32Array {
    const c = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token id ${token} is outside the vocabulary 0..${c.vocabSize - 1}`);
    if (!Number.isInteger(pos) || pos < 0 || pos >= c.seqLen) throw new RangeError(`position ${pos} is outside 0..${c.seqLen - 1} (seq_len ${c.seqLen})`);
    if (pos > this.next) throw new RangeError(`position ${pos} skips positions ${this.next}..${pos - 1}: feed positions in order`);
    this.next = pos + 1;

    const { dim, hiddenDim, nHeads } = c;
    const { hs, kvDim: kvd, x, xb, xb2, q, k, v, hb, hb2, att } = this;
    const kvMul = nHeads / c.nKvHeads;
    const scale = f(Math.sqrt(hs));
    const eps = c.normEps;

    for (let p = 0; p < hs / 2; p++) {
      const val = f(pos * this.freq[p]!);
      this.cos[p] = f(Math.cos(val));
      this.sin[p] = f(Math.sin(val));
    }

    x.set(this.w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));

    for (let l = 0; l < c.nLayers; l++) {
      const lw = this.w.layers[l]!;
      // Attention.
      rmsnorm(xb, x, lw.rmsAtt, dim, eps);
      matmul(q, xb, lw.wq, dim, dim);
      matmul(k, xb, lw.wk, dim, kvd);
      matmul(v, xb, lw.wv, dim, kvd);
      this.rope(q, dim);
      this.rope(k, kvd);
      if (this.observe) {
        this.observe('xn', l, xb);
        this.observe('q', l, q);
        this.observe('k', l, k);
        this.observe('v', l, v);
      }
      const kc = this.keyCache[l]!;
      const vc = this.valueCache[l]!;
      kc.set(k, pos * kvd);
      vc.set(v, pos * kvd);

      for (let h = 0; h < nHeads; h++) {
        const qo = h * hs;
        const kvo = Math.floor(h / kvMul) * hs;
        for (let t = 0; t <= pos; t++) {
          const ko = t * kvd + kvo;
          let s = 0;
          for (let i = 0; i < hs; i++) s = f(s + f(q[qo + i]! * kc[ko + i]!));
          att[t] = f(s / scale);
        }
        softmax(att, pos + 1);
        for (let i = 0; i < hs; i++) xb[qo + i] = 0;
        for (let t = 0; t <= pos; t++) {
          const a = att[t]!;
          const vo = t * kvd + kvo;
          for (let i = 0; i < hs; i++) xb[qo + i] = f(xb[qo + i]! + f(a * vc[vo + i]!));
        }
      }
      this.observe?.('ao', l, xb);
      matmul(xb2, xb, lw.wo, dim, dim);
      for (let i = 0; i < dim; i++) x[i] = f(x[i]! + xb2[i]!);

      // SwiGLU feed-forward.
      rmsnorm(xb, x, lw.rmsFfn, dim, eps);
      this.observe?.('xn2', l, xb);
      matmul(hb, xb, lw.w1, dim, hiddenDim);
      matmul(hb2, xb, lw.w3, dim, hiddenDim);
      for (let i = 0; i < hiddenDim; i++) {
        const val = hb[i]!;
        const sig = f(1 / f(1 + f(Math.exp(-val))));
        hb[i] = f(f(val * sig) * hb2[i]!);
      }
      this.observe?.('hm', l, hb);
      matmul(xb, hb, lw.w2, hiddenDim, dim);
      for (let i = 0; i < dim; i++) x[i] = f(x[i]! + xb[i]!);
    }

    rmsnorm(x, x, this.w.rmsFinal, dim, eps);
    this.observe?.('xf', 0, x);
    matmul(this.logits, x, this.w.wcls, dim, c.vocabSize);
    return this.logits;
  }
}
