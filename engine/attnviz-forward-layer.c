/* attnviz-forward-layer.c: a layer of the forward pass, and what enters it
 *
 * The embeddings (token, learned or sinusoidal positions, token types, the
 * embedding norm), RoPE's frequencies, the MLP, and one layer put together:
 * pre-norm or post-norm around the attention (attnviz-forward-attention.c)
 * and the MLP, with cross-attention in the decoder of a seq2seq model.
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-forward-private.h"
#include "attnviz-kernels.h"

static void
mlp_block (RunState *s, const AttnvizLayerWeights *L)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T, row0 = _attnviz_run_row0 (s);
  gsize n = (gsize) T * c->d_ff;

  attnviz_linear_rows (s->ff, s->h, &L->up, T, row0);
  if (c->gated_mlp)
    {
      attnviz_linear_rows (s->ff2, s->h, &L->gate, T, row0);
      attnviz_activate (s->ff2, n, c->act);
      for (gsize i = 0; i < n; i++)
        s->ff[i] *= s->ff2[i];
    }
  else
    attnviz_activate (s->ff, n, c->act);
  attnviz_linear_rows (s->tmp, s->ff, &L->down, T, row0);
}

/* Vaswani et al.: x[2i] += sin (pos / 10000^(2i/d)), x[2i+1] += cos (...);
 * in HALVES (Hugging Face's MarianSinusoidalPositionalEmbedding):
 * x[i] += sin (...), x[ceil(d/2) + i] += cos (...), each rounded to float
 * from double as its table is. */
static void
add_sinusoidal (float *x, int pos, int d, gboolean halves)
{
  int half = (d + 1) / 2;
  for (int i = 0; i < half; i++)
    {
      double angle = pos / pow (10000.0, 2.0 * i / d);
      if (halves)
        {
          x[i] += (float) sin (angle);
          if (half + i < d)
            x[half + i] += (float) cos (angle);
        }
      else if (2 * i + 1 < d)
        {
          x[2 * i] += (float) sin (angle);
          x[2 * i + 1] += (float) cos (angle);
        }
    }
}

void
_attnviz_forward_embed (RunState *s, const gint32 *ids)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  const Effective *e = s->eff;
  int d = c->d_model;
  /* a BART encoder's own positions and norm */
  gboolean own = s->encoder && m->enc_pos_emb.data != NULL;
  const AttnvizMatrix *pos_emb = own ? &m->enc_pos_emb : &m->pos_emb;
  /* RoBERTa's own table: pad tokens before t do not count, a pad token
   * reads row pad_id (not under positions or a scheme a variant gives) */
  gboolean skip_pads = c->pad_positions && e->positions == NULL && e->pos == ATTNVIZ_POS_LEARNED;
  int n_pads = 0;
  for (int t = 0; t < s->T; t++)
    {
      float *x = s->x + (gsize) t * d;
      attnviz_matrix_get_row (&m->tok_emb, ids[t], x);
      if (c->emb_scale > 0.0f)
        for (int i = 0; i < d; i++)
          x[i] *= c->emb_scale;
      int pos = e->positions ? e->positions[t] : s->pos0 + t - n_pads;
      if (skip_pads && ids[t] == c->pad_id)
        {
          pos = c->pad_id - c->pos_offset;
          n_pads++;
        }
      if (e->pos == ATTNVIZ_POS_LEARNED && pos_emb->data)
        {
          attnviz_matrix_get_row (pos_emb, pos + c->pos_offset, s->tmp);
          attnviz_add_into (x, s->tmp, d);
        }
      else if (e->pos == ATTNVIZ_POS_SINUSOIDAL)
        add_sinusoidal (x, pos, d, e->sin_halves);
      if (m->type_emb.data)
        {
          attnviz_matrix_get_row (&m->type_emb, s->opt->token_types ? s->opt->token_types[t] : 0, s->tmp);
          attnviz_add_into (x, s->tmp, d);
        }
    }
  if (c->embedding_norm)
    attnviz_norm_rows (c, s->x, s->x, own ? m->enc_emb_norm_w : m->emb_norm_w, own ? m->enc_emb_norm_b : m->emb_norm_b,
                       s->T);
}

/* theta^(-2i / n_rot) for each rotated pair, divided by the model's
 * frequency factors when it has them (Llama 3's rope_freqs). */
void
attnviz_rope_frequencies (float *inv_freq, const AttnvizModel *m, const AttnvizVariant *v)
{
  const AttnvizConfig *c = &m->config;
  int n_rot = c->rope_dims > 0 ? c->rope_dims : c->head_dim;
  float theta = v && v->positions == ATTNVIZ_POSITIONS_ROPE_THETA ? v->rope_theta : c->rope_theta;
  for (int i = 0; i < n_rot / 2; i++)
    {
      inv_freq[i] = 1.0f / powf (theta, (float) (2 * i) / (float) n_rot);
      if (m->rope_freq_factors)
        inv_freq[i] /= m->rope_freq_factors[i];
      if (c->rope_scale > 1.0f)
        inv_freq[i] /= c->rope_scale;
      if (c->rope_llama3)
        {
          /* Hugging Face's _compute_llama3_parameters: long wavelengths
           * divided by the factor, short ones kept, a blend between. */
          float low_wavelen = c->rope_llama3_original / c->rope_llama3_low;
          float high_wavelen = c->rope_llama3_original / c->rope_llama3_high;
          float wavelen = 2.0f * (float) G_PI / inv_freq[i];
          if (wavelen > low_wavelen)
            inv_freq[i] /= c->rope_llama3_factor;
          else if (wavelen >= high_wavelen)
            {
              float smooth = (c->rope_llama3_original / wavelen - c->rope_llama3_low)
                             / (c->rope_llama3_high - c->rope_llama3_low);
              inv_freq[i] = (1.0f - smooth) * inv_freq[i] / c->rope_llama3_factor + smooth * inv_freq[i];
            }
        }
    }
}

/* One layer of a stack: pre-norm (GPT-2, LLaMA) or post-norm (BERT), with
 * cross-attention between self-attention and the MLP in decoder layers of
 * encoder-decoder models (ENC != NULL). */
gboolean
_attnviz_forward_layer (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att, AttnvizAttention *cross,
                        int layer, const float *enc, int S, const guint8 *src_mask, GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T;
  gsize n = (gsize) T * c->d_model;
  if (c->pre_norm)
    {
      attnviz_norm_rows (c, s->h, s->x, L->attn_norm_w, L->attn_norm_b, T);
      if (!_attnviz_forward_attention_block (s, L, att, layer, error))
        return FALSE;
      attnviz_add_into (s->x, s->tmp, n);
      if (enc)
        {
          attnviz_norm_rows (c, s->h, s->x, L->cross_norm_w, L->cross_norm_b, T);
          if (!_attnviz_forward_cross_attention_block (s, L, cross, layer, enc, S, src_mask, error))
            return FALSE;
          attnviz_add_into (s->x, s->tmp, n);
        }
      attnviz_norm_rows (c, s->h, s->x, L->mlp_norm_w, L->mlp_norm_b, T);
      mlp_block (s, L);
      attnviz_add_into (s->x, s->tmp, n);
    }
  else
    {
      memcpy (s->h, s->x, n * sizeof (float));
      if (!_attnviz_forward_attention_block (s, L, att, layer, error))
        return FALSE;
      attnviz_add_into (s->x, s->tmp, n);
      attnviz_norm_rows (c, s->x, s->x, L->attn_norm_w, L->attn_norm_b, T);
      if (enc)
        {
          memcpy (s->h, s->x, n * sizeof (float));
          if (!_attnviz_forward_cross_attention_block (s, L, cross, layer, enc, S, src_mask, error))
            return FALSE;
          attnviz_add_into (s->x, s->tmp, n);
          attnviz_norm_rows (c, s->x, s->x, L->cross_norm_w, L->cross_norm_b, T);
        }
      memcpy (s->h, s->x, n * sizeof (float));
      mlp_block (s, L);
      attnviz_add_into (s->x, s->tmp, n);
      attnviz_norm_rows (c, s->x, s->x, L->mlp_norm_w, L->mlp_norm_b, T);
    }
  return TRUE;
}
