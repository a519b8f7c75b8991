/* attnviz-predictions.c: what a causal run predicted at each position
 *
 * The candidates' texts and the generated range are kept on the run
 * object itself (qdata): they describe the run as its recording does, and
 * go when it goes.
 */
#define G_LOG_DOMAIN "attnviz-predictions"
#include "config.h"

#include <math.h>

#include "attnviz-painter.h"
#include "attnviz-predictions.h"
#include "attnviz-run-result.h"

typedef struct {
  char **labels;          /* (T * top_k + 1) candidates' texts, or NULL */
  int first_generated;    /* -1: none */
} Predictions;

static void
predictions_free (gpointer data)
{
  Predictions *p = data;
  g_strfreev (p->labels);
  g_free (p);
}

static Predictions *
get (AttnvizResult *run, gboolean create)
{
  static GQuark quark;
  if (quark == 0)
    quark = g_quark_from_static_string ("attnviz-predictions");
  Predictions *p = g_object_get_qdata (G_OBJECT (run), quark);
  if (p == NULL && create)
    {
      p = g_new0 (Predictions, 1);
      p->first_generated = -1;
      g_object_set_qdata_full (G_OBJECT (run), quark, p, predictions_free);
    }
  return p;
}

char **
attnviz_predictions_make_labels (const AttnvizTokenizer *tokenizer, const AttnvizRecording *rec)
{
  g_return_val_if_fail (rec != NULL, NULL);

  if (rec->top_k <= 0 || rec->topk_ids == NULL)
    return NULL;
  gsize n = (gsize) rec->T * rec->top_k;
  char **labels = g_new0 (char *, n + 1);
  /* Many positions share candidates: each id is labelled once. */
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < n; i++)
    {
      gint32 id = rec->topk_ids[i];
      const char *label = g_hash_table_lookup (seen, GINT_TO_POINTER (id));
      if (label == NULL)
        {
          char *made = attnviz_tokenizer_token_display_text (tokenizer, NULL, NULL, id);
          /* A control token (EOS) decodes to nothing: its piece names it. */
          const char *piece = tokenizer && *made == '\0' ? attnviz_tokenizer_get_piece (tokenizer, id) : NULL;
          if (piece != NULL)
            {
              g_free (made);
              made = g_strdup (piece);
            }
          g_ptr_array_add (owned, made);
          g_hash_table_insert (seen, GINT_TO_POINTER (id), made);
          label = made;
        }
      labels[i] = g_strdup (label);
    }
  return labels;
}

void
attnviz_result_set_predictions (AttnvizResult *run, char **labels)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (run));

  Predictions *p = get (run, TRUE);
  g_strfreev (p->labels);
  p->labels = labels;
}

gboolean
attnviz_result_has_predictions (AttnvizResult *run)
{
  g_return_val_if_fail (run == NULL || ATTNVIZ_IS_RESULT (run), FALSE);

  if (run == NULL || !ATTNVIZ_IS_RUN_RESULT (run) || attnviz_result_get_kind (run) != ATTNVIZ_ATTENTION_SELF)
    return FALSE;
  Predictions *p = get (run, FALSE);
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  return p != NULL && p->labels != NULL && rec != NULL && rec->causal && rec->top_k > 0 && rec->loss != NULL;
}

gboolean
attnviz_result_get_prediction (AttnvizResult *run, int position, AttnvizPrediction *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (!attnviz_result_has_predictions (run))
    return FALSE;
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  if (position < 0 || position >= rec->T)
    return FALSE;
  Predictions *p = get (run, FALSE);
  int k = rec->top_k;
  *out = (AttnvizPrediction) {
    .position = position,
    .k = k,
    .ids = rec->topk_ids + (gsize) position * k,
    .probs = rec->topk_probs + (gsize) position * k,
    .labels = (const char *const *) p->labels + (gsize) position * k,
    .next_id = -1,
    .next_prob = NAN,
    .loss = NAN,
    .next_rank = -1,
  };
  if (position + 1 < rec->T)
    {
      out->next_id = rec->ids[position + 1];
      out->next_label = attnviz_result_get_label (run, position + 1);
      out->loss = rec->loss[position];
      out->next_prob = exp (-out->loss);
      for (int i = 0; i < k; i++)
        if (out->ids[i] == out->next_id)
          {
            out->next_rank = i;
            break;
          }
    }
  return TRUE;
}

void
attnviz_result_set_first_generated (AttnvizResult *run, int first)
{
  g_return_if_fail (ATTNVIZ_IS_RESULT (run));
  g_return_if_fail (first >= -1 && first <= attnviz_result_get_n_tokens (run));

  get (run, TRUE)->first_generated = first;
}

int
attnviz_result_get_first_generated (AttnvizResult *run)
{
  g_return_val_if_fail (run == NULL || ATTNVIZ_IS_RESULT (run), -1);

  Predictions *p = run ? get (run, FALSE) : NULL;
  return p ? p->first_generated : -1;
}

gboolean
attnviz_result_is_generated (AttnvizResult *run, int index)
{
  int first = attnviz_result_get_first_generated (run);
  return first >= 0 && index >= first && index < attnviz_result_get_n_tokens (run);
}

static char *
quoted (const char *label)
{
  g_autofree char *shown = attnviz_painter_display_text (label ? label : "");
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  return g_strdup_printf ("“%s”", escaped);
}

char *
attnviz_prediction_to_markup (const AttnvizPrediction *p)
{
  g_return_val_if_fail (p != NULL, NULL);

  GString *s = g_string_new ("<b>Predicted next</b>");
  for (int i = 0; i < p->k; i++)
    {
      g_autofree char *label = quoted (p->labels[i]);
      gboolean actual = i == p->next_rank;
      g_string_append_printf (s, "\n%s%2d. %s  %.3g%%%s", actual ? "<b>" : "", i + 1, label,
                              100.0 * p->probs[i], actual ? "  ← follows</b>" : "");
    }
  if (p->next_id >= 0)
    {
      g_autofree char *label = quoted (p->next_label);
      g_string_append_printf (s, "\n<b>Follows</b> %s: p %.3g%%%s, loss %.2f nats", label, 100.0 * p->next_prob,
                              p->next_rank < 0 ? " (not among them)" : "", p->loss);
    }
  else
    g_string_append (s, "\nThe last token: nothing follows it");
  return g_string_free (s, FALSE);
}
