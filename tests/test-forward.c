/* The forward pass against PyTorch: tiny random-weight models in Hugging
 * Face layout, written by tools/make-fixtures.py, whose attentions, logits
 * and losses PyTorch computed.  The engine must match them to 1e-4. */
#define G_LOG_DOMAIN "test-forward"
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-forward.h"
#include "attnviz-test-util.h"

#define TOL 1e-4f

typedef struct {
  const char *fixture;
  const char *suffix;     /* "" or "-padded" */
  gboolean has_logits;
} Case;

static float *
load_reference (const char *fixture, const char *name, gint64 *shape, int *n_dims, gsize *n)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", name, NULL);
  return attnviz_test_load_npy (path, shape, n_dims, n);
}

/* Compares only where the reference is defined (loss is NaN at the end of a
 * causal sequence and at padding). */
static void
assert_loss_matches (const float *got, const float *want, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      if (isnan (want[i]))
        {
          g_assert_true (isnan (got[i]));
          continue;
        }
      g_assert_cmpfloat_with_epsilon (got[i], want[i], TOL);
    }
}

static void
test_matches_pytorch (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *dir = attnviz_test_fixture_path (c->fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);

  gint64 shape[8];
  int nd;
  gsize n;
  g_autofree char *ids_name = g_strdup_printf ("input_ids%s.npy", c->suffix);
  g_autofree float *idsf = load_reference (c->fixture, ids_name, shape, &nd, &n);
  int T = (int) n;
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (gint32) idsf[t];

  g_autofree guint8 *mask = NULL;
  AttnvizRunOptions opt = { 0 };
  if (*c->suffix)
    {
      g_autofree float *maskf = load_reference (c->fixture, "attention_mask.npy", shape, &nd, &n);
      mask = g_new (guint8, T);
      for (int t = 0; t < T; t++)
        mask[t] = maskf[t] != 0.0f;
      opt.key_mask = mask;
    }

  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rec->n_rec_layers, ==, model->config.n_layer);
  g_assert_cmpint (rec->n_rec_heads, ==, model->config.n_head);

  g_autofree char *att_name = g_strdup_printf ("attentions%s.npy", c->suffix);
  g_autofree float *att = load_reference (c->fixture, att_name, shape, &nd, &n);
  g_assert_cmpint (nd, ==, 4);
  g_assert_cmpint (shape[0], ==, model->config.n_layer);
  g_assert_cmpint (shape[1], ==, model->config.n_head);
  g_assert_cmpint (shape[2], ==, T);
  g_assert_true (attnviz_test_check_tensor (rec->attn, att, n, TOL, "attentions"));

  if (c->has_logits)
    {
      g_autofree char *logits_name = g_strdup_printf ("logits%s.npy", c->suffix);
      g_autofree char *loss_name = g_strdup_printf ("loss%s.npy", c->suffix);
      g_autofree float *logits = load_reference (c->fixture, logits_name, shape, &nd, &n);
      g_assert_nonnull (rec->logits);
      g_assert_cmpuint (n, ==, (gsize) T * model->config.vocab_size);
      g_assert_true (attnviz_test_check_tensor (rec->logits, logits, n, TOL, "logits"));
      g_autofree float *loss = load_reference (c->fixture, loss_name, shape, &nd, &n);
      g_assert_cmpuint (n, ==, (gsize) T);
      assert_loss_matches (rec->loss, loss, n);
    }
  else
    g_assert_null (rec->logits);
}

/* A run that keeps no logits computes the loss and top-k a block of
 * vocabulary columns at a time; they must be what the whole rows give,
 * whatever the block size (13 leaves a block of 6 of the 97 columns). */
static void
test_loss_by_vocabulary_blocks_equals_whole_rows (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *dir = attnviz_test_fixture_path (fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  int T = 40, V = model->config.vocab_size;
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (t * 37 + 5) % V;

  AttnvizRunOptions whole = { .keep_logits = TRUE };
  g_autoptr(AttnvizRecording) want = attnviz_forward (model, ids, T, &whole, &error);
  g_assert_no_error (error);
  g_assert_nonnull (want->logits);

  const int blocks[] = { 13, 16, 0 };
  for (guint b = 0; b < G_N_ELEMENTS (blocks); b++)
    {
      AttnvizRunOptions by_vocab = { .drop_logits = TRUE, .vocab_block = blocks[b] };
      g_autoptr(AttnvizRecording) got = attnviz_forward (model, ids, T, &by_vocab, &error);
      g_assert_no_error (error);
      g_assert_null (got->logits);
      g_assert_cmpint (got->top_k, ==, want->top_k);
      for (int t = 0; t < T; t++)
        {
          if (isnan (want->loss[t]))
            g_assert_true (isnan (got->loss[t]));
          else
            g_assert_cmpfloat_with_epsilon (got->loss[t], want->loss[t], 1e-6);
          for (int i = 0; i < want->top_k; i++)
            {
              gsize at = (gsize) t * want->top_k + i;
              g_assert_cmpint (got->topk_ids[at], ==, want->topk_ids[at]);
              g_assert_cmpfloat_with_epsilon (got->topk_probs[at], want->topk_probs[at], 1e-6);
            }
        }
      /* A product over a slice of the head's rows may round its last bit
       * differently from the whole (OpenBLAS's edge kernels) */
      for (int v = 0; v < V; v++)
        g_assert_cmpfloat_with_epsilon (got->last_logits[v], want->last_logits[v], 1e-5);
    }
}

static void
test_two_spellings_of_gpt2_agree (void)
{
  g_autofree char *a_dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *b_dir = attnviz_test_fixture_path ("gpt2-tiny-prefixed", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) a = attnviz_model_load (a_dir, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) b = attnviz_model_load (b_dir, &error);
  g_assert_no_error (error);
  gint32 ids[] = { 5, 17, 33, 2, 90, 41 };
  g_autoptr(AttnvizRecording) ra = attnviz_forward (a, ids, G_N_ELEMENTS (ids), NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) rb = attnviz_forward (b, ids, G_N_ELEMENTS (ids), NULL, &error);
  g_assert_no_error (error);
  gsize n = (gsize) a->config.n_layer * a->config.n_head * 6 * 6;
  g_assert_cmpmem (ra->attn, n * sizeof (float), rb->attn, n * sizeof (float));
}

static void
test_f32_tensors_are_used_in_place (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  /* Nothing was converted: every weight points into the mapped file. */
  g_assert_cmpuint (m->owned->len, ==, 0);
  g_assert_cmpstr (m->type_name, ==, "F32");
}

static void
test_recording_only_chosen_layers_and_heads (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  gint32 ids[] = { 5, 17, 33, 2, 90, 41, 7 };
  int T = G_N_ELEMENTS (ids);
  g_autoptr(AttnvizRecording) all = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  int layers[] = { 2, 0 };
  int heads[] = { 3 };
  AttnvizRunOptions opt = { .layers = layers, .n_layers = 2, .heads = heads, .n_heads = 1 };
  g_autoptr(AttnvizRecording) some = attnviz_forward (m, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (some->n_rec_layers, ==, 2);
  g_assert_cmpint (some->n_rec_heads, ==, 1);
  g_assert_null (attnviz_recording_get_attention (some, 1, 3));
  g_assert_cmpmem (attnviz_recording_get_attention (some, 2, 3), T * T * 4,
                   attnviz_recording_get_attention (all, 2, 3), T * T * 4);
  g_assert_cmpmem (some->attn + T * T, T * T * 4, attnviz_recording_get_attention (all, 0, 3), T * T * 4);
}

static void
test_too_long_input_is_an_error (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  int T = m->config.n_ctx + 1;
  g_autofree gint32 *ids = g_new0 (gint32, T);
  AttnvizRecording *rec = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_null (rec);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "context"));
}

static void
test_ids_outside_the_vocabulary_are_an_error (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  gint32 ids[] = { 1, m->config.vocab_size };
  g_assert_null (attnviz_forward (m, ids, 2, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_an_oversized_recording_is_refused (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  gint32 ids[16] = { 0 };
  AttnvizRunOptions opt = { .max_record_bytes = 1024 };
  g_assert_null (attnviz_forward (m, ids, 16, &opt, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
}

/* A copy of the llama-gqa-tiny fixture whose config.json gets EXTRA
 * members ("key": value, ...) before its last brace. */
static char *
llama_copy_with (const char *extra)
{
  g_autofree char *src = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  char *dir = g_dir_make_tmp ("attnviz-rope-XXXXXX", NULL);
  g_autofree char *config = NULL;
  g_autofree char *src_config = g_build_filename (src, "config.json", NULL);
  g_assert_true (g_file_get_contents (src_config, &config, NULL, NULL));
  char *brace = strrchr (config, '}');
  g_assert_nonnull (brace);
  *brace = '\0';
  g_autofree char *edited = g_strdup_printf ("%s, %s}\n", config, extra);
  g_autofree char *dst_config = g_build_filename (dir, "config.json", NULL);
  g_assert_true (g_file_set_contents (dst_config, edited, -1, NULL));
  g_autofree char *src_st_rel = g_build_filename (src, "model.safetensors", NULL);
  g_autofree char *src_st = g_canonicalize_filename (src_st_rel, NULL);
  g_autofree char *dst_st = g_build_filename (dir, "model.safetensors", NULL);
  g_assert_cmpint (symlink (src_st, dst_st), ==, 0);
  return dir;
}

/* Linear RoPE scaling divides the positions by its factor: scaled by 2 at
 * positions 0, 2, 4 ... the model attends as unscaled at 0, 1, 2 ... */
static void
test_linear_rope_scaling_divides_the_positions (void)
{
  g_autofree char *plain_dir = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  g_autofree char *dir = llama_copy_with ("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}");
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) plain = attnviz_model_load (plain_dir, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) scaled = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  int T = 30;
  gint32 ids[30], doubled[30];
  for (int t = 0; t < T; t++)
    {
      ids[t] = (t * 7 + 1) % plain->config.vocab_size;
      doubled[t] = 2 * t;
    }
  AttnvizRunOptions o = { .positions = doubled };
  g_autoptr(AttnvizRecording) a = attnviz_forward (plain, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward (scaled, ids, T, &o, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_test_check_tensor (a->attn, b->attn, (gsize) plain->config.n_layer * plain->config.n_head * T * T,
                                            1e-5f, "scaled at 2t vs plain at t"));
  attnviz_test_remove_tree (dir);
}

/* Llama 3's scaling (Hugging Face's _compute_llama3_parameters): a pair whose
 * wavelength 2 pi / f is longer than original / low_freq_factor turns
 * FACTOR times slower, one shorter than original / high_freq_factor as
 * before, one between by the blend (1 - s) f / FACTOR + s f with
 * s = (original / wavelength - low) / (high - low).  The fixture's head has
 * 8 dimensions at theta 10000: frequencies 1, 0.1, 0.01, 0.001, wavelengths
 * 6.3, 63, 628, 6283; with original 1024, low 1, high 8 (thresholds 1024 and
 * 128) the first two are kept, the third blended (s = (1024 / 628.3 - 1) / 7),
 * the last divided by 8. */
static void
test_llama3_rope_scaling_stretches_the_low_frequencies (void)
{
  g_autofree char *dir = llama_copy_with ("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, "
                                          "\"low_freq_factor\": 1.0, \"high_freq_factor\": 8.0, "
                                          "\"original_max_position_embeddings\": 1024}");
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->config.head_dim, ==, 8);
  g_assert_cmpfloat (m->config.rope_theta, ==, 10000.0f);
  float got[4];
  attnviz_rope_frequencies (got, m, NULL);
  double f2 = 0.01, s = (1024.0 / (2 * G_PI / f2) - 1.0) / 7.0;
  double want[4] = { 1.0, 0.1, (1 - s) * f2 / 8 + s * f2, 0.001 / 8 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (got[i], want[i], 1e-6 * want[i] + 1e-9);
  attnviz_test_remove_tree (dir);
}

/* Scalings that change positions in other ways are refused, naming the key. */
static void
test_unknown_rope_scaling_is_refused_naming_it (void)
{
  g_autofree char *dir = llama_copy_with ("\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}");
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_null (m);
  g_assert_nonnull (strstr (error->message, "config.json"));
  g_assert_nonnull (strstr (error->message, "\"rope_scaling\": type \"yarn\" is not supported"));
  attnviz_test_remove_tree (dir);
}

static void
test_cancelling_stops_the_run (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  gint32 ids[4] = { 1, 2, 3, 4 };
  AttnvizRunOptions opt = { .cancellable = cancellable };
  g_assert_null (attnviz_forward (m, ids, 4, &opt, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_softmax_rows_sum_to_one (void)
{
  float x[] = { 1.0f, -INFINITY, 3.0f, 1000.0f, -1000.0f };
  attnviz_softmax (x, G_N_ELEMENTS (x));
  float sum = 0.0f;
  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    sum += x[i];
  g_assert_cmpfloat_with_epsilon (sum, 1.0f, 1e-6f);
  g_assert_cmpfloat (x[1], ==, 0.0f);
}


/* The gpt2-tiny fixture re-written as two shards with an index must give the
 * same attention as the single file, and so must opening the .safetensors
 * file itself rather than its folder. */
static void
test_sharded_and_single_file_layouts_agree (void)
{
  g_autofree char *src = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *src_st_rel = g_build_filename (src, "model.safetensors", NULL);
  g_autofree char *src_st = g_canonicalize_filename (src_st_rel, NULL);
  g_autofree char *src_config = g_build_filename (src, "config.json", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open (src_st, &error);
  g_assert_no_error (error);

  g_autofree char *dir = g_dir_make_tmp ("attnviz-shards-XXXXXX", NULL);
  guint n = attnviz_safetensors_get_n_tensors (st);
  g_autofree AttnvizTensorOut *outs = g_new0 (AttnvizTensorOut, n);
  GString *index = g_string_new ("{\"metadata\": {}, \"weight_map\": {");
  for (guint i = 0; i < n; i++)
    {
      const AttnvizTensorInfo *t = attnviz_safetensors_get_nth (st, i);
      outs[i].name = t->name;
      outs[i].dtype = t->dtype;
      outs[i].n_dims = t->n_dims;
      memcpy (outs[i].shape, t->shape, sizeof t->shape);
      outs[i].data = t->data;
      g_string_append_printf (index, "%s\"%s\": \"model-%05u-of-00002.safetensors\"", i ? ", " : "", t->name,
                              i < n / 2 ? 1u : 2u);
    }
  g_string_append (index, "}}");
  g_autofree char *shard1 = g_build_filename (dir, "model-00001-of-00002.safetensors", NULL);
  g_autofree char *shard2 = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);
  g_autofree char *index_path = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_assert_true (attnviz_safetensors_write (shard1, outs, n / 2, NULL, &error));
  g_assert_true (attnviz_safetensors_write (shard2, outs + n / 2, n - n / 2, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (index_path, index->str, index->len, NULL));
  g_string_free (index, TRUE);
  g_autofree char *config = NULL;
  g_assert_true (g_file_get_contents (src_config, &config, NULL, NULL));
  g_assert_true (g_file_set_contents (config_path, config, -1, NULL));

  g_autoptr(AttnvizModel) sharded = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) single = attnviz_model_load (src_st, &error);
  g_assert_no_error (error);
  attnviz_safetensors_free (st);

  gint32 ids[] = { 37, 65, 65, 25, 33, 95, 68, 17, 46, 93, 75 };
  int T = G_N_ELEMENTS (ids);
  g_autoptr(AttnvizRecording) a = attnviz_forward (sharded, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward (single, ids, T, NULL, &error);
  g_assert_no_error (error);
  gint64 shape[8];
  int nd;
  gsize count;
  g_autofree float *want = load_reference ("gpt2-tiny", "attentions.npy", shape, &nd, &count);
  g_assert_true (attnviz_test_check_tensor (a->attn, want, count, TOL, "sharded"));
  g_assert_true (attnviz_test_check_tensor (b->attn, want, count, TOL, "single file"));
}

static const Case cases[] = {
  { "gpt2-tiny", "", TRUE },
  { "gpt2-tiny-prefixed", "", TRUE },
  { "bert-tiny", "", TRUE },
  { "bert-tiny", "-padded", TRUE },
  { "bert-tiny-modern", "", FALSE },
  { "bert-tiny-modern", "-padded", FALSE },
  { "bert-nopos", "", TRUE },
  { "llama-gqa-tiny", "", TRUE },
  { "llama-gqa-tiny-f16", "", TRUE },
  { "llama-gqa-tiny-bf16", "", TRUE },
  { "qwen2-tiny", "", TRUE },
};

typedef struct {
  GArray *fractions;
  GThread *caller;
  gboolean other_thread;
} ProgressLog;

static void
on_progress (double fraction, gpointer data)
{
  ProgressLog *log = data;
  g_array_append_val (log->fractions, fraction);
  if (g_thread_self () != log->caller)
    log->other_thread = TRUE;
}

/* A long run's layer takes minutes: the heads move the progress within
 * it, in order, whichever thread finished them. */
static void
test_progress_moves_with_each_head (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &model->config;
  int T = 40;
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (t * 7 + 1) % c->vocab_size;
  ProgressLog log = { g_array_new (FALSE, FALSE, sizeof (double)), g_thread_self (), FALSE };
  AttnvizRunOptions o = { .progress = on_progress, .progress_data = &log };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &o, &error);
  g_assert_no_error (error);
  /* a report a head and one a layer, and the last */
  g_assert_cmpuint (log.fractions->len, ==, (guint) (c->n_layer * (c->n_head + 1) + 1));
  for (guint i = 1; i < log.fractions->len; i++)
    g_assert_cmpfloat (g_array_index (log.fractions, double, i), >=, g_array_index (log.fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (log.fractions, double, log.fractions->len - 1), ==, 1.0);
  g_test_message ("%u reports, %s", log.fractions->len, log.other_thread ? "some from another thread" : "all here");
  g_array_unref (log.fractions);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/forward/%s%s/matches-pytorch",
                                               cases[i].fixture, cases[i].suffix);
      g_test_add_data_func (path, &cases[i], test_matches_pytorch);
    }
  g_test_add_func ("/engine/forward/gpt2/both-name-spellings-give-the-same-attention",
                   test_two_spellings_of_gpt2_agree);
  g_test_add_func ("/engine/forward/f32-tensors-are-used-in-place", test_f32_tensors_are_used_in_place);
  g_test_add_data_func ("/engine/forward/gpt2/loss-by-vocabulary-blocks-equals-whole-rows", "gpt2-tiny",
                        test_loss_by_vocabulary_blocks_equals_whole_rows);
  g_test_add_data_func ("/engine/forward/llama/loss-by-vocabulary-blocks-equals-whole-rows", "llama-gqa-tiny",
                        test_loss_by_vocabulary_blocks_equals_whole_rows);
  g_test_add_func ("/engine/forward/records-only-the-chosen-layers-and-heads",
                   test_recording_only_chosen_layers_and_heads);
  g_test_add_func ("/engine/forward/input-longer-than-the-context-is-an-error", test_too_long_input_is_an_error);
  g_test_add_func ("/engine/forward/ids-outside-the-vocabulary-are-an-error",
                   test_ids_outside_the_vocabulary_are_an_error);
  g_test_add_func ("/engine/forward/an-oversized-recording-is-refused", test_an_oversized_recording_is_refused);
  g_test_add_func ("/engine/forward/cancelling-stops-the-run", test_cancelling_stops_the_run);
  g_test_add_func ("/engine/rope/linear-scaling-divides-the-positions", test_linear_rope_scaling_divides_the_positions);
  g_test_add_func ("/engine/rope/llama3-scaling-stretches-the-low-frequencies",
                   test_llama3_rope_scaling_stretches_the_low_frequencies);
  g_test_add_func ("/engine/rope/unknown-scaling-is-refused-naming-it", test_unknown_rope_scaling_is_refused_naming_it);
  g_test_add_func ("/engine/forward/sharded-and-single-file-layouts-agree",
                   test_sharded_and_single_file_layouts_agree);
  g_test_add_func ("/engine/softmax/rows-sum-to-one", test_softmax_rows_sum_to_one);
  g_test_add_func ("/engine/forward/progress-moves-with-each-head", test_progress_moves_with_each_head);

  return g_test_run ();
}
