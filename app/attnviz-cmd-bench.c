/* attnviz bench [MODEL]: how fast the forward pass and its recording run
 *
 * Runs MODEL (any model file attnviz opens; without one, a GPT-2-124M-
 * shaped model with random weights) over random tokens at a few sequence
 * lengths, recording every head's attention, every logit (T, V) and the
 * per-token loss, as `attnviz dump --logits all` does, and prints the
 * median and best times, the arithmetic rate, and the peak resident memory.
 * The only yardstick printed beside them is one measured in the same run:
 * the OpenBLAS SGEMM rate on this machine (the forward is nearly all matrix
 * products, so this says how much of the hardware it uses).  Comparisons
 * with PyTorch and llama.cpp, measured in one run as well, are
 * tools/bench-compare.sh's.
 */
#define G_LOG_DOMAIN "attnviz-cmd-bench"
#include "config.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <sys/resource.h>

#include <json-glib/json-glib.h>

#include "attnviz-cli.h"
#include "attnviz-generate.h"
#include "attnviz-parallel.h"

/* The SGEMM of the baseline: the MLP up-projection at T = 1024,
 * (M, K) x (K, N). */
#define SGEMM_M 1024
#define SGEMM_K 768
#define SGEMM_N 3072
/* Timed products each time: at least SGEMM_REPS, and more until they
 * took SGEMM_SECONDS (one product is 25 ms: a few say little on a shared
 * machine, where one of them moved the median by 10%). */
#define SGEMM_REPS 5
#define SGEMM_SECONDS 0.5

#define SEED 1234

static char *opt_sizes = NULL;
static int opt_repeat = 3;
static gboolean opt_quick = FALSE;
static int opt_threads = 0;
static gboolean opt_json = FALSE;
static int opt_generate = -1;

static const GOptionEntry entries[] = {
  { "sizes", 's', 0, G_OPTION_ARG_STRING, &opt_sizes,
    "Sequence lengths to time (default 128,512,1024, or 512 for a MODEL)", "T,..." },
  { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat, "Runs per length; the median and the best are reported (default 3)", "N" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print the results as one JSON object", NULL },
  { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "Only T = 64 and 128, for a smoke test", NULL },
  { "threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads, "OpenBLAS threads (default: OpenBLAS's own choice)", "N" },
  { "generate", 'g', 0, G_OPTION_ARG_INT, &opt_generate,
    "Tokens to write greedily after an 8-token prompt, with the cache and without (default 200, --quick 16; "
    "0: none)", "N" },
  { NULL }
};

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

/* Timed products (M, K) x (K, N), SGEMM_REPS and on to SGEMM_SECONDS,
 * their seconds appended to TIMES. */
static void
time_sgemm (GArray *times)
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

  /* One unmeasured product wakes OpenBLAS's threads and warms the caches. */
  double spent = 0.0;
  for (int rep = 0; rep <= SGEMM_REPS || spent < SGEMM_SECONDS; rep++)
    {
      double t0 = now ();
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, SGEMM_M, SGEMM_N, SGEMM_K,
                   1.0f, a, SGEMM_K, b, SGEMM_N, 0.0f, out, SGEMM_N);
      double dt = now () - t0;
      if (rep > 0)
        {
          g_array_append_val (times, dt);
          spent += dt;
        }
    }
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The rate, in GFLOP/s, of the median and of the best of TIMES. */
static double
sgemm_rate (GArray *times, double *best)
{
  g_array_sort (times, compare_doubles);
  double flops = 2.0 * SGEMM_M * SGEMM_K * SGEMM_N;
  guint n = times->len;
  double median = n % 2 ? g_array_index (times, double, n / 2)
                        : 0.5 * (g_array_index (times, double, n / 2 - 1) + g_array_index (times, double, n / 2));
  *best = flops / g_array_index (times, double, 0) / 1e9;
  return flops / median / 1e9;
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

typedef struct {
  int T;
  double best;       /* seconds */
  double median;
  double gflops;     /* of the median run */
  double of_sgemm;   /* gflops / the baseline */
  guint64 peak_rss;
  guint64 recording; /* bytes the run keeps: the attention source, logits, loss, top-k */
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
  /* Unmeasured, as tools/bench-pytorch.py does before its runs: wakes the
   * threads, touches the run's buffers for the first time. */
  AttnvizRecording *warm = attnviz_forward (model, ids, T, NULL, error);
  if (warm == NULL)
    return FALSE;
  attnviz_recording_free (warm);
  for (int rep = 0; rep < repeat; rep++)
    {
      double t0 = now ();
      AttnvizRecording *rec = attnviz_forward (model, ids, T, NULL, error);
      times[rep] = now () - t0;
      if (rec == NULL)
        return FALSE;
      /* What the run keeps: the attention source, kept logits, loss, top-k. */
      row->recording = (rec->attention ? attnviz_attention_get_bytes (rec->attention) : 0)
                       + (rec->logits ? (guint64) T * c->vocab_size * sizeof (float) : 0)
                       + (guint64) T * (1 + 2 * rec->top_k) * sizeof (float)
                       + (rec->last_logits ? (guint64) c->vocab_size * sizeof (float) : 0);
      attnviz_recording_free (rec);
    }
  qsort (times, repeat, sizeof (double), compare_doubles);

  row->T = T;
  row->best = times[0];
  row->median = repeat % 2 ? times[repeat / 2] : (times[repeat / 2 - 1] + times[repeat / 2]) / 2.0;
  row->gflops = forward_flops (c, T) / row->median / 1e9;
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
  gboolean same = TRUE;
  for (int l = 0; l < c->n_layer && same; l++)
    for (int h = 0; h < c->n_head && same; h++)
      {
        g_autofree float *a = attnviz_attention_dup_matrix (fresh->attention, l, h);
        g_autofree float *b = attnviz_attention_dup_matrix (reused->attention, l, h);
        same = memcmp (a, b, sizeof (float) * T * T) == 0;
      }

  printf ("variant reuse at T = %d: model run keeping residuals %.3f s; variant %s from scratch %.3f s, "
          "reusing the model run %.3f s (%d of %d layers and the embeddings reused, %.1fx faster, %s)\n",
          T, t_base, spec, t_fresh, t_reused, reused->reused_layers, c->n_layer,
          t_reused > 0 ? t_fresh / t_reused : 0.0, same ? "identical attention" : "ATTENTION DIFFERS");
  return same;
}

typedef struct {
  int prompt, tokens;     /* tokens written after a prompt of PROMPT */
  double cached;          /* seconds, the prompt's run included */
  double uncached;
  gboolean same;          /* both wrote the same tokens */
  double max_diff;        /* the largest difference of a step's logits between the two */
} GenRow;

/* Each step's logits: kept by the first generation, compared by the
 * second. */
typedef struct {
  GArray *kept;           /* of float, steps x V */
  gboolean compare;
  double max_diff;
} StepLogits;

static void
step_logits (int step, const float *logits, int V, gint32 picked, gpointer data)
{
  StepLogits *s = data;
  if (!s->compare)
    {
      g_array_append_vals (s->kept, logits, V);
      return;
    }
  gsize at = (gsize) step * V;
  if (at + V > s->kept->len)
    {
      s->max_diff = INFINITY;
      return;
    }
  const float *kept = &g_array_index (s->kept, float, at);
  for (int j = 0; j < V; j++)
    s->max_diff = MAX (s->max_diff, fabs ((double) logits[j] - kept[j]));
}

/* Greedy generation of N tokens after a prompt of 8 random ids, keeping
 * the keys and values (attnviz-kv-decoder.h) and running the whole
 * sequence again each step, in the same run. */
static gboolean
time_generation (const AttnvizModel *model, int n, GenRow *row, GError **error)
{
  const AttnvizConfig *c = &model->config;
  row->prompt = MIN (8, attnviz_config_max_positions (c) - 1);
  row->tokens = MIN (n, attnviz_config_max_positions (c) - row->prompt);
  g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (gint32));
  GRand *rand = g_rand_new_with_seed (SEED);
  for (int t = 0; t < row->prompt; t++)
    {
      gint32 id = g_rand_int_range (rand, 0, c->vocab_size);
      g_array_append_val (a, id);
    }
  g_rand_free (rand);
  g_autoptr(GArray) b = g_array_copy (a);
  g_autoptr(GArray) kept = g_array_new (FALSE, FALSE, sizeof (float));
  StepLogits steps = { kept, FALSE, 0.0 };
  AttnvizGenerateOptions o = { .max_new = row->tokens, .bos_id = -1, .eos_id = -1, .stop_id = -1,
                               .step_func = step_logits, .step_data = &steps };
  double t0 = now ();
  if (!attnviz_generate (model, a, &o, error))
    return FALSE;
  row->cached = now () - t0;
  o.no_cache = TRUE;
  steps.compare = TRUE;
  t0 = now ();
  if (!attnviz_generate (model, b, &o, error))
    return FALSE;
  row->uncached = now () - t0;
  row->same = a->len == b->len && memcmp (a->data, b->data, sizeof (gint32) * a->len) == 0;
  row->max_diff = steps.max_diff;
  return TRUE;
}

static int
compare_ints (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

static void
print_json (const AttnvizModel *model, const char *name, double load_s, double sgemm,
            const BenchRow *rows, int n_rows, const GenRow *gen)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, name);
  g_autofree char *storage = attnviz_model_describe_storage (model);
  json_builder_set_member_name (b, "storage");
  json_builder_add_string_value (b, storage);
  json_builder_set_member_name (b, "weight_bytes");
  json_builder_add_int_value (b, (gint64) model->weight_bytes);
  json_builder_set_member_name (b, "n_params");
  json_builder_add_int_value (b, attnviz_config_n_params (&model->config));
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, openblas_get_num_threads ());
  json_builder_set_member_name (b, "load_seconds");
  json_builder_add_double_value (b, load_s);
  json_builder_set_member_name (b, "sgemm_gflops");
  json_builder_add_double_value (b, sgemm);
  json_builder_set_member_name (b, "runs");
  json_builder_begin_array (b);
  for (int i = 0; i < n_rows; i++)
    {
      const BenchRow *r = &rows[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "T");
      json_builder_add_int_value (b, r->T);
      json_builder_set_member_name (b, "median_seconds");
      json_builder_add_double_value (b, r->median);
      json_builder_set_member_name (b, "best_seconds");
      json_builder_add_double_value (b, r->best);
      json_builder_set_member_name (b, "gflop");
      json_builder_add_double_value (b, forward_flops (&model->config, r->T) / 1e9);
      json_builder_set_member_name (b, "gflops");
      json_builder_add_double_value (b, r->gflops);
      json_builder_set_member_name (b, "peak_rss_bytes");
      json_builder_add_int_value (b, (gint64) r->peak_rss);
      json_builder_set_member_name (b, "recording_bytes");
      json_builder_add_int_value (b, (gint64) r->recording);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (gen != NULL)
    {
      json_builder_set_member_name (b, "generation");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "prompt_tokens");
      json_builder_add_int_value (b, gen->prompt);
      json_builder_set_member_name (b, "tokens");
      json_builder_add_int_value (b, gen->tokens);
      json_builder_set_member_name (b, "cached_tokens_per_second");
      json_builder_add_double_value (b, gen->tokens / gen->cached);
      json_builder_set_member_name (b, "uncached_tokens_per_second");
      json_builder_add_double_value (b, gen->tokens / gen->uncached);
      json_builder_set_member_name (b, "same_tokens");
      json_builder_add_boolean_value (b, gen->same);
      json_builder_set_member_name (b, "max_logit_diff");
      json_builder_add_double_value (b, gen->max_diff);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);
  printf ("%s\n", text);
}

int
attnviz_cmd_bench (int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("[MODEL] - time the forward pass and its recording");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
    "Runs MODEL (a Hugging Face folder, .safetensors or .gguf; without one, a\n"
    "GPT-2 (124M) shaped model with random weights) over random tokens,\n"
    "recording every head's attention, all logits and the per-token loss, and\n"
    "prints the median and best times, GFLOP/s and the peak resident memory,\n"
    "beside the OpenBLAS SGEMM rate measured in the same run.\n"
    "tools/bench-compare.sh sets these against PyTorch and llama.cpp.");
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc > 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "bench takes at most one MODEL (see attnviz bench --help)");
  if (opt_repeat < 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--repeat must be at least 1");
  if (opt_threads < 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--threads must be at least 1");
  if (opt_generate < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--generate %d: expected a number of tokens, 0 for none",
                             opt_generate);
  int n_generate = opt_generate >= 0 ? opt_generate : opt_quick ? 16 : 200;
  const char *model_path = argc == 2 ? argv[1] : NULL;

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
      const char *spec = opt_sizes ? opt_sizes : model_path ? "512" : "128,512,1024";
      sizes = attnviz_cli_parse_index_list ("--sizes", spec, &n_sizes, &error);
      if (sizes == NULL)
        return attnviz_cli_fail_error (error);
    }
  qsort (sizes, n_sizes, sizeof (int), compare_ints);
  if (opt_threads > 0)
    {
      openblas_set_num_threads (opt_threads);
      attnviz_set_n_threads (opt_threads);
    }

  double t0 = now ();
  g_autoptr(AttnvizModel) model = NULL;
  if (model_path != NULL)
    {
      model = attnviz_model_load (model_path, &error);
      if (model == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
    }
  else
    {
      AttnvizConfig config;
      attnviz_config_init_gpt2_small (&config);
      model = attnviz_model_new_random (&config, SEED);
    }
  double load_s = now () - t0;
  const AttnvizConfig *c = &model->config;
  if (c->encoder_decoder)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: bench times decoder-only and encoder models", model_path);
  for (int i = 0; i < n_sizes; i++)
    if (sizes[i] < 1 || sizes[i] > c->n_ctx)
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sizes: %d is outside 1-%d, the model's context", sizes[i],
                               c->n_ctx);

  g_autofree char *storage = attnviz_model_describe_storage (model);
  const char *name = model_path ? model_path : "GPT-2 (124M) shape, random weights";
  if (!opt_json)
    {
      printf ("attnviz bench: %s\n", name);
      printf ("model:           %s · %s, %d layers x %d heads recorded, logits and loss; loaded in %.2f s\n",
              storage, c->model_type ? c->model_type : attnviz_family_to_string (c->family),
              c->n_layer, c->n_head, load_s);
      g_autofree char *blas = g_strstrip (g_strdup (openblas_get_config ()));
      printf ("OpenBLAS:        %s; %d engine threads, OpenBLAS single-threaded inside them\n", blas,
              attnviz_n_compute_threads ());
      /* Times on a busy machine say little: say so. */
      g_autofree char *loadavg = NULL;
      if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL) && g_ascii_strtod (loadavg, NULL) >= 0.5)
        printf ("note:            load average %.2f before the run: other work shares the cores\n",
                g_ascii_strtod (loadavg, NULL));
      fflush (stdout);
    }

  g_autoptr(GArray) sgemm_times = g_array_new (FALSE, FALSE, sizeof (double));
  time_sgemm (sgemm_times);
  g_autofree BenchRow *rows = g_new0 (BenchRow, n_sizes);
  for (int i = 0; i < n_sizes; i++)
    if (!time_forward (model, sizes[i], opt_repeat, &rows[i], &error))
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "T = %d: %s", sizes[i], error->message);
  /* Measured again after the runs, the median of both, as the runs' own
   * figure is their median: on a shared machine a burst of other work
   * during one measurement would otherwise flatter or damn every ratio
   * below, and a best set against a median would flatter the baseline. */
  time_sgemm (sgemm_times);
  double sgemm_best = 0.0;
  double sgemm = sgemm_rate (sgemm_times, &sgemm_best);
  for (int i = 0; i < n_sizes; i++)
    rows[i].of_sgemm = rows[i].gflops / sgemm;

  /* Generation needs a causal model with an output layer. */
  GenRow gen = { 0 };
  gboolean with_gen = n_generate > 0 && c->causal && model->lm_head.w.data != NULL;
  if (with_gen && !time_generation (model, n_generate, &gen, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "generating: %s", error->message);

  if (opt_json)
    {
      print_json (model, name, load_s, sgemm, rows, n_sizes, with_gen ? &gen : NULL);
      return with_gen && !gen.same ? ATTNVIZ_EXIT_BAD_INPUT : ATTNVIZ_EXIT_OK;
    }

  printf ("SGEMM baseline:  %.1f GFLOP/s (%dx%d by %dx%d, median of %u, half before and half after the runs; "
          "best %.1f)\n", sgemm, SGEMM_M, SGEMM_K, SGEMM_K, SGEMM_N, sgemm_times->len, sgemm_best);
  printf ("\n");
  printf ("%6s %9s %9s %9s %9s %9s %11s %11s\n",
          "T", "median s", "best s", "GFLOP", "GFLOP/s", "of SGEMM", "recording", "peak RSS");
  for (int i = 0; i < n_sizes; i++)
    {
      BenchRow *r = &rows[i];
      g_autofree char *rss = r->peak_rss ? g_format_size_full (r->peak_rss, G_FORMAT_SIZE_IEC_UNITS)
                                         : g_strdup ("-");
      g_autofree char *recording = g_format_size_full (r->recording, G_FORMAT_SIZE_IEC_UNITS);
      printf ("%6d %9.3f %9.3f %9.1f %9.1f %8.0f%% %11s %11s\n", r->T, r->median, r->best,
              forward_flops (c, r->T) / 1e9, r->gflops, 100.0 * r->of_sgemm, recording, rss);
    }
  printf ("(GFLOP counts every linear layer and the full T x T of each head; GFLOP/s is of the median run.)\n");
  if (with_gen)
    printf ("\ngeneration:      %d tokens greedily after %d: %.1f tokens/s keeping keys and values (%.3f s), "
            "%.1f tokens/s running the sequence again each step (%.3f s): %.1fx faster, %s, %s\n",
            gen.tokens, gen.prompt, gen.tokens / gen.cached, gen.cached, gen.tokens / gen.uncached, gen.uncached,
            gen.uncached / gen.cached, gen.same ? "the same tokens" : "TOKENS DIFFER",
            gen.max_diff == 0.0 ? "the same logits to the bit" : "logits apart");
  if (with_gen && gen.max_diff != 0.0)
    printf ("                 the logits differ by %.3g at most\n", gen.max_diff);
  if (with_gen && !gen.same)
    return ATTNVIZ_EXIT_BAD_INPUT;

  if (model_path == NULL)
    {
      g_autoptr(GError) reuse_error = NULL;
      int T = rows[n_sizes - 1].T;
      if (!time_variant_reuse (model, T, &reuse_error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "bench: variant reuse: %s",
                                 reuse_error ? reuse_error->message : "the reused run differs");
    }
  return ATTNVIZ_EXIT_OK;
}
