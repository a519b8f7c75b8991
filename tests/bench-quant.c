/* bench-quant: how fast each weight type turns into float32, and how fast
 * `attnviz convert` can quantize.
 *
 * The dequantization case is the one a forward pass has: a 2048 x 2048
 * weight matrix read panel by panel (32 rows of 2048 values, 256 KiB of
 * float32 that stays in cache for the matrix product) from memory.
 * Printed per type: ns per value, values per second, and the GB/s read from
 * the quantized matrix and written as float32.  Best of seven passes of
 * eight sweeps each.
 */
#define G_LOG_DOMAIN "attnviz-bench-quant"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-quant.h"
#include "attnviz-safetensors.h"

#define N_COLS 2048
#define N_ROWS 2048
#define PANEL_ROWS 32
#define SWEEPS 8   /* whole-matrix sweeps per timed pass */
#define PASSES 7   /* the best pass counts: the machine may be busy */

static const AttnvizWeightType types[] = {
  ATTNVIZ_WEIGHT_F32, ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16,
  ATTNVIZ_WEIGHT_Q8_0, ATTNVIZ_WEIGHT_Q4_0, ATTNVIZ_WEIGHT_Q4_1,
  ATTNVIZ_WEIGHT_Q5_0, ATTNVIZ_WEIGHT_Q5_1, ATTNVIZ_WEIGHT_Q2_K,
  ATTNVIZ_WEIGHT_Q3_K, ATTNVIZ_WEIGHT_Q4_K, ATTNVIZ_WEIGHT_Q5_K,
  ATTNVIZ_WEIGHT_Q6_K,
};

/* Where the f16 scale fields of one block are, per type. */
static int
f16_fields (AttnvizWeightType type, int offsets[2])
{
  switch (type)
    {
    case ATTNVIZ_WEIGHT_Q4_0: case ATTNVIZ_WEIGHT_Q5_0: case ATTNVIZ_WEIGHT_Q8_0:
      offsets[0] = 0;
      return 1;
    case ATTNVIZ_WEIGHT_Q4_1: case ATTNVIZ_WEIGHT_Q5_1:
    case ATTNVIZ_WEIGHT_Q4_K: case ATTNVIZ_WEIGHT_Q5_K:
      offsets[0] = 0;
      offsets[1] = 2;
      return 2;
    case ATTNVIZ_WEIGHT_Q2_K:
      offsets[0] = 80;
      offsets[1] = 82;
      return 2;
    case ATTNVIZ_WEIGHT_Q3_K:
      offsets[0] = 108;
      return 1;
    case ATTNVIZ_WEIGHT_Q6_K:
      offsets[0] = 208;
      return 1;
    default:
      return 0;
    }
}

/* A matrix of random blocks whose scales are ordinary small numbers. */
static guint8 *
make_matrix (AttnvizWeightType type, GRand *rand, gsize *row_bytes)
{
  g_assert_true (attnviz_weight_row_bytes (type, N_COLS, row_bytes));
  gsize size = *row_bytes * N_ROWS;
  guint8 *m = g_malloc (size);
  for (gsize i = 0; i < size; i++)
    m[i] = (guint8) g_rand_int (rand);

  if (type == ATTNVIZ_WEIGHT_F32 || type == ATTNVIZ_WEIGHT_F16 || type == ATTNVIZ_WEIGHT_BF16)
    {
      float row[N_COLS];
      for (int r = 0; r < N_ROWS; r++)
        {
          for (int i = 0; i < N_COLS; i++)
            row[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
          attnviz_quantize_row (type, row, m + r * *row_bytes, N_COLS);
        }
      return m;
    }

  int offsets[2];
  int n_fields = f16_fields (type, offsets);
  gsize block_bytes = attnviz_weight_type_block_bytes (type);
  for (gsize b = 0; b < size / block_bytes; b++)
    for (int f = 0; f < n_fields; f++)
      {
        guint16 h = attnviz_f32_to_f16 ((float) g_rand_double_range (rand, 1e-4, 1e-2));
        m[b * block_bytes + offsets[f]] = (guint8) h;
        m[b * block_bytes + offsets[f] + 1] = (guint8) (h >> 8);
      }
  return m;
}

static void
bench_dequantize (AttnvizWeightType type, GRand *rand)
{
  gsize row_bytes;
  g_autofree guint8 *m = make_matrix (type, rand, &row_bytes);
  g_autofree float *panel = g_malloc (sizeof (float) * PANEL_ROWS * N_COLS);
  double checksum = 0.0;
  gint64 best = G_MAXINT64;

  for (int pass = 0; pass < PASSES; pass++)
    {
      gint64 start = g_get_monotonic_time ();
      for (int sweep = 0; sweep < SWEEPS; sweep++)
        for (int r = 0; r < N_ROWS; r += PANEL_ROWS)
          {
            attnviz_dequantize_rows (type, m + r * row_bytes, row_bytes, PANEL_ROWS, N_COLS,
                                     panel, N_COLS);
            checksum += panel[(r * 7) % (PANEL_ROWS * N_COLS)];
          }
      best = MIN (best, g_get_monotonic_time () - start);
    }

  double values = (double) N_ROWS * N_COLS * SWEEPS;
  double seconds = best * 1e-6;
  printf ("dequantize %-5s %6.3f ns/value  %7.0f Mvalues/s  read %6.2f GB/s  write %6.2f GB/s"
          "  (checksum %g)\n",
          attnviz_weight_type_name (type), seconds * 1e9 / values, values / seconds * 1e-6,
          row_bytes * (double) N_ROWS * SWEEPS / seconds * 1e-9, values * 4 / seconds * 1e-9,
          checksum);
}

static void
bench_quantize (AttnvizWeightType type, GRand *rand)
{
  const int n_rows = 64;
  gsize row_bytes;
  g_assert_true (attnviz_weight_row_bytes (type, N_COLS, &row_bytes));
  g_autofree float *x = g_malloc (sizeof (float) * n_rows * N_COLS);
  g_autofree guint8 *q = g_malloc (row_bytes * n_rows);
  for (int i = 0; i < n_rows * N_COLS; i++)
    x[i] = (float) g_rand_double_range (rand, -0.1, 0.1);

  gint64 best = G_MAXINT64;
  for (int pass = 0; pass < 3; pass++)
    {
      gint64 start = g_get_monotonic_time ();
      for (int r = 0; r < n_rows; r++)
        attnviz_quantize_row (type, x + r * N_COLS, q + r * row_bytes, N_COLS);
      best = MIN (best, g_get_monotonic_time () - start);
    }
  double values = (double) n_rows * N_COLS;
  printf ("quantize   %-5s %8.2f ns/value\n", attnviz_weight_type_name (type),
          best * 1e3 / values);
}

int
main (int argc, char **argv)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  printf ("%d x %d matrix, panels of %d rows\n", N_ROWS, N_COLS, PANEL_ROWS);
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    bench_dequantize (types[i], rand);
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    if (attnviz_weight_type_can_quantize (types[i]))
      bench_quantize (types[i], rand);
  return 0;
}
