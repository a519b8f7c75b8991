/* attnviz-kernels.c: the engine's small kernels, outputs first
 *
 * Norms, softmax, activations, RoPE: what the forward pass and the
 * attention source (attnviz-attention.c) compute outside OpenBLAS,
 * vectorised where it pays; the exponentials are attnviz-kernels-exp.c's.
 * The same code computes a value wherever it is used, so a head
 * recomputed on demand equals the forward pass's.
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
#include "attnviz-kernels-private.h"
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

/* ---------------------------------------------------------------- arrays */

/* The maxima and scaling of the softmax run four at a time.  The vector
 * types are GCC's (Clang has them too); the compiler lowers them to
 * whatever the target has (SSE2 at the x86-64 baseline), and x86-64 gets
 * an AVX2 clone of each loop, chosen when the program starts.  Their
 * exponentials are attnviz-kernels-exp.c's. */
#define LANES 4

typedef float vsf __attribute__ ((vector_size (LANES * sizeof (float))));
typedef gint32 vsi __attribute__ ((vector_size (LANES * sizeof (gint32))));
typedef guint32 vsu __attribute__ ((vector_size (LANES * sizeof (guint32))));
typedef double vdf __attribute__ ((vector_size (LANES * sizeof (double))));

#define SPLAT(v) { v, v, v, v }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define SIMD_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define SIMD_CLONES
#endif

/* Vectors pass by value only between these static inline helpers, never
 * across a call the ABI governs. */
#pragma GCC diagnostic ignored "-Wpsabi"

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

static inline vdf
widen (vsf v)
{
  return __builtin_convertvector (v, vdf);
}

static inline double
sum_vdf (const vdf *v)
{
  return ((*v)[0] + (*v)[1]) + ((*v)[2] + (*v)[3]);
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
  /* four running maxima, so four comparisons are under way at once */
  vsf m = SPLAT (-INFINITY), m1 = m, m2 = m, m3 = m;
  gsize i = 0;
  for (; i + 4 * LANES <= n; i += 4 * LANES)
    {
      m = max_vsf (m, load_vsf (x + i));
      m1 = max_vsf (m1, load_vsf (x + i + LANES));
      m2 = max_vsf (m2, load_vsf (x + i + 2 * LANES));
      m3 = max_vsf (m3, load_vsf (x + i + 3 * LANES));
    }
  m = max_vsf (max_vsf (m, m1), max_vsf (m2, m3));
  for (; i + LANES <= n; i += LANES)
    m = max_vsf (m, load_vsf (x + i));
  m = max_vsf (m, load_tail (x + i, n - i, -INFINITY));
  float max = -INFINITY;
  for (int l = 0; l < LANES; l++)
    max = m[l] > max ? m[l] : max;
  return max;
}

/* X[i] += Y[i] over X[0..N). */
SIMD_CLONES void
attnviz_add_into (float *x, const float *y, gsize n)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    store_vsf (x + i, load_vsf (x + i) + load_vsf (y + i));
  for (; i < n; i++)
    x[i] += y[i];
}

/* SUM[i] += ROW[i] and BEST[i] = max (BEST[i], ROW[i]) (ROW[i] taken when
 * greater) over [0, N). */
SIMD_CLONES void
attnviz_sum_max_into (float *sum, float *best, const float *row, gsize n)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    {
      vsf v = load_vsf (row + i);
      store_vsf (sum + i, load_vsf (sum + i) + v);
      store_vsf (best + i, max_vsf (load_vsf (best + i), v));
    }
  for (; i < n; i++)
    {
      sum[i] += row[i];
      best[i] = row[i] > best[i] ? row[i] : best[i];
    }
}

/* Whether any of X[0..N) is an infinity or a NaN: integer operations on
 * the exponent bits (an all-ones exponent carries into bit 31), eight
 * floats at a time. */
SIMD_CLONES gboolean
attnviz_has_non_finite (const float *x, gsize n)
{
  const vsu exponent = SPLAT (0x7f800000u), carry = SPLAT (0x00800000u);
  vsu acc = SPLAT (0u), acc1 = acc;
  gsize i = 0;
  for (; i + 2 * LANES <= n; i += 2 * LANES)
    {
      acc |= ((vsu) load_vsf (x + i) & exponent) + carry;
      acc1 |= ((vsu) load_vsf (x + i + LANES) & exponent) + carry;
    }
  acc |= acc1;
  guint32 any = 0;
  for (int l = 0; l < LANES; l++)
    any |= acc[l];
  for (; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, x + i, sizeof bits);
      any |= (bits & 0x7f800000u) + 0x00800000u;
    }
  return (any & 0x80000000u) != 0;
}

/* The index of the first of X[0..N) not at most LIMIT (greater, or NaN),
 * or N: sixteen at a time, one branch per sixteen. */
SIMD_CLONES gsize
attnviz_first_above (const float *x, gsize n, float limit)
{
  gsize i = 0;
  for (; i + 4 * LANES <= n; i += 4 * LANES)
    {
      vsi above = ~(load_vsf (x + i) <= limit) | ~(load_vsf (x + i + LANES) <= limit)
                  | ~(load_vsf (x + i + 2 * LANES) <= limit) | ~(load_vsf (x + i + 3 * LANES) <= limit);
      gint32 any = 0;
      for (int l = 0; l < LANES; l++)
        any |= above[l];
      if (any)
        break;
    }
  for (; i < n; i++)
    if (!(x[i] <= limit))
      return i;
  return n;
}

double
attnviz_exp_shifted (float *x, gsize n, float shift)
{
  return _attnviz_exp_kernels ()->exp_shifted (x, n, shift);
}

double
attnviz_sum_exp_shifted (const float *x, gsize n, float shift)
{
  return _attnviz_exp_kernels ()->sum_exp_shifted (x, n, shift);
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

/* ---------------------------------------------------------------- kernels */

/* In double, four lanes at a time (a lane's sum, then the lanes' in one
 * order); every clone makes the same operations, so the same bits. */
SIMD_CLONES void
attnviz_layernorm (float *out, const float *x, const float *w, const float *b, int n, float eps)
{
  gsize m = (gsize) n / LANES * LANES;
  vdf acc = SPLAT (0.0);
  for (gsize i = 0; i < m; i += LANES)
    acc += widen (load_vsf (x + i));
  double mean = sum_vdf (&acc);
  for (gsize i = m; i < (gsize) n; i++)
    mean += x[i];
  mean /= n;
  acc = (vdf) SPLAT (0.0);
  for (gsize i = 0; i < m; i += LANES)
    {
      vdf d = widen (load_vsf (x + i)) - mean;
      acc += d * d;
    }
  double var = sum_vdf (&acc);
  for (gsize i = m; i < (gsize) n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  float inv = (float) (1.0 / sqrt (var + eps));
  for (gsize i = 0; i < m; i += LANES)
    {
      vsf y = __builtin_convertvector (widen (load_vsf (x + i)) - mean, vsf) * inv * load_vsf (w + i);
      store_vsf (out + i, y + (b ? load_vsf (b + i) : (vsf) SPLAT (0.0f)));
    }
  for (gsize i = m; i < (gsize) n; i++)
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
      _attnviz_exp_kernels ()->gelu_tanh (x + start, end - start);
      break;
    case ATTNVIZ_ACT_GELU_ERF:
      for (gsize i = start; i < end; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
      break;
    case ATTNVIZ_ACT_SILU:
      _attnviz_exp_kernels ()->silu (x + start, end - start);
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
