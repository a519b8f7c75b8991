/* attnviz-run-attention.c: one more attention of an encoder-decoder run */
#define G_LOG_DOMAIN "attnviz-result"
#include "config.h"

#include "attnviz-result-private.h"
#include "attnviz-run-attention.h"

struct _AttnvizRunAttention
{
  AttnvizResult parent_instance;  /* its rec is the run's */

  AttnvizResult *run;             /* the AttnvizRunResult it shows (a reference) */
};

G_DEFINE_FINAL_TYPE (AttnvizRunAttention, attnviz_run_attention, ATTNVIZ_TYPE_RESULT)

static void
attnviz_run_attention_dispose (GObject *object)
{
  AttnvizRunAttention *self = ATTNVIZ_RUN_ATTENTION (object);

  g_clear_object (&self->run);

  G_OBJECT_CLASS (attnviz_run_attention_parent_class)->dispose (object);
}

static AttnvizResult *
attnviz_run_attention_get_attention (AttnvizResult *result, AttnvizAttentionKind kind)
{
  if (kind == result->kind)
    return g_object_ref (result);
  return attnviz_result_get_attention (ATTNVIZ_RUN_ATTENTION (result)->run, kind);
}

static int
attnviz_run_attention_get_step (AttnvizResult *result)
{
  return attnviz_result_get_step (ATTNVIZ_RUN_ATTENTION (result)->run);
}

static double
attnviz_run_attention_get_token_loss (AttnvizResult *result, int index)
{
  return attnviz_result_get_token_loss (ATTNVIZ_RUN_ATTENTION (result)->run, index);
}

static double
attnviz_run_attention_get_mean_loss (AttnvizResult *result)
{
  return attnviz_result_get_mean_loss (ATTNVIZ_RUN_ATTENTION (result)->run);
}

static void
attnviz_run_attention_class_init (AttnvizRunAttentionClass *klass)
{
  AttnvizResultClass *result_class = ATTNVIZ_RESULT_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = attnviz_run_attention_dispose;
  result_class->get_attention = attnviz_run_attention_get_attention;
  result_class->get_step = attnviz_run_attention_get_step;
  result_class->get_token_loss = attnviz_run_attention_get_token_loss;
  result_class->get_mean_loss = attnviz_run_attention_get_mean_loss;
}

static void
attnviz_run_attention_init (AttnvizRunAttention *self)
{
}

AttnvizResult *
_attnviz_run_attention_new (AttnvizRunResult *run, AttnvizAttentionKind kind, char **source_labels,
                            GArray *source_tokens)
{
  AttnvizResult *of = ATTNVIZ_RESULT (run);
  const AttnvizRecording *rec = of->rec;
  AttnvizRunAttention *self = g_object_new (ATTNVIZ_TYPE_RUN_ATTENTION, NULL);
  AttnvizResult *view = ATTNVIZ_RESULT (self);

  g_return_val_if_fail (kind == ATTNVIZ_ATTENTION_CROSS || kind == ATTNVIZ_ATTENTION_ENCODER, NULL);

  self->run = g_object_ref (of);
  view->rec = of->rec;
  view->kind = kind;
  view->seq2seq = TRUE;
  view->text = g_strdup (of->text);
  view->model_name = g_strdup (of->model_name);
  view->loss_predicts_next = of->loss_predicts_next;
  if (kind == ATTNVIZ_ATTENTION_CROSS)
    /* Target rows (the decoder's queries), source columns. */
    _attnviz_result_init_cross (view, of->rec, of->labels, of->tokens, source_labels, source_tokens);
  else
    {
      view->n_head = rec->n_head;
      view->rows = view->cols = rec->S;
      view->n_layer = rec->n_enc_layer;
      view->ids = view->col_ids = rec->src_ids;
      view->labels = g_strdupv (source_labels);
      view->tokens = source_tokens ? g_array_ref (source_tokens) : NULL;
      _attnviz_result_alloc_maps (view);
      for (gsize i = 0; i < (gsize) view->n_layer * view->n_head; i++)
        view->maps[i] = rec->enc_attn + i * (gsize) rec->S * rec->S;
    }
  return view;
}
