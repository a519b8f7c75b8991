/* attnviz-kernels.c: the engine's small kernels, outputs first
 *
 * Norms, softmax and its exponentials, activations, RoPE: what the forward
 * pass and the attention source (attnviz-attention.c) compute outside
 * OpenBLAS, vectorised where it pays.  The same code computes a value
 * wherever it is used, so a head recomputed on demand equals the forward
 * pass's.
 */
#define G_LOG_DOMAIN "attnviz-kernels"
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "attnviz-kernels.h"
#include "attnviz-parallel.h"

/* ---------------------------------------------------------------- memory */

/* Asks for transparent huge pages for a large buffer about to be filled.
 * A run writes its recording into fresh memory (800 MB at T = 1024 for
 * GPT-2), and taking that 4 KiB page fault by page fault costs as much as
 * a tenth of the forward pass; 2 MiB pages cut the faults 512-fold.  Only
 * a hint: nothing changes where the kernel does not take it. */
void
attnviz_advise_huge_pages (void *p, gsize bytes)
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
SIMD_CLONES float
attnviz_max_of (const float *x, gsize n)
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
SIMD_CLONES double
attnviz_exp_shifted (float *x, gsize n, float shift)
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
SIMD_CLONES double
attnviz_sum_exp_shifted (const float *x, gsize n, float shift)
{
  vdf sum = SPLAT (0.0);
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    sum += exp_vdf (widen (load_vsf (x + i)) - shift);
  if (i < n)
    sum += exp_vdf (widen (load_tail (x + i, n - i, -INFINITY)) - shift);
  return sum_lanes (sum);
}

SIMD_CLONES void
attnviz_scale_array (float *x, gsize n, float factor)
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

gssize
attnviz_first_nan (const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (isnan (x[i]))
      return (gssize) i;
  return -1;
}

void
attnviz_softmax (float *x, int n)
{
  float max = attnviz_max_of (x, n);
  if (max == -INFINITY && attnviz_first_nan (x, n) >= 0)
    {
      /* All NaN (attnviz_max_of skips NaN): no mask, so NaN carries on. */
      for (int j = 0; j < n; j++)
        x[j] = NAN;
      return;
    }
  if (max == -INFINITY)
    {
      /* Every key masked: the query reads nothing. */
      memset (x, 0, sizeof (float) * n);
      return;
    }
  attnviz_scale_array (x, n, (float) (1.0 / attnviz_exp_shifted (x, n, max)));
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

void
attnviz_activate (float *x, gsize n, AttnvizActivation act)
{
  ActivateJob job = { x, act };
  attnviz_parallel_for (n, 16384, activate_range, &job);
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

void
attnviz_norm_rows (const AttnvizConfig *c, float *out, const float *x, const float *w, const float *b, int T)
{
  NormJob job = { c, out, x, w, b };
  attnviz_parallel_for (T, 16, norm_range, &job);
}

/* RoPE over the N_HEADS heads of each row of X (T, n_heads * head_dim), in
 * place: the first N_ROT dimensions of each head turn in pairs, dimension
 * i with i + N_ROT / 2 (rotate-half) or 2i with 2i + 1 (adjacent pairs),
 * pair i by position * INV_FREQ[i]. */
void
attnviz_rope (float *x, int T, int n_heads, int head_dim, int n_rot, AttnvizRopeStyle style,
              const gint32 *positions, int first, const float *inv_freq)
{
  int half = n_rot / 2;
  for (int t = 0; t < T; t++)
    {
      float pos = (float) (positions ? positions[t] : first + t);
      for (int i = 0; i < half; i++)
        {
          float angle = pos * inv_freq[i];
          float c = cosf (angle), s = sinf (angle);
          int i0 = style == ATTNVIZ_ROPE_PAIRS ? 2 * i : i;
          int i1 = style == ATTNVIZ_ROPE_PAIRS ? 2 * i + 1 : i + half;
          for (int h = 0; h < n_heads; h++)
            {
              float *v = x + (gsize) t * n_heads * head_dim + (gsize) h * head_dim;
              float a = v[i0], b = v[i1];
              v[i0] = a * c - b * s;
              v[i1] = b * c + a * s;
            }
        }
    }
}


int
attnviz_relative_bucket (int rel, gboolean bidirectional, int n_buckets, int max_distance)
{
  int bucket = 0;
  if (bidirectional)
    {
      n_buckets /= 2;
      if (rel > 0)
        bucket += n_buckets;
      rel = ABS (rel);
    }
  else
    rel = rel < 0 ? -rel : 0;
  int max_exact = n_buckets / 2;
  if (rel < max_exact)
    return bucket + rel;
  /* the same float32 steps as torch: log (rel / max_exact) / log (max_distance
   * / max_exact) * (n_buckets - max_exact), truncated */
  float f = logf ((float) rel / (float) max_exact) / (float) log ((double) max_distance / max_exact)
            * (float) (n_buckets - max_exact);
  int large = max_exact + (int) f;
  return bucket + MIN (large, n_buckets - 1);
}
