/* test-quantize: the quantizers `attnviz convert` writes with (F32, F16,
 * BF16, Q8_0, Q4_0, Q4_K), by round trip: quantize a row, dequantize it
 * (the dequantizers are checked bit for bit in test-quant) and hold every
 * value to the error bound the type's construction guarantees.  Each bound
 * is derived in the comment above its check; the small "float" terms are
 * the rounding of the few float operations on the way, bounded from the
 * IEEE half-ulp (2^-24 relative) and never more than 2^-14 of the main term.
 *
 * The rows: normal with small and unit spread, uniform, all zeros, positive
 * and negative constants, one huge outlier (and one large negative) among
 * small values, negatives only, values so small that the f16 scales are
 * subnormal, and rows of exact ties.
 */
#define G_LOG_DOMAIN "attnviz-test-quantize"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-quant.h"
#include "attnviz-safetensors.h"
#include "attnviz-test-util.h"

#define N 512

typedef enum {
  ROW_NORMAL_SMALL,
  ROW_NORMAL,
  ROW_UNIFORM,
  ROW_ZEROS,
  ROW_CONSTANT,
  ROW_NEGATIVE_CONSTANT,
  ROW_OUTLIER,
  ROW_NEGATIVES,
  ROW_TINY,
  ROW_TIES,
  N_ROWS
} RowKind;

static const char *const row_names[N_ROWS] = {
  "normal(0, 0.02)", "normal(0, 1)", "uniform(-1, 1)", "zeros", "constant 0.37",
  "constant -1.25", "outlier 100 and -50", "negatives only", "normal(0, 1e-6)", "ties",
};

static double
gaussian (GRand *rand)
{
  double u = g_rand_double (rand), v = g_rand_double (rand);
  return sqrt (-2.0 * log (1.0 - u)) * cos (2.0 * G_PI * v);
}

static void
make_row (RowKind kind, float *x)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1000 + kind);
  for (int i = 0; i < N; i++)
    switch (kind)
      {
      case ROW_NORMAL_SMALL: x[i] = (float) (0.02 * gaussian (rand)); break;
      case ROW_NORMAL: x[i] = (float) gaussian (rand); break;
      case ROW_UNIFORM: x[i] = (float) g_rand_double_range (rand, -1.0, 1.0); break;
      case ROW_ZEROS: x[i] = 0.0f; break;
      case ROW_CONSTANT: x[i] = 0.37f; break;
      case ROW_NEGATIVE_CONSTANT: x[i] = -1.25f; break;
      case ROW_OUTLIER: x[i] = i == 100 ? 100.0f : i == 300 ? -50.0f : (float) (0.01 * gaussian (rand)); break;
      case ROW_NEGATIVES: x[i] = (float) -fabs (0.5 * gaussian (rand)); break;
      case ROW_TINY: x[i] = (float) (1e-6 * gaussian (rand)); break;
      /* In each block of 32, 127 first makes the Q8_0 scale exactly 1, so
       * the others (k + 0.5) sit halfway between two levels. */
      case ROW_TIES: x[i] = i % 32 == 0 ? 127.0f : (float) ((i % 32) * 7 % 250 - 125) + 0.5f; break;
      default: g_assert_not_reached ();
      }
}

/* The row quantized to TYPE and back, in a fresh buffer. */
static float *
round_trip (AttnvizWeightType type, const float *x, guint8 **bytes_out)
{
  gsize row_bytes;
  g_assert_true (attnviz_weight_row_bytes (type, N, &row_bytes));
  guint8 *bytes = g_malloc (row_bytes + 1);
  bytes[row_bytes] = 0xa5;  /* must stay untouched */
  attnviz_quantize_row (type, x, bytes, N);
  g_assert_cmphex (bytes[row_bytes], ==, 0xa5);
  float *y = g_new (float, N);
  attnviz_dequantize_row (type, bytes, y, N);
  if (bytes_out)
    *bytes_out = bytes;
  else
    g_free (bytes);
  return y;
}

static float
half_at (const guint8 *p)
{
  return attnviz_f16_to_f32 ((guint16) (p[0] | (p[1] << 8)));
}

/* The largest |x - rounded x| of rounding a float32 to nearest: the
 * f16 (11 significant bits) or bf16 (8) half-ulp at X's binade, the
 * subnormal spacing's half below the smallest normal (2^-14 for f16, the
 * float32 range for bf16). */
static double
half_ulp (float x, int bits, int min_exp)
{
  int e;
  frexp (fabs (x), &e);  /* |x| in [2^(e-1), 2^e) */
  return ldexp (1.0, MAX (e - 1, min_exp) - bits);
}

/* Reports and checks the largest error over a row, with the bound that
 * value had. */
typedef struct {
  double worst;      /* the largest err / bound */
  int at;
  double err, bound;
} Worst;

static void
note (Worst *w, int i, double err, double bound)
{
  double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0);
  if (ratio > w->worst || w->at < 0)
    *w = (Worst) { ratio, i, err, bound };
}

static void
finish (const Worst *w, AttnvizWeightType type, RowKind kind)
{
  g_test_message ("%s %s: largest error %.3g at %d, bound %.3g (%.0f%% of it)",
                  attnviz_weight_type_name (type), row_names[kind], w->err, w->at, w->bound,
                  100 * w->worst);
  if (!(w->worst <= 1.0))
    g_error ("%s %s: value %d off by %.6g, over its bound %.6g",
             attnviz_weight_type_name (type), row_names[kind], w->at, w->err, w->bound);
}

/* ---- F32, F16, BF16 -------------------------------------------------------- */

static void
test_float_types (gconstpointer data)
{
  AttnvizWeightType type = GPOINTER_TO_INT (data);
  for (RowKind kind = 0; kind < N_ROWS; kind++)
    {
      float x[N];
      make_row (kind, x);
      g_autofree float *y = round_trip (type, x, NULL);
      Worst w = { .at = -1 };
      for (int i = 0; i < N; i++)
        {
          double bound = type == ATTNVIZ_WEIGHT_F32 ? 0.0
                         : type == ATTNVIZ_WEIGHT_F16 ? half_ulp (x[i], 11, -14)
                         : half_ulp (x[i], 8, -126);
          note (&w, i, fabs ((double) x[i] - y[i]), bound);
        }
      finish (&w, type, kind);
    }
}

/* Rounding to nearest even, overflow and the special values, one by one. */
static void
check_one (AttnvizWeightType type, float x, float want)
{
  guint8 bytes[4];
  float y;
  attnviz_quantize_row (type, &x, bytes, 1);
  attnviz_dequantize_row (type, bytes, &y, 1);
  if (isnan (want))
    g_assert_true (isnan (y));
  else if (memcmp (&y, &want, 4) != 0)
    g_error ("%s of %.9g: got %.9g, want %.9g", attnviz_weight_type_name (type), x, y, want);
}

static void
test_f16_specials (void)
{
  const AttnvizWeightType t = ATTNVIZ_WEIGHT_F16;
  check_one (t, 1.0f + 0x1p-11f, 1.0f);                 /* tie: to the even 1.0 */
  check_one (t, 1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-9f);   /* tie: to the even 1 + 2^-9 */
  check_one (t, 1.0f + 0x1p-11f + 0x1p-20f, 1.0f + 0x1p-10f);
  check_one (t, 65504.0f, 65504.0f);
  check_one (t, 65519.0f, 65504.0f);
  check_one (t, 65520.0f, INFINITY);                    /* tie with 65536: even is inf */
  check_one (t, -1e6f, -INFINITY);
  check_one (t, 0x1p-24f, 0x1p-24f);                    /* smallest subnormal */
  check_one (t, 0x1p-25f, 0.0f);                        /* tie with 0: even */
  check_one (t, 0x1.8p-25f, 0x1p-24f);
  check_one (t, 3 * 0x1p-25f, 2 * 0x1p-24f);            /* tie 1.5 units: to 2 */
  check_one (t, -0.0f, -0.0f);
  check_one (t, INFINITY, INFINITY);
  check_one (t, NAN, NAN);
}

static void
test_bf16_specials (void)
{
  const AttnvizWeightType t = ATTNVIZ_WEIGHT_BF16;
  check_one (t, 1.0f + 0x1p-8f, 1.0f);                  /* tie: to the even 1.0 */
  check_one (t, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f);    /* tie: to the even */
  check_one (t, 1.0f + 0x1p-8f + 0x1p-20f, 1.0f + 0x1p-7f);
  check_one (t, 3.4e38f, INFINITY);                     /* past the largest bf16 */
  check_one (t, 1e-40f, 0x1p-133f);                     /* float subnormals stay */
  check_one (t, -0.0f, -0.0f);
  check_one (t, -INFINITY, -INFINITY);
  check_one (t, NAN, NAN);
  check_one (t, -NAN, -NAN);
  /* A NaN whose payload sits only in the low 16 bits would truncate to inf:
   * it must stay a NaN. */
  guint32 low_nan_bits = 0x7f800001;
  float low_nan;
  memcpy (&low_nan, &low_nan_bits, 4);
  check_one (t, low_nan, NAN);
}

/* ---- Q8_0 ------------------------------------------------------------------ */

/* Per block of 32: d = amax / 127 in float, stored as the f16 d16;
 * q = round (x * (1/d)).  So |x/d - q| <= 1/2 + 127 * 2^-23 (the rounding
 * of 1/d and of the product), and
 *   |x - d16 * q| <= d/2 + 127 |d - d16| + amax * 2^-22,
 * the last term the 127 * 2^-23 above times d plus the final product's
 * rounding (2^-24 of amax).  The stored scale must be exactly f16 (d). */
static void
test_q8_0 (void)
{
  for (RowKind kind = 0; kind < N_ROWS; kind++)
    {
      float x[N];
      make_row (kind, x);
      g_autofree guint8 *bytes = NULL;
      g_autofree float *y = round_trip (ATTNVIZ_WEIGHT_Q8_0, x, &bytes);
      Worst w = { .at = -1 };
      for (int b = 0; b < N / 32; b++)
        {
          const float *xb = x + 32 * b;
          const guint8 *block = bytes + 34 * b;
          float amax = 0.0f;
          for (int j = 0; j < 32; j++)
            amax = fmaxf (amax, fabsf (xb[j]));
          float d = amax / 127.0f;
          guint16 d16_bits = attnviz_f32_to_f16 (d);
          g_assert_cmpuint (block[0] | (block[1] << 8), ==, d16_bits);
          double d16 = half_at (block);
          for (int j = 0; j < 32; j++)
            {
              g_assert_cmpint ((gint8) block[2 + j], >=, -127);
              double bound = d / 2.0 + 127 * fabs (d - d16) + amax * 0x1p-22;
              note (&w, 32 * b + j, fabs ((double) xb[j] - y[32 * b + j]), bound);
            }
        }
      finish (&w, ATTNVIZ_WEIGHT_Q8_0, kind);
    }
}

/* Ties round away from zero, as C's roundf (and llama.cpp) does. */
static void
test_q8_0_ties (void)
{
  float x[32] = { 127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 126.5f, -126.5f };
  guint8 bytes[34];
  attnviz_quantize_row (ATTNVIZ_WEIGHT_Q8_0, x, bytes, 32);
  g_assert_cmpfloat (half_at (bytes), ==, 1.0f);
  static const int want[7] = { 127, 1, -1, 2, -3, 127, -127 };
  for (int j = 0; j < 7; j++)
    g_assert_cmpint ((gint8) bytes[2 + j], ==, want[j]);
}

/* ---- Q4_0 ------------------------------------------------------------------ */

/* Per block: m the value of largest magnitude (the first of equals),
 * d = m / -8 stored as d16, q = min (15, trunc (x * (1/d) + 8.5)), value
 * d16 * (q - 8).  With t = x / d in [-8, 8]: for t <= 7.5 the level is the
 * nearest, |t - (q - 8)| <= 1/2; above it q - 8 = 7 and |t - 7| <= 1.  The
 * float steps add 2^-19 to t (the products and the sum near 16), and
 * |q - 8| <= 8 turns the f16 rounding of d into 8 |d - d16|:
 *   |x - x'| <= |d| / 2 + 8 |d - d16| + amax * 2^-20   when |t| <= 7
 *   |x - x'| <= |d|     + 8 |d - d16| + amax * 2^-20   always. */
static void
test_q4_0 (void)
{
  for (RowKind kind = 0; kind < N_ROWS; kind++)
    {
      float x[N];
      make_row (kind, x);
      g_autofree guint8 *bytes = NULL;
      g_autofree float *y = round_trip (ATTNVIZ_WEIGHT_Q4_0, x, &bytes);
      Worst w = { .at = -1 };
      for (int b = 0; b < N / 32; b++)
        {
          const float *xb = x + 32 * b;
          float amax = 0.0f, m = 0.0f;
          for (int j = 0; j < 32; j++)
            if (fabsf (xb[j]) > amax)
              {
                amax = fabsf (xb[j]);
                m = xb[j];
              }
          float d = m / -8.0f;
          g_assert_cmpuint (bytes[18 * b] | (bytes[18 * b + 1] << 8), ==, attnviz_f32_to_f16 (d));
          double d16 = half_at (bytes + 18 * b);
          for (int j = 0; j < 32; j++)
            {
              double t = d != 0.0f ? (double) xb[j] / d : 0.0;
              double step = fabs (t) <= 7.0 ? fabs (d) / 2.0 : fabs (d);
              double bound = step + 8 * fabs (d - d16) + amax * 0x1p-20;
              note (&w, 32 * b + j, fabs ((double) xb[j] - y[32 * b + j]), bound);
            }
        }
      finish (&w, ATTNVIZ_WEIGHT_Q4_0, kind);
    }
}

/* ---- Q4_K ------------------------------------------------------------------ */

/* The stored grid of sub-block J of the super-block at P: step D, offset M
 * (x' = D * q - M), from the 12-byte packing as attnviz-quant.h lays it out. */
static void
q4_k_grid (const guint8 *p, int j, double *d16, double *dmin16, double *step, double *offset)
{
  const guint8 *s = p + 4;
  int sc, m;
  if (j < 4)
    {
      sc = s[j] & 63;
      m = s[j + 4] & 63;
    }
  else
    {
      sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
      m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
  *d16 = half_at (p);
  *dmin16 = half_at (p + 2);
  *step = (float) *d16 * (float) sc;
  *offset = (float) *dmin16 * (float) m;
}

/* Largest rounding error of a float to f16 that came out as H: half an
 * f16 ulp, 2^-11 of H for a normal half, 2^-25 in the subnormal range. */
static double
f16_rounding (double h)
{
  return MAX (h * 0x1p-11, 0x1p-25);
}

/* The quantizer (attnviz-quantize.c) picks for each sub-block a grid
 * (s, mu) that covers the data to within s/2 at both ends, then stores
 * D = d16 * sc, M = dmin16 * m with sc, m the nearest 6-bit multiples
 * (clamped to 63), so |D - s| <= eD = d16/2 + 63 f16_rounding (d16) and
 * |M - mu| <= eM likewise (the 63 term covers the clamp and a d16 that
 * rounded to 0), and each value takes its nearest level.  Inside the grid
 * the error is at most D/2; past its top at most
 * s/2 + 15 |D - s| + |M - mu|; below its bottom at most s/2 + |M - mu|:
 *   |x - x'| <= D/2 + 15.5 eD + eM.
 * (It may take a neighbouring sc or m instead, when that lowers the
 * squared error and keeps within this bound for the new D: the bound
 * holds either way.)  Beside the bound, x' must be the nearest level of
 * the stored grid.
 * Float terms: the scale division (16 * 63 * 2^-24 of d16, dmin16 over
 * the 15.5 steps) and the level arithmetic (2^-18 of 15D + M + |x|). */
static void
test_q4_k (void)
{
  for (RowKind kind = 0; kind < N_ROWS; kind++)
    {
      float x[N];
      make_row (kind, x);
      g_autofree guint8 *bytes = NULL;
      g_autofree float *y = round_trip (ATTNVIZ_WEIGHT_Q4_K, x, &bytes);
      Worst w = { .at = -1 }, nearest = { .at = -1 };
      for (int v = 0; v < N; v++)
        {
          double d16, dmin16, step, offset;
          q4_k_grid (bytes + 144 * (v / 256), (v % 256) / 32, &d16, &dmin16, &step, &offset);
          double err = fabs ((double) x[v] - y[v]);
          double slack = 0x1p-14 * (d16 + dmin16) + 0x1p-18 * (15 * step + offset + fabs (x[v]));

          double e_d = d16 / 2 + 63 * f16_rounding (d16);
          double e_m = dmin16 / 2 + 63 * f16_rounding (dmin16);
          note (&w, v, err, step / 2 + 15.5 * e_d + e_m + slack);

          double best = INFINITY;
          for (int q = 0; q < 16; q++)
            best = fmin (best, fabs ((double) x[v] - ((float) step * (float) q - (float) offset)));
          note (&nearest, v, err, best + slack);
        }
      finish (&w, ATTNVIZ_WEIGHT_Q4_K, kind);
      if (!(nearest.worst <= 1.0))
        g_error ("Q4_K %s: value %d is %.6g off, its nearest level %.6g",
                 row_names[kind], nearest.at, nearest.err, nearest.bound);
    }
}

/* Zeros, and a negative constant that 63 f16 steps reach exactly, come
 * back exactly. */
static void
test_q4_k_exact_rows (void)
{
  float x[256];
  for (int i = 0; i < 256; i++)
    x[i] = i >= 32 && i < 64 ? -63 * 0x1p-6f : 0.0f;
  guint8 bytes[144];
  attnviz_quantize_row (ATTNVIZ_WEIGHT_Q4_K, x, bytes, 256);
  float y[256];
  attnviz_dequantize_row (ATTNVIZ_WEIGHT_Q4_K, bytes, y, 256);
  for (int i = 0; i < 256; i++)
    g_assert_cmpfloat (y[i], ==, x[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_assert_true (attnviz_weight_type_can_quantize (ATTNVIZ_WEIGHT_Q4_K));
  g_assert_false (attnviz_weight_type_can_quantize (ATTNVIZ_WEIGHT_Q6_K));

  g_test_add_data_func ("/engine/quantize/f32/round-trips-exactly",
                        GINT_TO_POINTER (ATTNVIZ_WEIGHT_F32), test_float_types);
  g_test_add_data_func ("/engine/quantize/f16/round-trips-within-half-an-ulp",
                        GINT_TO_POINTER (ATTNVIZ_WEIGHT_F16), test_float_types);
  g_test_add_data_func ("/engine/quantize/bf16/round-trips-within-half-an-ulp",
                        GINT_TO_POINTER (ATTNVIZ_WEIGHT_BF16), test_float_types);
  g_test_add_func ("/engine/quantize/f16/rounds-ties-to-even-and-keeps-inf-and-nan", test_f16_specials);
  g_test_add_func ("/engine/quantize/bf16/rounds-ties-to-even-and-keeps-inf-and-nan", test_bf16_specials);
  g_test_add_func ("/engine/quantize/q8_0/round-trips-within-half-a-step", test_q8_0);
  g_test_add_func ("/engine/quantize/q8_0/rounds-ties-away-from-zero", test_q8_0_ties);
  g_test_add_func ("/engine/quantize/q4_0/round-trips-within-its-bound", test_q4_0);
  g_test_add_func ("/engine/quantize/q4_k/round-trips-to-the-nearest-level-within-its-bound", test_q4_k);
  g_test_add_func ("/engine/quantize/q4_k/keeps-zeros-and-a-negative-constant-exact", test_q4_k_exact_rows);

  return g_test_run ();
}
