/* test-demo-models.c: the built-in models in data/models do what they claim
 *
 *   dates-seq2seq:      every one of the dates task's 1000 held-out dates
 *                       exactly right, greedy decoding by the engine, and
 *                       typed forms ("thursday 03 june 1982", "3rd", "Jun")
 *   induction-decoder:  its demo.json's samples suit it: each is a run typed
 *                       twice, and the model predicts the second copy
 *   induction-decoder:  a layer-1 head whose induction score (attention from
 *                       the second occurrence of a token to the token after
 *                       its first occurrence) is above 0.9, and a layer-0
 *                       previous-token head
 *
 * ATTNVIZ_DEMO_MODELS_DIR overrides data/models (to check a new build of
 * them before it replaces the committed ones).
 */
#define G_LOG_DOMAIN "attnviz-test-demo-models"
#include "config.h"

#include <math.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-generate.h"
#include "attnviz-model.h"
#include "attnviz-task.h"
#include "attnviz-test-util.h"

static char *
demo_path (const char *name)
{
  const char *dir = g_getenv ("ATTNVIZ_DEMO_MODELS_DIR");
  if (dir != NULL)
    return g_build_filename (dir, name, NULL);
  return g_build_filename (ATTNVIZ_SOURCE_DATADIR, "models", name, NULL);
}

static AttnvizModel *
load_demo (const char *name)
{
  g_autofree char *path = demo_path (name);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *msg = g_strdup_printf ("%s is not there (tools/make-demo-models.sh makes it)", path);
      g_test_skip (msg);
      return NULL;
    }
  g_autoptr(GError) error = NULL;
  AttnvizModel *model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model->tokenizer);
  return model;
}

static GArray *
encode (const AttnvizModel *model, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) toks = attnviz_tokenizer_encode (model->tokenizer, text, -1, TRUE, &error);
  g_assert_no_error (error);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (guint i = 0; i < toks->len; i++)
    g_array_append_val (ids, g_array_index (toks, AttnvizToken, i).id);
  return ids;
}

static int
argmax (const float *x, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

/* The engine's greedy output for SOURCE, and whether <eos> ended it. */
static char *
greedy_date (const AttnvizModel *model, const char *source, gboolean *ended)
{
  const AttnvizConfig *c = &model->config;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) src = encode (model, source);
  g_autoptr(GArray) tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
  gint32 bos = c->bos_id;
  g_array_append_val (tgt, bos);
  AttnvizRunOptions opt = { .record_none = TRUE };
  *ended = FALSE;
  while (!*ended && (int) tgt->len < c->n_ctx)
    {
      g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, (gint32 *) src->data, src->len,
                                                                 (gint32 *) tgt->data, tgt->len, &opt, &error);
      g_assert_no_error (error);
      gint32 next = argmax (rec->last_logits, c->vocab_size);
      if (next == c->eos_id)
        *ended = TRUE;
      else
        g_array_append_val (tgt, next);
    }
  return attnviz_tokenizer_decode (model->tokenizer, (gint32 *) tgt->data, tgt->len);
}

/* Dates as people type them, each form once: zero-padded and ordinal
 * days beside month names, capitalised and abbreviated names, extra
 * spaces, both centuries. */
static void
test_dates_typed_forms (void)
{
  g_autoptr(AttnvizModel) model = load_demo ("dates-seq2seq");
  if (model == NULL)
    return;
  static const char *const cases[][2] = {
    { "thursday 03 june 1982", "1982-06-03" },
    { "Thursday 3rd June 1982", "1982-06-03" },
    { "thu, jun 3rd, 1982", "1982-06-03" },
    { "June 3, 1982", "1982-06-03" },
    { "3  june  1982", "1982-06-03" },
    { "03.06.1982", "1982-06-03" },
    { "3/6/1982", "1982-06-03" },
    { "Sat 21st Nov 2026", "2026-11-21" },
    { "saturday, november 21, 2026", "2026-11-21" },
    { "1 january 1900", "1900-01-01" },
    { "Thu 31 Dec 2099", "2099-12-31" },
    { "wednesday 22nd february 2012", "2012-02-22" },
  };
  int wrong = 0;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean ended;
      g_autofree char *out = greedy_date (model, cases[i][0], &ended);
      g_test_message ("\"%s\" -> \"%s\"%s", cases[i][0], out, ended ? "" : " (no <eos>)");
      wrong += !ended || strcmp (out, cases[i][1]) != 0;
    }
  g_assert_cmpint (wrong, ==, 0);
}

static void
test_dates_exact_match (void)
{
  g_autoptr(AttnvizModel) model = load_demo ("dates-seq2seq");
  if (model == NULL)
    return;
  const AttnvizConfig *c = &model->config;
  g_assert_true (c->encoder_decoder);

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  g_assert_no_error (error);
  const GArray *test = attnviz_task_get_test_set (task);
  int right = 0;
  for (guint i = 0; i < test->len; i++)
    {
      const AttnvizExample *ex = &g_array_index (test, AttnvizExample, i);
      gboolean ended;
      g_autofree char *out = greedy_date (model, ex->source, &ended);
      if (ended && strcmp (out, ex->target) == 0)
        right++;
      else
        g_test_message ("\"%s\" -> \"%s\", not \"%s\"", ex->source, out, ex->target);
    }
  double exact = (double) right / test->len;
  g_test_message ("dates-seq2seq: %d of %u held-out dates exactly right (%.2f%%)", right, test->len, 100.0 * exact);
  g_assert_cmpint (right, ==, test->len);
}

/* The attention each head of LAYER pays, on average over held-out runs of
 * the repeat task, to: "induction", from each token of the second copy to
 * the token after its first occurrence; "previous", from each token to the
 * one before it. */
static void
induction_scores (const AttnvizModel *model, const char *kind, int layer, double *scores)
{
  const AttnvizConfig *c = &model->config;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("repeat", 0, &error);
  g_assert_no_error (error);
  const GArray *test = attnviz_task_get_test_set (task);
  g_autofree double *sum = g_new0 (double, c->n_head);
  double n = 0.0;
  for (guint e = 0; e < test->len && e < 200; e++)
    {
      const AttnvizExample *ex = &g_array_index (test, AttnvizExample, e);
      /* "<bos> s s", the training format: the source is the run and the
       * second copy's first symbol, the target the rest of the copy */
      g_autofree char *text = g_strconcat (ex->source, ex->target, NULL);
      g_autoptr(GArray) ids = encode (model, text);
      int k = (int) (ids->len - 1) / 2;
      g_assert_cmpint (ids->len, ==, 2 * k + 1);
      int T = ids->len;
      AttnvizRunOptions opt = { .layers = &layer, .n_layers = 1, .skip_logits = TRUE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, (gint32 *) ids->data, T, &opt, &error);
      g_assert_no_error (error);
      gboolean induction = strcmp (kind, "induction") == 0;
      for (int h = 0; h < c->n_head; h++)
        {
          const float *P = attnviz_recording_get_attention (rec, layer, h);
          if (induction)
            for (int i = 0; i < k; i++)
              {
                int t = k + 1 + i;           /* second occurrence of s[i] */
                sum[h] += P[(gsize) t * T + 2 + i];
              }
          else
            for (int t = 2; t < T; t++)      /* every token after the first symbol */
              sum[h] += P[(gsize) t * T + t - 1];
        }
      n += induction ? k : T - 2;
    }
  for (int h = 0; h < c->n_head; h++)
    scores[h] = sum[h] / n;
}

static void
test_induction_head (void)
{
  g_autoptr(AttnvizModel) model = load_demo ("induction-decoder");
  if (model == NULL)
    return;
  const AttnvizConfig *c = &model->config;
  g_assert_false (c->encoder_decoder);
  g_assert_cmpint (c->n_layer, ==, 2);

  g_autofree double *ind = g_new0 (double, c->n_head);
  g_autofree double *prev = g_new0 (double, c->n_head);
  induction_scores (model, "induction", 1, ind);
  induction_scores (model, "previous", 0, prev);
  double best_ind = 0.0, best_prev = 0.0;
  for (int h = 0; h < c->n_head; h++)
    {
      g_test_message ("head %d: layer-1 induction score %.3f, layer-0 previous-token score %.3f", h, ind[h], prev[h]);
      best_ind = MAX (best_ind, ind[h]);
      best_prev = MAX (best_prev, prev[h]);
    }
  g_assert_cmpfloat (best_ind, >, 0.9);
  g_assert_cmpfloat (best_prev, >, 0.5);
}

/* Each sample demo.json offers is a run typed twice, and the model
 * predicts the second copy from its second symbol on (the first cannot be
 * known) almost always. */
static void
test_induction_samples_suit_it (void)
{
  g_autoptr(AttnvizModel) model = load_demo ("induction-decoder");
  if (model == NULL)
    return;
  g_autofree char *path = demo_path ("induction-decoder");
  g_autofree char *file = g_build_filename (path, "demo.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, file, &error));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_has_member (o, "inputs"));
  JsonArray *samples = json_object_get_array_member (o, "samples");
  const AttnvizConfig *c = &model->config;
  for (guint s = 0; s < json_array_get_length (samples); s++)
    {
      const char *text = json_array_get_string_element (samples, s);
      gsize n = strlen (text);
      g_assert_cmpuint (n % 2, ==, 0);
      g_assert_cmpint (strncmp (text, text + n / 2, n / 2), ==, 0);
      g_autoptr(GArray) ids = encode (model, text); /* <bos> run run */
      int k = (int) n / 2, T = ids->len;
      g_assert_cmpint (T, ==, 2 * k + 1);
      AttnvizRunOptions opt = { .record_none = TRUE, .keep_logits = TRUE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, (gint32 *) ids->data, T, &opt, &error);
      g_assert_no_error (error);
      int right = 0;
      /* position k + 1 holds the second copy's first symbol; from there on
       * the next symbol is the run's */
      for (int t = k + 1; t < T - 1; t++)
        right += argmax (rec->logits + (gsize) t * c->vocab_size, c->vocab_size) == g_array_index (ids, gint32, t + 1);
      g_test_message ("\"%s\": %d of %d symbols of the second copy predicted", text, right, k - 1);
      g_assert_cmpint (right, >=, (k - 1) * 9 / 10);
    }
}

typedef struct {
  int calls, last_done, most;
} Progress;

static void
on_progress (int done, int most, gpointer data)
{
  Progress *p = data;
  g_assert_cmpint (done, ==, p->last_done + 1);
  g_assert_cmpint (done, <=, most);
  p->calls++;
  p->last_done = done;
  p->most = most;
}

/* A long decode is not silent: the app's progress bar hears each token. */
static void
test_decoding_reports_each_token (void)
{
  g_autoptr(AttnvizModel) model = load_demo ("dates-seq2seq");
  if (model == NULL)
    return;
  g_autoptr(GArray) src = encode (model, "saturday 21 november 2026");
  Progress p = { 0 };
  AttnvizGenerateOptions go = {
    .max_new = model->config.n_ctx, .bos_id = -1, .eos_id = -1, .stop_id = -1,
    .progress = on_progress, .progress_data = &p,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tgt = attnviz_generate_seq2seq (model, (gint32 *) src->data, src->len, &go, &error);
  g_assert_no_error (error);
  /* BOS and "2026-11-21": one call per token after BOS. */
  g_assert_cmpint (tgt->len, ==, 11);
  g_assert_cmpint (p.calls, ==, (int) tgt->len - 1);
  g_assert_cmpint (p.most, <=, model->config.n_ctx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/demo-models/dates-seq2seq/held-out-exact-match", test_dates_exact_match);
  g_test_add_func ("/demo-models/dates-seq2seq/typed-forms", test_dates_typed_forms);
  g_test_add_func ("/demo-models/induction-decoder/its-samples-suit-it", test_induction_samples_suit_it);
  g_test_add_func ("/demo-models/induction-decoder/has-an-induction-head", test_induction_head);
  g_test_add_func ("/demo-models/dates-seq2seq/decoding-reports-each-token", test_decoding_reports_each_token);
  return g_test_run ();
}
