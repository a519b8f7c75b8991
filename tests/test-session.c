/* Sessions (issue 13): a dump opened again shows the run it came from, and
 * attention made elsewhere opens with its shape and labels, or is refused
 * in one line. */
#define G_LOG_DOMAIN "test-session"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-dump.h"
#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-npy.h"
#include "attnviz-safetensors.h"
#include "attnviz-session.h"
#include "attnviz-test-util.h"
#include "attnviz-variant.h"

static const gint32 the_ids[] = { 11, 7, 3, 42, 5, 9, 17 };
#define N_IDS ((int) G_N_ELEMENTS (the_ids))

/* A run of the GPT-2 fixture on the_ids, every layer and head, under
 * VARIANT (NULL: the model as it is). */
static AttnvizRecording *
run_fixture (AttnvizModel **model_out, const char *variant)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizModel *model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_auto(AttnvizVariant) v = { 0 };
  g_assert_true (attnviz_variant_parse (&v, variant, &error));
  AttnvizRunOptions opt = { .variant = &v };
  AttnvizRecording *rec = attnviz_forward (model, the_ids, N_IDS, &opt, &error);
  g_assert_no_error (error);
  *model_out = model;
  return rec;
}

static char **
texts_of (int n, const char *prefix)
{
  char **v = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    v[i] = g_strdup_printf ("%s%d", prefix, i);
  return v;
}

/* Every recorded head of A and B holds the same bits. */
static void
assert_same_matrices (const AttnvizRecording *a, AttnvizAttention *sa, AttnvizAttention *sb)
{
  int rows = attnviz_attention_get_n_rows (sa), cols = attnviz_attention_get_n_cols (sa);
  g_assert_cmpint (rows, ==, attnviz_attention_get_n_rows (sb));
  g_assert_cmpint (cols, ==, attnviz_attention_get_n_cols (sb));
  g_autofree float *ma = g_new (float, (gsize) rows * cols);
  g_autofree float *mb = g_new (float, (gsize) rows * cols);
  int compared = 0;
  for (int li = 0; li < a->n_rec_layers; li++)
    for (int hi = 0; hi < a->n_rec_heads; hi++)
      {
        int l = a->rec_layers[li], h = a->rec_heads[hi];
        g_assert_true (attnviz_attention_has_head (sb, l, h));
        attnviz_attention_get_rect (sa, l, h, 0, rows, 0, cols, ma, cols);
        attnviz_attention_get_rect (sb, l, h, 0, rows, 0, cols, mb, cols);
        g_assert_cmpmem (ma, sizeof (float) * rows * cols, mb, sizeof (float) * rows * cols);
        compared++;
      }
  g_assert_cmpint (compared, >, 0);
}

typedef struct {
  AttnvizDumpFormat format;
  const char *name;
  const char *variant;
} DumpCase;

static void
test_a_dump_reopened_shows_identical_matrices (gconstpointer data)
{
  const DumpCase *c = data;
  g_autoptr(AttnvizModel) model = NULL;
  g_autoptr(AttnvizRecording) rec = run_fixture (&model, c->variant);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, c->name, NULL);
  g_auto(GStrv) texts = texts_of (N_IDS, "tok");
  AttnvizToken tokens[N_IDS];
  for (int t = 0; t < N_IDS; t++)
    tokens[t] = (AttnvizToken) { the_ids[t], 2 * t, 2 * t + 1, t == 0 };
  AttnvizDumpInfo info = {
    .model_path = "tests/fixtures/gpt2-tiny", .architecture = "GPT2LMHeadModel", .model_type = "gpt2",
    .variant = rec->variant, .tokens = tokens, .token_texts = texts,
  };
  AttnvizDumpOptions options = ATTNVIZ_DUMP_OPTIONS_INIT;
  options.format = c->format;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_dump_write (rec, &info, &options, path, &error));
  g_assert_no_error (error);

  g_autoptr(AttnvizSession) s = attnviz_session_load (path, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s->origin, ==, ATTNVIZ_SESSION_DUMP);
  g_assert_cmpint (s->format, ==, c->format);
  g_assert_cmpint (s->rec->T, ==, N_IDS);
  g_assert_cmpmem (s->rec->ids, sizeof (gint32) * N_IDS, the_ids, sizeof the_ids);
  g_assert_true (g_strv_equal ((const char *const *) s->token_texts, (const char *const *) texts));
  for (int t = 0; t < N_IDS; t++)
    {
      g_assert_cmpuint (s->tokens[t].start, ==, tokens[t].start);
      g_assert_cmpuint (s->tokens[t].end, ==, tokens[t].end);
      g_assert_cmpint (s->tokens[t].special, ==, tokens[t].special);
    }
  g_assert_cmpstr (s->rec->variant, ==, rec->variant);
  g_assert_cmpstr (s->model_path, ==, "tests/fixtures/gpt2-tiny");
  g_assert_cmpstr (s->model_type, ==, "gpt2");
  g_assert_cmpint (s->rec->causal, ==, rec->causal);
  g_assert_cmpint (s->rec->n_layer, ==, rec->n_layer);
  g_assert_cmpint (s->rec->n_head, ==, rec->n_head);
  g_assert_cmpint (s->n_rows_off, ==, 0);
  assert_same_matrices (rec, rec->attention, s->rec->attention);
  /* the loss, top-k and last logits came back too (json keeps 17 digits) */
  for (int t = 0; t < N_IDS; t++)
    g_assert_true ((isnan (rec->loss[t]) && isnan (s->rec->loss[t])) || rec->loss[t] == s->rec->loss[t]);
  g_assert_cmpint (s->rec->top_k, ==, rec->top_k);
  g_assert_cmpmem (s->rec->topk_ids, sizeof (gint32) * N_IDS * rec->top_k, rec->topk_ids,
                   sizeof (gint32) * N_IDS * rec->top_k);
  g_assert_cmpmem (s->rec->last_logits, sizeof (float) * rec->vocab_size, rec->last_logits,
                   sizeof (float) * rec->vocab_size);
}

static void
test_a_session_saved_and_reopened_is_the_same (gconstpointer data)
{
  const DumpCase *c = data;
  g_autoptr(AttnvizModel) model = NULL;
  g_autoptr(AttnvizRecording) rec = run_fixture (&model, "mask=window:3");
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  g_autofree char *first = g_build_filename (dir, "first.safetensors", NULL);
  g_autofree char *second = g_build_filename (dir, c->name, NULL);
  g_auto(GStrv) texts = texts_of (N_IDS, "w");
  AttnvizDumpInfo info = { .model_path = "m", .model_type = "gpt2", .variant = rec->variant, .token_texts = texts };
  AttnvizDumpOptions options = ATTNVIZ_DUMP_OPTIONS_INIT;
  options.format = ATTNVIZ_DUMP_SAFETENSORS;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_dump_write (rec, &info, &options, first, &error));
  g_autoptr(AttnvizSession) a = attnviz_session_load (first, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_session_save (a, c->format, second, &error));
  g_assert_no_error (error);
  g_autoptr(AttnvizSession) b = attnviz_session_load (second, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_session_same_tokens (a, b));
  g_assert_cmpstr (b->rec->variant, ==, "mask=window:3");
  g_assert_cmpstr (b->model_path, ==, "m");
  assert_same_matrices (rec, a->rec->attention, b->rec->attention);
}

/* An encoder-decoder's dump holds its three attentions and its source:
 * reopened, each is its run's, and saved again it is the same. */
static void
test_an_encoder_decoder_dump_reopens_with_all_three (gconstpointer data)
{
  const DumpCase *c = data;
  g_autofree char *dir_model = attnviz_test_fixture_path ("train-seq2seq-additive", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir_model, &error);
  g_assert_no_error (error);
  const gint32 src[] = { 3, 4, 5, 6, 7, 2 }, tgt[] = { 1, 8, 9, 10, 11 };
  int S = G_N_ELEMENTS (src), T = G_N_ELEMENTS (tgt);
  AttnvizRunOptions opt = { 0 };
  g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src, S, tgt, T, &opt, &error);
  g_assert_no_error (error);
  g_auto(GStrv) texts = texts_of (T, "t");
  g_auto(GStrv) source_texts = texts_of (S, "s");
  AttnvizToken source_tokens[G_N_ELEMENTS (src)];
  for (int i = 0; i < S; i++)
    source_tokens[i] = (AttnvizToken) { src[i], i, i + 1, i == S - 1 };
  AttnvizDumpInfo info = {
    .model_path = "seq2seq", .model_type = "attnviz", .variant = rec->variant, .token_texts = texts,
    .source_tokens = source_tokens, .source_texts = source_texts,
  };
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, c->name, NULL);
  AttnvizDumpOptions options = ATTNVIZ_DUMP_OPTIONS_INIT;
  options.format = c->format;
  g_assert_true (attnviz_dump_write (rec, &info, &options, path, &error));
  g_assert_no_error (error);

  g_autoptr(AttnvizSession) s = attnviz_session_load (path, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s->rec->S, ==, S);
  g_assert_cmpint (s->rec->n_enc_layer, ==, rec->n_enc_layer);
  g_assert_cmpmem (s->rec->src_ids, sizeof (gint32) * S, src, sizeof src);
  g_assert_true (g_strv_equal ((const char *const *) s->source_texts, (const char *const *) source_texts));
  g_assert_true (s->source_tokens[S - 1].special);
  assert_same_matrices (rec, rec->attention, s->rec->attention);
  /* the encoder's and the cross-attention: every layer and head */
  AttnvizRecording every = *rec;
  int layers[8], heads[8];
  for (int i = 0; i < 8; i++)
    layers[i] = heads[i] = i;
  every.rec_layers = layers;
  every.rec_heads = heads;
  every.n_rec_layers = rec->n_enc_layer;
  every.n_rec_heads = rec->n_head;
  assert_same_matrices (&every, rec->enc_attention, s->rec->enc_attention);
  every.n_rec_layers = rec->n_layer;
  assert_same_matrices (&every, rec->cross_attention, s->rec->cross_attention);
  g_assert_nonnull (s->rec->enc_attn);
  g_assert_nonnull (s->rec->cross_attn);

  g_autofree char *again = g_build_filename (dir, "again.safetensors", NULL);
  g_assert_true (attnviz_session_save (s, ATTNVIZ_DUMP_SAFETENSORS, again, &error));
  g_assert_no_error (error);
  g_autoptr(AttnvizSession) b = attnviz_session_load (again, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_session_same_tokens (s, b));
  assert_same_matrices (&every, s->rec->cross_attention, b->rec->cross_attention);
}

/* ---- foreign tensors ---- */

/* A (L, H, T, S) array of softmax rows, from a seed. */
static float *
random_attention (int L, int H, int T, int S, guint32 seed, gboolean causal)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  float *a = g_new (float, (gsize) L * H * T * S);
  for (gsize row = 0; row < (gsize) L * H * T; row++)
    {
      int i = (int) (row % T);
      float *p = a + row * S;
      double sum = 0;
      for (int j = 0; j < S; j++)
        sum += p[j] = causal && j > i ? 0.0f : (float) g_rand_double_range (r, 0.01, 1.0);
      for (int j = 0; j < S; j++)
        p[j] = (float) (p[j] / sum);
    }
  return a;
}

static char *
write_npy (const char *dir, const char *name, const float *a, const gint64 *shape, int n_dims)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (path, ATTNVIZ_NPY_F32, shape, n_dims, a, &error));
  return path;
}

typedef struct {
  const char *name;
  int n_dims;
  gint64 shape[5];
  int L, H, T, S;       /* what it opens as */
} ShapeCase;

static const ShapeCase shape_cases[] = {
  { "tt", 2, { 5, 5 }, 1, 1, 5, 5 },
  { "htt", 3, { 3, 5, 5 }, 1, 3, 5, 5 },
  { "lhtt", 4, { 2, 3, 5, 5 }, 2, 3, 5, 5 },
  { "hf-stacked-batch-of-one", 5, { 2, 1, 3, 5, 5 }, 2, 3, 5, 5 },
  { "lhts-with-source-tokens", 4, { 2, 2, 4, 6 }, 2, 2, 4, 6 },
};

static void
test_a_foreign_npy_opens_with_its_shape_and_numbered_labels (gconstpointer data)
{
  const ShapeCase *c = data;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  g_autofree float *a = random_attention (c->L, c->H, c->T, c->S, 7, FALSE);
  g_autofree char *path = write_npy (dir, "att.npy", a, c->shape, c->n_dims);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load (path, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s->origin, ==, ATTNVIZ_SESSION_FOREIGN);
  AttnvizAttention *src = c->S == c->T ? s->rec->attention : s->rec->cross_attention;
  g_assert_nonnull (src);
  g_assert_cmpint (attnviz_attention_get_n_layers (src), ==, c->L);
  g_assert_cmpint (attnviz_attention_get_n_heads (src), ==, c->H);
  g_assert_cmpint (attnviz_attention_get_n_rows (src), ==, c->T);
  g_assert_cmpint (attnviz_attention_get_n_cols (src), ==, c->S);
  g_assert_cmpint (s->rec->S, ==, c->S == c->T ? 0 : c->S);
  g_assert_true (s->numbered);
  g_assert_cmpuint (g_strv_length (s->token_texts), ==, c->T);
  g_assert_cmpstr (s->token_texts[0], ==, "0");
  g_autofree char *last = g_strdup_printf ("%d", c->T - 1);
  g_assert_cmpstr (s->token_texts[c->T - 1], ==, last);
  if (c->S != c->T)
    g_assert_cmpuint (g_strv_length (s->source_texts), ==, c->S);
  /* the last head's matrix is the file's last (T, S) block */
  g_autofree float *m = attnviz_attention_dup_matrix (src, c->L - 1, c->H - 1);
  gsize cells = (gsize) c->T * c->S;
  g_assert_cmpmem (m, cells * sizeof (float), a + ((gsize) c->L * c->H - 1) * cells, cells * sizeof (float));
  g_assert_false (s->rec->causal);
}

static void
test_tokens_come_from_a_json_list_or_one_per_line (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  gint64 shape[] = { 4, 4 };
  g_autofree float *a = random_attention (1, 1, 4, 4, 3, TRUE);
  g_autofree char *path = write_npy (dir, "att.npy", a, shape, 2);
  g_autofree char *json = g_build_filename (dir, "tokens.json", NULL);
  g_autofree char *txt = g_build_filename (dir, "tokens.txt", NULL);
  g_assert_true (g_file_set_contents (json, "[\"The\", \" cat\", \" sat\", \".\"]", -1, NULL));
  g_assert_true (g_file_set_contents (txt, "The\r\n cat\n sat\n.\n", -1, NULL));
  const char *files[] = { json, txt };
  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizSession) s = attnviz_session_load (path, files[f], NULL, 0, &error);
      g_assert_no_error (error);
      const char *want[] = { "The", " cat", " sat", ".", NULL };
      g_assert_true (g_strv_equal ((const char *const *) s->token_texts, want));
      g_assert_false (s->numbered);
      /* zeros right of the diagonal in every head: a causal map */
      g_assert_true (s->rec->causal);
    }
}

static void
test_hugging_face_s_tuple_in_safetensors_stacks_its_layers (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "att.safetensors", NULL);
  g_autofree float *a = random_attention (3, 2, 4, 4, 5, FALSE);
  gsize per = 2 * 4 * 4;
  AttnvizTensorOut t[3];
  for (int l = 0; l < 3; l++)
    t[l] = (AttnvizTensorOut) { g_strdup_printf ("attentions.%d", l), ATTNVIZ_DTYPE_F32, 4, { 1, 2, 4, 4 },
                                a + per * l };
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_safetensors_write (path, t, 3, NULL, &error));
  for (int l = 0; l < 3; l++)
    g_free ((char *) t[l].name);
  g_autoptr(AttnvizSession) s = attnviz_session_load (path, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->tensor, ==, "attentions.0-2");
  g_assert_cmpint (attnviz_attention_get_n_layers (s->rec->attention), ==, 3);
  g_assert_cmpint (attnviz_attention_get_n_heads (s->rec->attention), ==, 2);
  g_autofree float *m = attnviz_attention_dup_matrix (s->rec->attention, 2, 1);
  g_assert_cmpmem (m, 16 * sizeof (float), a + per * 2 + 16, 16 * sizeof (float));
}

static void
test_rows_that_do_not_sum_to_one_are_counted_not_refused (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  gint64 shape[] = { 2, 3, 3 };
  float a[18];
  for (int i = 0; i < 18; i++)
    a[i] = 1.0f / 3;
  a[3 * 3 + 3 * 1 + 2] = 2.5f;   /* head 1, row 1 sums to 2/3 + 2.5 */
  g_autofree char *path = write_npy (dir, "scores.npy", a, shape, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load (path, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s->n_rows_off, ==, 1);
  g_assert_cmpint (s->n_rows, ==, 6);
  g_assert_cmpint (s->worst_head, ==, 1);
  g_assert_cmpint (s->worst_row, ==, 1);
  g_autofree char *line = attnviz_session_describe_rows (s);
  g_assert_nonnull (strstr (line, "1 of 6 rows do not sum to 1"));
  g_assert_null (strchr (line, '\n'));
}

/* ---- refusals ---- */

typedef enum { NPY, TOKENS, SAFETENSORS, DUMP_JSON } Kind;

typedef struct {
  const char *name;
  Kind kind;
  const char *contents;   /* tokens: the token file; dump json: the file */
  const char *needle;
} BadCase;

/* A json dump of one token, TOKEN, with MORE metadata members. */
#define ONE_TOKEN_DUMP(token, more)                                                                          \
  "{\"metadata\": {\"n_tokens\": 1, \"n_layer\": 1, \"n_head\": 1, \"causal\": true, \"layers\": [0], \"heads\": [0], " \
  "\"tokens\": [" token "]" more "}, \"attentions\": [[[[1]]]]}"

static const BadCase bad_cases[] = {
  { "a-nan-weight", NPY, "nan", "is NaN" },
  { "an-infinite-weight", NPY, "inf", "is infinite" },
  { "a-negative-weight", NPY, "negative", "is negative" },
  { "one-dimension", NPY, "1d", "expected (L, H, T, T)" },
  { "six-dimensions", NPY, "6d", "at most 5 dimensions" },
  { "a-zero-size", NPY, "zero", "at least 1" },
  { "a-truncated-npy", NPY, "truncated", "truncated" },
  { "over-the-memory-budget", NPY, "budget", "over the" },
  /* each token gets a label: 2^29 of them (in budget with one row) once
   * asked for tens of GiB */
  { "more-tokens-than-a-dump-holds", NPY, "wide", "1 x 16777217 tokens: at most 16777216 on each side" },
  { "too-few-tokens", TOKENS, "[\"a\", \"b\"]", "2 tokens for the 4" },
  { "tokens-not-strings", TOKENS, "[\"a\", {}, \"c\", \"d\"]", "not a string" },
  { "tokens-not-a-list", TOKENS, "{\"a\": 1}", "not a JSON list" },
  { "tokens-with-a-nul", TOKENS, "txt-nul", "UTF-8" },
  { "a-gap-in-hf-s-tuple", SAFETENSORS, "gap", "does not follow" },
  { "no-attentions-tensor", SAFETENSORS, "none", "no \"attentions\"" },
  { "a-json-without-attentions", DUMP_JSON, "{\"metadata\": {}}", "not an attnviz json dump" },
  { "a-pooled-dump", DUMP_JSON, "{\"metadata\": {\"pool\": {}}, \"attentions\": []}", "pooled" },
  { "a-banded-dump", DUMP_JSON, "{\"metadata\": {\"attentions_row_offset\": 4}, \"attentions\": []}", "--rows" },
  { "a-dump-of-huge-counts", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 99999999999, \"n_layer\": 1, \"n_head\": 1}, \"attentions\": []}", "n_tokens" },
  { "attentions-of-another-shape", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 2, \"n_layer\": 1, \"n_head\": 1, \"causal\": true}, \"attentions\": [[[1, 0], "
    "[0.5, 0.5]]]}", "do not fit" },
  { "ragged-attentions", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 2, \"n_layer\": 1, \"n_head\": 1, \"causal\": true}, \"attentions\": [[[[1, 0], "
    "[0.5]]]]}", "rectangular" },
  { "layers-out-of-range", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 1, \"n_layer\": 1, \"n_head\": 1, \"causal\": true, \"layers\": [3], \"heads\": "
    "[0], \"tokens\": [{\"id\": 1}]}, \"attentions\": [[[[1]]]]}", "layers[0]" },
  { "a-token-id-past-the-limit", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 1, \"n_layer\": 1, \"n_head\": 1, \"causal\": true, \"layers\": [0], \"heads\": "
    "[0], \"tokens\": [{\"id\": -4}]}, \"attentions\": [[[[1]]]]}", "tokens[0] has no id" },
  /* json-glib's _with_default getters warned on these (a list) or converted
   * a float past 64 bits with undefined behaviour */
  { "a-span-given-as-a-list", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1, \"start\": [1]}", ""),
    "tokens[0].start is not an integer" },
  { "a-span-past-64-bits", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1, \"start\": 0, \"end\": 1e300}", ""),
    "tokens[0].end is not an integer" },
  { "a-span-past-int32", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1, \"start\": 0, \"end\": 4294967295}", ""),
    "tokens[0].end is not an integer in 0-2147483647" },
  { "a-span-backwards", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1, \"start\": 5, \"end\": 2}", ""),
    "ends before it starts" },
  { "special-given-as-an-object", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1, \"special\": {}}", ""),
    "tokens[0].special is not true or false" },
  { "encoder-decoder-given-as-a-list", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1}", ", \"encoder_decoder\": []"),
    "encoder_decoder is not true or false" },
  { "a-row-offset-given-as-a-list", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1}", ", \"attentions_row_offset\": [1]"),
    "attentions_row_offset is not an integer" },
  { "a-row-offset-of-null", DUMP_JSON, ONE_TOKEN_DUMP ("{\"id\": 1}", ", \"attentions_row_offset\": null"),
    "attentions_row_offset is not an integer" },
  { "token-spans-that-disagree-with-the-metadata", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 1, \"n_layer\": 1, \"n_head\": 1, \"causal\": true, \"layers\": [0], \"heads\": "
    "[0], \"tokens\": [{\"id\": 1, \"start\": 0, \"end\": 3}]}, \"attentions\": [[[[1]]]], \"token_spans\": [[0, 4]]}",
    "token_spans disagree with the metadata's spans" },
  { "a-vocabulary-that-disagrees-with-the-logits", DUMP_JSON,
    "{\"metadata\": {\"n_tokens\": 1, \"n_layer\": 1, \"n_head\": 1, \"causal\": true, \"layers\": [0], \"heads\": "
    "[0], \"vocab_size\": 3, \"top_k\": 1, \"tokens\": [{\"id\": 1}]}, \"attentions\": [[[[1]]]], \"topk_ids\": [[1]], "
    "\"topk_probs\": [[0.5]], \"logits_last\": [0.1, 0.2]}", "logits_last has 2 values" },
  { "hf-s-tuple-with-a-zero-padded-layer", SAFETENSORS, "zero-padded", "\"attentions.01\" does not follow" },
  { "hf-s-tuple-without-layer-0", SAFETENSORS, "from-1", "without attentions.0" },
};

static void
test_a_malformed_file_gives_one_clear_line (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-session-XXXXXX", NULL);
  g_autofree char *path = NULL, *tokens = NULL;
  guint64 budget = 0;
  g_autofree float *a = random_attention (1, 2, 4, 4, 1, FALSE);
  gint64 shape[6] = { 1, 2, 4, 4 };
  int n_dims = 4;
  switch (c->kind)
    {
    case NPY:
      if (strcmp (c->contents, "nan") == 0)
        a[5] = NAN;
      else if (strcmp (c->contents, "inf") == 0)
        a[7] = INFINITY;
      else if (strcmp (c->contents, "negative") == 0)
        a[9] = -0.25f;
      else if (strcmp (c->contents, "1d") == 0)
        shape[0] = 32, n_dims = 1;
      else if (strcmp (c->contents, "6d") == 0)
        shape[0] = shape[1] = shape[2] = shape[3] = shape[4] = 1, shape[5] = 32, n_dims = 6;
      else if (strcmp (c->contents, "zero") == 0)
        shape[1] = 0;
      else if (strcmp (c->contents, "budget") == 0)
        budget = 64;
      path = g_build_filename (dir, "att.npy", NULL);
      if (strcmp (c->contents, "truncated") == 0)
        {
          g_autofree char *whole = write_npy (dir, "whole.npy", a, shape, n_dims);
          g_autofree char *bytes = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (whole, &bytes, &len, NULL));
          g_assert_true (g_file_set_contents (path, bytes, len - 10, NULL));
        }
      else if (strcmp (c->contents, "wide") == 0)
        {
          /* one row of 2^24 + 1 zeros: the header, and the file made that
           * long (sparse: nothing is written) */
          gint64 wide[4] = { 1, 1, 1, ((gint64) 1 << 24) + 1 };
          g_autoptr(GBytes) header = attnviz_npy_header (ATTNVIZ_NPY_F32, wide, 4);
          g_assert_true (g_file_set_contents (path, g_bytes_get_data (header, NULL), g_bytes_get_size (header), NULL));
          g_assert_cmpint (truncate (path, g_bytes_get_size (header) + (wide[3] * 4)), ==, 0);
        }
      else
        g_free (write_npy (dir, "att.npy", a, shape, n_dims));
      break;
    case TOKENS:
      path = write_npy (dir, "att.npy", a, shape, 4);
      if (strcmp (c->contents, "txt-nul") == 0)
        {
          tokens = g_build_filename (dir, "tokens.txt", NULL);
          g_assert_true (g_file_set_contents (tokens, "a\nb\0c\nd\n", 8, NULL));
        }
      else
        {
          tokens = g_build_filename (dir, "tokens.json", NULL);
          g_assert_true (g_file_set_contents (tokens, c->contents, -1, NULL));
        }
      break;
    case SAFETENSORS:
      {
        path = g_build_filename (dir, "att.safetensors", NULL);
        /* two tensors: names by case */
        const char *first = "weights", *second = "bias";
        if (strcmp (c->contents, "gap") == 0)
          first = "attentions.0", second = "attentions.2";
        else if (strcmp (c->contents, "zero-padded") == 0)
          first = "attentions.0", second = "attentions.01";
        else if (strcmp (c->contents, "from-1") == 0)
          first = "attentions.1", second = "attentions.2";
        AttnvizTensorOut t[2] = {
          { first, ATTNVIZ_DTYPE_F32, 3, { 2, 4, 4 }, a },
          { second, ATTNVIZ_DTYPE_F32, 3, { 2, 4, 4 }, a },
        };
        g_autoptr(GError) error = NULL;
        g_assert_true (attnviz_safetensors_write (path, t, 2, NULL, &error));
      }
      break;
    case DUMP_JSON:
      path = g_build_filename (dir, "dump.json", NULL);
      g_assert_true (g_file_set_contents (path, c->contents, -1, NULL));
      break;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load (path, tokens, NULL, budget, &error);
  g_assert_null (s);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, c->needle));
  /* it names the file at fault */
  const char *named = tokens && c->kind == TOKENS ? tokens : path;
  g_assert_nonnull (strstr (error->message, named));
}

/* A json dump's arrays are measured along their first elements, so five
 * lists of 8192 (a file of 100 kB) claim 2^65 values, which wrapped to 0
 * in 64 bits: the buffer was one value and the fill wrote on past it. */
static void
test_sizes_that_multiply_past_64_bits_are_refused (void)
{
  const int n = 8192;
  GString *json = g_string_new ("{\"metadata\": {\"n_tokens\": 8192, \"n_layer\": 1, \"n_head\": 1, "
                                "\"causal\": true}, \"attentions\": ");
  for (int depth = 0; depth < 4; depth++)
    g_string_append_c (json, '[');
  g_string_append_c (json, '[');
  for (int i = 0; i < n; i++)
    g_string_append (json, i ? ",0.1" : "0.1");
  g_string_append_c (json, ']');
  for (int depth = 0; depth < 4; depth++)
    {
      for (int i = 1; i < n; i++)
        g_string_append (json, ",0");
      g_string_append_c (json, ']');
    }
  g_string_append_c (json, '}');
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load_bytes ((const guint8 *) json->str, json->len, "wrap.json", 0,
                                                            &error);
  g_string_free (json, TRUE);
  g_assert_null (s);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "wrap.json: attentions holds too many values"));
}

/* A dump's "model" names where it came from, and is the file's to say: a
 * checkpoint's folder (MODEL/checkpoints/step-N) names MODEL, however many
 * times the pair repeats (60000 of them once took minutes to name), and
 * control characters come out escaped. */
static void
test_a_dump_s_model_path_names_the_model_whatever_it_holds (void)
{
  GString *model = g_string_new ("/runs/tiny-lm");
  for (int i = 0; i < 60000; i++)
    g_string_append (model, "/checkpoints/step-000250");
  g_autofree char *json = g_strdup_printf ("{\"metadata\": {\"model\": \"%s\", \"n_tokens\": 1, \"n_layer\": 1, "
                                           "\"n_head\": 1, \"causal\": true, \"layers\": [0], \"heads\": [0], "
                                           "\"tokens\": [{\"id\": 1}]}, \"attentions\": [[[[1]]]]}", model->str);
  g_string_free (model, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load_bytes ((const guint8 *) json, strlen (json), "run.json", 0,
                                                            &error);
  g_assert_no_error (error);
  g_autofree char *name = attnviz_session_display_name (s);
  g_assert_cmpstr (name, ==, "tiny-lm");

  const char *escaping = "{\"metadata\": {\"model\": \"/m/\\u001b]0;title\\u0007\", \"n_tokens\": 1, \"n_layer\": 1, "
                         "\"n_head\": 1, \"causal\": true, \"layers\": [0], \"heads\": [0], \"tokens\": [{\"id\": 1}]}, "
                         "\"attentions\": [[[[1]]]]}";
  g_autoptr(AttnvizSession) t = attnviz_session_load_bytes ((const guint8 *) escaping, strlen (escaping), "run.json",
                                                            0, &error);
  g_assert_no_error (error);
  g_autofree char *shown = attnviz_session_display_name (t);
  g_assert_null (strchr (shown, '\033'));
  g_assert_null (strchr (shown, '\a'));
}

/* A sparse model's dump names its pattern; reopened, its run hides the
 * same keys (the views draw them as no data); a pattern that does not
 * parse is one line naming the file. */
static void
test_a_dumps_mask_comes_back_with_it (void)
{
  const char *json = "{\"metadata\": {\"n_tokens\": 4, \"n_layer\": 1, \"n_head\": 1, \"causal\": true, "
                     "\"mask\": \"window:2\", \"layers\": [0], \"heads\": [0], "
                     "\"tokens\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}, {\"id\": 4}]}, "
                     "\"attentions\": [[[[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.5, 0.5]]]]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load_bytes ((const guint8 *) json, strlen (json), "run.json", 0,
                                                            &error);
  g_assert_no_error (error);
  const AttnvizRecording *rec = s->rec;
  g_assert_true (attnviz_recording_masks (rec, 3, 1));
  g_assert_false (attnviz_recording_masks (rec, 3, 2));
  g_assert_true (attnviz_recording_masks (rec, 1, 2));   /* causal too */

  g_autofree char *bad = g_strdup (json);
  memcpy (strstr (bad, "window:2"), "window:0", 8);
  g_autoptr(AttnvizSession) t = attnviz_session_load_bytes ((const guint8 *) bad, strlen (bad), "run.json", 0, &error);
  g_assert_null (t);
  g_assert_nonnull (strstr (error->message, "run.json"));
  g_assert_nonnull (strstr (error->message, "window:0"));
  g_assert_null (strchr (error->message, '\n'));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/session/a-dumps-mask-comes-back-with-it", test_a_dumps_mask_comes_back_with_it);
  static const DumpCase dumps[] = {
    { ATTNVIZ_DUMP_NPY, "run", NULL },
    { ATTNVIZ_DUMP_SAFETENSORS, "run.safetensors", NULL },
    { ATTNVIZ_DUMP_JSON, "run.json", NULL },
    { ATTNVIZ_DUMP_NPY, "windowed", "mask=window:3" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (dumps); i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/session/a-dump-reopened-shows-identical-matrices/%s",
                                            dumps[i].name);
      g_test_add_data_func (p, &dumps[i], test_a_dump_reopened_shows_identical_matrices);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/session/saved-and-reopened-is-the-same/%s", dumps[i].name);
      g_test_add_data_func (p, &dumps[i], test_a_session_saved_and_reopened_is_the_same);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/session/an-encoder-decoder-dump-reopens-with-all-three/%s",
                                            dumps[i].name);
      g_test_add_data_func (p, &dumps[i], test_an_encoder_decoder_dump_reopens_with_all_three);
    }
  for (guint i = 0; i < G_N_ELEMENTS (shape_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/session/a-foreign-npy-opens-with-its-shape/%s",
                                            shape_cases[i].name);
      g_test_add_data_func (p, &shape_cases[i], test_a_foreign_npy_opens_with_its_shape_and_numbered_labels);
    }
  g_test_add_func ("/engine/session/tokens-come-from-a-json-list-or-one-per-line",
                   test_tokens_come_from_a_json_list_or_one_per_line);
  g_test_add_func ("/engine/session/hugging-face-s-tuple-in-safetensors-stacks-its-layers",
                   test_hugging_face_s_tuple_in_safetensors_stacks_its_layers);
  g_test_add_func ("/engine/session/rows-that-do-not-sum-to-one-are-counted-not-refused",
                   test_rows_that_do_not_sum_to_one_are_counted_not_refused);
  g_test_add_func ("/engine/session/a-dump-s-model-path-names-the-model-whatever-it-holds",
                   test_a_dump_s_model_path_names_the_model_whatever_it_holds);
  g_test_add_func ("/engine/session/sizes-that-multiply-past-64-bits-are-refused",
                   test_sizes_that_multiply_past_64_bits_are_refused);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/session/a-malformed-file-gives-one-clear-line/%s",
                                            bad_cases[i].name);
      g_test_add_data_func (p, &bad_cases[i], test_a_malformed_file_gives_one_clear_line);
    }
  return g_test_run ();
}
