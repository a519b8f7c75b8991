/* test-demo-models.c: the built-in models in data/models do what they claim
 *
 *   dates-seq2seq:      >= 99% exact match on the dates task's held-out set,
 *                       greedy decoding by the engine
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
  AttnvizRunOptions opt = { .record_none = TRUE };
  for (guint i = 0; i < test->len; i++)
    {
      const AttnvizExample *ex = &g_array_index (test, AttnvizExample, i);
      g_autoptr(GArray) src = encode (model, ex->source);
      g_autoptr(GArray) tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
      gint32 bos = c->bos_id;
      g_array_append_val (tgt, bos);
      gboolean ended = FALSE;
      while (!ended && (int) tgt->len < c->n_ctx)
        {
          g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, (gint32 *) src->data, src->len,
                                                                     (gint32 *) tgt->data, tgt->len, &opt, &error);
          g_assert_no_error (error);
          gint32 next = argmax (rec->last_logits, c->vocab_size);
          if (next == c->eos_id)
            ended = TRUE;
          else
            g_array_append_val (tgt, next);
        }
      g_autofree char *out = attnviz_tokenizer_decode (model->tokenizer, (gint32 *) tgt->data, tgt->len);
      if (ended && strcmp (out, ex->target) == 0)
        right++;
      else if (g_test_verbose ())
        g_test_message ("\"%s\" -> \"%s\", not \"%s\"", ex->source, out, ex->target);
    }
  double exact = (double) right / test->len;
  g_test_message ("dates-seq2seq: %d of %u held-out dates exactly right (%.2f%%)", right, test->len, 100.0 * exact);
  g_assert_cmpfloat (exact, >=, 0.99);
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
  g_test_add_func ("/demo-models/induction-decoder/has-an-induction-head", test_induction_head);
  g_test_add_func ("/demo-models/dates-seq2seq/decoding-reports-each-token", test_decoding_reports_each_token);
  return g_test_run ();
}
