/* attnviz-forward.c: the forward pass, one generic transformer
 *
 * All matrix products run over the whole sequence at once through
 * cblas_sgemm (OpenBLAS brings its own threads).  The attention
 * probabilities are written straight into the recording when that layer
 * and head are recorded, into a scratch (T, T) matrix otherwise.
 *
 * What OpenBLAS does not run (softmax rows, activations, norms, the loss)
 * is split over the same number of threads by parallel_for(), which never
 * calls BLAS: the two kinds of work take turns and never compete for the
 * cores.  Every element is computed by the same code whichever thread
 * takes it, so the results do not depend on the number of threads.
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "attnviz-forward.h"

/* ---------------------------------------------------------------- threads */

/* Called on [start, end) of the items of a parallel_for(). */
typedef void (*RangeFunc) (gpointer data, gsize start, gsize end);

/* One parallel_for(): the chunks go to whichever thread asks first, so a
 * helper that wakes late costs nothing but its share.  Helpers hold a
 * reference, since one may start after the caller has returned. */
typedef struct {
  RangeFunc func;
  gpointer data;
  gsize n;
  gsize grain;        /* items per chunk */
  int n_chunks;
  int next;           /* atomic: next chunk to take */
  int done;           /* atomic: chunks finished */
  GMutex lock;
  GCond finished;
} ParallelJob;

static void
parallel_job_clear (gpointer data)
{
  ParallelJob *job = data;
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->finished);
}

static void
parallel_job_run (ParallelJob *job)
{
  for (;;)
    {
      int i = g_atomic_int_add (&job->next, 1);
      if (i >= job->n_chunks)
        return;
      gsize start = (gsize) i * job->grain;
      job->func (job->data, start, MIN (start + job->grain, job->n));
      if (g_atomic_int_add (&job->done, 1) + 1 == job->n_chunks)
        {
          g_mutex_lock (&job->lock);
          g_cond_signal (&job->finished);
          g_mutex_unlock (&job->lock);
        }
    }
}

static void
parallel_helper (gpointer data, gpointer user_data)
{
  ParallelJob *job = data;
  parallel_job_run (job);
  g_atomic_rc_box_release_full (job, parallel_job_clear);
}

/* Helper threads beside the caller: one fewer than the cores.  They sleep
 * on the pool's queue between jobs, so they do not spin against
 * OpenBLAS's own threads. */
static GThreadPool *
helper_pool (void)
{
  static GThreadPool *pool;
  if (g_once_init_enter (&pool))
    {
      int n = MAX (g_get_num_processors () - 1, 1);
      g_once_init_leave (&pool, g_thread_pool_new (parallel_helper, NULL, n, TRUE, NULL));
    }
  return pool;
}

/* As many threads as OpenBLAS uses (so `--threads` and OPENBLAS_NUM_THREADS
 * hold for all of the run), never more than the cores. */
static int
n_compute_threads (void)
{
  return CLAMP (MIN (openblas_get_num_threads (), (int) g_get_num_processors ()), 1, 64);
}

/* Runs FUNC over the N items in chunks of GRAIN, on the calling thread and
 * the helpers.  Small jobs stay on the calling thread. */
static void
parallel_for (gsize n, gsize grain, RangeFunc func, gpointer data)
{
  grain = MAX (grain, 1);
  gsize n_chunks = (n + grain - 1) / grain;
  int n_threads = n_compute_threads ();
  if (n_chunks < 2 || n_threads < 2 || n_chunks > G_MAXINT)
    {
      if (n > 0)
        func (data, 0, n);
      return;
    }
  int n_helpers = (int) MIN ((gsize) n_threads - 1, n_chunks - 1);

  ParallelJob *job = g_atomic_rc_box_new0 (ParallelJob);
  job->func = func;
  job->data = data;
  job->n = n;
  job->grain = grain;
  job->n_chunks = (int) n_chunks;
  g_mutex_init (&job->lock);
  g_cond_init (&job->finished);
  GThreadPool *pool = helper_pool ();
  for (int i = 0; i < n_helpers; i++)
    g_thread_pool_push (pool, g_atomic_rc_box_acquire (job), NULL);

  parallel_job_run (job);
  g_mutex_lock (&job->lock);
  while (g_atomic_int_get (&job->done) < job->n_chunks)
    g_cond_wait (&job->finished, &job->lock);
  g_mutex_unlock (&job->lock);
  g_atomic_rc_box_release_full (job, parallel_job_clear);
}

/* ---------------------------------------------------------------- memory */

/* Asks for transparent huge pages for a large buffer about to be filled.
 * A run writes its recording into fresh memory (800 MB at T = 1024 for
 * GPT-2), and taking that 4 KiB page fault by page fault costs as much as
 * a tenth of the forward pass; 2 MiB pages cut the faults 512-fold.  Only
 * a hint: nothing changes where the kernel does not take it. */
static void
advise_huge_pages (void *p, gsize bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  long page = sysconf (_SC_PAGESIZE);
  if (p == NULL || page <= 0 || bytes < (4 << 20))
    return;
  guintptr start = ((guintptr) p + page - 1) & ~(guintptr) (page - 1);
  guintptr end = ((guintptr) p + bytes) & ~(guintptr) (page - 1);
  if (end > start)
    madvise ((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/* ---------------------------------------------------------------- exp */

/* The exponentials (softmax, loss, GELU: some 160 million of them at
 * T = 1024 for GPT-2) run four at a time.  e^x is taken in double:
 * x = n ln2 + y with |y| <= ln2 / 2, e^y by its Taylor series to y^8
 * (relative error under 3e-10), 2^n put straight into the exponent bits.
 * Rounded once to float that is within 0.504 ulp over every float input
 * (glibc's expf: 0.502; the two differ by one ulp for 0.008% of inputs),
 * with expf's edge cases: e^-inf = 0, e^+inf = inf, NaN stays NaN, and
 * underflow and overflow happen in the rounding to float.
 *
 * The vector types are GCC's (Clang has them too); the compiler lowers
 * them to whatever the target has (SSE2 at the x86-64 baseline), and
 * x86-64 gets an AVX2 clone of each loop, chosen when the program starts.
 * There is no FMA contraction in ISO C mode, so every clone computes the
 * same bits. */
#define LANES 4

typedef float vsf __attribute__ ((vector_size (LANES * sizeof (float))));
typedef gint32 vsi __attribute__ ((vector_size (LANES * sizeof (gint32))));
typedef double vdf __attribute__ ((vector_size (LANES * sizeof (double))));
typedef gint64 vdi __attribute__ ((vector_size (LANES * sizeof (gint64))));

#define SPLAT(v) { v, v, v, v }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define SIMD_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define SIMD_CLONES
#endif

/* Vectors pass by value only between these static inline helpers, never
 * across a call the ABI governs. */
#pragma GCC diagnostic ignored "-Wpsabi"

static inline vdf
select_vdf (vdi mask, vdf a, vdf b)
{
  return (vdf) (((vdi) a & mask) | ((vdi) b & ~mask));
}

/* e^x, in double. */
static inline vdf
exp_vdf (vdf x)
{
  const vdf lo = SPLAT (-104.0);   /* e^-104 rounds to 0 in float */
  const vdf hi = SPLAT (89.0);     /* e^89 rounds to inf */
  const vdf shift = SPLAT (0x1.8p52);
  /* NaN fails both tests and goes through as NaN. */
  x = select_vdf (x < lo, lo, x);
  x = select_vdf (x > hi, hi, x);
  vdf kd = x * M_LOG2E + shift;  /* round (x / ln2) in the low bits */
  vdi ki = (vdi) kd;
  kd -= shift;
  vdf y = x - kd * M_LN2;
  /* Estrin's scheme: a shorter chain of dependent operations than Horner's. */
  vdf y2 = y * y, y4 = y2 * y2;
  vdf p = ((1.0 + y) + (0.5 + y * (1.0 / 6)) * y2)
          + (((1.0 / 24) + y * (1.0 / 120)) + ((1.0 / 720) + y * (1.0 / 5040)) * y2) * y4
          + (1.0 / 40320) * (y4 * y4);
  vdi bits = (ki + 1023) << 52;         /* 2^n, n in [-150, 128] */
  return p * (vdf) bits;
}

static inline vdf
widen (vsf v)
{
  return __builtin_convertvector (v, vdf);
}

static inline vsf
narrow (vdf v)
{
  return __builtin_convertvector (v, vsf);
}

static inline vsf
load_vsf (const float *x)
{
  vsf v;
  memcpy (&v, x, sizeof v);
  return v;
}

static inline void
store_vsf (float *x, vsf v)
{
  memcpy (x, &v, sizeof v);
}

/* The N < LANES values left at the end of an array go through a vector
 * padded with PAD, so they get the same arithmetic as the rest. */
static inline vsf
load_tail (const float *x, gsize n, float pad)
{
  vsf v = SPLAT (pad);
  for (gsize l = 0; l < n; l++)
    v[l] = x[l];
  return v;
}

static inline void
store_tail (float *x, gsize n, vsf v)
{
  for (gsize l = 0; l < n; l++)
    x[l] = v[l];
}

static inline double
sum_lanes (vdf v)
{
  double total = 0.0;
  for (int l = 0; l < LANES; l++)
    total += v[l];
  return total;
}

static inline vsf
max_vsf (vsf m, vsf v)
{
  vsi gt = v > m;
  return (vsf) (((vsi) v & gt) | ((vsi) m & ~gt));
}

/* The largest of X[0..N), NaN ignored, -inf when empty. */
SIMD_CLONES static float
max_of (const float *x, gsize n)
{
  vsf m = SPLAT (-INFINITY);
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    m = max_vsf (m, load_vsf (x + i));
  m = max_vsf (m, load_tail (x + i, n - i, -INFINITY));
  float max = -INFINITY;
  for (int l = 0; l < LANES; l++)
    max = m[l] > max ? m[l] : max;
  return max;
}

/* X[i] = e^(X[i] - SHIFT) over X[0..N); returns their sum. */
SIMD_CLONES static double
exp_shifted (float *x, gsize n, float shift)
{
  vdf sum = SPLAT (0.0);
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    {
      vdf e = exp_vdf (widen (load_vsf (x + i)) - shift);
      sum += e;
      store_vsf (x + i, narrow (e));
    }
  if (i < n)
    {
      vdf e = exp_vdf (widen (load_tail (x + i, n - i, -INFINITY)) - shift);
      sum += e;
      store_tail (x + i, n - i, narrow (e));
    }
  return sum_lanes (sum);
}

/* The sum of e^(X[i] - SHIFT) over X[0..N), nothing stored. */
SIMD_CLONES static double
sum_exp_shifted (const float *x, gsize n, float shift)
{
  vdf sum = SPLAT (0.0);
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    sum += exp_vdf (widen (load_vsf (x + i)) - shift);
  if (i < n)
    sum += exp_vdf (widen (load_tail (x + i, n - i, -INFINITY)) - shift);
  return sum_lanes (sum);
}

SIMD_CLONES static void
scale_array (float *x, gsize n, float factor)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    store_vsf (x + i, load_vsf (x + i) * factor);
  for (; i < n; i++)
    x[i] *= factor;
}

/* GPT-2's 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3), as
 * x / (1 + e^-2u): the same function (1 + tanh u = 2 / (1 + e^-2u)), with
 * no cancellation in 1 + tanh u for negative x.  u in float as PyTorch. */
static inline vsf
gelu_tanh_vsf (vsf v)
{
  const float k = 0.7978845608028654f; /* sqrt(2/pi) */
  vsf u = k * (v + 0.044715f * v * v * v);
  return narrow (widen (v) / (1.0 + exp_vdf (widen (-2.0f * u))));
}

SIMD_CLONES static void
gelu_tanh_array (float *x, gsize n)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    store_vsf (x + i, gelu_tanh_vsf (load_vsf (x + i)));
  if (i < n)
    store_tail (x + i, n - i, gelu_tanh_vsf (load_tail (x + i, n - i, 0.0f)));
}

/* SiLU x / (1 + e^-x). */
static inline vsf
silu_vsf (vsf v)
{
  vdf vd = widen (v);
  return narrow (vd / (1.0 + exp_vdf (-vd)));
}

SIMD_CLONES static void
silu_array (float *x, gsize n)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    store_vsf (x + i, silu_vsf (load_vsf (x + i)));
  if (i < n)
    store_tail (x + i, n - i, silu_vsf (load_tail (x + i, n - i, 0.0f)));
}

/* ---------------------------------------------------------------- kernels */

void
attnviz_layernorm (float *out, const float *x, const float *w, const float *b, int n, float eps)
{
  double mean = 0.0, var = 0.0;
  for (int i = 0; i < n; i++)
    mean += x[i];
  mean /= n;
  for (int i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  float inv = (float) (1.0 / sqrt (var + eps));
  for (int i = 0; i < n; i++)
    out[i] = (float) (x[i] - mean) * inv * w[i] + (b ? b[i] : 0.0f);
}

void
attnviz_rmsnorm (float *out, const float *x, const float *w, int n, float eps)
{
  double ss = 0.0;
  for (int i = 0; i < n; i++)
    ss += (double) x[i] * x[i];
  float inv = (float) (1.0 / sqrt (ss / n + eps));
  for (int i = 0; i < n; i++)
    out[i] = w[i] * (x[i] * inv);
}

void
attnviz_softmax (float *x, int n)
{
  float max = max_of (x, n);
  if (max == -INFINITY)
    {
      /* Every key masked: the query reads nothing. */
      memset (x, 0, sizeof (float) * n);
      return;
    }
  scale_array (x, n, (float) (1.0 / exp_shifted (x, n, max)));
}

void
attnviz_linear (float *out, const float *in, const AttnvizLinear *lin, int T)
{
  float beta = 0.0f;
  if (lin->b != NULL)
    {
      for (int t = 0; t < T; t++)
        memcpy (out + (gsize) t * lin->n_out, lin->b, sizeof (float) * lin->n_out);
      beta = 1.0f;
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, lin->in_out ? CblasNoTrans : CblasTrans,
               T, lin->n_out, lin->n_in, 1.0f, in, lin->n_in, lin->w, lin->ld, beta, out, lin->n_out);
}

typedef struct {
  float *x;
  AttnvizActivation act;
} ActivateJob;

static void
activate_range (gpointer data, gsize start, gsize end)
{
  const ActivateJob *job = data;
  float *x = job->x;
  switch (job->act)
    {
    case ATTNVIZ_ACT_GELU_TANH:
      gelu_tanh_array (x + start, end - start);
      break;
    case ATTNVIZ_ACT_GELU_ERF:
      for (gsize i = start; i < end; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
      break;
    case ATTNVIZ_ACT_SILU:
      silu_array (x + start, end - start);
      break;
    case ATTNVIZ_ACT_RELU:
      for (gsize i = start; i < end; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
activate (float *x, gsize n, AttnvizActivation act)
{
  ActivateJob job = { x, act };
  parallel_for (n, 16384, activate_range, &job);
}

typedef struct {
  const AttnvizConfig *c;
  float *out;       /* (T, d_model) */
  const float *x;   /* (T, d_model), may be OUT */
  const float *w;
  const float *b;
} NormJob;

static void
norm_range (gpointer data, gsize start, gsize end)
{
  const NormJob *job = data;
  const AttnvizConfig *c = job->c;
  gsize d = c->d_model;
  for (gsize t = start; t < end; t++)
    {
      if (c->norm == ATTNVIZ_NORM_RMSNORM)
        attnviz_rmsnorm (job->out + t * d, job->x + t * d, job->w, d, c->norm_eps);
      else
        attnviz_layernorm (job->out + t * d, job->x + t * d, job->w, job->b, d, c->norm_eps);
    }
}

static void
norm_rows (const AttnvizConfig *c, float *out, const float *x, const float *w, const float *b, int T)
{
  NormJob job = { c, out, x, w, b };
  parallel_for (T, 16, norm_range, &job);
}

/* Hugging Face rotate-half RoPE over the N_HEADS heads of each row of X
 * (T, n_heads * head_dim), in place. */
static void
rope (float *x, int T, int n_heads, int head_dim, const gint32 *positions, const float *inv_freq)
{
  int half = head_dim / 2;
  for (int t = 0; t < T; t++)
    {
      float pos = (float) (positions ? positions[t] : t);
      for (int i = 0; i < half; i++)
        {
          float angle = pos * inv_freq[i];
          float c = cosf (angle), s = sinf (angle);
          for (int h = 0; h < n_heads; h++)
            {
              float *v = x + (gsize) t * n_heads * head_dim + (gsize) h * head_dim;
              float a = v[i], b = v[i + half];
              v[i] = a * c - b * s;
              v[i + half] = b * c + a * s;
            }
        }
    }
}

/* What a run computes differently from the model as it is: the variant
 * resolved against the model's own description. */
typedef struct {
  gboolean causal;          /* self-attention mask */
  int window;               /* > 0: |i - j| < window */
  int stride;               /* > 0: |i - j| < stride or |i - j| % stride == 0 */
  AttnvizScoreKind score;
  float scale;              /* dot-product scores */
  AttnvizPositionKind pos;  /* how positions enter */
  const gint32 *positions;  /* (T) position ids, or NULL: 0 .. T-1 */
  guint8 *key_mask;         /* (T) owned, NULL: every key */
  const AttnvizVariant *variant;
} Effective;

typedef struct {
  const AttnvizModel *model;
  const AttnvizRunOptions *opt;
  const Effective *eff;
  int T;
  float *x;        /* (T, d_model) the residual stream */
  float *h;        /* (T, d_model) normed input of a block */
  float *q;        /* (T, n_head * head_dim) */
  float *k;        /* (max(T, S), n_kv_head * head_dim) */
  float *v;        /* (max(T, S), n_kv_head * head_dim) */
  float *att;      /* (T, n_head * head_dim) attention output before o-proj */
  float *tmp;      /* (T, d_model) */
  float *ff;       /* (T, d_ff) */
  float *ff2;      /* (T, d_ff) gate, gated MLPs only */
  float *scratch;  /* (T, max(T, S)) probabilities of a head not recorded */
  float *inv_freq; /* (head_dim / 2) RoPE */
} RunState;

/* One attention: Tq queries over Tk keys, every head. */
typedef struct {
  int Tq, Tk;
  const float *q; int ldq;  /* (Tq, ldq): head h at column h * head_dim */
  const float *k; int ldk;  /* (Tk, ldk): KV head g at column g * head_dim */
  const float *v; int ldv;
  float *out; int ldo;      /* (Tq, ldo) */
  int n_head, group, hd;
  gboolean causal;          /* key j visible to query i only when j <= i */
  int window, stride;
  const guint8 *key_mask;   /* (Tk) or NULL */
  AttnvizScoreKind score;
  float scale;
  const float *score_v;     /* (n_head, hd) additive scoring */
} AttnArgs;

/* Query rows a causal Q K^T and P V take at once.  Row block [i0, i1)
 * only attends to keys [0, i1): the blocks above the diagonal, all masked,
 * are never computed. */
#define CAUSAL_BLOCK 128

/* Softmax elements a thread takes at once: smaller jobs stay on one thread. */
#define SOFTMAX_GRAIN 16384

typedef struct {
  const AttnArgs *a;
  int head;
  float *P;                 /* (Tq, Tk) scores in, probabilities out */
} HeadJob;

static inline gboolean
key_visible (const AttnArgs *a, int i, int j)
{
  int dist = abs (i - j);
  if (a->key_mask && !a->key_mask[j])
    return FALSE;
  if (a->window > 0 && dist >= a->window)
    return FALSE;
  if (a->stride > 0 && dist >= a->stride && dist % a->stride != 0)
    return FALSE;
  return TRUE;
}

/* Bahdanau scores v_h . tanh(q_i + k_j) for rows [start, end). */
static void
additive_range (gpointer data, gsize start, gsize end)
{
  const HeadJob *job = data;
  const AttnArgs *a = job->a;
  int hd = a->hd, kvh = job->head / a->group;
  const float *vh = a->score_v + (gsize) job->head * hd;
  for (gsize i = start; i < end; i++)
    {
      const float *qi = a->q + i * a->ldq + (gsize) job->head * hd;
      int n = a->causal ? (int) i + 1 : a->Tk;
      for (int j = 0; j < n; j++)
        {
          const float *kj = a->k + (gsize) j * a->ldk + (gsize) kvh * hd;
          float e = 0.0f;
          for (int c = 0; c < hd; c++)
            e += vh[c] * tanhf (qi[c] + kj[c]);
          job->P[i * a->Tk + j] = e;
        }
    }
}

/* Masks, normalises and zero-fills rows [start, end) of one head.  A row
 * left with no visible key is all zeros: that query reads nothing. */
static void
softmax_range (gpointer data, gsize start, gsize end)
{
  const HeadJob *job = data;
  const AttnArgs *a = job->a;
  gboolean restricted = a->key_mask || a->window > 0 || a->stride > 0;
  for (gsize i = start; i < end; i++)
    {
      float *row = job->P + i * a->Tk;
      int n = a->causal ? (int) i + 1 : a->Tk;
      if (restricted)
        for (int j = 0; j < n; j++)
          if (!key_visible (a, (int) i, j))
            row[j] = -INFINITY;
      attnviz_softmax (row, n);
      /* Above the diagonal: never computed when causal. */
      memset (row + n, 0, sizeof (float) * (a->Tk - n));
    }
}

/* One head: P (Tq, Tk) and its output columns of A->out. */
static void
attend_head (const AttnArgs *a, int head, float *P)
{
  int hd = a->hd, kvh = head / a->group, Tq = a->Tq, Tk = a->Tk;
  /* Without a causal mask one block covers the whole rectangle. */
  int block = a->causal ? CAUSAL_BLOCK : Tq;
  HeadJob job = { a, head, P };

  if (a->score == ATTNVIZ_SCORE_ADDITIVE)
    parallel_for (Tq, MAX (SOFTMAX_GRAIN / (Tk * hd), 1), additive_range, &job);
  else
    /* P = scale * Q_h (Tq, hd) K_h^T (hd, Tk), row block by row block */
    for (int i0 = 0; i0 < Tq; i0 += block)
      {
        int m = MIN (block, Tq - i0), keys = a->causal ? i0 + m : Tk;
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, keys, hd, a->scale,
                     a->q + (gsize) i0 * a->ldq + head * hd, a->ldq, a->k + kvh * hd, a->ldk,
                     0.0f, P + (gsize) i0 * Tk, Tk);
      }
  parallel_for (Tq, MAX (SOFTMAX_GRAIN / Tk, 1), softmax_range, &job);
  /* out_h (Tq, hd) = P (Tq, Tk) V_h (Tk, hd), leaving out the zeros */
  for (int i0 = 0; i0 < Tq; i0 += block)
    {
      int m = MIN (block, Tq - i0), keys = a->causal ? i0 + m : Tk;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, keys, 1.0f,
                   P + (gsize) i0 * Tk, Tk, a->v + kvh * hd, a->ldv,
                   0.0f, a->out + (gsize) i0 * a->ldo + head * hd, a->ldo);
    }
}

/* Switches off HEAD's output: zero, or its mean over the positions. */
static void
ablate_head (float *out, int ldo, int T, int head, int hd, AttnvizAblateMode mode)
{
  for (int c = 0; c < hd; c++)
    {
      double mean = 0.0;
      if (mode == ATTNVIZ_ABLATE_MEAN)
        {
          for (int t = 0; t < T; t++)
            mean += out[(gsize) t * ldo + head * hd + c];
          mean /= T;
        }
      for (int t = 0; t < T; t++)
        out[(gsize) t * ldo + head * hd + c] = (float) mean;
    }
}

static void
attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizRecording *rec, int layer)
{
  const AttnvizConfig *c = &s->model->config;
  const Effective *e = s->eff;
  int T = s->T, hd = c->head_dim;
  int dq = c->n_head * hd, dkv = c->n_kv_head * hd;

  attnviz_linear (s->q, s->h, &L->q, T);
  attnviz_linear (s->k, s->h, &L->k, T);
  attnviz_linear (s->v, s->h, &L->v, T);
  if (e->pos == ATTNVIZ_POS_ROPE)
    {
      rope (s->q, T, c->n_head, hd, e->positions, s->inv_freq);
      rope (s->k, T, c->n_kv_head, hd, e->positions, s->inv_freq);
    }

  AttnArgs a = {
    .Tq = T, .Tk = T,
    .q = s->q, .ldq = dq, .k = s->k, .ldk = dkv, .v = s->v, .ldv = dkv,
    .out = s->att, .ldo = dq,
    .n_head = c->n_head, .group = c->n_head / c->n_kv_head, .hd = hd,
    .causal = e->causal, .window = e->window, .stride = e->stride,
    .key_mask = e->key_mask, .score = e->score, .scale = e->scale, .score_v = L->score_v,
  };
  for (int head = 0; head < c->n_head; head++)
    {
      float *P = rec ? attnviz_recording_get_attention (rec, layer, head) : NULL;
      attend_head (&a, head, P ? P : s->scratch);
      if (e->variant && attnviz_variant_head_ablated (e->variant, layer, head))
        ablate_head (s->att, dq, T, head, hd, e->variant->ablate_mode);
    }
  attnviz_linear (s->tmp, s->att, &L->o, T);
}

/* Decoder layer LAYER attending to the encoder output ENC (S, d_model). */
static void
cross_attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizRecording *rec, int layer,
                       const float *enc, int S, const guint8 *src_mask)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T, hd = c->head_dim, dq = c->n_head * hd;

  attnviz_linear (s->q, s->h, &L->cq, T);
  attnviz_linear (s->k, enc, &L->ck, S);
  attnviz_linear (s->v, enc, &L->cv, S);
  AttnArgs a = {
    .Tq = T, .Tk = S,
    .q = s->q, .ldq = dq, .k = s->k, .ldk = dq, .v = s->v, .ldv = dq,
    .out = s->att, .ldo = dq,
    .n_head = c->n_head, .group = 1, .hd = hd,
    .causal = FALSE, .key_mask = src_mask,
    .score = s->eff->score, .scale = s->eff->scale, .score_v = L->cross_score_v,
  };
  for (int head = 0; head < c->n_head; head++)
    attend_head (&a, head, rec->cross_attn + ((gsize) layer * c->n_head + head) * T * S);
  attnviz_linear (s->tmp, s->att, &L->co, T);
}

static void
mlp_block (RunState *s, const AttnvizLayerWeights *L)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T;
  gsize n = (gsize) T * c->d_ff;

  attnviz_linear (s->ff, s->h, &L->up, T);
  if (c->gated_mlp)
    {
      attnviz_linear (s->ff2, s->h, &L->gate, T);
      activate (s->ff2, n, c->act);
      for (gsize i = 0; i < n; i++)
        s->ff[i] *= s->ff2[i];
    }
  else
    activate (s->ff, n, c->act);
  attnviz_linear (s->tmp, s->ff, &L->down, T);
}

static void
add_into (float *x, const float *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] += y[i];
}

/* Vaswani et al.: x[2i] += sin (pos / 10000^(2i/d)), x[2i+1] += cos (...). */
static void
add_sinusoidal (float *x, int pos, int d)
{
  for (int i = 0; i < d / 2; i++)
    {
      double angle = pos / pow (10000.0, 2.0 * i / d);
      x[2 * i] += (float) sin (angle);
      x[2 * i + 1] += (float) cos (angle);
    }
}

static void
embed (RunState *s, const gint32 *ids)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  const Effective *e = s->eff;
  int d = c->d_model;
  for (int t = 0; t < s->T; t++)
    {
      float *x = s->x + (gsize) t * d;
      memcpy (x, m->tok_emb + (gsize) ids[t] * d, sizeof (float) * d);
      int pos = e->positions ? e->positions[t] : t;
      if (e->pos == ATTNVIZ_POS_LEARNED && m->pos_emb)
        add_into (x, m->pos_emb + (gsize) pos * d, d);
      else if (e->pos == ATTNVIZ_POS_SINUSOIDAL)
        add_sinusoidal (x, pos, d);
      if (m->type_emb)
        add_into (x, m->type_emb + (gsize) (s->opt->token_types ? s->opt->token_types[t] : 0) * d, d);
    }
  if (c->embedding_norm)
    norm_rows (c, s->x, s->x, m->emb_norm_w, m->emb_norm_b, s->T);
}

typedef struct {
  const float *logits;      /* (T, V) */
  float *loss;              /* (T) */
  const gint32 *ids;        /* (T) */
  const guint8 *key_mask;   /* (T) or NULL */
  int T;
  int V;
  gboolean causal;
} LossJob;

/* The negative log-likelihood of each token in [start, end): a log-softmax
 * over the vocabulary, in double. */
static void
loss_range (gpointer data, gsize start, gsize end)
{
  const LossJob *job = data;
  int T = job->T, V = job->V;
  for (gsize t = start; t < end; t++)
    {
      int at = job->causal ? (int) t + 1 : (int) t;
      int target = at < T ? job->ids[at] : -1;
      /* A masked token (padding) has no likelihood to speak of. */
      if (target < 0 || (job->key_mask && !job->key_mask[at]))
        {
          job->loss[t] = NAN;
          continue;
        }
      const float *row = job->logits + t * V;
      float max = max_of (row, V);
      job->loss[t] = (float) (log (sum_exp_shifted (row, V, max)) + max - row[target]);
    }
}

static void
head_and_loss (RunState *s, AttnvizRecording *rec, const gint32 *ids)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  int T = s->T, d = c->d_model, V = c->vocab_size;
  const float *h = s->x;

  if (c->final_norm)
    {
      norm_rows (c, s->h, s->x, m->final_norm_w, m->final_norm_b, T);
      h = s->h;
    }
  if (c->mlm_transform)
    {
      attnviz_linear (s->tmp, h, &m->mlm_dense, T);
      activate (s->tmp, (gsize) T * d, c->act);
      norm_rows (c, s->h, s->tmp, m->mlm_norm_w, m->mlm_norm_b, T);
      h = s->h;
    }
  attnviz_linear (rec->logits, h, &m->lm_head, T);

  /* The loss follows the model's own reading direction, whatever mask the
   * variant used: a causal model predicts the next token. */
  LossJob job = { rec->logits, rec->loss, ids, s->opt->key_mask, T, V, c->causal || c->encoder_decoder };
  parallel_for (T, 1, loss_range, &job);
}

static gboolean
check_inputs (const AttnvizModel *m, const gint32 *ids, int T, const AttnvizRunOptions *o, GError **error)
{
  const AttnvizConfig *c = &m->config;
  if (T <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "nothing to run: no tokens");
      return FALSE;
    }
  if (T > c->n_ctx)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%d tokens are more than the model's context of %d", T, c->n_ctx);
      return FALSE;
    }
  for (int t = 0; t < T; t++)
    {
      if (ids[t] < 0 || ids[t] >= c->vocab_size)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has id %d, outside the vocabulary of %d", t, ids[t], c->vocab_size);
          return FALSE;
        }
      if (o->positions && (o->positions[t] < 0 || (c->pos == ATTNVIZ_POS_LEARNED && o->positions[t] >= c->n_ctx)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has position %d, outside the model's %d positions", t, o->positions[t], c->n_ctx);
          return FALSE;
        }
      if (o->token_types && (o->token_types[t] < 0 || o->token_types[t] >= MAX (c->n_token_types, 1)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has type %d; the model has %d token types", t, o->token_types[t], c->n_token_types);
          return FALSE;
        }
    }
  for (int i = 0; i < o->n_layers && o->layers; i++)
    if (o->layers[i] < 0 || o->layers[i] >= c->n_layer)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "layer %d does not exist: the model has layers 0-%d", o->layers[i], c->n_layer - 1);
        return FALSE;
      }
  for (int i = 0; i < o->n_heads && o->heads; i++)
    if (o->heads[i] < 0 || o->heads[i] >= c->n_head)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "head %d does not exist: the model has heads 0-%d", o->heads[i], c->n_head - 1);
        return FALSE;
      }
  if (o->variant && !attnviz_variant_check (o->variant, c, error))
    return FALSE;
  return TRUE;
}

/* The variant, the model and the options, resolved into what the run does. */
static void
effective_init (Effective *e, const AttnvizModel *m, const AttnvizRunOptions *o, int T)
{
  const AttnvizConfig *c = &m->config;
  static const AttnvizVariant model_variant = { 0 };
  const AttnvizVariant *v = o->variant ? o->variant : &model_variant;

  memset (e, 0, sizeof *e);
  e->variant = o->variant;
  switch (v->mask)
    {
    case ATTNVIZ_MASK_MODEL: e->causal = c->causal; e->window = c->window; break;
    case ATTNVIZ_MASK_CAUSAL: e->causal = TRUE; break;
    case ATTNVIZ_MASK_BIDIRECTIONAL: e->causal = FALSE; break;
    case ATTNVIZ_MASK_WINDOW: e->causal = c->causal; e->window = v->window; break;
    case ATTNVIZ_MASK_STRIDED: e->causal = c->causal; e->stride = v->stride; break;
    default: g_assert_not_reached ();
    }

  e->score = c->score;
  e->scale = c->score == ATTNVIZ_SCORE_DOT ? 1.0f : 1.0f / sqrtf ((float) c->head_dim);
  if (v->score == ATTNVIZ_SCORE_VARIANT_DOT)
    {
      e->score = ATTNVIZ_SCORE_DOT;
      e->scale = 1.0f;
    }
  else if (v->score == ATTNVIZ_SCORE_VARIANT_SCALE)
    {
      e->score = ATTNVIZ_SCORE_SCALED_DOT;
      e->scale = v->scale;
    }

  e->pos = c->pos;
  e->positions = o->positions;
  if (v->positions == ATTNVIZ_POSITIONS_NONE)
    e->pos = ATTNVIZ_POS_NONE;
  else if (v->positions == ATTNVIZ_POSITIONS_SINUSOIDAL)
    e->pos = ATTNVIZ_POS_SINUSOIDAL;

  if (o->key_mask || v->exclude_special || v->n_exclude)
    {
      e->key_mask = g_new (guint8, T);
      for (int t = 0; t < T; t++)
        e->key_mask[t] = o->key_mask ? o->key_mask[t] : 1;
      for (int t = 0; t < T && v->exclude_special && o->special; t++)
        if (o->special[t])
          e->key_mask[t] = 0;
      for (int i = 0; i < v->n_exclude; i++)
        if (v->exclude[i] < T)
          e->key_mask[v->exclude[i]] = 0;
    }
}

static int *
index_range (int n)
{
  int *r = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    r[i] = i;
  return r;
}

/* The work space of a run over T tokens attending to at most TK keys,
 * one allocation carved into the run state; NULL when out of memory. */
static float *
run_state_alloc (RunState *s, const AttnvizConfig *c, int T, int Tk, GError **error)
{
  int d = c->d_model, dq = c->n_head * c->head_dim, dkv = MAX (c->n_kv_head * c->head_dim, dq);
  int rows = MAX (T, Tk);
  gsize sizes[] = { (gsize) rows * d, (gsize) rows * d, (gsize) rows * dq, (gsize) rows * dkv, (gsize) rows * dkv,
                    (gsize) rows * dq, (gsize) rows * d, (gsize) rows * c->d_ff,
                    c->gated_mlp ? (gsize) rows * c->d_ff : 0, (gsize) T * rows, (gsize) c->head_dim };
  float **slots[] = { &s->x, &s->h, &s->q, &s->k, &s->v, &s->att, &s->tmp, &s->ff, &s->ff2, &s->scratch, &s->inv_freq };
  gsize total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += sizes[i];
  float *mem = g_try_new (float, total);
  if (mem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "out of memory: running %d tokens needs %.2f GiB of work space", T, total * 4.0 / 1073741824.0);
      return NULL;
    }
  advise_huge_pages (mem, total * sizeof (float));
  float *p = mem;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      *slots[i] = sizes[i] ? p : NULL;
      p += sizes[i];
    }
  return mem;
}

static void
rope_frequencies (float *inv_freq, const AttnvizConfig *c, const AttnvizVariant *v)
{
  float theta = v && v->positions == ATTNVIZ_POSITIONS_ROPE_THETA ? v->rope_theta : c->rope_theta;
  for (int i = 0; i < c->head_dim / 2; i++)
    inv_freq[i] = 1.0f / powf (theta, (float) (2 * i) / (float) c->head_dim);
}

/* One layer of a stack: pre-norm (GPT-2, LLaMA) or post-norm (BERT), with
 * cross-attention between self-attention and the MLP in decoder layers of
 * encoder-decoder models (ENC != NULL). */
static void
layer_forward (RunState *s, const AttnvizLayerWeights *L, AttnvizRecording *rec, int layer,
               const float *enc, int S, const guint8 *src_mask)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T;
  gsize n = (gsize) T * c->d_model;
  if (c->pre_norm)
    {
      norm_rows (c, s->h, s->x, L->attn_norm_w, L->attn_norm_b, T);
      attention_block (s, L, rec, layer);
      add_into (s->x, s->tmp, n);
      if (enc)
        {
          norm_rows (c, s->h, s->x, L->cross_norm_w, L->cross_norm_b, T);
          cross_attention_block (s, L, rec, layer, enc, S, src_mask);
          add_into (s->x, s->tmp, n);
        }
      norm_rows (c, s->h, s->x, L->mlp_norm_w, L->mlp_norm_b, T);
      mlp_block (s, L);
      add_into (s->x, s->tmp, n);
    }
  else
    {
      memcpy (s->h, s->x, n * sizeof (float));
      attention_block (s, L, rec, layer);
      add_into (s->x, s->tmp, n);
      norm_rows (c, s->x, s->x, L->attn_norm_w, L->attn_norm_b, T);
      memcpy (s->h, s->x, n * sizeof (float));
      mlp_block (s, L);
      add_into (s->x, s->tmp, n);
      norm_rows (c, s->x, s->x, L->mlp_norm_w, L->mlp_norm_b, T);
    }
}

/* Whether REUSE is a run of the same tokens under the model as it is,
 * with the residual stream kept, that this run can start from. */
static gboolean
can_reuse (const AttnvizRecording *reuse, const AttnvizModel *m, const gint32 *ids, int T)
{
  return reuse != NULL && reuse->residuals != NULL && reuse->T == T && reuse->d_model == m->config.d_model
         && reuse->n_layer == m->config.n_layer && g_strcmp0 (reuse->variant, "model") == 0
         && memcmp (reuse->ids, ids, sizeof (gint32) * T) == 0;
}

static AttnvizRecording *
recording_for (const AttnvizModel *model, const AttnvizRunOptions *o, int T, GError **error)
{
  const AttnvizConfig *c = &model->config;
  g_autofree int *all_layers = index_range (c->n_layer);
  g_autofree int *all_heads = index_range (c->n_head);
  const int *layers = o->layers ? o->layers : all_layers;
  const int *heads = o->heads ? o->heads : all_heads;
  int n_layers = o->record_none ? 0 : o->layers ? o->n_layers : c->n_layer;
  int n_heads = o->record_none ? 0 : o->heads ? o->n_heads : c->n_head;
  gboolean with_logits = c->has_lm_head && model->lm_head.w != NULL && !o->skip_logits;

  AttnvizRecording *rec = attnviz_recording_new (T, c->n_layer, c->n_head, c->vocab_size,
                                                 layers, n_layers, heads, n_heads, with_logits,
                                                 o->max_record_bytes ? o->max_record_bytes
                                                                     : ATTNVIZ_DEFAULT_MAX_RECORD_BYTES,
                                                 error);
  if (rec == NULL)
    return NULL;
  advise_huge_pages (rec->attn, attnviz_recording_attention_bytes (n_layers, n_heads, T));
  if (rec->logits)
    advise_huge_pages (rec->logits, (gsize) T * c->vocab_size * sizeof (float));
  rec->d_model = c->d_model;
  rec->variant = o->variant ? attnviz_variant_to_string (o->variant) : g_strdup ("model");
  for (int t = 0; t < T; t++)
    rec->loss[t] = NAN;
  if (o->keep_residuals)
    {
      rec->residuals = g_try_new (float, (gsize) (c->n_layer + 1) * T * c->d_model);
      if (rec->residuals == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping the residual stream");
          attnviz_recording_free (rec);
          return NULL;
        }
    }
  return rec;
}

AttnvizRecording *
attnviz_forward (const AttnvizModel *model,
                 const gint32 *ids,
                 int T,
                 const AttnvizRunOptions *options,
                 GError **error)
{
  static const AttnvizRunOptions defaults = { 0 };
  const AttnvizRunOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;

  g_return_val_if_fail (model != NULL, NULL);
  if (c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is an encoder-decoder model: give it a source and a target", model->path);
      return NULL;
    }
  if (!check_inputs (model, ids, T, o, error))
    return NULL;

  gint64 t0 = g_get_monotonic_time ();
  AttnvizRecording *rec = recording_for (model, o, T, error);
  if (rec == NULL)
    return NULL;
  memcpy (rec->ids, ids, sizeof (gint32) * T);

  Effective eff;
  effective_init (&eff, model, o, T);
  g_autofree gint32 *variant_positions = o->variant ? attnviz_variant_positions (o->variant, T) : NULL;
  if (variant_positions)
    eff.positions = variant_positions;
  rec->causal = eff.causal;

  RunState s = { .model = model, .opt = o, .eff = &eff, .T = T };
  g_autofree float *mem = run_state_alloc (&s, c, T, T, error);
  if (mem == NULL)
    {
      g_free (eff.key_mask);
      attnviz_recording_free (rec);
      return NULL;
    }
  rope_frequencies (s.inv_freq, c, o->variant);

  gsize n = (gsize) T * c->d_model;
  int first = 0;
  if (can_reuse (o->reuse, model, ids, T))
    {
      /* Everything before the first layer the variant changes is the
       * model's own: take the stream entering that layer and the attention
       * of the layers before it from the earlier run. */
      static const AttnvizVariant model_variant = { 0 };
      first = attnviz_variant_first_changed_layer (o->variant ? o->variant : &model_variant, c);
      memcpy (s.x, o->reuse->residuals + (gsize) first * n, n * sizeof (float));
      for (int l = 0; l < first; l++)
        for (int i = 0; i < rec->n_rec_heads; i++)
          {
            float *dst = attnviz_recording_get_attention (rec, l, rec->rec_heads[i]);
            const float *src = attnviz_recording_get_attention (o->reuse, l, rec->rec_heads[i]);
            if (dst && src)
              memcpy (dst, src, (gsize) T * T * sizeof (float));
            else if (dst)
              first = 0;   /* the earlier run did not record it: compute everything */
          }
      if (first == 0)
        embed (&s, ids);
      rec->reused_layers = first;
      if (rec->residuals)
        memcpy (rec->residuals, o->reuse->residuals, (gsize) first * n * sizeof (float));
    }
  else
    embed (&s, ids);

  for (int layer = first; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        {
          g_free (eff.key_mask);
          attnviz_recording_free (rec);
          return NULL;
        }
      if (rec->residuals)
        memcpy (rec->residuals + (gsize) layer * n, s.x, n * sizeof (float));
      layer_forward (&s, &model->layers[layer], rec, layer, NULL, 0, NULL);
      if (o->progress)
        o->progress ((layer + 1.0) / (c->n_layer + 1.0), o->progress_data);
    }
  if (rec->residuals)
    memcpy (rec->residuals + (gsize) c->n_layer * n, s.x, n * sizeof (float));

  if (rec->logits)
    head_and_loss (&s, rec, ids);
  if (o->progress)
    o->progress (1.0, o->progress_data);
  g_free (eff.key_mask);

  rec->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return rec;
}

AttnvizRecording *
attnviz_forward_seq2seq (const AttnvizModel *model,
                         const gint32 *src_ids,
                         int S,
                         const gint32 *tgt_ids,
                         int T,
                         const AttnvizRunOptions *options,
                         GError **error)
{
  static const AttnvizRunOptions defaults = { 0 };
  const AttnvizRunOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;

  g_return_val_if_fail (model != NULL, NULL);
  if (!c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is not an encoder-decoder model", model->path);
      return NULL;
    }
  if (o->reuse || o->key_mask || o->positions || o->token_types)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "encoder-decoder runs take no reuse, key mask, positions or token types");
      return NULL;
    }
  /* The source and the target each must fit the context. */
  AttnvizRunOptions src_opt = *o;
  src_opt.layers = NULL;
  src_opt.heads = NULL;
  if (!check_inputs (model, src_ids, S, &src_opt, error) || !check_inputs (model, tgt_ids, T, o, error))
    return NULL;

  gint64 t0 = g_get_monotonic_time ();
  AttnvizRecording *rec = recording_for (model, o, T, error);
  if (rec == NULL)
    return NULL;
  memcpy (rec->ids, tgt_ids, sizeof (gint32) * T);
  rec->S = S;
  rec->n_enc_layer = c->n_enc_layer;
  rec->src_ids = g_memdup2 (src_ids, sizeof (gint32) * S);
  rec->enc_attn = g_try_new (float, (gsize) MAX (c->n_enc_layer, 1) * c->n_head * S * S);
  rec->cross_attn = g_try_new (float, (gsize) c->n_layer * c->n_head * T * S);
  if (rec->enc_attn == NULL || rec->cross_attn == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory recording %d x %d tokens", S, T);
      attnviz_recording_free (rec);
      return NULL;
    }

  /* The encoder: bidirectional over the source, every head recorded. */
  Effective enc_eff;
  effective_init (&enc_eff, model, &defaults, S);
  enc_eff.causal = FALSE;
  enc_eff.window = 0;
  Effective dec_eff;
  effective_init (&dec_eff, model, o, T);
  if (o->variant)
    {
      /* score and position changes apply to both sides */
      enc_eff.score = dec_eff.score;
      enc_eff.scale = dec_eff.scale;
      enc_eff.pos = dec_eff.pos;
    }
  rec->causal = dec_eff.causal;

  RunState enc = { .model = model, .opt = &defaults, .eff = &enc_eff, .T = S };
  RunState dec = { .model = model, .opt = o, .eff = &dec_eff, .T = T };
  g_autofree float *enc_mem = run_state_alloc (&enc, c, S, S, error);
  g_autofree float *dec_mem = enc_mem ? run_state_alloc (&dec, c, T, S, error) : NULL;
  g_autofree float *enc_out = g_try_new (float, (gsize) S * c->d_model);
  if (enc_mem == NULL || dec_mem == NULL || enc_out == NULL)
    {
      if (enc_out == NULL && enc_mem && dec_mem)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory");
      attnviz_recording_free (rec);
      g_free (dec_eff.key_mask);
      return NULL;
    }
  rope_frequencies (enc.inv_freq, c, o->variant);
  rope_frequencies (dec.inv_freq, c, o->variant);

  /* The encoder's recording: every layer and head, (S, S) each. */
  g_autofree int *enc_layers = index_range (c->n_enc_layer);
  g_autofree int *enc_heads = index_range (c->n_head);
  AttnvizRecording enc_rec = {
    .T = S, .n_layer = c->n_enc_layer, .n_head = c->n_head,
    .n_rec_layers = c->n_enc_layer, .n_rec_heads = c->n_head,
    .rec_layers = enc_layers, .rec_heads = enc_heads, .attn = rec->enc_attn,
  };

  int total_layers = c->n_enc_layer + c->n_layer;
  embed (&enc, src_ids);
  for (int layer = 0; layer < c->n_enc_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto cancelled;
      layer_forward (&enc, &model->enc_layers[layer], &enc_rec, layer, NULL, 0, NULL);
      if (o->progress)
        o->progress ((layer + 1.0) / (total_layers + 1.0), o->progress_data);
    }
  if (model->enc_final_norm_w)
    norm_rows (c, enc_out, enc.x, model->enc_final_norm_w, model->enc_final_norm_b, S);
  else
    memcpy (enc_out, enc.x, (gsize) S * c->d_model * sizeof (float));

  embed (&dec, tgt_ids);
  for (int layer = 0; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto cancelled;
      layer_forward (&dec, &model->layers[layer], rec, layer, enc_out, S, NULL);
      if (o->progress)
        o->progress ((c->n_enc_layer + layer + 1.0) / (total_layers + 1.0), o->progress_data);
    }

  if (rec->logits)
    head_and_loss (&dec, rec, tgt_ids);
  if (o->progress)
    o->progress (1.0, o->progress_data);
  g_free (dec_eff.key_mask);
  rec->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return rec;

cancelled:
  g_free (dec_eff.key_mask);
  attnviz_recording_free (rec);
  return NULL;
}
