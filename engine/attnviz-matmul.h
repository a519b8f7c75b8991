/* attnviz-matmul.h: weight matrices kept in their stored type, and the
 * products that read them
 *
 * A model's matrices stay where the file put them (the mapping of a GGUF or
 * safetensors file): float32 is read in place, every other type (F16, BF16,
 * the GGUF block types) is turned into float32 one panel of rows at a time,
 * into a per-thread scratch, just before OpenBLAS multiplies it with all T
 * tokens.  Memory is the file plus that scratch; DESIGN.md says why panels.
 */
#pragma once

#include <glib.h>

#include "attnviz-quant.h"

G_BEGIN_DECLS

/* ROWS rows of COLS values as stored: row r starts at DATA + r * ROW_BYTES,
 * its values packed in TYPE (for block types, COLS is a multiple of the
 * block size).  For F32, DATA is 4-byte aligned and ROW_BYTES a multiple
 * of 4, so BLAS reads it in place. */
typedef struct {
  const void *data;
  AttnvizWeightType type;
  int rows;
  int cols;
  gsize row_bytes;
} AttnvizMatrix;

/* A float32 matrix (ROWS, COLS) at DATA with rows LD floats apart. */
AttnvizMatrix attnviz_matrix_f32 (const float *data, int rows, int cols, int ld);

/* The float32 pointer of an F32 matrix, or NULL for other types. */
static inline const float *
attnviz_matrix_f32_data (const AttnvizMatrix *m)
{
  return m->type == ATTNVIZ_WEIGHT_F32 ? (const float *) m->data : NULL;
}

/* Bytes the matrix takes as stored. */
guint64 attnviz_matrix_bytes (const AttnvizMatrix *m);

/* DST[0..COLS) = row R as float32. */
void attnviz_matrix_get_row (const AttnvizMatrix *m, int r, float *dst);

/* y = x W^T + b for weights stored (n_out, n_in), as nn.Linear and GGUF
 * keep them; or y = x W + b for weights stored (n_in, n_out) (IN_OUT: GPT-2
 * Conv1D in safetensors), where the layer reads columns COL0 .. COL0 + n_out
 * (GPT-2's fused c_attn is three column blocks of one (d, 3d) matrix). */
typedef struct {
  AttnvizMatrix w;
  const float *b;        /* (n_out) or NULL */
  int n_in;
  int n_out;
  int col0;              /* IN_OUT only */
  gboolean in_out;
} AttnvizLinear;

/* OUT (T, n_out) = IN (T, n_in) through LIN, the output columns split over
 * the engine's threads (attnviz-parallel.h), each calling OpenBLAS on its
 * share; a stored type other than F32 goes a panel of rows at a time,
 * dequantized into the thread's scratch. */
void attnviz_linear (float *out, const float *in, const AttnvizLinear *lin, int T);
/* The same on the calling thread alone, for code already running on the
 * engine's threads. */
void attnviz_linear_serial (float *out, const float *in, const AttnvizLinear *lin, int T);
/* The same into OUT (T, ...) whose rows are LDO floats apart. */
void attnviz_linear_serial_ld (float *out, int ldo, const float *in, const AttnvizLinear *lin, int T);
/* Rows that come out the same however many run together: the T rows of
 * IN are positions ROW0 .. ROW0 + T - 1 of a longer sequence, and each is
 * multiplied at its position's place in whole tiles of
 * attnviz_row_tile () rows (rows of partial tiles padded with zeros), so a
 * cached generation step's one row gets the bits the whole run gives it
 * (OpenBLAS sums an element by its row's place in its kernel's tile, and
 * the rows of a last, partial tile go through other kernels).  ROW0 < 0:
 * attnviz_linear (). */
void attnviz_linear_rows (float *out, const float *in, const AttnvizLinear *lin, int T, int row0);
/* ... on the calling thread, which must run OpenBLAS serially
 * (attnviz_blas_serial_begin ()) for the bits to hold. */
void attnviz_linear_serial_rows (float *out, int ldo, const float *in, const AttnvizLinear *lin, int T, int row0);
/* The rows of OpenBLAS's tile a row's bits depend on: 12 for its Haswell
 * kernels (Haswell, Zen), else 48, a multiple of every x86 kernel's. */
int attnviz_row_tile (void);
/* The layer restricted to its output columns [O0, O0 + N) (one head's rows
 * of W_q, say): the same weights and bias, read in place. */
AttnvizLinear attnviz_linear_slice (const AttnvizLinear *lin, int o0, int n);

/* Rows of weight a panel holds for N_IN values per row (exposed for tests
 * and the benchmark). */
int attnviz_matmul_panel_rows (int n_in);

G_END_DECLS
