/* attnviz-parallel.h: the engine's own threads, beside OpenBLAS's
 *
 * The forward pass runs on the engine's own threads: attnviz_parallel_for ()
 * splits a job (columns of a product, heads of a layer, rows of a norm)
 * over them, and each calls OpenBLAS single-threaded inside
 * attnviz_blas_serial_begin/end.  Every item is computed by the same code
 * whichever thread takes it, so results do not depend on the number of
 * threads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Called on [start, end) of the items of an attnviz_parallel_for (). */
typedef void (*AttnvizRangeFunc) (gpointer data, gsize start, gsize end);

/* Runs FUNC over the N items in chunks of GRAIN, on the calling thread and
 * the helpers; returns when all are done.  Small jobs stay on the calling
 * thread.  FUNC must not call attnviz_parallel_for () itself. */
void attnviz_parallel_for (gsize n, gsize grain, AttnvizRangeFunc func, gpointer data);

/* The engine's threads: attnviz_set_n_threads ()'s, else as many as
 * OpenBLAS was started with (OPENBLAS_NUM_THREADS, or the cores), never
 * more than the cores. */
int attnviz_n_compute_threads (void);
/* 0: back to the default. */
void attnviz_set_n_threads (int n);

/* Between these, OpenBLAS runs every call on the calling thread: the
 * forward pass splits its products over the engine's threads itself, each
 * calling sgemm, rather than let OpenBLAS's threads (which spin between
 * calls) compete with the engine's for the cores.  Regions nest and may
 * overlap across threads; the last end restores OpenBLAS's count. */
void attnviz_blas_serial_begin (void);
void attnviz_blas_serial_end (void);

/* Work space a thread keeps between calls: N floats of the calling
 * thread's scratch number SLOT (one per kind of use, so a caller's panel
 * and its head's score block do not share), grown when needed, freed when
 * the thread ends. */
typedef enum {
  ATTNVIZ_SCRATCH_PANEL,    /* a weight panel being dequantized (attnviz-matmul.c) */
  ATTNVIZ_SCRATCH_SCORES,   /* a block of a head's scores (attnviz-forward-attention.c) */
  ATTNVIZ_SCRATCH_TILE_IN,  /* rows padded to a whole tile (attnviz-matmul.c, a tiled head's queries) */
  ATTNVIZ_SCRATCH_TILE_OUT, /* their products */
  ATTNVIZ_N_SCRATCH
} AttnvizScratchSlot;

float *attnviz_thread_scratch (AttnvizScratchSlot slot, gsize n);

G_END_DECLS
