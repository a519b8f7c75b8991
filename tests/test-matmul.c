/* Products in whole tiles (attnviz_linear_rows): a row comes out with the
 * same bits whether it runs alone, at its position, or among any number of
 * others, for every way a weight is stored; and those bits are the
 * product's, within float32 rounding of a float64 sum. */
#define G_LOG_DOMAIN "test-matmul"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-matmul.h"
#include "attnviz-parallel.h"
#include "attnviz-safetensors.h"

#define N_IN 67
#define N_OUT 150
#define ROWS 41

typedef enum { HF_F32, IN_OUT_F32, HF_F16, IN_OUT_F16 } Layout;

static const char *const layout_names[] = { "(n_out, n_in) F32", "(n_in, n_out) F32", "(n_out, n_in) F16",
                                            "(n_in, n_out) F16" };

typedef struct {
  AttnvizLinear lin;
  float *w;        /* (n_out, n_in) as the layer computes with it, rounded as stored */
  gpointer stored;
  float *bias;
} Layer;

static void
layer_init (Layer *l, Layout layout, GRand *rand)
{
  gboolean in_out = layout == IN_OUT_F32 || layout == IN_OUT_F16;
  gboolean f16 = layout == HF_F16 || layout == IN_OUT_F16;
  int rows = in_out ? N_IN : N_OUT, cols = in_out ? N_OUT : N_IN;
  l->w = g_new (float, N_OUT * N_IN);
  l->bias = g_new (float, N_OUT);
  float *plain = g_new (float, rows * cols);
  guint16 *half = g_new (guint16, rows * cols);
  for (int i = 0; i < rows * cols; i++)
    {
      plain[i] = (float) g_rand_double_range (rand, -0.5, 0.5);
      half[i] = attnviz_f32_to_f16 (plain[i]);
    }
  for (int o = 0; o < N_OUT; o++)
    l->bias[o] = (float) g_rand_double_range (rand, -1.0, 1.0);
  l->lin = (AttnvizLinear) { .b = l->bias, .n_in = N_IN, .n_out = N_OUT, .in_out = in_out };
  if (f16)
    {
      l->lin.w = (AttnvizMatrix) { .data = half, .type = ATTNVIZ_WEIGHT_F16, .rows = rows, .cols = cols,
                                   .row_bytes = cols * sizeof (guint16) };
      l->stored = half;
      g_free (plain);
    }
  else
    {
      l->lin.w = attnviz_matrix_f32 (plain, rows, cols, cols);
      l->stored = plain;
      g_free (half);
    }
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
  g_test_message ("%s, tiles of %d rows", layout_names[layout], attnviz_row_tile ());

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
  g_assert_cmpfloat (worst, <, 1e-5);

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
    g_assert_cmpfloat_with_epsilon (tiled[i], plain[i], 1e-5);
  layer_clear (&l);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/matmul/row-tiles/hf-f32", GINT_TO_POINTER (HF_F32),
                        test_a_row_alone_equals_the_row_among_others);
  g_test_add_data_func ("/matmul/row-tiles/in-out-f32", GINT_TO_POINTER (IN_OUT_F32),
                        test_a_row_alone_equals_the_row_among_others);
  g_test_add_data_func ("/matmul/row-tiles/hf-f16", GINT_TO_POINTER (HF_F16),
                        test_a_row_alone_equals_the_row_among_others);
  g_test_add_data_func ("/matmul/row-tiles/in-out-f16", GINT_TO_POINTER (IN_OUT_F16),
                        test_a_row_alone_equals_the_row_among_others);
  g_test_add_func ("/matmul/rows-as-they-come", test_rows_as_they_come_agree_within_rounding);
  return g_test_run ();
}
