#define G_LOG_DOMAIN "attnviz-matmul"
#include "config.h"

/* Products with weights in their stored type.
 *
 * float32 weights go to cblas_sgemm as they are.  Any other type is read a
 * panel at a time: P rows of the (n_out, n_in) weight are dequantized into
 * a per-thread float32 scratch of P * n_in values (split over the engine's
 * threads), then one sgemm multiplies all T tokens with that panel:
 *
 *   out[:, r0 .. r0 + P) = in (T, n_in) . panel (P, n_in)^T
 *
 * so each weight is dequantized once per product however long the input,
 * and the scratch stays a few MiB.  P is chosen so the panel is about
 * PANEL_BYTES: big enough that sgemm runs near its full speed (its cost of
 * re-reading the activations per panel is 1 / (2P) of the arithmetic), small
 * enough to stay in the caches.  DESIGN.md compares this with whole-matrix
 * and per-row alternatives.
 *
 * Weights stored (n_in, n_out) (GPT-2's Conv1D in F16/BF16 safetensors) go
 * through panels of input rows instead, accumulated with beta = 1. */

#include <cblas.h>
#include <string.h>

#include "attnviz-matmul.h"
#include "attnviz-parallel.h"

#define PANEL_BYTES (4u << 20)

AttnvizMatrix
attnviz_matrix_f32 (const float *data, int rows, int cols, int ld)
{
  return (AttnvizMatrix) { .data = data, .type = ATTNVIZ_WEIGHT_F32, .rows = rows, .cols = cols,
                           .row_bytes = (gsize) ld * sizeof (float) };
}

guint64
attnviz_matrix_bytes (const AttnvizMatrix *m)
{
  gsize row = 0;
  if (!attnviz_weight_row_bytes (m->type, m->cols, &row))
    return 0;
  return (guint64) row * m->rows;
}

void
attnviz_matrix_get_row (const AttnvizMatrix *m, int r, float *dst)
{
  g_return_if_fail (r >= 0 && r < m->rows);
  if (m->type == ATTNVIZ_WEIGHT_F32)
    {
      memcpy (dst, (const guint8 *) m->data + (gsize) r * m->row_bytes, sizeof (float) * m->cols);
      return;
    }
  attnviz_dequantize_row (m->type, (const guint8 *) m->data + (gsize) r * m->row_bytes, dst, m->cols);
}

int
attnviz_matmul_panel_rows (int n_in)
{
  gsize rows = PANEL_BYTES / (sizeof (float) * (gsize) MAX (n_in, 1));
  rows = rows / 16 * 16;
  return (int) CLAMP (rows, 16, 4096);
}

/* ---- rows in whole tiles ---- */

/* OpenBLAS's tile: its Haswell kernels (Haswell, Zen) sum a row by its
 * place in a tile of 12 rows, and a product of any number of whole tiles
 * gives each row its tile's bits.  Elsewhere (SkylakeX's small-matrix
 * kernels, say, taken by a product's size) only the same product does:
 * every product is then exactly one tile of 48 rows, a multiple of every
 * x86 kernel's. */
typedef struct {
  int rows;
  gboolean many;    /* whole tiles may go in one product */
} RowTile;

static const RowTile *
row_tile (void)
{
  static RowTile tile;
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      const char *core = openblas_get_corename ();
      gboolean haswell = core && (g_ascii_strncasecmp (core, "haswell", 7) == 0 || g_ascii_strncasecmp (core, "zen", 3) == 0);
      tile = haswell ? (RowTile) { 12, TRUE } : (RowTile) { 48, FALSE };
      g_once_init_leave (&done, 1);
    }
  return &tile;
}

int
attnviz_row_tile (void)
{
  return row_tile ()->rows;
}

/* C (T, n) = A (T, k) B + beta C, B (k, n) or, TB = CblasTrans, (n, k).
 * ROW0 < 0: as it comes (one row by sgemv: sgemm would pack the whole
 * weight to use it once, three times the time of reading it).  Else the
 * rows are positions ROW0 .. and each goes through the kernel at its
 * position's place in a whole tile (row_tile ()): the whole tiles among
 * them in place, a partial tile at either end through a tile of zeros in
 * the thread's scratch. */
static void
product (int row0, CBLAS_TRANSPOSE tb, int T, int n, int k, const float *A, int lda, const float *B, int ldb,
         float beta, float *C, int ldc)
{
  if (T <= 0 || n <= 0)
    return;
  if (row0 < 0 && T == 1)
    {
      if (tb == CblasTrans)
        cblas_sgemv (CblasRowMajor, CblasNoTrans, n, k, 1.0f, B, ldb, A, 1, beta, C, 1);
      else
        cblas_sgemv (CblasRowMajor, CblasTrans, k, n, 1.0f, B, ldb, A, 1, beta, C, 1);
      return;
    }
  if (row0 < 0)
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, tb, T, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc);
      return;
    }
  int tile = row_tile ()->rows;
  for (int r = 0; r < T;)
    {
      int at = (row0 + r) % tile;
      int whole = at == 0 ? (T - r) / tile * tile : 0;
      if (!row_tile ()->many)
        whole = MIN (whole, tile);
      if (whole > 0)
        {
          cblas_sgemm (CblasRowMajor, CblasNoTrans, tb, whole, n, k, 1.0f, A + (gsize) r * lda, lda, B, ldb, beta,
                       C + (gsize) r * ldc, ldc);
          r += whole;
          continue;
        }
      int m = MIN (tile - at, T - r);
      float *a = attnviz_thread_scratch (ATTNVIZ_SCRATCH_TILE_IN, (gsize) tile * k);
      float *c = attnviz_thread_scratch (ATTNVIZ_SCRATCH_TILE_OUT, (gsize) tile * n);
      memset (a, 0, sizeof (float) * tile * k);
      memset (c, 0, sizeof (float) * tile * n);
      for (int i = 0; i < m; i++)
        {
          memcpy (a + (gsize) (at + i) * k, A + (gsize) (r + i) * lda, sizeof (float) * k);
          if (beta != 0.0f)
            memcpy (c + (gsize) (at + i) * n, C + (gsize) (r + i) * ldc, sizeof (float) * n);
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, tb, tile, n, k, 1.0f, a, k, B, ldb, beta, c, n);
      for (int i = 0; i < m; i++)
        memcpy (C + (gsize) (r + i) * ldc, c + (gsize) (at + i) * n, sizeof (float) * n);
      r += m;
    }
}

/* ---- products ---- */

static void
fill_bias (float *out, const float *b, int T, int ld, int n)
{
  for (int t = 0; t < T; t++)
    memcpy (out + (gsize) t * ld, b, sizeof (float) * n);
}

/* Columns [o0, o1) of OUT (T, n_out) rows LDO apart, for LIN stored
 * (n_out, n_in) or F32 (n_in, n_out): one product over the weight in
 * place, or panels of rows dequantized into this thread's scratch; ROW0 as
 * product () takes it. */
static void
linear_columns (float *out, int ldo, const float *in, const AttnvizLinear *lin, int T, int o0, int o1, int row0)
{
  const AttnvizMatrix *w = &lin->w;
  int n_in = lin->n_in, n_out = ldo;
  float beta = 0.0f;
  if (o1 <= o0)
    return;
  if (lin->b != NULL)
    {
      fill_bias (out + o0, lin->b + o0, T, n_out, o1 - o0);
      beta = 1.0f;
    }
  if (w->type == ATTNVIZ_WEIGHT_F32)
    {
      int ld = (int) (w->row_bytes / sizeof (float));
      const float *wf = (const float *) w->data;
      if (lin->in_out)
        product (row0, CblasNoTrans, T, o1 - o0, n_in, in, n_in, wf + lin->col0 + o0, ld, beta, out + o0, n_out);
      else
        product (row0, CblasTrans, T, o1 - o0, n_in, in, n_in, wf + (gsize) o0 * ld, ld, beta, out + o0, n_out);
      return;
    }
  g_assert (!lin->in_out);
  int P = MIN (attnviz_matmul_panel_rows (n_in), o1 - o0);
  float *panel = attnviz_thread_scratch (ATTNVIZ_SCRATCH_PANEL, (gsize) P * n_in);
  for (int r0 = o0; r0 < o1; r0 += P)
    {
      int n = MIN (P, o1 - r0);
      attnviz_dequantize_rows (w->type, (const guint8 *) w->data + (gsize) r0 * w->row_bytes, w->row_bytes,
                               n, n_in, panel, n_in);
      product (row0, CblasTrans, T, n, n_in, in, n_in, panel, n_in, beta, out + r0, n_out);
    }
}

/* Weights stored (n_in, n_out) in a type other than F32 (GPT-2's Conv1D
 * in F16 or BF16 safetensors): panels of input rows, each adding its share
 * to all of OUT. */
static void
linear_in_out_panels (float *out, int ldo, const float *in, const AttnvizLinear *lin, int T, int row0)
{
  const AttnvizMatrix *w = &lin->w;
  int n_in = lin->n_in, n_out = lin->n_out;
  float beta = 0.0f;
  if (lin->b != NULL)
    {
      fill_bias (out, lin->b, T, ldo, n_out);
      beta = 1.0f;
    }
  int P = MIN (attnviz_matmul_panel_rows (w->cols), n_in);
  float *panel = attnviz_thread_scratch (ATTNVIZ_SCRATCH_PANEL, (gsize) P * w->cols);
  for (int k0 = 0; k0 < n_in; k0 += P)
    {
      int n = MIN (P, n_in - k0);
      attnviz_dequantize_rows (w->type, (const guint8 *) w->data + (gsize) k0 * w->row_bytes, w->row_bytes,
                               n, w->cols, panel, w->cols);
      /* T rows of n_in values, of which columns k0 .. k0 + n; sgemm even
       * for one row outside tiles, as before them */
      if (row0 < 0)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, n_out, n, 1.0f, in + k0, n_in,
                     panel + lin->col0, w->cols, beta, out, ldo);
      else
        product (row0, CblasNoTrans, T, n_out, n, in + k0, n_in, panel + lin->col0, w->cols, beta, out, ldo);
      beta = 1.0f;
    }
}

void
attnviz_linear_serial (float *out, const float *in, const AttnvizLinear *lin, int T)
{
  attnviz_linear_serial_rows (out, lin->n_out, in, lin, T, -1);
}

void
attnviz_linear_serial_ld (float *out, int ldo, const float *in, const AttnvizLinear *lin, int T)
{
  attnviz_linear_serial_rows (out, ldo, in, lin, T, -1);
}

void
attnviz_linear_serial_rows (float *out, int ldo, const float *in, const AttnvizLinear *lin, int T, int row0)
{
  g_return_if_fail (ldo >= lin->n_out);
  if (lin->in_out && lin->w.type != ATTNVIZ_WEIGHT_F32)
    linear_in_out_panels (out, ldo, in, lin, T, row0);
  else
    linear_columns (out, ldo, in, lin, T, 0, lin->n_out, row0);
}

typedef struct {
  float *out;
  const float *in;
  const AttnvizLinear *lin;
  int T;
  int chunk;          /* columns per item, a multiple of 16 */
  int row0;
} LinearJob;

static void
linear_range (gpointer data, gsize start, gsize end)
{
  const LinearJob *job = data;
  attnviz_blas_serial_begin ();
  int o0 = (int) start * job->chunk;
  int o1 = MIN ((int) end * job->chunk, job->lin->n_out);
  linear_columns (job->out, job->lin->n_out, job->in, job->lin, job->T, o0, o1, job->row0);
  attnviz_blas_serial_end ();
}

void
attnviz_linear (float *out, const float *in, const AttnvizLinear *lin, int T)
{
  attnviz_linear_rows (out, in, lin, T, -1);
}

void
attnviz_linear_rows (float *out, const float *in, const AttnvizLinear *lin, int T, int row0)
{
  int threads = attnviz_n_compute_threads ();
  if (threads < 2 || (lin->in_out && lin->w.type != ATTNVIZ_WEIGHT_F32) || lin->n_out < 32)
    {
      /* Rows in tiles on one thread: OpenBLAS's own threads would split
       * the columns by the product's size, and a column's bits with them. */
      if (row0 >= 0)
        attnviz_blas_serial_begin ();
      attnviz_linear_serial_rows (out, lin->n_out, in, lin, T, row0);
      if (row0 >= 0)
        attnviz_blas_serial_end ();
      return;
    }
  /* Two items a thread, so one that finishes early takes another's share;
   * columns in multiples of 16 (whole panels stay whole where they fit),
   * the same for any T. */
  int n_items = 2 * threads;
  int chunk = (lin->n_out + n_items - 1) / n_items;
  chunk = (chunk + 15) / 16 * 16;
  n_items = (lin->n_out + chunk - 1) / chunk;
  LinearJob job = { out, in, lin, T, chunk, row0 };
  attnviz_parallel_for (n_items, 1, linear_range, &job);
}

AttnvizLinear
attnviz_linear_slice (const AttnvizLinear *lin, int o0, int n)
{
  g_return_val_if_fail (o0 >= 0 && n > 0 && o0 + n <= lin->n_out, *lin);
  AttnvizLinear s = *lin;
  s.n_out = n;
  s.b = lin->b ? lin->b + o0 : NULL;
  if (lin->in_out)
    s.col0 = lin->col0 + o0;
  else
    {
      s.w.data = (const guint8 *) lin->w.data + (gsize) o0 * lin->w.row_bytes;
      s.w.rows = n;
    }
  return s;
}
