/*
 * Independent float32 reference for llama2.c "version 0" checkpoints, used by
 * test/model/float-ref.test.ts to cross-check src/model/float-ref.ts.
 *
 * Written from the format description in ../shared/models/README.md and the semantics spelled
 * out in src/model/float-ref.ts: plain C float arithmetic, one operation per statement order,
 * so that built with `gcc -O2 -ffp-contract=off` (no -ffast-math) every product and sum is a
 * float32 rounding in source order.
 *
 * Usage: ref CHECKPOINT TOKENS [LOGITS_OUT|-] [PROMPT_ID...]
 *   Position 0 holds BOS (1), prompt ids are forced at positions 1..k, then TOKENS ids are
 *   chosen greedily (argmax, lowest id wins ties) without stopping at BOS. Prints the generated
 *   ids on one line; LOGITS_OUT receives the k + TOKENS logits rows (float32, native order).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * -DLIBM_DOUBLE evaluates exp/sin/cos/pow in double and rounds the result to float, as
 * JavaScript's Math.exp/sin/cos/pow followed by Math.fround do; every other operation is the
 * same. Without it the float functions expf/sinf/cosf/powf are used (the llama2.c way).
 */
#ifdef LIBM_DOUBLE
#define EXPF(x) ((float)exp((double)(x)))
#define SINF(x) ((float)sin((double)(x)))
#define COSF(x) ((float)cos((double)(x)))
#define POWF(x, y) ((float)pow((double)(x), (double)(y)))
#else
#define EXPF expf
#define SINF sinf
#define COSF cosf
#define POWF powf
#endif

typedef struct {
  int dim, hidden, layers, heads, kv_heads, vocab, seq_len, shared;
  float *emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_out, *cls;
} Model;

static void die(const char *msg) {
  fprintf(stderr, "ref: %s\n", msg);
  exit(1);
}

static float *take(float **cursor, long n) {
  float *p = *cursor;
  *cursor += n;
  return p;
}

static void load(Model *m, const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) die("cannot open checkpoint");
  int hdr[7];
  if (fread(hdr, sizeof(int), 7, fp) != 7) die("short header");
  m->dim = hdr[0]; m->hidden = hdr[1]; m->layers = hdr[2]; m->heads = hdr[3];
  m->kv_heads = hdr[4]; m->shared = hdr[5] > 0; m->vocab = abs(hdr[5]); m->seq_len = hdr[6];
  fseek(fp, 0, SEEK_END);
  long bytes = ftell(fp) - 7 * (long)sizeof(int);
  fseek(fp, 7 * (long)sizeof(int), SEEK_SET);
  float *all = malloc(bytes);
  if (!all || fread(all, 1, bytes, fp) != (size_t)bytes) die("cannot read weights");
  fclose(fp);
  long D = m->dim, H = m->hidden, L = m->layers, KV = m->dim / m->heads * m->kv_heads;
  long hs = m->dim / m->heads;
  float *c = all;
  m->emb = take(&c, m->vocab * D);
  m->rms_att = take(&c, L * D);
  m->wq = take(&c, L * D * D);
  m->wk = take(&c, L * KV * D);
  m->wv = take(&c, L * KV * D);
  m->wo = take(&c, L * D * D);
  m->rms_ffn = take(&c, L * D);
  m->w1 = take(&c, L * H * D);
  m->w2 = take(&c, L * D * H);
  m->w3 = take(&c, L * H * D);
  m->rms_out = take(&c, D);
  take(&c, m->seq_len * hs); /* legacy RoPE tables: unused */
  m->cls = m->shared ? m->emb : take(&c, m->vocab * D);
  if ((c - all) * (long)sizeof(float) != bytes) die("file size does not match the header");
}

/* y[r] = sum over c of W[r][c] * x[c], rows x cols, row-major. */
static void mv(float *y, const float *W, const float *x, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    const float *row = W + (long)r * cols;
    float s = 0.0f;
    for (int c = 0; c < cols; c++) s += row[c] * x[c];
    y[r] = s;
  }
}

static void norm(float *y, const float *x, const float *g, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += x[i] * x[i];
  s /= n;
  s += 1e-5f;
  s = 1.0f / sqrtf(s);
  for (int i = 0; i < n; i++) y[i] = g[i] * (s * x[i]);
}

static void rotate(float *vec, int n, int hs, int pos) {
  for (int i = 0; i < n; i += 2) {
    float e = (float)(i % hs) / (float)hs;
    float freq = 1.0f / POWF(10000.0f, e);
    float angle = (float)pos * freq;
    float c = COSF(angle), s = SINF(angle);
    float a = vec[i], b = vec[i + 1];
    vec[i] = a * c - b * s;
    vec[i + 1] = a * s + b * c;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) die("usage: ref CHECKPOINT TOKENS [LOGITS_OUT|-] [PROMPT_ID...]");
  Model m;
  load(&m, argv[1]);
  int ntok = atoi(argv[2]);
  FILE *lout = NULL;
  if (argc > 3 && strcmp(argv[3], "-") != 0) {
    lout = fopen(argv[3], "wb");
    if (!lout) die("cannot write logits");
  }
  int nprompt = argc > 4 ? argc - 4 : 0;
  int *prompt = malloc(sizeof(int) * (nprompt + 1));
  for (int i = 0; i < nprompt; i++) prompt[i] = atoi(argv[4 + i]);
  if (nprompt + ntok > m.seq_len) die("too many positions");

  int D = m.dim, H = m.hidden, hs = m.dim / m.heads, KV = hs * m.kv_heads;
  int group = m.heads / m.kv_heads;
  float *x = calloc(D, 4), *t = calloc(D, 4), *t2 = calloc(D, 4), *q = calloc(D, 4);
  float *g = calloc(H, 4), *u = calloc(H, 4), *sc = calloc(m.seq_len, 4), *out = calloc(m.vocab, 4);
  float *kc = calloc((long)m.layers * m.seq_len * KV, 4), *vc = calloc((long)m.layers * m.seq_len * KV, 4);
  float root = sqrtf((float)hs);

  int tok = 1, made = 0;
  for (int pos = 0; made < ntok; pos++) {
    memcpy(x, m.emb + (long)tok * D, D * sizeof(float));
    for (int l = 0; l < m.layers; l++) {
      float *K = kc + ((long)l * m.seq_len + pos) * KV;
      float *V = vc + ((long)l * m.seq_len + pos) * KV;
      norm(t, x, m.rms_att + (long)l * D, D);
      mv(q, m.wq + (long)l * D * D, t, D, D);
      mv(K, m.wk + (long)l * KV * D, t, KV, D);
      mv(V, m.wv + (long)l * KV * D, t, KV, D);
      rotate(q, D, hs, pos);
      rotate(K, KV, hs, pos);
      for (int h = 0; h < m.heads; h++) {
        const float *qh = q + h * hs;
        int kvh = h / group;
        float mx = -INFINITY;
        for (int p = 0; p <= pos; p++) {
          const float *kp = kc + ((long)l * m.seq_len + p) * KV + kvh * hs;
          float d = 0.0f;
          for (int i = 0; i < hs; i++) d += qh[i] * kp[i];
          d /= root;
          sc[p] = d;
          if (p == 0 || d > mx) mx = d;
        }
        float tot = 0.0f;
        for (int p = 0; p <= pos; p++) {
          sc[p] = EXPF(sc[p] - mx);
          tot += sc[p];
        }
        for (int p = 0; p <= pos; p++) sc[p] /= tot;
        float *oh = t + h * hs;
        for (int i = 0; i < hs; i++) oh[i] = 0.0f;
        for (int p = 0; p <= pos; p++) {
          const float *vp = vc + ((long)l * m.seq_len + p) * KV + kvh * hs;
          for (int i = 0; i < hs; i++) oh[i] += sc[p] * vp[i];
        }
      }
      mv(t2, m.wo + (long)l * D * D, t, D, D);
      for (int i = 0; i < D; i++) x[i] += t2[i];
      norm(t, x, m.rms_ffn + (long)l * D, D);
      mv(g, m.w1 + (long)l * H * D, t, H, D);
      mv(u, m.w3 + (long)l * H * D, t, H, D);
      for (int i = 0; i < H; i++) {
        float a = g[i];
        a = a * (1.0f / (1.0f + EXPF(-a)));
        g[i] = a * u[i];
      }
      mv(t2, m.w2 + (long)l * D * H, g, D, H);
      for (int i = 0; i < D; i++) x[i] += t2[i];
    }
    norm(x, x, m.rms_out, D);
    mv(out, m.cls, x, m.vocab, D);
    if (lout && fwrite(out, 4, m.vocab, lout) != (size_t)m.vocab) die("cannot write logits");
    if (pos < nprompt) {
      tok = prompt[pos];
    } else {
      int best = 0;
      for (int i = 1; i < m.vocab; i++)
        if (out[i] > out[best]) best = i;
      printf(made ? " %d" : "%d", best);
      made++;
      tok = best;
    }
  }
  printf("\n");
  if (lout) fclose(lout);
  return 0;
}
