/* The attention source gives every head, tile, row and cell of a run as the
 * dense matrices the engine records for small runs, when it keeps only the
 * attention's inputs and recomputes. */
#define G_LOG_DOMAIN "test-attention"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-forward.h"
#include "attnviz-test-util.h"

#define TOL 1e-6f

typedef struct {
  const char *name;
  const char *fixture;      /* tests/fixtures/<this>, or NULL: a random model of FAMILY */
  AttnvizFamily family;
  int T;
  const char *variant;
} Case;

static AttnvizModel *
random_model (AttnvizFamily family)
{
  AttnvizConfig c = { 0 };
  c.family = family;
  c.n_layer = 2;
  c.d_model = 64;
  c.n_head = 4;
  c.n_kv_head = family == ATTNVIZ_FAMILY_LLAMA ? 2 : 4;
  c.head_dim = 16;
  c.d_ff = 128;
  c.vocab_size = 97;
  c.n_ctx = 512;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.has_lm_head = TRUE;
  c.tied_embeddings = TRUE;
  switch (family)
    {
    case ATTNVIZ_FAMILY_GPT2:
      c.norm = ATTNVIZ_NORM_LAYERNORM;
      c.pre_norm = c.final_norm = c.causal = TRUE;
      c.act = ATTNVIZ_ACT_GELU_TANH;
      c.pos = ATTNVIZ_POS_LEARNED;
      c.qkv_bias = c.out_bias = c.mlp_bias = TRUE;
      break;
    case ATTNVIZ_FAMILY_BERT:
      c.norm = ATTNVIZ_NORM_LAYERNORM;
      c.embedding_norm = TRUE;
      c.act = ATTNVIZ_ACT_GELU_ERF;
      c.pos = ATTNVIZ_POS_LEARNED;
      c.qkv_bias = c.out_bias = c.mlp_bias = TRUE;
      break;
    default:
      c.norm = ATTNVIZ_NORM_RMSNORM;
      c.pre_norm = c.final_norm = c.causal = c.gated_mlp = TRUE;
      c.act = ATTNVIZ_ACT_SILU;
      c.pos = ATTNVIZ_POS_ROPE;
      c.rope_style = ATTNVIZ_ROPE_PAIRS;
      c.qkv_bias = TRUE;
      break;
    }
  return attnviz_model_new_random (&c, 7);
}

static AttnvizRecording *
run (AttnvizModel *m, const gint32 *ids, int T, const AttnvizVariant *variant, AttnvizStorage storage)
{
  g_autoptr(GError) error = NULL;
  g_autofree gboolean *special = g_new0 (gboolean, T);
  special[0] = TRUE;
  AttnvizRunOptions o = { .storage = storage, .variant = variant, .special = special };
  AttnvizRecording *rec = attnviz_forward (m, ids, T, &o, &error);
  g_assert_no_error (error);
  return rec;
}

/* OUT (rows, cols) = mean or max pooling of M (n, c) into bins, the test's own. */
static void
pool_by_hand (const float *m, int n, int c, int rows, int cols, gboolean use_max, float *out)
{
  for (int br = 0; br < rows; br++)
    for (int bc = 0; bc < cols; bc++)
      {
        int i0 = br * n / rows, i1 = (br + 1) * n / rows, j0 = bc * c / cols, j1 = (bc + 1) * c / cols;
        double acc = 0.0;
        float best = 0.0f;
        for (int i = i0; i < i1; i++)
          for (int j = j0; j < j1; j++)
            {
              acc += m[(gsize) i * c + j];
              best = MAX (best, m[(gsize) i * c + j]);
            }
        out[br * cols + bc] = use_max ? best : (float) (acc / ((double) (i1 - i0) * (j1 - j0)));
      }
}

static void
test_recomputed_heads_equal_the_dense_ones (gconstpointer data)
{
  const Case *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = NULL;
  if (tc->fixture)
    {
      g_autofree char *dir = attnviz_test_fixture_path (tc->fixture, NULL);
      m = attnviz_model_load (dir, &error);
      g_assert_no_error (error);
    }
  else
    m = random_model (tc->family);
  int T = MIN (tc->T, attnviz_config_max_positions (&m->config));
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (gint32) ((t * 31 + 3) % m->config.vocab_size);
  g_auto(AttnvizVariant) variant = { 0 };
  g_assert_true (attnviz_variant_parse (&variant, tc->variant, &error));

  g_autoptr(AttnvizRecording) dense = run (m, ids, T, &variant, ATTNVIZ_STORAGE_DENSE);
  g_autoptr(AttnvizRecording) lean = run (m, ids, T, &variant, ATTNVIZ_STORAGE_RECOMPUTE);
  g_assert_true (attnviz_attention_is_dense (dense->attention));
  g_assert_false (attnviz_attention_is_dense (lean->attention));
  g_assert_null (lean->attn);
  /* The run itself is the same either way. */
  g_assert_cmpmem (dense->loss, sizeof (float) * T, lean->loss, sizeof (float) * T);

  AttnvizAttention *a = lean->attention;
  gsize cells = (gsize) T * T;
  g_autofree float *block = g_new (float, cells);
  for (int l = 0; l < m->config.n_layer; l++)
    for (int h = 0; h < m->config.n_head; h++)
      {
        const float *want = attnviz_attention_peek_dense (dense->attention, l, h);
        g_autofree float *got = attnviz_attention_dup_matrix (a, l, h);
        g_autofree char *label = g_strdup_printf ("%s layer %d head %d", tc->name, l, h);
        g_assert_true (attnviz_test_check_tensor (got, want, cells, TOL, label));

        for (int i = 0; i < T; i++)
          {
            double sum = 0.0;
            for (int j = 0; j < T; j++)
              sum += got[(gsize) i * T + j];
            /* A row with every key hidden reads nothing. */
            if (sum != 0.0)
              g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
            if (attnviz_attention_is_causal (a))
              for (int j = i + 1; j < T; j++)
                g_assert_cmpfloat (got[(gsize) i * T + j], ==, 0.0f);
          }

        /* A tile, a row and a cell are the same entries. */
        int r0 = T / 5, r1 = T - T / 7, c0 = T / 9, c1 = T - T / 3;
        attnviz_attention_get_rect (a, l, h, r0, r1, c0, c1, block, (gsize) (c1 - c0) + 3);
        for (int i = r0; i < r1; i++)
          for (int j = c0; j < c1; j++)
            g_assert_cmpfloat_with_epsilon (block[(gsize) (i - r0) * (c1 - c0 + 3) + (j - c0)], want[(gsize) i * T + j],
                                            TOL);
        attnviz_attention_get_row (a, l, h, T - 1, block);
        g_assert_true (attnviz_test_check_tensor (block, want + (gsize) (T - 1) * T, T, TOL, "last row"));
        g_assert_cmpfloat_with_epsilon (attnviz_attention_get_cell (a, l, h, T / 2, T / 3),
                                        want[(gsize) (T / 2) * T + T / 3], TOL);

        /* Overviews: the forward's own, and any size on request, are
         * pooling of the full matrix. */
        for (int use_max = 0; use_max <= 1; use_max++)
          {
            AttnvizPool pool = use_max ? ATTNVIZ_POOL_MAX : ATTNVIZ_POOL_MEAN;
            int rows, cols;
            const float *ov = attnviz_attention_get_overview (a, l, h, pool, &rows, &cols);
            g_assert_nonnull (ov);
            g_autofree float *expect = g_new (float, rows * cols);
            pool_by_hand (want, T, T, rows, cols, use_max, expect);
            g_assert_true (attnviz_test_check_tensor (ov, expect, rows * cols, 1e-5f, "overview"));
            int r = MAX (T / 7, 1), c = MAX (T / 11, 1);
            g_autofree float *asked = g_new (float, r * c);
            g_autofree float *asked_expect = g_new (float, r * c);
            g_assert_true (attnviz_attention_pool (a, l, h, r, c, pool, asked, NULL));
            pool_by_hand (want, T, T, r, c, use_max, asked_expect);
            g_assert_true (attnviz_test_check_tensor (asked, asked_expect, r * c, 1e-5f, "pooled on request"));
          }
      }
}

/* Memory grows with T d, not T^2: at 4096 tokens the kept attention of a
 * small RoPE model is its inputs and statistics, a few MiB. */
static void
test_a_long_run_keeps_its_inputs_not_its_matrices (void)
{
  g_autoptr(AttnvizModel) m = random_model (ATTNVIZ_FAMILY_LLAMA);
  int T = 4096;
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = t % m->config.vocab_size;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizRecording) rec = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (attnviz_attention_is_dense (rec->attention));
  guint64 dense = (guint64) m->config.n_layer * m->config.n_head * T * T * 4;
  guint64 kept = attnviz_attention_get_bytes (rec->attention);
  g_test_message ("dense %.1f MiB, kept %.1f MiB", dense / 1048576.0, kept / 1048576.0);
  g_assert_cmpuint (kept, <, dense / 16);
  /* The last row still sums to one. */
  g_autofree float *row = g_new (float, T);
  attnviz_attention_get_row (rec->attention, 1, 3, T - 1, row);
  double sum = 0.0;
  for (int j = 0; j < T; j++)
    sum += row[j];
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
  /* Not every logit is kept, but the loss, the top-k and the last row are. */
  g_assert_nonnull (rec->last_logits);
  g_assert_true (isfinite (rec->loss[T - 2]));
  g_assert_cmpint (rec->top_k, ==, ATTNVIZ_TOP_K);
}

/* At T = 4096 on tiny-llama (its context raised in a copy of config.json),
 * sampled rows of sampled heads equal ../shared/tools/ref_llama.py, an
 * independent numpy float64 forward, to 1e-5. */
static void
test_long_run_rows_equal_the_numpy_forward (void)
{
  g_autofree char *src = attnviz_test_shared_path ("models", "tiny-llama-gguf", "hf", NULL);
  g_autofree char *ref = src ? attnviz_test_shared_path ("..", "tools", "ref_llama.py", NULL) : NULL;
  if (ref == NULL)
    return;
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3 for the numpy reference");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("attnviz-long-XXXXXX", NULL);
  const char *files[] = { "model.safetensors", "tokenizer.json", "tokenizer_config.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *abs = g_canonicalize_filename (from, NULL);
      g_autofree char *to = g_build_filename (dir, files[i], NULL);
      g_assert_cmpint (symlink (abs, to), ==, 0);
    }
  g_autofree char *config = NULL, *src_config = g_build_filename (src, "config.json", NULL);
  g_assert_true (g_file_get_contents (src_config, &config, NULL, NULL));
  g_autoptr(GRegex) ctx = g_regex_new ("\"max_position_embeddings\": *[0-9]+", 0, 0, NULL);
  g_autofree char *raised = g_regex_replace_literal (ctx, config, -1, 0, "\"max_position_embeddings\": 4096", 0, NULL);
  g_autofree char *dst_config = g_build_filename (dir, "config.json", NULL);
  g_assert_true (g_file_set_contents (dst_config, raised, -1, NULL));

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  int T = 4096;
  g_autofree gint32 *ids = g_new (gint32, T);
  GString *id_list = g_string_new (NULL);
  for (int t = 0; t < T; t++)
    {
      ids[t] = (gint32) ((t * 7919 + 3) % m->config.vocab_size);
      g_string_append_printf (id_list, "%s%d", t ? "," : "", ids[t]);
    }
  g_autoptr(AttnvizRecording) rec = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (attnviz_attention_is_dense (rec->attention));

  static const int heads[][2] = { { 0, 0 }, { 0, 3 }, { 1, 1 }, { 1, 2 } };
  static const int rows[] = { 0, 1, 127, 128, 1000, 2047, 4095 };
  g_autofree char *out = g_build_filename (dir, "rows.npy", NULL);
  g_autofree char *script = g_strdup_printf (
    "import importlib.util, sys, numpy as np\n"
    "spec = importlib.util.spec_from_file_location('ref', sys.argv[1]); ref = importlib.util.module_from_spec (spec)\n"
    "spec.loader.exec_module (ref)\n"
    "ids = [int (t) for t in sys.argv[3].split (',')]\n"
    "atts, _ = ref.forward (sys.argv[2], ids)\n"
    "heads = [(0, 0), (0, 3), (1, 1), (1, 2)]; rows = [0, 1, 127, 128, 1000, 2047, 4095]\n"
    "np.save (sys.argv[4], np.stack ([atts[l, h][rows] for l, h in heads]).astype (np.float32))\n");
  const char *argv[] = { "/usr/bin/python3", "-c", script, ref, dir, id_list->str, out, NULL };
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p, NULL, &error));
  g_assert_no_error (error);
  g_string_free (id_list, TRUE);

  gint64 shape[4];
  int n_dims;
  gsize n;
  g_autofree float *want = attnviz_test_load_npy (out, shape, &n_dims, &n);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (heads) * G_N_ELEMENTS (rows) * (gsize) T);
  g_autofree float *got = g_new (float, T);
  for (guint h = 0; h < G_N_ELEMENTS (heads); h++)
    for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
      {
        attnviz_attention_get_row (rec->attention, heads[h][0], heads[h][1], rows[r], got);
        g_autofree char *label = g_strdup_printf ("layer %d head %d row %d", heads[h][0], heads[h][1], rows[r]);
        g_assert_true (attnviz_test_check_tensor (got, want + ((gsize) h * G_N_ELEMENTS (rows) + r) * T, T, 1e-5f,
                                                  label));
      }
  attnviz_test_remove_tree (dir);
}

static const Case cases[] = {
  { "gpt2-random", NULL, ATTNVIZ_FAMILY_GPT2, 300, "model" },
  { "gpt2-random-window", NULL, ATTNVIZ_FAMILY_GPT2, 300, "mask=window:16" },
  { "gpt2-random-strided", NULL, ATTNVIZ_FAMILY_GPT2, 300, "mask=strided:7" },
  { "gpt2-random-bidirectional", NULL, ATTNVIZ_FAMILY_GPT2, 300, "mask=bidirectional" },
  { "gpt2-random-exclude", NULL, ATTNVIZ_FAMILY_GPT2, 300, "exclude=special+5+9" },
  { "gpt2-random-dot", NULL, ATTNVIZ_FAMILY_GPT2, 300, "score=dot" },
  { "gpt2-random-scale", NULL, ATTNVIZ_FAMILY_GPT2, 300, "score=scale:0.5" },
  { "gpt2-random-ablate", NULL, ATTNVIZ_FAMILY_GPT2, 300, "ablate=L0H1,ablate-mode=mean" },
  { "gpt2-random-nopos", NULL, ATTNVIZ_FAMILY_GPT2, 300, "pos=none" },
  { "gpt2-random-sinusoidal", NULL, ATTNVIZ_FAMILY_GPT2, 300, "pos=sinusoidal" },
  { "bert-random", NULL, ATTNVIZ_FAMILY_BERT, 300, "model" },
  { "bert-random-causal", NULL, ATTNVIZ_FAMILY_BERT, 300, "mask=causal" },
  { "llama-random", NULL, ATTNVIZ_FAMILY_LLAMA, 300, "model" },
  { "llama-random-shuffled", NULL, ATTNVIZ_FAMILY_LLAMA, 300, "pos=shuffled:3" },
  { "llama-random-reversed", NULL, ATTNVIZ_FAMILY_LLAMA, 300, "pos=reversed" },
  { "llama-random-theta", NULL, ATTNVIZ_FAMILY_LLAMA, 300, "pos=rope-theta:500" },
  { "gpt2-tiny", "gpt2-tiny", 0, 64, "model" },
  { "bert-tiny", "bert-tiny", 0, 64, "model" },
  { "llama-gqa-tiny", "llama-gqa-tiny", 0, 300, "model" },
  { "llama-gqa-tiny-bf16", "llama-gqa-tiny-bf16", 0, 300, "model" },
  { "qwen2-tiny", "qwen2-tiny", 0, 300, "mask=window:32" },
};

/* A head whose scores are all NaN is no masked row: the NaN carries on to
 * the layer's output, so the run stops naming the layer, where softmax once
 * turned it into a row of zeros and the run recorded it as attention.
 * Every run shape: dense, recomputed (long) and selected heads. */
static void
test_nan_scores_stop_the_run (void)
{
  g_autoptr(AttnvizModel) m = random_model (ATTNVIZ_FAMILY_LLAMA);
  float *wq = (float *) (void *) m->layers[1].q.w.data;
  gint32 ids[12];

  g_assert_cmpint (m->layers[1].q.w.type, ==, ATTNVIZ_WEIGHT_F32);
  for (int j = 0; j < m->config.d_model; j++)
    wq[j] = NAN;  /* row 0: query dimension 0 of head 0 */
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    ids[i] = (gint32) (i * 7 % m->config.vocab_size);
  for (int run = 0; run < 2; run++)
    {
      g_autoptr(GError) error = NULL;
      AttnvizRunOptions opt = { 0 };
      opt.record_none = run == 1;
      g_autoptr(AttnvizRecording) rec = attnviz_forward (m, ids, G_N_ELEMENTS (ids), &opt, &error);
      g_assert_null (rec);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "layer 1 produced a non-finite value"));
    }

  float row[] = { NAN, NAN, NAN };
  attnviz_softmax (row, G_N_ELEMENTS (row));
  g_assert_true (isnan (row[0]) && isnan (row[2]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/attention/%s/recomputed-heads-equal-the-dense-ones",
                                               cases[i].name);
      g_test_add_data_func (path, &cases[i], test_recomputed_heads_equal_the_dense_ones);
    }
  g_test_add_func ("/engine/attention/nan-scores-stop-the-run-naming-the-layer", test_nan_scores_stop_the_run);
  g_test_add_func ("/engine/attention/a-long-run-keeps-its-inputs-not-its-matrices",
                   test_a_long_run_keeps_its_inputs_not_its_matrices);
  g_test_add_func ("/engine/attention/long-run-rows-equal-the-numpy-forward",
                   test_long_run_rows_equal_the_numpy_forward);
  return g_test_run ();
}
