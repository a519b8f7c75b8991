#define G_LOG_DOMAIN "attnviz-parallel"
#include "config.h"

#include <cblas.h>

#include "attnviz-parallel.h"

/* One parallel_for(): the chunks go to whichever thread asks first, so a
 * helper that wakes late costs nothing but its share.  Helpers hold a
 * reference, since one may start after the caller has returned. */
typedef struct {
  AttnvizRangeFunc func;
  gpointer data;
  gsize n;
  gsize grain;        /* items per chunk */
  int n_chunks;
  int next;           /* atomic: next chunk to take */
  int done;           /* atomic: chunks finished */
  GMutex lock;
  GCond finished;
} ParallelJob;

static void
parallel_job_clear (gpointer data)
{
  ParallelJob *job = data;
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->finished);
}

static void
parallel_job_run (ParallelJob *job)
{
  for (;;)
    {
      int i = g_atomic_int_add (&job->next, 1);
      if (i >= job->n_chunks)
        return;
      gsize start = (gsize) i * job->grain;
      job->func (job->data, start, MIN (start + job->grain, job->n));
      if (g_atomic_int_add (&job->done, 1) + 1 == job->n_chunks)
        {
          g_mutex_lock (&job->lock);
          g_cond_signal (&job->finished);
          g_mutex_unlock (&job->lock);
        }
    }
}

static void
parallel_helper (gpointer data, gpointer user_data)
{
  ParallelJob *job = data;
  parallel_job_run (job);
  g_atomic_rc_box_release_full (job, parallel_job_clear);
}

/* Helper threads beside the caller: one fewer than the cores.  They sleep
 * on the pool's queue between jobs, so they do not spin against
 * OpenBLAS's own threads. */
static GThreadPool *
helper_pool (void)
{
  static GThreadPool *pool;
  if (g_once_init_enter (&pool))
    {
      int n = MAX (g_get_num_processors () - 1, 1);
      g_once_init_leave (&pool, g_thread_pool_new (parallel_helper, NULL, n, TRUE, NULL));
    }
  return pool;
}

static int engine_threads;   /* atomic; 0: the default */

/* OpenBLAS's thread count when the engine first asks (OPENBLAS_NUM_THREADS
 * or the cores), before any serial region lowers it. */
static int
default_threads (void)
{
  static gsize once;
  static int n;
  if (g_once_init_enter (&once))
    {
      n = CLAMP (MIN (openblas_get_num_threads (), (int) g_get_num_processors ()), 1, 64);
      g_once_init_leave (&once, 1);
    }
  return n;
}

int
attnviz_n_compute_threads (void)
{
  int n = g_atomic_int_get (&engine_threads);
  return n > 0 ? CLAMP (n, 1, 64) : default_threads ();
}

void
attnviz_set_n_threads (int n)
{
  default_threads ();
  g_atomic_int_set (&engine_threads, MAX (n, 0));
}

/* ---- OpenBLAS single-threaded while the engine's threads call it ---- */

static GMutex serial_lock;
static int serial_depth;
static int serial_saved;

void
attnviz_blas_serial_begin (void)
{
  default_threads ();
  g_mutex_lock (&serial_lock);
  if (serial_depth++ == 0)
    {
      serial_saved = openblas_get_num_threads ();
      openblas_set_num_threads (1);
    }
  g_mutex_unlock (&serial_lock);
}

void
attnviz_blas_serial_end (void)
{
  g_mutex_lock (&serial_lock);
  g_assert (serial_depth > 0);
  if (--serial_depth == 0)
    openblas_set_num_threads (serial_saved);
  g_mutex_unlock (&serial_lock);
}

void
attnviz_parallel_for (gsize n, gsize grain, AttnvizRangeFunc func, gpointer data)
{
  grain = MAX (grain, 1);
  gsize n_chunks = (n + grain - 1) / grain;
  int n_threads = attnviz_n_compute_threads ();
  if (n_chunks < 2 || n_threads < 2 || n_chunks > G_MAXINT)
    {
      if (n > 0)
        func (data, 0, n);
      return;
    }
  int n_helpers = (int) MIN ((gsize) n_threads - 1, n_chunks - 1);

  ParallelJob *job = g_atomic_rc_box_new0 (ParallelJob);
  job->func = func;
  job->data = data;
  job->n = n;
  job->grain = grain;
  job->n_chunks = (int) n_chunks;
  g_mutex_init (&job->lock);
  g_cond_init (&job->finished);
  GThreadPool *pool = helper_pool ();
  for (int i = 0; i < n_helpers; i++)
    g_thread_pool_push (pool, g_atomic_rc_box_acquire (job), NULL);

  parallel_job_run (job);
  g_mutex_lock (&job->lock);
  while (g_atomic_int_get (&job->done) < job->n_chunks)
    g_cond_wait (&job->finished, &job->lock);
  g_mutex_unlock (&job->lock);
  g_atomic_rc_box_release_full (job, parallel_job_clear);
}


/* ---- per-thread scratch ---- */

typedef struct {
  float *data[ATTNVIZ_N_SCRATCH];
  gsize n[ATTNVIZ_N_SCRATCH];
} Scratch;

static void
scratch_free (gpointer p)
{
  Scratch *s = p;
  for (int i = 0; i < ATTNVIZ_N_SCRATCH; i++)
    g_free (s->data[i]);
  g_free (s);
}

float *
attnviz_thread_scratch (AttnvizScratchSlot slot, gsize n)
{
  static GPrivate key = G_PRIVATE_INIT (scratch_free);
  g_return_val_if_fail (slot < ATTNVIZ_N_SCRATCH, NULL);
  Scratch *s = g_private_get (&key);
  if (s == NULL)
    {
      s = g_new0 (Scratch, 1);
      g_private_set (&key, s);
    }
  if (s->n[slot] < n)
    {
      g_free (s->data[slot]);
      s->data[slot] = g_new (float, n);
      s->n[slot] = n;
    }
  return s->data[slot];
}
