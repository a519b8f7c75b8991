#define G_LOG_DOMAIN "attnviz-recording"
#include "config.h"

#include <gio/gio.h>
#include <math.h>

#include "attnviz-recording.h"

guint64
attnviz_recording_attention_bytes (int n_rec_layers, int n_rec_heads, int T)
{
  return (guint64) n_rec_layers * (guint64) n_rec_heads * (guint64) T * (guint64) T * sizeof (float);
}

AttnvizRecording *
attnviz_recording_new (int T,
                       int n_layer,
                       int n_head,
                       int vocab_size,
                       const int *rec_layers,
                       int n_rec_layers,
                       const int *rec_heads,
                       int n_rec_heads,
                       gboolean with_logits,
                       guint64 max_bytes,
                       GError **error)
{
  g_return_val_if_fail (T > 0, NULL);
  guint64 bytes = attnviz_recording_attention_bytes (n_rec_layers, n_rec_heads, T);
  if (max_bytes > 0 && bytes > max_bytes)
    {
      /* Only advise what can help: with one head of one layer left, only a
       * shorter text makes it smaller. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "recording %d layers x %d heads at %d tokens needs %.2f GiB, over the %.2f GiB limit; %s",
                   n_rec_layers, n_rec_heads, T, bytes / 1073741824.0, max_bytes / 1073741824.0,
                   (guint64) n_rec_layers * n_rec_heads > 1 ? "record fewer layers or heads"
                                                            : "use fewer tokens (a shorter text)");
      return NULL;
    }

  AttnvizRecording *rec = g_new0 (AttnvizRecording, 1);
  rec->T = T;
  rec->n_layer = n_layer;
  rec->n_head = n_head;
  rec->vocab_size = vocab_size;
  rec->ids = g_new0 (gint32, T);
  rec->n_rec_layers = n_rec_layers;
  rec->n_rec_heads = n_rec_heads;
  rec->rec_layers = g_memdup2 (rec_layers, sizeof (int) * MAX (n_rec_layers, 1));
  rec->rec_heads = g_memdup2 (rec_heads, sizeof (int) * MAX (n_rec_heads, 1));
  rec->loss = g_new (float, T);
  rec->owns_dense = TRUE;
  if (bytes > 0)
    rec->attn = g_try_malloc (bytes);
  if (with_logits)
    rec->logits = g_try_malloc ((gsize) T * vocab_size * sizeof (float));
  if ((bytes > 0 && rec->attn == NULL) || (with_logits && rec->logits == NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "out of memory: recording %d tokens needs %.2f GiB", T,
                   (bytes + (with_logits ? (guint64) T * vocab_size * 4 : 0)) / 1073741824.0);
      attnviz_recording_free (rec);
      return NULL;
    }
  return rec;
}

void
attnviz_recording_free (AttnvizRecording *rec)
{
  if (rec == NULL)
    return;
  g_free (rec->ids);
  g_free (rec->rec_layers);
  g_free (rec->rec_heads);
  if (rec->owns_dense)
    {
      g_free (rec->attn);
      g_free (rec->enc_attn);
      g_free (rec->cross_attn);
    }
  g_clear_pointer (&rec->attention, attnviz_attention_free);
  g_clear_pointer (&rec->enc_attention, attnviz_attention_free);
  g_clear_pointer (&rec->cross_attention, attnviz_attention_free);
  g_free (rec->logits);
  g_free (rec->last_logits);
  g_free (rec->topk_ids);
  g_free (rec->topk_probs);
  g_free (rec->next_prob);
  g_free (rec->lens_topk_ids);
  g_free (rec->lens_topk_probs);
  g_free (rec->loss);
  g_free (rec->src_ids);
  g_free (rec->variant);
  g_free (rec->residuals);
  g_free (rec->head_additive);
  g_free (rec);
}

float *
attnviz_recording_get_attention (const AttnvizRecording *rec, int layer, int head)
{
  int li = -1, hi = -1;
  for (int i = 0; i < rec->n_rec_layers; i++)
    if (rec->rec_layers[i] == layer)
      li = i;
  for (int i = 0; i < rec->n_rec_heads; i++)
    if (rec->rec_heads[i] == head)
      hi = i;
  if (li < 0 || hi < 0 || rec->attn == NULL)
    return NULL;
  return rec->attn + ((gsize) li * rec->n_rec_heads + hi) * (gsize) rec->T * rec->T;
}

double
attnviz_recording_mean_loss (const AttnvizRecording *rec)
{
  double sum = 0.0;
  int n = 0;
  for (int t = 0; t < rec->T; t++)
    if (!isnan (rec->loss[t]))
      {
        sum += rec->loss[t];
        n++;
      }
  return n ? sum / n : NAN;
}

gboolean
attnviz_recording_masks (const AttnvizRecording *rec, int i, int j)
{
  g_return_val_if_fail (rec != NULL, FALSE);
  return (rec->causal && j > i) || !attnviz_pattern_allows (&rec->pattern, i, j);
}

gboolean
attnviz_recording_head_additive (const AttnvizRecording *rec, int layer, int head)
{
  g_return_val_if_fail (rec != NULL, FALSE);
  if (rec->head_additive == NULL || layer < 0 || head < 0 || head >= rec->n_head
      || layer >= MAX (rec->n_layer, rec->n_enc_layer))
    return FALSE;
  return rec->head_additive[(gsize) layer * rec->n_head + head] != 0;
}
