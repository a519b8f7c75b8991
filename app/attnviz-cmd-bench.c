/* attnviz bench: how fast the forward pass and its recording run
 *
 * A GPT-2-124M-shaped model with random weights runs over random tokens
 * at a few sequence lengths, recording every head's attention (12, 12, T, T),
 * every logit (T, 50257) and the per-token loss, as `attnviz dump` does.
 * Each time is set against two yardsticks: the OpenBLAS SGEMM rate measured
 * in the same run on this machine (the forward is nearly all matrix
 * products, so this says how much of the hardware it uses), and the
 * PyTorch eager times the issue gives for this machine.
 */
#define G_LOG_DOMAIN "attnviz-cmd-bench"
#include "config.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "attnviz-cli.h"

/* The targets of the issue. */
#define TARGET_SGEMM_FRACTION 0.60
#define TARGET_PYTORCH_SPEEDUP 3.0

/* PyTorch eager (transformers GPT2LMHeadModel, output_attentions=True,
 * labels given) on the 2-core EPYC this was specified on, in seconds. */
static const struct {
  int T;
  double seconds;
} pytorch_eager[] = {
  { 128, 2.0 },
  { 512, 3.4 },
  { 1024, 8.5 },
};

/* The SGEMM of the baseline: the MLP up-projection at T = 1024,
 * (M, K) x (K, N). */
#define SGEMM_M 1024
#define SGEMM_K 768
#define SGEMM_N 3072
#define SGEMM_REPS 5

#define SEED 1234

static char *opt_sizes = NULL;
static int opt_repeat = 3;
static gboolean opt_quick = FALSE;
static int opt_threads = 0;

static const GOptionEntry entries[] = {
  { "sizes", 's', 0, G_OPTION_ARG_STRING, &opt_sizes, "Sequence lengths to time (default 128,512,1024)", "T,..." },
  { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat, "Runs per length; the best is reported (default 3)", "N" },
  { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "Only T = 64 and 128, for a smoke test", NULL },
  { "threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads, "OpenBLAS threads (default: OpenBLAS's own choice)", "N" },
  { NULL }
};

static void
gpt2_small_config (AttnvizConfig *c)
{
  memset (c, 0, sizeof *c);
  c->architecture = (char *) "GPT2LMHeadModel";
  c->model_type = (char *) "gpt2";
  c->family = ATTNVIZ_FAMILY_GPT2;
  c->n_layer = 12;
  c->d_model = 768;
  c->n_head = 12;
  c->n_kv_head = 12;
  c->head_dim = 64;
  c->d_ff = 3072;
  c->vocab_size = 50257;
  c->n_ctx = 1024;
  c->norm_eps = 1e-5f;
  c->rope_theta = 10000.0f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->act = ATTNVIZ_ACT_GELU_TANH;
  c->pos = ATTNVIZ_POS_LEARNED;
  c->causal = TRUE;
  c->qkv_bias = TRUE;
  c->out_bias = TRUE;
  c->mlp_bias = TRUE;
  c->tied_embeddings = TRUE;
  c->has_lm_head = TRUE;
  c->bos_id = 50256;
  c->eos_id = 50256;
  c->pad_id = -1;
}

/* Floating-point operations of one forward pass over T tokens: every
 * linear layer 2 T n_in n_out, and per head 2 T T head_dim for Q K^T and
 * again for P V, counted over the full square even though the mask makes
 * half of it zero.  Norms, softmax and activations are left out. */
static double
forward_flops (const AttnvizConfig *c, int T)
{
  double d = c->d_model, dq = (double) c->n_head * c->head_dim, dkv = (double) c->n_kv_head * c->head_dim;
  double ff = c->d_ff;
  double linear = d * dq + 2.0 * d * dkv + dq * d + (c->gated_mlp ? 3.0 : 2.0) * d * ff;
  double per_layer = 2.0 * T * linear + (double) c->n_head * 4.0 * T * (double) T * c->head_dim;
  double head = c->has_lm_head ? 2.0 * T * d * c->vocab_size : 0.0;
  return c->n_layer * per_layer + head;
}

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* Best rate of SGEMM_REPS products (M, K) x (K, N), in GFLOP/s. */
static double
sgemm_rate (void)
{
  gsize na = (gsize) SGEMM_M * SGEMM_K, nb = (gsize) SGEMM_K * SGEMM_N, nc = (gsize) SGEMM_M * SGEMM_N;
  g_autofree float *a = g_new (float, na);
  g_autofree float *b = g_new (float, nb);
  g_autofree float *out = g_new0 (float, nc);
  GRand *rand = g_rand_new_with_seed (SEED);
  for (gsize i = 0; i < na; i++)
    a[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  for (gsize i = 0; i < nb; i++)
    b[i] = (float) g_rand_double_range (rand, -0.05, 0.05);
  g_rand_free (rand);

  double best = G_MAXDOUBLE;
  /* One unmeasured product wakes OpenBLAS's threads and warms the caches. */
  for (int rep = 0; rep <= SGEMM_REPS; rep++)
    {
      double t0 = now ();
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, SGEMM_M, SGEMM_N, SGEMM_K,
                   1.0f, a, SGEMM_K, b, SGEMM_N, 0.0f, out, SGEMM_N);
      double dt = now () - t0;
      if (rep > 0)
        best = MIN (best, dt);
    }
  return 2.0 * SGEMM_M * SGEMM_K * SGEMM_N / best / 1e9;
}

/* Lets the next peak_rss_bytes() report the peak from now on.  Linux only;
 * FALSE when the peak cannot be reset (then it is the peak of the process). */
static gboolean
reset_peak_rss (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (f == NULL)
    return FALSE;
  gboolean ok = fputs ("5", f) >= 0;
  ok = fclose (f) == 0 && ok;
  return ok;
}

/* The resident-set high-water mark in bytes: VmHWM, or ru_maxrss. */
static guint64
peak_rss_bytes (void)
{
  g_autofree char *status = NULL;
  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    {
      const char *line = strstr (status, "\nVmHWM:");
      if (line != NULL)
        return g_ascii_strtoull (line + strlen ("\nVmHWM:"), NULL, 10) * 1024;
    }
  struct rusage ru;
  if (getrusage (RUSAGE_SELF, &ru) == 0)
    return (guint64) ru.ru_maxrss * 1024;
  return 0;
}

static double
pytorch_seconds (int T)
{
  for (guint i = 0; i < G_N_ELEMENTS (pytorch_eager); i++)
    if (pytorch_eager[i].T == T)
      return pytorch_eager[i].seconds;
  return 0.0;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef struct {
  int T;
  double best;       /* seconds */
  double median;
  double gflops;     /* of the best run */
  double of_sgemm;   /* gflops / the baseline */
  double speedup;    /* PyTorch eager / best, 0 without a reference */
  guint64 peak_rss;
} BenchRow;

static gboolean
time_forward (const AttnvizModel *model, int T, int repeat, BenchRow *row, GError **error)
{
  const AttnvizConfig *c = &model->config;
  g_autofree gint32 *ids = g_new (gint32, T);
  GRand *rand = g_rand_new_with_seed (SEED + T);
  for (int t = 0; t < T; t++)
    ids[t] = g_rand_int_range (rand, 0, c->vocab_size);
  g_rand_free (rand);

  g_autofree double *times = g_new (double, repeat);
  gboolean own_peak = reset_peak_rss ();
  for (int rep = 0; rep < repeat; rep++)
    {
      double t0 = now ();
      AttnvizRecording *rec = attnviz_forward (model, ids, T, NULL, error);
      times[rep] = now () - t0;
      if (rec == NULL)
        return FALSE;
      attnviz_recording_free (rec);
    }
  qsort (times, repeat, sizeof (double), compare_doubles);

  row->T = T;
  row->best = times[0];
  row->median = repeat % 2 ? times[repeat / 2] : (times[repeat / 2 - 1] + times[repeat / 2]) / 2.0;
  row->gflops = forward_flops (c, T) / row->best / 1e9;
  double eager = pytorch_seconds (T);
  row->speedup = eager > 0.0 ? eager / row->best : 0.0;
  row->peak_rss = own_peak ? peak_rss_bytes () : 0;
  return TRUE;
}


/* A second variant after the model's own run: ablating a head of the last
 * layer recomputes one layer instead of twelve when it starts from the
 * kept residual stream.  Prints both times and what was reused. */
static gboolean
time_variant_reuse (const AttnvizModel *model, int T, GError **error)
{
  const AttnvizConfig *c = &model->config;
  g_autofree gint32 *ids = g_new (gint32, T);
  GRand *rand = g_rand_new_with_seed (SEED + T);
  for (int t = 0; t < T; t++)
    ids[t] = g_rand_int_range (rand, 0, c->vocab_size);
  g_rand_free (rand);

  AttnvizRunOptions base_opt = { .keep_residuals = TRUE };
  double t0 = now ();
  g_autoptr(AttnvizRecording) base = attnviz_forward (model, ids, T, &base_opt, error);
  double t_base = now () - t0;
  if (base == NULL)
    return FALSE;

  g_autofree char *spec = g_strdup_printf ("ablate=L%dH0", c->n_layer - 1);
  g_auto(AttnvizVariant) variant = { 0 };
  if (!attnviz_variant_parse (&variant, spec, error))
    return FALSE;
  AttnvizRunOptions fresh_opt = { .variant = &variant };
  AttnvizRunOptions reuse_opt = { .variant = &variant, .reuse = base };
  t0 = now ();
  g_autoptr(AttnvizRecording) fresh = attnviz_forward (model, ids, T, &fresh_opt, error);
  double t_fresh = now () - t0;
  if (fresh == NULL)
    return FALSE;
  t0 = now ();
  g_autoptr(AttnvizRecording) reused = attnviz_forward (model, ids, T, &reuse_opt, error);
  double t_reused = now () - t0;
  if (reused == NULL)
    return FALSE;
  gsize n = attnviz_recording_attention_bytes (reused->n_rec_layers, reused->n_rec_heads, T);
  gboolean same = memcmp (fresh->attn, reused->attn, n) == 0;

  printf ("variant reuse at T = %d: model run keeping residuals %.3f s; variant %s from scratch %.3f s, "
          "reusing the model run %.3f s (%d of %d layers and the embeddings reused, %.1fx faster, %s)\n",
          T, t_base, spec, t_fresh, t_reused, reused->reused_layers, c->n_layer,
          t_reused > 0 ? t_fresh / t_reused : 0.0, same ? "identical attention" : "ATTENTION DIFFERS");
  return same;
}

static int
compare_ints (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

int
attnviz_cmd_bench (int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- time the forward pass of a GPT-2-sized model");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
    "Runs a GPT-2 (124M) shaped model with random weights over random tokens,\n"
    "recording every head's attention, all logits and the per-token loss, and\n"
    "compares the time with the OpenBLAS SGEMM rate measured in the same run\n"
    "and with PyTorch eager's reference times.");
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "bench takes no arguments, only options (see attnviz bench --help)");
  if (opt_repeat < 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--repeat must be at least 1");
  if (opt_threads < 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--threads must be at least 1");

  AttnvizConfig config;
  gpt2_small_config (&config);

  g_autoptr(GError) error = NULL;
  g_autofree int *sizes = NULL;
  int n_sizes;
  if (opt_quick)
    {
      static const int quick[] = { 64, 128 };
      sizes = g_memdup2 (quick, sizeof quick);
      n_sizes = G_N_ELEMENTS (quick);
    }
  else
    {
      sizes = attnviz_cli_parse_index_list (opt_sizes ? opt_sizes : "128,512,1024", &n_sizes, &error);
      if (sizes == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sizes: %s", error->message);
    }
  for (int i = 0; i < n_sizes; i++)
    if (sizes[i] < 1 || sizes[i] > config.n_ctx)
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sizes: %d is outside 1-%d, GPT-2's context", sizes[i],
                               config.n_ctx);
  qsort (sizes, n_sizes, sizeof (int), compare_ints);

  if (opt_threads > 0)
    openblas_set_num_threads (opt_threads);

  printf ("attnviz bench: GPT-2 (124M) shape, random weights, recording all %d x %d heads, logits and loss\n",
          config.n_layer, config.n_head);
  g_autofree char *blas = g_strstrip (g_strdup (openblas_get_config ()));
  printf ("OpenBLAS:        %s, %d threads\n", blas, openblas_get_num_threads ());
  /* Times on a busy machine say little: say so. */
  g_autofree char *loadavg = NULL;
  if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL) && g_ascii_strtod (loadavg, NULL) >= 0.5)
    printf ("note:            load average %.2f before the run: other work shares the cores\n",
            g_ascii_strtod (loadavg, NULL));
  fflush (stdout);

  double sgemm = sgemm_rate ();

  double t0 = now ();
  g_autoptr(AttnvizModel) model = attnviz_model_new_random (&config, SEED);
  double build = now () - t0;
  printf ("model:           %.1f M parameters, built in %.2f s (not in the times below)\n",
          attnviz_config_n_params (&model->config) / 1e6, build);
  fflush (stdout);

  g_autofree BenchRow *rows = g_new0 (BenchRow, n_sizes);
  for (int i = 0; i < n_sizes; i++)
    if (!time_forward (model, sizes[i], opt_repeat, &rows[i], &error))
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "T = %d: %s", sizes[i], error->message);

  /* Measured again after the runs, the best of both: on a shared machine a
   * burst of other work during one measurement would otherwise flatter or
   * damn every ratio below. */
  sgemm = MAX (sgemm, sgemm_rate ());
  printf ("SGEMM baseline:  %.1f GFLOP/s (%dx%d by %dx%d, best of %d before and %d after the runs)\n",
          sgemm, SGEMM_M, SGEMM_K, SGEMM_K, SGEMM_N, SGEMM_REPS, SGEMM_REPS);
  printf ("\n");
  printf ("%6s %9s %9s %8s %9s %9s %14s %10s\n",
          "T", "best s", "median s", "GFLOP", "GFLOP/s", "of SGEMM", "vs PyTorch", "peak RSS");
  for (int i = 0; i < n_sizes; i++)
    {
      BenchRow *r = &rows[i];
      r->of_sgemm = r->gflops / sgemm;
      g_autofree char *speedup = r->speedup > 0.0 ? g_strdup_printf ("%.1fx faster", r->speedup)
                                                  : g_strdup ("-");
      g_autofree char *rss = r->peak_rss ? g_format_size_full (r->peak_rss, G_FORMAT_SIZE_IEC_UNITS)
                                         : g_strdup ("-");
      printf ("%6d %9.3f %9.3f %8.1f %9.1f %8.0f%% %14s %10s\n", r->T, r->best, r->median,
              forward_flops (&model->config, r->T) / 1e9, r->gflops, 100.0 * r->of_sgemm, speedup, rss);
    }

  printf ("\n");
  for (int i = 0; i < n_sizes; i++)
    if (rows[i].speedup > 0.0)
      printf ("T = %4d: %.1fx faster than PyTorch eager (reference figure %.1f s)\n", rows[i].T,
              rows[i].speedup, pytorch_seconds (rows[i].T));

  /* The targets hold where a reference figure exists; other lengths are
   * shown but not judged. */
  g_autoptr(GString) judged = g_string_new (NULL);
  g_autoptr(GString) misses = g_string_new (NULL);
  for (int i = 0; i < n_sizes; i++)
    {
      const BenchRow *r = &rows[i];
      if (r->speedup <= 0.0)
        continue;
      g_string_append_printf (judged, "%s%d", judged->len ? "," : "", r->T);
      if (r->of_sgemm < TARGET_SGEMM_FRACTION)
        g_string_append_printf (misses, "; T = %d at %.0f%% of SGEMM", r->T, 100.0 * r->of_sgemm);
      if (r->speedup < TARGET_PYTORCH_SPEEDUP)
        g_string_append_printf (misses, "; T = %d only %.1fx PyTorch eager", r->T, r->speedup);
    }
  {
    g_autoptr(GError) reuse_error = NULL;
    int T = rows[n_sizes - 1].T;
    if (!time_variant_reuse (model, T, &reuse_error))
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "bench: variant reuse: %s",
                               reuse_error ? reuse_error->message : "the reused run differs");
  }
  if (judged->len == 0)
    printf ("targets (>= %.0f%% of SGEMM, >= %.0fx PyTorch eager): not judged, no length with a reference figure "
            "(128, 512, 1024)\n", 100.0 * TARGET_SGEMM_FRACTION, TARGET_PYTORCH_SPEEDUP);
  else
    printf ("targets (>= %.0f%% of SGEMM, >= %.0fx PyTorch eager) at T = %s: %s%s\n",
            100.0 * TARGET_SGEMM_FRACTION, TARGET_PYTORCH_SPEEDUP, judged->str,
            misses->len ? "NOT MET" : "met", misses->str);
  return ATTNVIZ_EXIT_OK;
}
