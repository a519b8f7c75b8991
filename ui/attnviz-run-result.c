/* attnviz-run-result.c: a model's run, as a result */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include "attnviz-result-private.h"
#include "attnviz-run-attention.h"
#include "attnviz-run-result.h"

struct _AttnvizRunResult
{
  AttnvizResult parent_instance;  /* owns its rec */

  /* An encoder-decoder run (the decoder's self-attention result) */
  char **source_labels;   /* (S + 1) */
  GArray *source_tokens;  /* (S) */
  char *target_text;
  char *output;
  int step;
  AttnvizHeadMeasures *measures; /* the run's per-head measures, or NULL */
};

G_DEFINE_FINAL_TYPE (AttnvizRunResult, attnviz_run_result, ATTNVIZ_TYPE_RESULT)

static void
attnviz_run_result_finalize (GObject *object)
{
  AttnvizRunResult *self = ATTNVIZ_RUN_RESULT (object);

  g_strfreev (self->source_labels);
  g_clear_pointer (&self->source_tokens, g_array_unref);
  g_free (self->target_text);
  g_free (self->output);
  g_clear_pointer (&self->measures, attnviz_head_measures_free);
  g_clear_pointer (&ATTNVIZ_RESULT (self)->rec, attnviz_recording_free);

  G_OBJECT_CLASS (attnviz_run_result_parent_class)->finalize (object);
}

static AttnvizResult *
attnviz_run_result_get_attention (AttnvizResult *result, AttnvizAttentionKind kind)
{
  AttnvizRunResult *self = ATTNVIZ_RUN_RESULT (result);

  if (kind == result->kind)
    return g_object_ref (result);
  /* a cross-attention made elsewhere has no other attention */
  if (self->source_labels == NULL || result->kind != ATTNVIZ_ATTENTION_SELF)
    return NULL;
  return _attnviz_run_attention_new (self, kind, self->source_labels, self->source_tokens);
}

static int
attnviz_run_result_get_step (AttnvizResult *result)
{
  return ATTNVIZ_RUN_RESULT (result)->step;
}

static void
attnviz_run_result_class_init (AttnvizRunResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = attnviz_run_result_finalize;
  ATTNVIZ_RESULT_CLASS (klass)->get_attention = attnviz_run_result_get_attention;
  ATTNVIZ_RESULT_CLASS (klass)->get_step = attnviz_run_result_get_step;
}

static void
attnviz_run_result_init (AttnvizRunResult *self)
{
  self->step = -1;
}

AttnvizRunResult *
attnviz_run_result_new (AttnvizRecording *rec, char **labels, GArray *tokens, const char *text, const char *model_name)
{
  g_return_val_if_fail (rec != NULL, NULL);
  g_return_val_if_fail (labels != NULL && g_strv_length (labels) == (guint) rec->T, NULL);
  g_return_val_if_fail (tokens == NULL || tokens->len == (guint) rec->T, NULL);

  AttnvizRunResult *self = g_object_new (ATTNVIZ_TYPE_RUN_RESULT, NULL);
  _attnviz_result_init_self (ATTNVIZ_RESULT (self), rec, labels, tokens, text, model_name);
  return self;
}

AttnvizRunResult *
attnviz_run_result_new_seq2seq (AttnvizRecording *rec,
                                char **labels,
                                GArray *tokens,
                                const char *target_text,
                                char **source_labels,
                                GArray *source_tokens,
                                const char *text,
                                const char *model_name)
{
  g_return_val_if_fail (rec != NULL && rec->S > 0 && rec->enc_attn != NULL && rec->cross_attn != NULL, NULL);
  g_return_val_if_fail (source_labels != NULL && g_strv_length (source_labels) == (guint) rec->S, NULL);
  g_return_val_if_fail (source_tokens == NULL || source_tokens->len == (guint) rec->S, NULL);

  AttnvizRunResult *self = attnviz_run_result_new (rec, labels, tokens, text, model_name);
  if (self == NULL)
    return NULL;
  ATTNVIZ_RESULT (self)->seq2seq = TRUE;
  self->source_labels = source_labels;
  self->source_tokens = source_tokens;
  self->target_text = g_strdup (target_text);
  return self;
}

AttnvizRunResult *
attnviz_run_result_new_cross (AttnvizRecording *rec, char **labels, GArray *tokens, char **source_labels,
                              GArray *source_tokens, const char *model_name)
{
  g_return_val_if_fail (rec != NULL && rec->S > 0 && rec->attention == NULL && rec->cross_attn != NULL, NULL);
  g_return_val_if_fail (labels != NULL && g_strv_length (labels) == (guint) rec->T, NULL);
  g_return_val_if_fail (source_labels != NULL && g_strv_length (source_labels) == (guint) rec->S, NULL);
  g_return_val_if_fail (tokens == NULL || tokens->len == (guint) rec->T, NULL);
  g_return_val_if_fail (source_tokens == NULL || source_tokens->len == (guint) rec->S, NULL);

  AttnvizRunResult *self = g_object_new (ATTNVIZ_TYPE_RUN_RESULT, NULL);
  AttnvizResult *result = ATTNVIZ_RESULT (self);
  _attnviz_result_init_cross (result, rec, labels, tokens, source_labels, source_tokens);
  result->text = g_strdup ("");
  result->model_name = g_strdup (model_name);
  self->source_labels = source_labels;
  self->source_tokens = source_tokens;
  g_strfreev (labels);
  g_clear_pointer (&tokens, g_array_unref);
  return self;
}

const char *
attnviz_run_result_get_target_text (AttnvizRunResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RUN_RESULT (self), NULL);
  return self->target_text;
}

const char *
attnviz_run_result_get_output (AttnvizRunResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RUN_RESULT (self), NULL);
  return self->output;
}

void
attnviz_run_result_set_output (AttnvizRunResult *self, const char *output)
{
  g_return_if_fail (ATTNVIZ_IS_RUN_RESULT (self));
  g_free (self->output);
  self->output = g_strdup (output);
}

void
attnviz_run_result_set_step (AttnvizRunResult *self, int step)
{
  g_return_if_fail (ATTNVIZ_IS_RUN_RESULT (self));
  self->step = MAX (step, -1);
}

const AttnvizHeadMeasures *
attnviz_run_result_get_measures (AttnvizRunResult *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_RUN_RESULT (self), NULL);
  return self->measures;
}

void
attnviz_run_result_set_measures (AttnvizRunResult *self, AttnvizHeadMeasures *measures)
{
  g_return_if_fail (ATTNVIZ_IS_RUN_RESULT (self));
  g_clear_pointer (&self->measures, attnviz_head_measures_free);
  self->measures = measures;
}

const AttnvizHeadMeasures *
attnviz_run_result_measures_of (AttnvizResult *result)
{
  return ATTNVIZ_IS_RUN_RESULT (result) ? ATTNVIZ_RUN_RESULT (result)->measures : NULL;
}

void
attnviz_run_result_set_loss_predicts_next (AttnvizRunResult *self, gboolean predicts_next)
{
  g_return_if_fail (ATTNVIZ_IS_RUN_RESULT (self));
  ATTNVIZ_RESULT (self)->loss_predicts_next = !!predicts_next;
}
