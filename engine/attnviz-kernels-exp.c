/* attnviz-kernels-exp.c: the engine's exponentials, eight at a time
 *
 * Softmax rows, the LM head's log-sum-exp, GPT-2's GELU and SiLU: some
 * 160 million exponentials at T = 1024 for GPT-2.  e^x in float, the way
 * Arm's optimized-routines expf (and ggml's ggml_v_expf after it) takes
 * it:
 *
 *   n = round (x / ln2)            (adding 1.5 * 2^23 rounds it)
 *   b = x - n ln2                  (ln2 in two parts, |b| <= ln2 / 2)
 *   e^x = 2^n (1 + p (b))          p of degree 5, its 2^n put straight
 *                                  into the exponent bits
 *
 * within 2 ulp of e^x (the test measures it against libm over every
 * range), with expf's edges: e^-inf = 0, e^+inf = +inf, NaN stays NaN,
 * overflow to +inf above 88.72, subnormal results below 2^-126 (2^n in
 * two factors there, so they round once), 0 below -103.98.
 *
 * Two builds compute it: AVX2 + FMA intrinsics eight floats at a time
 * (x86-64 machines since 2013, chosen when first used with
 * __builtin_cpu_supports), and a scalar one for any other machine that
 * makes the very same operations one float at a time, each fused
 * multiply-add by fmaf.  IEEE arithmetic rounds each the same way in a
 * vector lane as in a scalar, so both builds give the same bits: a head
 * recomputed on one machine equals the one recorded on another.  The sums
 * go into eight double accumulators, element i into i mod 8, added up in
 * one order at the end, in both builds alike.
 */
#define G_LOG_DOMAIN "attnviz-kernels"
#include "config.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_BUILD 1
#include <immintrin.h>
#endif

#include "attnviz-kernels-private.h"

/* Never fuse a * b + c behind the code's back: only the fmaf () calls
 * (and their intrinsics) fuse, so both builds round alike.  ISO C mode
 * (-std=c11) keeps GCC from contracting, the pragma Clang. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define LANES 8

/* The range reduction: 1.5 * 2^23 (adding it rounds to an integer), 1 /
 * ln2, and ln2 in two parts, the first short enough that n times it is
 * exact. */
#define ROUNDER 0x1.8p23f
#define LOG2E 0x1.715476p+0f
#define LN2_HI 0x1.62e4p-1f
#define LN2_LO 0x1.7f7d1cp-20f
/* p (b) = C0 b + C1 b^2 + C2 b^3 + C3 b^4 + C4 b^5, a minimax fit of
 * e^b - 1 over |b| <= ln2 / 2 (Arm's optimized-routines). */
#define C0 0x1.ffffecp-1f
#define C1 0x1.fffdb6p-2f
#define C2 0x1.555e66p-3f
#define C3 0x1.573e2ep-5f
#define C4 0x1.0e4020p-7f
/* Bits of 1.0f; of 2^127 and the shift that makes a factor 2^-125 of it,
 * for exponents beyond the normal range. */
#define ONE_BITS 0x3f800000u
#define BIG_BITS 0x7f000000u
#define SMALL_SHIFT 0x82000000u

/* GELU's sqrt(2/pi) and cubic coefficient, as PyTorch takes them. */
#define GELU_K 0.7978845608028654f
#define GELU_A 0.044715f

static inline guint32
bits_of (float f)
{
  guint32 u;
  memcpy (&u, &f, sizeof u);
  return u;
}

static inline float
float_of (guint32 u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

/* ---------------------------------------------------------------- scalar */

float
_attnviz_expf (float x)
{
  float z = fmaf (x, LOG2E, ROUNDER);
  float n = z - ROUNDER;
  float b = fmaf (-n, LN2_LO, fmaf (-n, LN2_HI, x));
  guint32 e = bits_of (z) << 23;             /* n in the exponent field */
  float k = float_of (e + ONE_BITS);         /* 2^n while it is normal */
  float u = b * b;
  float j = fmaf (fmaf (fmaf (C4, b, C3), u, fmaf (C2, b, C1)), u, C0 * b);
  float an = fabsf (n);
  if (!(an > 126.0f))                        /* NaN goes this way, and stays NaN */
    return fmaf (k, j, k);
  /* 2^n as 2^n' 2^127 (n > 0) or 2^n' 2^-125 (n <= 0), rounded once */
  guint32 g = n <= 0.0f ? SMALL_SHIFT : 0u;
  float s1 = float_of (g + BIG_BITS);
  float s2 = float_of (e - g);
  if (an > 192.0f)                           /* far beyond: inf or 0 */
    return s1 * s1;
  return fmaf (s2, j, s2) * s1;
}

static double
sum_lanes (const double acc[LANES])
{
  double total = 0.0;
  for (int l = 0; l < LANES; l++)
    total += acc[l];
  return total;
}

static double
exp_shifted_scalar (float *x, gsize n, float shift)
{
  double acc[LANES] = { 0 };
  for (gsize i = 0; i < n; i++)
    {
      float e = _attnviz_expf (x[i] - shift);
      x[i] = e;
      acc[i % LANES] += e;
    }
  return sum_lanes (acc);
}

static double
sum_exp_shifted_scalar (const float *x, gsize n, float shift)
{
  double acc[LANES] = { 0 };
  for (gsize i = 0; i < n; i++)
    acc[i % LANES] += _attnviz_expf (x[i] - shift);
  return sum_lanes (acc);
}

/* GPT-2's 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3), as
 * x / (1 + e^-2u): the same function (1 + tanh u = 2 / (1 + e^-2u)), with
 * no cancellation in 1 + tanh u for negative x.  u in float as PyTorch. */
static inline float
gelu_tanh_one (float v)
{
  float u = GELU_K * (v + GELU_A * v * v * v);
  return v / (1.0f + _attnviz_expf (-2.0f * u));
}

static void
gelu_tanh_scalar (float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = gelu_tanh_one (x[i]);
}

/* SiLU x / (1 + e^-x). */
static void
silu_scalar (float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = x[i] / (1.0f + _attnviz_expf (-x[i]));
}

static const AttnvizExpKernels scalar_kernels = {
  "scalar", exp_shifted_scalar, sum_exp_shifted_scalar, gelu_tanh_scalar, silu_scalar,
};

const AttnvizExpKernels *
_attnviz_exp_kernels_scalar (void)
{
  return &scalar_kernels;
}

/* ---------------------------------------------------------------- AVX2 */

#ifdef HAVE_AVX2_BUILD

#define AVX2 __attribute__ ((target ("avx2,fma")))
#pragma GCC diagnostic ignored "-Wpsabi"

/* _attnviz_expf, eight at a time, operation for operation. */
AVX2 static inline __m256
exp8 (__m256 x)
{
  const __m256 rounder = _mm256_set1_ps (ROUNDER);
  __m256 z = _mm256_fmadd_ps (x, _mm256_set1_ps (LOG2E), rounder);
  __m256 n = _mm256_sub_ps (z, rounder);
  __m256 b = _mm256_fnmadd_ps (n, _mm256_set1_ps (LN2_LO), _mm256_fnmadd_ps (n, _mm256_set1_ps (LN2_HI), x));
  __m256i e = _mm256_slli_epi32 (_mm256_castps_si256 (z), 23);
  __m256 k = _mm256_castsi256_ps (_mm256_add_epi32 (e, _mm256_set1_epi32 ((int) ONE_BITS)));
  __m256 u = _mm256_mul_ps (b, b);
  __m256 j = _mm256_fmadd_ps (_mm256_fmadd_ps (_mm256_fmadd_ps (_mm256_set1_ps (C4), b, _mm256_set1_ps (C3)), u,
                                               _mm256_fmadd_ps (_mm256_set1_ps (C2), b, _mm256_set1_ps (C1))),
                              u, _mm256_mul_ps (_mm256_set1_ps (C0), b));
  __m256 normal = _mm256_fmadd_ps (k, j, k);
  __m256 an = _mm256_andnot_ps (_mm256_set1_ps (-0.0f), n);
  __m256 beyond = _mm256_cmp_ps (an, _mm256_set1_ps (126.0f), _CMP_GT_OQ);
  if (_mm256_movemask_ps (beyond) == 0)
    return normal;
  __m256i g = _mm256_and_si256 (_mm256_castps_si256 (_mm256_cmp_ps (n, _mm256_setzero_ps (), _CMP_LE_OQ)),
                                _mm256_set1_epi32 ((int) SMALL_SHIFT));
  __m256 s1 = _mm256_castsi256_ps (_mm256_add_epi32 (g, _mm256_set1_epi32 ((int) BIG_BITS)));
  __m256 s2 = _mm256_castsi256_ps (_mm256_sub_epi32 (e, g));
  __m256 far = _mm256_cmp_ps (an, _mm256_set1_ps (192.0f), _CMP_GT_OQ);
  __m256 scaled = _mm256_mul_ps (_mm256_fmadd_ps (s2, j, s2), s1);
  return _mm256_blendv_ps (_mm256_blendv_ps (normal, scaled, beyond), _mm256_mul_ps (s1, s1), far);
}

/* The N < 8 floats at X, the other lanes PAD. */
AVX2 static inline __m256
load_tail (const float *x, gsize n, float pad)
{
  float buf[LANES];
  for (int l = 0; l < LANES; l++)
    buf[l] = (gsize) l < n ? x[l] : pad;
  return _mm256_loadu_ps (buf);
}

AVX2 static inline void
store_tail (float *x, gsize n, __m256 v)
{
  float buf[LANES];
  _mm256_storeu_ps (buf, v);
  memcpy (x, buf, n * sizeof (float));
}

/* Lanes 0-3 of E into LO, 4-7 into HI, in double. */
AVX2 static inline void
accumulate (__m256d *lo, __m256d *hi, __m256 e)
{
  *lo = _mm256_add_pd (*lo, _mm256_cvtps_pd (_mm256_castps256_ps128 (e)));
  *hi = _mm256_add_pd (*hi, _mm256_cvtps_pd (_mm256_extractf128_ps (e, 1)));
}

AVX2 static inline double
sum_accumulators (__m256d lo, __m256d hi)
{
  double acc[LANES];
  _mm256_storeu_pd (acc, lo);
  _mm256_storeu_pd (acc + 4, hi);
  return sum_lanes (acc);
}

AVX2 static double
exp_shifted_avx2 (float *x, gsize n, float shift)
{
  const __m256 s = _mm256_set1_ps (shift);
  __m256d lo = _mm256_setzero_pd (), hi = _mm256_setzero_pd ();
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    {
      __m256 e = exp8 (_mm256_sub_ps (_mm256_loadu_ps (x + i), s));
      _mm256_storeu_ps (x + i, e);
      accumulate (&lo, &hi, e);
    }
  if (i < n)
    {
      /* e^-inf = 0 in the padding adds nothing to its lane */
      __m256 e = exp8 (_mm256_sub_ps (load_tail (x + i, n - i, -INFINITY), s));
      store_tail (x + i, n - i, e);
      accumulate (&lo, &hi, e);
    }
  return sum_accumulators (lo, hi);
}

AVX2 static double
sum_exp_shifted_avx2 (const float *x, gsize n, float shift)
{
  const __m256 s = _mm256_set1_ps (shift);
  __m256d lo = _mm256_setzero_pd (), hi = _mm256_setzero_pd ();
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    accumulate (&lo, &hi, exp8 (_mm256_sub_ps (_mm256_loadu_ps (x + i), s)));
  if (i < n)
    accumulate (&lo, &hi, exp8 (_mm256_sub_ps (load_tail (x + i, n - i, -INFINITY), s)));
  return sum_accumulators (lo, hi);
}

/* gelu_tanh_one, eight at a time. */
AVX2 static inline __m256
gelu_tanh8 (__m256 v)
{
  __m256 cube = _mm256_mul_ps (_mm256_mul_ps (_mm256_mul_ps (_mm256_set1_ps (GELU_A), v), v), v);
  __m256 u = _mm256_mul_ps (_mm256_set1_ps (GELU_K), _mm256_add_ps (v, cube));
  __m256 e = exp8 (_mm256_mul_ps (_mm256_set1_ps (-2.0f), u));
  return _mm256_div_ps (v, _mm256_add_ps (_mm256_set1_ps (1.0f), e));
}

AVX2 static void
gelu_tanh_avx2 (float *x, gsize n)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    _mm256_storeu_ps (x + i, gelu_tanh8 (_mm256_loadu_ps (x + i)));
  if (i < n)
    store_tail (x + i, n - i, gelu_tanh8 (load_tail (x + i, n - i, 0.0f)));
}

AVX2 static inline __m256
silu8 (__m256 v)
{
  __m256 e = exp8 (_mm256_sub_ps (_mm256_setzero_ps (), v));
  return _mm256_div_ps (v, _mm256_add_ps (_mm256_set1_ps (1.0f), e));
}

AVX2 static void
silu_avx2 (float *x, gsize n)
{
  gsize i = 0;
  for (; i + LANES <= n; i += LANES)
    _mm256_storeu_ps (x + i, silu8 (_mm256_loadu_ps (x + i)));
  if (i < n)
    store_tail (x + i, n - i, silu8 (load_tail (x + i, n - i, 0.0f)));
}

static const AttnvizExpKernels avx2_kernels = {
  "avx2-fma", exp_shifted_avx2, sum_exp_shifted_avx2, gelu_tanh_avx2, silu_avx2,
};

const AttnvizExpKernels *
_attnviz_exp_kernels_avx2 (void)
{
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return &avx2_kernels;
  return NULL;
}

#else

const AttnvizExpKernels *
_attnviz_exp_kernels_avx2 (void)
{
  return NULL;
}

#endif

/* ---------------------------------------------------------------- dispatch */

const AttnvizExpKernels *
_attnviz_exp_kernels (void)
{
  /* Every thread that finds it unset chooses the same. */
  static const AttnvizExpKernels *chosen = NULL;
  const AttnvizExpKernels *k = g_atomic_pointer_get (&chosen);
  if (k == NULL)
    {
      k = _attnviz_exp_kernels_avx2 ();
      if (k == NULL)
        k = &scalar_kernels;
      g_atomic_pointer_set (&chosen, k);
    }
  return k;
}
