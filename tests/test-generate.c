/* Generation with a cache of keys and values, sampling, each position's
 * predictions and the logit lens.
 *
 * The cache must not change what a model writes: generating with it gives
 * the tokens generating without it gives, each step's logits within 1e-5,
 * on the real stories260K (both of its files), the PyTorch fixtures of
 * every family and random models of the kinds no fixture has (sinusoidal
 * positions with a window, additive scores after a post-norm, no
 * positions).  The predictions follow from the logits; the logit lens
 * equals an independent float64 numpy forward (tools/make-lens-fixtures.py).
 */
#define G_LOG_DOMAIN "test-generate"
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-generate.h"
#include "attnviz-kv-decoder.h"
#include "attnviz-test-util.h"

/* Each step's logits within 1e-5 of each other.  Both ways of generating
 * run their products in whole tiles by position (attnviz_linear_rows ()),
 * so a cached step's row has the bits the whole run gives it and the
 * logits come out identical; without the tiles OpenBLAS rounds a row by
 * its place in its kernel's tile and they were 2e-5 apart on stories260K
 * (whose logits reach 22).  A wrong cache (a position off, a key missing)
 * moves them by 1e-2 and more. */
#define LOGITS_TOL 1e-5

/* |A - B| <= LOGITS_TOL everywhere, printing the largest difference and
 * whether the bits are the same. */
static gboolean
logits_agree (const float *a, const float *b, gsize rows, int V, const char *label)
{
  double worst = 0.0;
  for (gsize i = 0; i < rows * V; i++)
    worst = MAX (worst, fabs ((double) a[i] - b[i]));
  gboolean same = memcmp (a, b, sizeof (float) * rows * V) == 0;
  g_test_message ("%s: %" G_GSIZE_FORMAT " rows, max |diff| %.3g%s", label, rows, worst,
                  same ? " (the same bits)" : "");
  return worst <= LOGITS_TOL;
}

/* Every step's logits and the token picked. */
typedef struct {
  GArray *logits;   /* of float, steps × V */
  GArray *picked;   /* of gint32 */
  int V;
} Steps;

static void
record_step (int step, const float *logits, int V, gint32 picked, gpointer data)
{
  Steps *s = data;
  g_assert_cmpint (step, ==, (int) s->picked->len);
  s->V = V;
  g_array_append_vals (s->logits, logits, V);
  g_array_append_val (s->picked, picked);
}

static void
steps_init (Steps *s)
{
  s->logits = g_array_new (FALSE, FALSE, sizeof (float));
  s->picked = g_array_new (FALSE, FALSE, sizeof (gint32));
  s->V = 0;
}

static void
steps_clear (Steps *s)
{
  g_array_unref (s->logits);
  g_array_unref (s->picked);
}

/* Generates N tokens after PROMPT (n_prompt ids) with and without the
 * cache: the same tokens, and every step's logits within LOGITS_TOL, in
 * fact the same bits. */
static void
assert_cache_changes_nothing (const AttnvizModel *model, const gint32 *prompt, int n_prompt, int n)
{
  g_autoptr(GError) error = NULL;
  Steps with, without;
  steps_init (&with);
  steps_init (&without);
  g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) b = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_vals (a, prompt, n_prompt);
  g_array_append_vals (b, prompt, n_prompt);
  AttnvizGenerateOptions o = { .max_new = n, .bos_id = -1, .eos_id = -1, .stop_id = -1,
                               .step_func = record_step, .step_data = &with };
  g_assert_true (attnviz_generate (model, a, &o, &error));
  g_assert_no_error (error);
  o.no_cache = TRUE;
  o.step_data = &without;
  g_assert_true (attnviz_generate (model, b, &o, &error));
  g_assert_no_error (error);

  int expected = MIN (n, attnviz_config_max_positions (&model->config) - n_prompt);
  g_assert_cmpint (a->len, ==, n_prompt + expected);
  g_assert_cmpint (b->len, ==, a->len);
  g_assert_cmpmem (a->data, a->len * sizeof (gint32), b->data, b->len * sizeof (gint32));
  g_assert_cmpint (with.logits->len, ==, without.logits->len);
  g_assert_true (logits_agree ((float *) with.logits->data, (float *) without.logits->data, with.picked->len,
                               with.V, "cached vs recomputed logits"));
  /* and, as both run in whole tiles, the same bits */
  g_assert_cmpmem (with.logits->data, with.logits->len * sizeof (float), without.logits->data,
                   without.logits->len * sizeof (float));
  steps_clear (&with);
  steps_clear (&without);
}

static void
test_stories260k_cache_changes_nothing (gconstpointer data)
{
  const char *layout = data;
  g_autofree char *path = g_str_equal (layout, "hf")
    ? attnviz_test_shared_path ("models", "stories260K", "hf", NULL)
    : attnviz_test_shared_path ("models", "stories260K", "gguf", "stories260K-f32.gguf", NULL);
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  gint32 bos = 1;
  assert_cache_changes_nothing (model, &bos, 1, 200);
}

/* Five of the fixture's own input ids as the prompt. */
static void
test_fixture_cache_changes_nothing (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *dir = attnviz_test_fixture_path (fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  /* the PyTorch fixtures' input; the trained ones' vocabulary is 12 */
  g_autofree char *ids_path = attnviz_test_fixture_path (fixture, "reference", "input_ids.npy", NULL);
  gint32 prompt[5] = { 1, 3, 4, 5, 3 };
  int n_prompt = 5;
  if (g_file_test (ids_path, G_FILE_TEST_EXISTS))
    {
      gint64 shape[4];
      int nd;
      gsize n;
      g_autofree float *idsf = attnviz_test_load_npy (ids_path, shape, &nd, &n);
      n_prompt = MIN ((int) n, 5);
      for (int t = 0; t < n_prompt; t++)
        prompt[t] = (gint32) idsf[t];
    }
  /* to the end of a learned table; 40 more for the others */
  assert_cache_changes_nothing (model, prompt, n_prompt, 40);
}

typedef enum {
  RANDOM_SINUSOIDAL_WINDOW,
  RANDOM_ADDITIVE_POST_NORM,
  RANDOM_NO_POSITIONS_GQA,
  RANDOM_POST_NORM_UNTIED,   /* no positions, a head of its own (test_a_failed_feed_leaves_no_trace) */
} RandomKind;

static AttnvizModel *
random_decoder (RandomKind kind)
{
  AttnvizConfig c = { 0 };
  c.family = ATTNVIZ_FAMILY_ATTNVIZ;
  c.n_layer = 2;
  c.d_model = 32;
  c.n_head = 4;
  c.n_kv_head = kind == RANDOM_NO_POSITIONS_GQA ? 2 : 4;
  c.head_dim = 8;
  c.d_ff = 64;
  c.vocab_size = 50;
  c.n_ctx = 256;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.has_lm_head = c.causal = TRUE;
  c.tied_embeddings = kind != RANDOM_POST_NORM_UNTIED;
  c.norm = ATTNVIZ_NORM_LAYERNORM;
  c.act = ATTNVIZ_ACT_GELU_TANH;
  c.final_norm = TRUE;
  c.pre_norm = kind != RANDOM_ADDITIVE_POST_NORM && kind != RANDOM_POST_NORM_UNTIED;
  c.score = kind == RANDOM_ADDITIVE_POST_NORM ? ATTNVIZ_SCORE_ADDITIVE : ATTNVIZ_SCORE_SCALED_DOT;
  c.pos = kind == RANDOM_SINUSOIDAL_WINDOW ? ATTNVIZ_POS_SINUSOIDAL
        : kind == RANDOM_ADDITIVE_POST_NORM ? ATTNVIZ_POS_LEARNED : ATTNVIZ_POS_NONE;
  c.pattern.window = kind == RANDOM_SINUSOIDAL_WINDOW ? 5 : 0;
  c.qkv_bias = c.out_bias = c.mlp_bias = TRUE;
  return attnviz_model_new_random (&c, 11 + kind);
}

/* Past 256 positions, where the cache grows (its first allocation) but
 * the learned table stops at 256. */
static void
test_random_cache_changes_nothing (gconstpointer data)
{
  g_autoptr(AttnvizModel) model = random_decoder (GPOINTER_TO_INT (data));
  gint32 prompt[] = { 3, 17, 4, 29, 8, 8, 41 };
  assert_cache_changes_nothing (model, prompt, G_N_ELEMENTS (prompt), 300);
}

static AttnvizModel *
load_fixture (const char *name)
{
  g_autofree char *dir = attnviz_test_fixture_path (name, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizModel *model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  return model;
}

/* Tokens fed a few at a time give, after each feed, the last logits a
 * whole run over the tokens so far gives: the same bits as a run in whole
 * tiles, within rounding of the analysis's run. */
static void
test_feeding_in_pieces_equals_whole_runs (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ("llama-gqa-tiny");
  gint32 ids[] = { 5, 9, 13, 2, 77, 40, 40, 12, 3, 90, 61, 7 };
  int pieces[] = { 4, 1, 3, 1, 3 };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizKvDecoder) dec = attnviz_kv_decoder_new (model, G_N_ELEMENTS (ids), &error);
  g_assert_no_error (error);
  g_autofree float *logits = g_new (float, model->config.vocab_size);
  int at = 0;
  for (guint i = 0; i < G_N_ELEMENTS (pieces); i++)
    {
      g_assert_true (attnviz_kv_decoder_feed (dec, ids + at, pieces[i], logits, NULL, &error));
      g_assert_no_error (error);
      at += pieces[i];
      g_assert_cmpint (attnviz_kv_decoder_get_length (dec), ==, at);
      AttnvizRunOptions tiled = { .record_none = TRUE, .row_tiles = TRUE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, at, &tiled, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (logits, sizeof (float) * model->config.vocab_size, rec->last_logits,
                       sizeof (float) * model->config.vocab_size);
      AttnvizRunOptions plain = { .record_none = TRUE };
      g_autoptr(AttnvizRecording) analysis = attnviz_forward (model, ids, at, &plain, &error);
      g_assert_no_error (error);
      g_assert_true (logits_agree (logits, analysis->last_logits, 1, model->config.vocab_size,
                                   "fed in pieces vs the analysis's run"));
    }
}

/* Past its capacity, or with an id outside the vocabulary, a feed fails
 * naming why and leaves the decoder as it was: the next feed goes on. */
static void
test_a_refused_feed_leaves_the_cache_as_it_was (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ("gpt2-tiny");
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_kv_decoder_new (model, model->config.n_ctx + 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  gint32 ids[] = { 1, 2, 3, 4 };
  g_autoptr(AttnvizKvDecoder) dec = attnviz_kv_decoder_new (model, 4, &error);
  g_assert_no_error (error);
  g_autofree float *logits = g_new (float, model->config.vocab_size);
  g_assert_true (attnviz_kv_decoder_feed (dec, ids, 2, logits, NULL, &error));

  gint32 bad[] = { 5, model->config.vocab_size };
  g_assert_false (attnviz_kv_decoder_feed (dec, bad, 2, logits, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "outside the vocabulary"));
  g_clear_error (&error);
  g_assert_false (attnviz_kv_decoder_feed (dec, ids, 3, logits, NULL, &error));
  g_assert_nonnull (strstr (error->message, "pass the cache's 4 positions"));
  g_clear_error (&error);
  g_assert_cmpint (attnviz_kv_decoder_get_length (dec), ==, 2);

  g_assert_true (attnviz_kv_decoder_feed (dec, ids + 2, 2, logits, NULL, &error));
  AttnvizRunOptions opt = { .record_none = TRUE, .row_tiles = TRUE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, 4, &opt, &error);
  g_assert_no_error (error);
  g_assert_true (logits_agree (logits, rec->last_logits, 1, model->config.vocab_size, "after a refused feed"));
}

/* A feed that fails on a non-finite value has written its rows' keys and
 * values into the cache past its length.  The next feed at that length
 * must not read them: a tiled head multiplies the keys up to the end of
 * its tile, masked rows by zero, and 0 * inf is NaN.  A post-norm model
 * (the attention reads the raw embedding) where one token's embedding is
 * so large its value overflows. */
static void
test_a_failed_feed_leaves_no_trace (void)
{
  g_autoptr(AttnvizModel) model = random_decoder (RANDOM_POST_NORM_UNTIED);
  const AttnvizConfig c = model->config;
  /* token 7: every embedding value 3e38, and value 0 of layer 0 sums them */
  gint32 huge = 7;
  g_assert_true (model->tok_emb.type == ATTNVIZ_WEIGHT_F32 && model->layers[0].v.w.type == ATTNVIZ_WEIGHT_F32);
  float *emb = (float *) ((guint8 *) model->tok_emb.data + (gsize) huge * model->tok_emb.row_bytes);
  for (int i = 0; i < c.d_model; i++)
    emb[i] = 3e38f;
  float *wv = (float *) model->layers[0].v.w.data;
  for (int i = 0; i < c.d_model; i++)
    wv[i] = 1.0f;

  gint32 ids[] = { 1, 2, 3, huge };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizKvDecoder) dec = attnviz_kv_decoder_new (model, 16, &error);
  g_assert_no_error (error);
  g_autofree float *logits = g_new (float, c.vocab_size);
  g_assert_true (attnviz_kv_decoder_feed (dec, ids, 2, logits, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (attnviz_kv_decoder_feed (dec, ids + 2, 2, logits, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("the failed feed: %s", error->message);
  g_clear_error (&error);
  g_assert_cmpint (attnviz_kv_decoder_get_length (dec), ==, 2);

  g_assert_true (attnviz_kv_decoder_feed (dec, ids + 2, 1, logits, NULL, &error));
  g_assert_no_error (error);
  AttnvizRunOptions tiled = { .record_none = TRUE, .row_tiles = TRUE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, 3, &tiled, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (logits, sizeof (float) * c.vocab_size, rec->last_logits, sizeof (float) * c.vocab_size);
}

/* A run in whole tiles is generation's: it refuses to record attention
 * or to run a variant, and computes the last row's logits only. */
static void
test_a_tiled_run_is_for_generation_only (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ("gpt2-tiny");
  gint32 ids[] = { 1, 2, 3, 4, 5 };
  g_autoptr(GError) error = NULL;
  AttnvizRunOptions recording = { .row_tiles = TRUE };
  g_assert_null (attnviz_forward (model, ids, G_N_ELEMENTS (ids), &recording, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  AttnvizVariant variant;
  g_assert_true (attnviz_variant_parse (&variant, "ablate=L0H0", &error));
  AttnvizRunOptions varied = { .row_tiles = TRUE, .record_none = TRUE, .variant = &variant };
  g_assert_null (attnviz_forward (model, ids, G_N_ELEMENTS (ids), &varied, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  attnviz_variant_clear (&variant);

  AttnvizRunOptions tiled = { .row_tiles = TRUE, .record_none = TRUE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, G_N_ELEMENTS (ids), &tiled, &error);
  g_assert_no_error (error);
  AttnvizRunOptions plain = { .record_none = TRUE };
  g_autoptr(AttnvizRecording) analysis = attnviz_forward (model, ids, G_N_ELEMENTS (ids), &plain, &error);
  g_assert_no_error (error);
  g_assert_true (logits_agree (rec->last_logits, analysis->last_logits, 1, model->config.vocab_size,
                               "a tiled run vs the analysis's run"));
}

/* Rank of token ID in LOGITS (V): how many are more likely. */
static int
rank_of (const float *logits, int V, gint32 id)
{
  int r = 0;
  for (int j = 0; j < V; j++)
    r += logits[j] > logits[id];
  return r;
}

/* Sampled with top_k 3, every token drawn is one of the step's 3 most
 * likely; with top_p so small only the most likely is left, sampling is
 * greedy; the same seed draws the same tokens. */
static void
test_sampling_keeps_to_the_top_k_and_top_p (void)
{
  g_autoptr(AttnvizModel) model = random_decoder (RANDOM_NO_POSITIONS_GQA);
  g_autoptr(GError) error = NULL;
  gint32 prompt[] = { 3, 4 };

  Steps s;
  steps_init (&s);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_vals (ids, prompt, 2);
  AttnvizGenerateOptions o = { .max_new = 80, .temperature = 1.5, .top_k = 3, .seed = 5, .bos_id = -1,
                               .eos_id = -1, .stop_id = -1, .step_func = record_step, .step_data = &s };
  g_assert_true (attnviz_generate (model, ids, &o, &error));
  g_assert_no_error (error);
  gboolean below_top = FALSE;
  for (guint i = 0; i < s.picked->len; i++)
    {
      int r = rank_of ((float *) s.logits->data + (gsize) i * s.V, s.V, g_array_index (s.picked, gint32, i));
      g_assert_cmpint (r, <, 3);
      below_top |= r > 0;
    }
  g_assert_true (below_top);   /* it did sample */

  g_autoptr(GArray) again = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_vals (again, prompt, 2);
  o.step_func = NULL;
  g_assert_true (attnviz_generate (model, again, &o, &error));
  g_assert_cmpmem (again->data, again->len * 4, ids->data, ids->len * 4);
  steps_clear (&s);

  steps_init (&s);
  g_array_set_size (ids, 2);
  o.top_k = 0;
  o.top_p = 1e-9;
  o.step_func = record_step;
  g_assert_true (attnviz_generate (model, ids, &o, &error));
  for (guint i = 0; i < s.picked->len; i++)
    g_assert_cmpint (rank_of ((float *) s.logits->data + (gsize) i * s.V, s.V, g_array_index (s.picked, gint32, i)),
                     ==, 0);
  steps_clear (&s);
}

/* Log-softmax of a row, in double. */
static void
probabilities (const float *row, int V, double *p)
{
  double max = row[0], sum = 0.0;
  for (int j = 1; j < V; j++)
    max = MAX (max, row[j]);
  for (int j = 0; j < V; j++)
    sum += p[j] = exp (row[j] - max);
  for (int j = 0; j < V; j++)
    p[j] /= sum;
}

/* top_k 7: each position's 7 most likely tokens in order and their
 * probabilities, and the probability of the next token, as computed here
 * from the logits the run kept; and the same from a run that keeps none
 * and folds the vocabulary a block at a time. */
static void
test_predictions_follow_from_the_logits (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ("qwen2-tiny");
  gint32 ids[] = { 5, 9, 13, 2, 77, 40, 40, 12, 3, 90, 61, 7, 18, 22 };
  int T = G_N_ELEMENTS (ids), V = model->config.vocab_size, K = 7;
  AttnvizRunOptions opt = { .record_none = TRUE, .keep_logits = TRUE, .top_k = K };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rec->top_k, ==, K);
  g_autofree double *p = g_new (double, V);
  for (int t = 0; t < T; t++)
    {
      probabilities (rec->logits + (gsize) t * V, V, p);
      for (int i = 0; i < K; i++)
        {
          gint32 id = rec->topk_ids[t * K + i];
          g_assert_cmpint (rank_of (rec->logits + (gsize) t * V, V, id), ==, i);
          g_assert_cmpfloat_with_epsilon (rec->topk_probs[t * K + i], p[id], 1e-6);
        }
      if (t + 1 < T)
        {
          g_assert_cmpfloat_with_epsilon (rec->next_prob[t], p[ids[t + 1]], 1e-6);
          g_assert_cmpfloat_with_epsilon (rec->next_prob[t], exp (-rec->loss[t]), 1e-6);
        }
      else
        g_assert_true (isnan (rec->next_prob[t]));
    }

  /* Not kept, the logits are folded 13 columns at a time: the same. */
  AttnvizRunOptions folded = { .record_none = TRUE, .drop_logits = TRUE, .vocab_block = 13, .top_k = K };
  g_autoptr(AttnvizRecording) f = attnviz_forward (model, ids, T, &folded, &error);
  g_assert_no_error (error);
  g_assert_null (f->logits);
  g_assert_cmpmem (f->topk_ids, T * K * 4, rec->topk_ids, T * K * 4);
  g_assert_true (attnviz_test_check_tensor (f->topk_probs, rec->topk_probs, T * K, 1e-6f, "folded top-k"));
  g_assert_true (isnan (f->next_prob[T - 1]));
  g_assert_true (attnviz_test_check_tensor (f->next_prob, rec->next_prob, T - 1, 1e-6f, "folded next_prob"));
}

/* The lens after the last layer reads what the output reads: the very
 * top-k of the run, to the bit, when the output's logits are not kept
 * (both fold the vocabulary a block at a time).  A run with the lens gives
 * the same output as one without. */
static void
test_the_lens_ends_at_the_output (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ("gpt2-tiny");
  gint32 ids[] = { 5, 9, 13, 2, 77, 40, 40, 12, 3, 90 };
  int T = G_N_ELEMENTS (ids);
  g_autoptr(GError) error = NULL;
  AttnvizRunOptions opt = { .record_none = TRUE, .logit_lens = TRUE, .top_k = 4, .drop_logits = TRUE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  int L = model->config.n_layer, K = rec->top_k;
  g_assert_cmpint (rec->lens_layers, ==, L);
  gsize last = (gsize) (L - 1) * T * K;
  g_assert_cmpmem (rec->lens_topk_ids + last, T * K * 4, rec->topk_ids, T * K * 4);
  g_assert_cmpmem (rec->lens_topk_probs + last, T * K * 4, rec->topk_probs, T * K * 4);
  /* earlier layers predict something else somewhere */
  g_assert_true (memcmp (rec->lens_topk_ids, rec->topk_ids, T * K * 4) != 0);

  opt.logit_lens = FALSE;
  g_autoptr(AttnvizRecording) plain = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_null (plain->lens_topk_ids);
  g_assert_cmpmem (plain->topk_probs, T * K * 4, rec->topk_probs, T * K * 4);
  g_assert_cmpmem (plain->loss, T * 4, rec->loss, T * 4);
}

static float
json_float (JsonNode *node)
{
  return JSON_NODE_HOLDS_NULL (node) ? NAN : (float) json_node_get_double (node);
}

/* Against tools/make-lens-fixtures.py's float64 numpy forward: every
 * layer's top-k ids (where the reference's neighbours are not within the
 * tolerance of each other, an order float32 cannot promise) and their
 * probabilities within 1e-5, and the output's predictions. */
static void
test_lens_matches_numpy (gconstpointer data)
{
  const char *name = data;
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  g_autofree char *path = attnviz_test_fixture_path ("lens", file, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonObject *ref = json_node_get_object (json_parser_get_root (parser));
  JsonArray *ids_a = json_object_get_array_member (ref, "ids");
  int T = json_array_get_length (ids_a), K = json_object_get_int_member (ref, "k");
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = json_array_get_int_element (ids_a, t);

  g_autoptr(AttnvizModel) model = load_fixture (name);
  AttnvizRunOptions opt = { .record_none = TRUE, .logit_lens = TRUE, .top_k = K };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  JsonArray *lens_ids = json_object_get_array_member (ref, "lens_topk_ids");
  JsonArray *lens_probs = json_object_get_array_member (ref, "lens_topk_probs");
  g_assert_cmpint (json_array_get_length (lens_ids), ==, rec->lens_layers);
  float worst = 0.0f;
  for (int l = 0; l < rec->lens_layers; l++)
    for (int t = 0; t < T; t++)
      {
        JsonArray *want_ids = json_array_get_array_element (json_array_get_array_element (lens_ids, l), t);
        JsonArray *want_p = json_array_get_array_element (json_array_get_array_element (lens_probs, l), t);
        for (int i = 0; i < K; i++)
          {
            gsize at = ((gsize) l * T + t) * K + i;
            float p = json_float (json_array_get_element (want_p, i));
            worst = MAX (worst, fabsf (rec->lens_topk_probs[at] - p));
            gboolean tied = (i > 0 && json_float (json_array_get_element (want_p, i - 1)) - p < 1e-5f)
                            || (i + 1 < K && p - json_float (json_array_get_element (want_p, i + 1)) < 1e-5f);
            if (!tied)
              g_assert_cmpint (rec->lens_topk_ids[at], ==, json_array_get_int_element (want_ids, i));
          }
      }
  g_test_message ("%s: largest lens probability difference %.3g", name, worst);
  g_assert_cmpfloat (worst, <=, 1e-5f);

  JsonArray *next = json_object_get_array_member (ref, "next_prob");
  for (int t = 0; t < T; t++)
    {
      float want = json_float (json_array_get_element (next, t));
      if (isnan (want))
        g_assert_true (isnan (rec->next_prob[t]));
      else
        g_assert_cmpfloat_with_epsilon (rec->next_prob[t], want, 1e-5);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/engine/generate/cache-changes-nothing/stories260K-hf-200-tokens", "hf",
                        test_stories260k_cache_changes_nothing);
  g_test_add_data_func ("/engine/generate/cache-changes-nothing/stories260K-gguf-200-tokens", "gguf",
                        test_stories260k_cache_changes_nothing);
  static const char *fixtures[] = { "gpt2-tiny", "llama-gqa-tiny", "qwen2-tiny", "train-decoder-learned",
                                    "train-decoder-rope" };
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/generate/cache-changes-nothing/%s", fixtures[i]);
      g_test_add_data_func (path, fixtures[i], test_fixture_cache_changes_nothing);
    }
  g_test_add_data_func ("/engine/generate/cache-changes-nothing/sinusoidal-positions-in-a-window",
                        GINT_TO_POINTER (RANDOM_SINUSOIDAL_WINDOW), test_random_cache_changes_nothing);
  g_test_add_data_func ("/engine/generate/cache-changes-nothing/additive-scores-post-norm",
                        GINT_TO_POINTER (RANDOM_ADDITIVE_POST_NORM), test_random_cache_changes_nothing);
  g_test_add_data_func ("/engine/generate/cache-changes-nothing/no-positions-gqa",
                        GINT_TO_POINTER (RANDOM_NO_POSITIONS_GQA), test_random_cache_changes_nothing);
  g_test_add_func ("/engine/kv-decoder/feeding-in-pieces-equals-whole-runs", test_feeding_in_pieces_equals_whole_runs);
  g_test_add_func ("/engine/kv-decoder/a-refused-feed-leaves-the-cache-as-it-was",
                   test_a_refused_feed_leaves_the_cache_as_it_was);
  g_test_add_func ("/engine/kv-decoder/a-failed-feed-leaves-no-trace", test_a_failed_feed_leaves_no_trace);
  g_test_add_func ("/engine/forward/a-tiled-run-is-for-generation-only", test_a_tiled_run_is_for_generation_only);
  g_test_add_func ("/engine/generate/sampling-keeps-to-the-top-k-and-top-p", test_sampling_keeps_to_the_top_k_and_top_p);
  g_test_add_func ("/engine/forward/predictions-follow-from-the-logits", test_predictions_follow_from_the_logits);
  g_test_add_func ("/engine/forward/the-lens-ends-at-the-output", test_the_lens_ends_at_the_output);
  g_test_add_data_func ("/engine/forward/lens-matches-numpy/gpt2-tiny", "gpt2-tiny", test_lens_matches_numpy);
  g_test_add_data_func ("/engine/forward/lens-matches-numpy/llama-gqa-tiny", "llama-gqa-tiny",
                        test_lens_matches_numpy);
  return g_test_run ();
}
