/* The engine's exponentials (attnviz-kernels-exp.c) against libm: e^x
 * within 2 ulp of e^x over every range of floats, expf's edges exact, the
 * GELU and SiLU built on it within a few ulp of the same formulas in
 * double, and the AVX2 build giving the scalar build's bits for every
 * input, so a head recomputed on any machine equals the recorded one. */
#define G_LOG_DOMAIN "test-kernels"
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "attnviz-kernels-private.h"
#include "attnviz-kernels.h"

#define MAX_ULP 2

static guint32
bits_of (float f)
{
  guint32 u;
  memcpy (&u, &f, sizeof u);
  return u;
}

static float
float_of (guint32 u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

/* How many floats apart two non-negative floats are (0 when equal). */
static guint32
ulps_apart (float a, float b)
{
  guint32 x = bits_of (a), y = bits_of (b);
  return x > y ? x - y : y - x;
}

/* e^x in double, rounded to float once: the float nearest e^x. */
static float
reference_exp (float x)
{
  return (float) exp ((double) x);
}

static void
assert_exp_close (float x, float got, guint32 *worst, float *worst_x)
{
  float want = reference_exp (x);
  if (isnan (want))
    {
      if (!isnan (got))
        g_error ("e^%a is %a, not NaN", x, got);
      return;
    }
  guint32 d = ulps_apart (got, want);
  if (d > MAX_ULP)
    g_error ("e^%a (%.9g) is %a, libm says %a: %u ulp apart", x, x, got, want, d);
  if (d > *worst)
    {
      *worst = d;
      *worst_x = x;
    }
}

static void
test_expf_is_within_2_ulp_of_libm_everywhere (void)
{
  guint32 worst = 0;
  float worst_x = 0.0f;
  /* Every 509th float of each sign, finite or not, from 0 to NaN. */
  for (guint64 u = 0; u <= 0xffffffffu; u += 509)
    {
      float x = float_of ((guint32) u);
      assert_exp_close (x, _attnviz_expf (x), &worst, &worst_x);
    }
  /* Every float where the exponent leaves the normal range and the
   * result is subnormal ([-104, -87]) or overflows ([88, 89]), every 7th
   * in [-1, 1] down to 2^-10 (the polynomial's own range), every 997th
   * below it. */
  for (float x = -104.0f; x <= -87.0f; x = nextafterf (x, INFINITY))
    assert_exp_close (x, _attnviz_expf (x), &worst, &worst_x);
  for (float x = 88.0f; x <= 89.0f; x = nextafterf (x, INFINITY))
    assert_exp_close (x, _attnviz_expf (x), &worst, &worst_x);
  for (guint32 u = bits_of (1.0f); u > 0; u = u > 997 ? u - (u > bits_of (0x1p-10f) ? 7 : 997) : 0)
    {
      assert_exp_close (float_of (u), _attnviz_expf (float_of (u)), &worst, &worst_x);
      assert_exp_close (-float_of (u), _attnviz_expf (-float_of (u)), &worst, &worst_x);
    }
  g_test_message ("largest error: %u ulp, at x = %.9g", worst, worst_x);
}

static void
test_expf_edges_are_exact (void)
{
  g_assert_cmpfloat (_attnviz_expf (0.0f), ==, 1.0f);
  g_assert_cmpfloat (_attnviz_expf (-0.0f), ==, 1.0f);
  g_assert_cmpfloat (_attnviz_expf (-INFINITY), ==, 0.0f);
  g_assert_false (signbit (_attnviz_expf (-INFINITY)));
  g_assert_true (isinf (_attnviz_expf (INFINITY)) && _attnviz_expf (INFINITY) > 0.0f);
  g_assert_true (isnan (_attnviz_expf (NAN)));
  g_assert_true (isnan (_attnviz_expf (-NAN)));
  /* expf's overflow threshold, ln (FLT_MAX) = 0x1.62e42ep6: finite at it,
   * infinite one float above */
  g_assert_true (isfinite (_attnviz_expf (0x1.62e42ep6f)));
  g_assert_true (isinf (_attnviz_expf (0x1.62e430p6f)));
  g_assert_true (isinf (_attnviz_expf (1000.0f)));
  g_assert_true (isinf (_attnviz_expf (FLT_MAX)));
  /* the smallest normal result, subnormal ones, and underflow to +0 */
  g_assert_cmpfloat (_attnviz_expf (-87.0f), >=, FLT_MIN);
  float sub = _attnviz_expf (-100.0f);
  g_assert_true (sub > 0.0f && sub < FLT_MIN);
  g_assert_cmpfloat (_attnviz_expf (-104.0f), ==, 0.0f);
  g_assert_cmpfloat (_attnviz_expf (-1000.0f), ==, 0.0f);
  g_assert_cmpfloat (_attnviz_expf (-FLT_MAX), ==, 0.0f);
  g_assert_false (signbit (_attnviz_expf (-FLT_MAX)));
}

/* Values a softmax row and an MLP see, with the edges among them. */
static float *
hostile_values (gsize n, guint32 seed)
{
  static const float edges[] = { 0.0f, -0.0f, 1.0f, -1.0f, 88.7f, 89.0f, -87.4f, -100.0f, -104.0f, -1e30f, 1e30f,
                                 FLT_MIN, -FLT_MAX, FLT_MAX, INFINITY, -INFINITY, NAN, 20.0f, -20.0f, 1e-30f };
  float *x = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < n; i++)
    {
      guint32 pick = g_rand_int_range (rand, 0, 4);
      if (pick == 0)
        x[i] = edges[g_rand_int_range (rand, 0, G_N_ELEMENTS (edges))];
      else if (pick == 1)
        x[i] = float_of (g_rand_int (rand));
      else
        x[i] = (float) g_rand_double_range (rand, -30.0, 30.0);
    }
  g_rand_free (rand);
  return x;
}

/* A copy of X[0..N) (also for N = 0). */
static float *
copy_floats (const float *x, gsize n)
{
  float *c = g_new (float, MAX (n, 1));
  if (n > 0)
    memcpy (c, x, n * sizeof (float));
  return c;
}

static void
assert_same_bits (const float *a, const float *b, gsize n, const char *what)
{
  for (gsize i = 0; i < n; i++)
    if (bits_of (a[i]) != bits_of (b[i]) && !(isnan (a[i]) && isnan (b[i])))
      g_error ("%s: value %zu of %zu is %a in the AVX2 build, %a in the scalar one", what, i, n, a[i], b[i]);
}

static void
assert_same_double (double a, double b, const char *what, gsize n)
{
  if (memcmp (&a, &b, sizeof a) != 0 && !(isnan (a) && isnan (b)))
    g_error ("%s over %zu: the AVX2 build sums %a, the scalar one %a", what, n, a, b);
}

static void
test_avx2_build_gives_the_scalar_bits (void)
{
  const AttnvizExpKernels *simd = _attnviz_exp_kernels_avx2 ();
  const AttnvizExpKernels *scalar = _attnviz_exp_kernels_scalar ();
  if (simd == NULL)
    {
      g_test_skip ("this machine has no AVX2 and FMA: only the scalar build runs");
      return;
    }
  g_assert_true (_attnviz_exp_kernels () == simd);
  /* every length up to three vectors and a tail, and a long row */
  static const gsize lengths[] = { 0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 100003 };
  for (guint li = 0; li < G_N_ELEMENTS (lengths); li++)
    for (guint32 seed = 1; seed <= 3; seed++)
      {
        gsize n = lengths[li];
        g_autofree float *x = hostile_values (n, seed * 1000 + li);
        g_autofree float *a = copy_floats (x, n);
        g_autofree float *b = copy_floats (x, n);
        /* finite values only for the sums, as a softmax row after its
         * maximum (the masked ones -inf) */
        g_autofree float *row = copy_floats (x, n);
        for (gsize i = 0; i < n; i++)
          row[i] = isfinite (row[i]) && fabsf (row[i]) < 1e3f ? row[i] : -INFINITY;
        float shift = n ? attnviz_max_of (row, n) : 0.0f;
        if (!isfinite (shift))
          shift = 0.0f;

        assert_same_double (simd->sum_exp_shifted (row, n, shift), scalar->sum_exp_shifted (row, n, shift),
                            "sum_exp_shifted", n);
        g_autofree float *ra = copy_floats (row, n);
        g_autofree float *rb = copy_floats (row, n);
        assert_same_double (simd->exp_shifted (ra, n, shift), scalar->exp_shifted (rb, n, shift), "exp_shifted", n);
        assert_same_bits (ra, rb, n, "exp_shifted");
        /* and over anything at all, shifted by a value */
        assert_same_double (simd->exp_shifted (a, n, 1.5f), scalar->exp_shifted (b, n, 1.5f), "exp_shifted", n);
        assert_same_bits (a, b, n, "exp_shifted of hostile values");

        for (gsize i = 0; i < n; i++)
          a[i] = b[i] = x[i];
        simd->gelu_tanh (a, n);
        scalar->gelu_tanh (b, n);
        assert_same_bits (a, b, n, "gelu_tanh");

        for (gsize i = 0; i < n; i++)
          a[i] = b[i] = x[i];
        simd->silu (a, n);
        scalar->silu (b, n);
        assert_same_bits (a, b, n, "silu");
      }
  /* and e^x itself over every 613th float */
  float xs[8], got[8];
  for (guint64 u = 0; u <= 0xffffffffu; u += 8 * 613)
    {
      for (int l = 0; l < 8; l++)
        xs[l] = float_of ((guint32) (u + (guint64) l * 613));
      memcpy (got, xs, sizeof got);
      simd->exp_shifted (got, 8, 0.0f);
      for (int l = 0; l < 8; l++)
        assert_same_bits (got + l, &(float) { _attnviz_expf (xs[l]) }, 1, "e^x");
    }
}

/* The relative distance of GOT from WANT (double), in ulps of WANT's
 * float. */
static double
ulps_from (float got, double want)
{
  if (want == 0.0)
    return got == 0.0f ? 0.0 : HUGE_VAL;
  int e;
  frexp (want, &e);
  double ulp = ldexp (1.0, MAX (e - 24, -149));
  return fabs ((double) got - want) / ulp;
}

static void
check_activations (const AttnvizExpKernels *k)
{
  const gsize n = 200001;
  g_autofree float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = -50.0f + 100.0f * (float) i / (float) (n - 1);
  g_autofree float *gelu = g_memdup2 (x, n * sizeof (float));
  g_autofree float *silu = g_memdup2 (x, n * sizeof (float));
  k->gelu_tanh (gelu, n);
  k->silu (silu, n);
  double worst_gelu = 0.0, worst_silu = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      float v = x[i];
      /* u in float as the kernel (and PyTorch) takes it, the rest in
       * double; 0.5 v (1 + tanh u) as v / (1 + e^-2u), whose double
       * does not cancel to 0 for negative v */
      float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
      double want_gelu = v / (1.0 + exp (-2.0 * (double) u));
      double want_silu = v / (1.0 + exp (-(double) v));
      /* Where e^-2u overflows float (v < -9.9) the GELU is -0; the true
       * value is smaller than 1e-37 there. */
      if (fabs (want_gelu) < 1e-37)
        g_assert_cmpfloat (fabsf (gelu[i]), <, 1e-37f);
      else
        worst_gelu = MAX (worst_gelu, ulps_from (gelu[i], want_gelu));
      worst_silu = MAX (worst_silu, ulps_from (silu[i], want_silu));
    }
  g_test_message ("%s: GELU within %.2f ulp, SiLU within %.2f ulp", k->name, worst_gelu, worst_silu);
  g_assert_cmpfloat (worst_gelu, <=, 4.0);
  g_assert_cmpfloat (worst_silu, <=, 4.0);

  float edge[] = { INFINITY, -INFINITY, NAN, 0.0f };
  float e_gelu[4], e_silu[4];
  memcpy (e_gelu, edge, sizeof edge);
  memcpy (e_silu, edge, sizeof edge);
  k->gelu_tanh (e_gelu, 4);
  k->silu (e_silu, 4);
  g_assert_true (isinf (e_silu[0]) && e_silu[0] > 0.0f);
  g_assert_true (e_silu[1] == 0.0f || isnan (e_silu[1]));
  g_assert_true (isnan (e_gelu[2]) && isnan (e_silu[2]));
  g_assert_cmpfloat (e_gelu[3], ==, 0.0f);
  g_assert_cmpfloat (e_silu[3], ==, 0.0f);
}

static void
test_activations_are_within_4_ulp_of_their_formulas (void)
{
  check_activations (_attnviz_exp_kernels_scalar ());
  if (_attnviz_exp_kernels_avx2 ())
    check_activations (_attnviz_exp_kernels_avx2 ());
}

static void
check_sums (const AttnvizExpKernels *k)
{
  const gsize n = 50257;
  g_autofree float *x = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (42);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -40.0, 12.0);
  g_rand_free (rand);
  float max = attnviz_max_of (x, n);
  double want = 0.0;
  for (gsize i = 0; i < n; i++)
    want += exp ((double) x[i] - max);
  double sum = k->sum_exp_shifted (x, n, max);
  g_autofree float *e = g_memdup2 (x, n * sizeof (float));
  double stored = k->exp_shifted (e, n, max);
  g_assert_cmpfloat (sum, ==, stored);
  /* each term within 2 ulp, so the sum within 2^-22 of libm's */
  g_assert_cmpfloat (fabs (sum - want) / want, <=, 0x1p-22);
  double of_stored = 0.0;
  for (gsize i = 0; i < n; i++)
    of_stored += e[i];
  g_assert_cmpfloat (fabs (of_stored - stored) / stored, <=, 1e-12);
}

static void
test_sums_of_exponentials_match_libm (void)
{
  check_sums (_attnviz_exp_kernels_scalar ());
  if (_attnviz_exp_kernels_avx2 ())
    check_sums (_attnviz_exp_kernels_avx2 ());
}

static void
test_scans_find_what_a_plain_loop_finds (void)
{
  /* every length to 40 and every position in it, as vectors and tails */
  float x[40];
  for (gsize n = 0; n <= G_N_ELEMENTS (x); n++)
    {
      for (gsize i = 0; i < n; i++)
        x[i] = (float) i - 100.0f;
      g_assert_cmpuint (attnviz_first_above (x, n, 0.0f), ==, n);
      g_assert_false (attnviz_has_non_finite (x, n));
      for (gsize at = 0; at < n; at++)
        {
          float keep = x[at];
          x[at] = 0.5f;
          g_assert_cmpuint (attnviz_first_above (x, n, 0.0f), ==, at);
          g_assert_cmpuint (attnviz_first_above (x, n, 0.5f), ==, n);   /* equal is not above */
          x[at] = NAN;
          g_assert_cmpuint (attnviz_first_above (x, n, 0.0f), ==, at);  /* NaN is not at most */
          g_assert_true (attnviz_has_non_finite (x, n));
          x[at] = -INFINITY;
          g_assert_true (attnviz_has_non_finite (x, n));
          x[at] = FLT_MAX;
          g_assert_false (attnviz_has_non_finite (x, n));
          x[at] = keep;
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/kernels/expf/is-within-2-ulp-of-libm-everywhere",
                   test_expf_is_within_2_ulp_of_libm_everywhere);
  g_test_add_func ("/engine/kernels/expf/edges-are-exact", test_expf_edges_are_exact);
  g_test_add_func ("/engine/kernels/avx2-build-gives-the-scalar-bits", test_avx2_build_gives_the_scalar_bits);
  g_test_add_func ("/engine/kernels/activations-are-within-4-ulp-of-their-formulas",
                   test_activations_are_within_4_ulp_of_their_formulas);
  g_test_add_func ("/engine/kernels/sums-of-exponentials-match-libm", test_sums_of_exponentials_match_libm);
  g_test_add_func ("/engine/kernels/scans-find-what-a-plain-loop-finds", test_scans_find_what_a_plain_loop_finds);
  return g_test_run ();
}
