/* Products in whole tiles (attnviz_linear_rows): a row comes out with the
 * same bits whether it runs alone, at its position, or among any number of
 * others, for the ways a weight is stored (F32, F16, BF16, Q8_0, Q4_K); and those bits are the
 * product's, within float32 rounding of a float64 sum. */
#define G_LOG_DOMAIN "test-matmul"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-matmul.h"
#include "attnviz-parallel.h"
#include "attnviz-quant.h"

#define N_IN 256   /* a whole Q4_K block */
#define N_OUT 160  /* whole Q8_0 blocks in (n_in, n_out) */
#define ROWS 41

typedef enum { HF_F32, IN_OUT_F32, HF_F16, IN_OUT_F16, HF_BF16, HF_Q8_0, HF_Q4_K, IN_OUT_Q8_0 } Layout;

static const struct {
  const char *name;
  AttnvizWeightType type;
  gboolean in_out;
} layouts[] = {
  { "(n_out, n_in) F32", ATTNVIZ_WEIGHT_F32, FALSE }, { "(n_in, n_out) F32", ATTNVIZ_WEIGHT_F32, TRUE },
  { "(n_out, n_in) F16", ATTNVIZ_WEIGHT_F16, FALSE }, { "(n_in, n_out) F16", ATTNVIZ_WEIGHT_F16, TRUE },
  { "(n_out, n_in) BF16", ATTNVIZ_WEIGHT_BF16, FALSE }, { "(n_out, n_in) Q8_0", ATTNVIZ_WEIGHT_Q8_0, FALSE },
  { "(n_out, n_in) Q4_K", ATTNVIZ_WEIGHT_Q4_K, FALSE }, { "(n_in, n_out) Q8_0", ATTNVIZ_WEIGHT_Q8_0, TRUE },
};

typedef struct {
  AttnvizLinear lin;
  float *w;        /* (n_out, n_in) as the layer computes with it, rounded as stored */
  gpointer stored;
  float *bias;
} Layer;

static void
layer_init (Layer *l, Layout layout, GRand *rand)
{
  gboolean in_out = layouts[layout].in_out;
  AttnvizWeightType type = layouts[layout].type;
  int rows = in_out ? N_IN : N_OUT, cols = in_out ? N_OUT : N_IN;
  l->w = g_new (float, N_OUT * N_IN);
  l->bias = g_new (float, N_OUT);
  g_autofree float *plain = g_new (float, rows * cols);
  for (int i = 0; i < rows * cols; i++)
    plain[i] = (float) g_rand_double_range (rand, -0.5, 0.5);
  for (int o = 0; o < N_OUT; o++)
    l->bias[o] = (float) g_rand_double_range (rand, -1.0, 1.0);
  gsize row_bytes = 0;
  g_assert_true (attnviz_weight_row_bytes (type, cols, &row_bytes));
  guint8 *stored = g_malloc (row_bytes * rows);
  if (type == ATTNVIZ_WEIGHT_F32)
    memcpy (stored, plain, row_bytes * rows);
  else
    for (int r = 0; r < rows; r++)
      attnviz_quantize_row (type, plain + (gsize) r * cols, stored + r * row_bytes, cols);
  l->stored = stored;
  l->lin = (AttnvizLinear) { .b = l->bias, .n_in = N_IN, .n_out = N_OUT, .in_out = in_out,
                             .w = { .data = stored, .type = type, .rows = rows, .cols = cols,
                                    .row_bytes = row_bytes } };
  /* the weights as the layer computes with them, rounded as stored */
  float *row = g_new (float, cols);
  for (int r = 0; r < rows; r++)
    {
      attnviz_matrix_get_row (&l->lin.w, r, row);
      for (int c = 0; c < cols; c++)
        l->w[in_out ? c * N_IN + r : r * N_IN + c] = row[c];
    }
  g_free (row);
}

static void
layer_clear (Layer *l)
{
  g_free (l->w);
  g_free (l->stored);
  g_free (l->bias);
}

static void
test_a_row_alone_equals_the_row_among_others (gconstpointer data)
{
  Layout layout = GPOINTER_TO_INT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7 + layout);
  Layer l;
  layer_init (&l, layout, rand);
  g_autofree float *in = g_new (float, ROWS * N_IN);
  for (int i = 0; i < ROWS * N_IN; i++)
    in[i] = (float) g_rand_double_range (rand, -2.0, 2.0);
  g_test_message ("%s, tiles of %d rows", layouts[layout].name, attnviz_row_tile ());

  /* every row of a whole run, within rounding of the float64 product */
  g_autofree float *whole = g_new (float, ROWS * N_OUT);
  attnviz_linear_rows (whole, in, &l.lin, ROWS, 0);
  double worst = 0.0;
  for (int t = 0; t < ROWS; t++)
    for (int o = 0; o < N_OUT; o++)
      {
        double want = l.bias[o];
        for (int k = 0; k < N_IN; k++)
          want += (double) in[t * N_IN + k] * l.w[o * N_IN + k];
        worst = MAX (worst, fabs (whole[t * N_OUT + o] - want));
      }
  g_test_message ("max |whole - float64| %.3g", worst);
  g_assert_cmpfloat (worst, <, 1e-4);   /* 256 products of values up to 2 */

  /* each row alone at its position: the same bits */
  g_autofree float *one = g_new (float, N_OUT);
  for (int t = 0; t < ROWS; t++)
    {
      attnviz_linear_rows (one, in + t * N_IN, &l.lin, 1, t);
      g_assert_cmpmem (one, sizeof one[0] * N_OUT, whole + t * N_OUT, sizeof whole[0] * N_OUT);
    }
  /* runs starting anywhere, of any length, over the engine's threads or
   * on one (OpenBLAS serial), whose columns split otherwise: the same bits
   * as the same call */
  g_autofree float *serial = g_new (float, ROWS * N_OUT);
  attnviz_blas_serial_begin ();
  attnviz_linear_serial_rows (serial, N_OUT, in, &l.lin, ROWS, 0);
  int starts[] = { 0, 3, 11, 12, 13, 25 }, lengths[] = { 1, 2, 9, 12, 14, 16 };
  g_autofree float *part = g_new (float, ROWS * N_OUT);
  for (guint i = 0; i < G_N_ELEMENTS (starts); i++)
    for (guint j = 0; j < G_N_ELEMENTS (lengths); j++)
      {
        int r0 = starts[i], n = MIN (lengths[j], ROWS - r0);
        attnviz_linear_rows (part, in + r0 * N_IN, &l.lin, n, r0);
        g_assert_cmpmem (part, sizeof part[0] * n * N_OUT, whole + r0 * N_OUT, sizeof whole[0] * n * N_OUT);
        attnviz_linear_serial_rows (part, N_OUT, in + r0 * N_IN, &l.lin, n, r0);
        g_assert_cmpmem (part, sizeof part[0] * n * N_OUT, serial + r0 * N_OUT, sizeof serial[0] * n * N_OUT);
      }
  attnviz_blas_serial_end ();
  layer_clear (&l);
}

/* Without a position the rows go as they come, to the same values within
 * rounding. */
static void
test_rows_as_they_come_agree_within_rounding (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  Layer l;
  layer_init (&l, HF_F32, rand);
  g_autofree float *in = g_new (float, ROWS * N_IN);
  for (int i = 0; i < ROWS * N_IN; i++)
    in[i] = (float) g_rand_double_range (rand, -2.0, 2.0);
  g_autofree float *tiled = g_new (float, ROWS * N_OUT);
  g_autofree float *plain = g_new (float, ROWS * N_OUT);
  attnviz_linear_rows (tiled, in, &l.lin, ROWS, 0);
  attnviz_linear (plain, in, &l.lin, ROWS);
  for (int i = 0; i < ROWS * N_OUT; i++)
    g_assert_cmpfloat_with_epsilon (tiled[i], plain[i], 1e-6 * MAX (1.0f, fabsf (plain[i])) * 8);
  layer_clear (&l);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const char *const paths[] = { "hf-f32", "in-out-f32", "hf-f16", "in-out-f16", "hf-bf16", "hf-q8_0",
                                       "hf-q4_k", "in-out-q8_0" };
  G_STATIC_ASSERT (G_N_ELEMENTS (paths) == G_N_ELEMENTS (layouts));
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *path = g_strdup_printf ("/matmul/row-tiles/%s", paths[i]);
      g_test_add_data_func (path, GINT_TO_POINTER (i), test_a_row_alone_equals_the_row_among_others);
    }
  g_test_add_func ("/matmul/rows-as-they-come", test_rows_as_they_come_agree_within_rounding);
  return g_test_run ();
}
