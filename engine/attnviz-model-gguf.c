/* attnviz-model-gguf.c: a GGUF file (llama.cpp's format) onto the generic
 * transformer
 *
 * Metadata read, ARCH = general.architecture (llama, qwen2, gpt2, bert;
 * t5, the encoder-decoder, in attnviz-model-gguf-t5.c):
 *   ARCH.context_length           longest sequence (n_ctx)
 *   ARCH.embedding_length         d_model
 *   ARCH.block_count              layers
 *   ARCH.feed_forward_length      MLP width
 *   ARCH.attention.head_count     query heads (one number: per-layer arrays are refused)
 *   ARCH.attention.head_count_kv  key/value heads (default: head_count)
 *   ARCH.attention.key_length     head dimension (default: embedding_length / head_count);
 *   ARCH.attention.value_length   when present, equal to it
 *   ARCH.attention.layer_norm_rms_epsilon (llama, qwen2) or
 *   ARCH.attention.layer_norm_epsilon (gpt2, bert)
 *   ARCH.rope.freq_base           RoPE theta (default 10000)
 *   ARCH.rope.dimension_count     dimensions RoPE turns, even, 2 to the head dimension (default:
 *                                 the head dimension, which must then be at least 2)
 *   ARCH.rope.scaling.type        "none" or "linear" (with ARCH.rope.scaling.factor: positions
 *                                 divided by it); Llama 3's scaling is the rope_freqs tensor;
 *                                 anything else (yarn, longrope) is refused, naming the key
 *   ARCH.vocab_size               optional; else token_embd's rows
 *   bert.attention.causal         optional, default false
 *   general.file_type             the quantization mix ("Q4_K_M"), for display only
 *   tokenizer.ggml.{bos,eos,padding}_token_id  (u32; 0xffffffff: none)
 *   tokenizer.ggml.*              the tokenizer (attnviz-tokenizer-gguf.c)
 *
 * Tensors, with ggml's shapes (ne[0] the input width, ne[1] the rows):
 *   token_embd.weight (d, V)
 *   position_embd.weight (d, n_ctx)          gpt2, bert
 *   token_types.weight (d, n_types)          bert
 *   token_embd_norm.{weight,bias} (d)        bert
 *   rope_freqs.weight (rope dims / 2)        optional: Llama 3's frequency factors, each above 0
 *   blk.N.attn_norm.{weight,bias} (d)        pre-norm: llama, qwen2 (no bias), gpt2
 *   blk.N.attn_q/k/v.{weight,bias}           bias: qwen2, and llama files that have one
 *   blk.N.attn_qkv.{weight,bias} (d, 3d)     gpt2: Q, K and V stacked as rows
 *   blk.N.attn_output.{weight,bias}
 *   blk.N.attn_output_norm.{weight,bias}     bert: post-norm after attention
 *   blk.N.ffn_norm.{weight,bias}             pre-norm
 *   blk.N.ffn_gate, ffn_up, ffn_down .{weight,bias}  (gate: llama, qwen2; bias: gpt2, bert)
 *   blk.N.layer_output_norm.{weight,bias}    bert: post-norm after the MLP
 *   output_norm.{weight,bias} (d)            llama, qwen2, gpt2
 *   output.weight (d, V)                     optional: tied to token_embd when absent
 *
 * Matrices stay in the mapping in their stored type (AttnvizMatrix), each
 * checked to be finite on its stored bits (attnviz_weight_first_non_finite);
 * vectors are float32 (converted when stored otherwise, then checked).  RoPE: llama.cpp's
 * converter permuted LLaMA's Q and K rows so that the `llama` architecture
 * turns adjacent pairs of dimensions, where the same weights in Hugging Face
 * order turn halves; `qwen2` keeps halves.  Either way the attention is the
 * Hugging Face model's.
 */
#define G_LOG_DOMAIN "attnviz-model-gguf"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-model-gguf-private.h"

void
_attnviz_gguf_loader_fail (Loader *l, const char *fmt, ...)
{
  if (l->failed)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (l->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", l->file, msg);
  l->failed = TRUE;
}

/* ---- metadata ---- */

/* ARCH.SUFFIX as an integer in [LO, HI]; FALLBACK when absent (G_MININT:
 * required). */
int
_attnviz_gguf_loader_int (Loader *l, const char *suffix, int fallback, int lo, int hi)
{
  if (l->failed)
    return fallback == G_MININT ? lo : fallback;
  g_autofree char *key = g_strdup_printf ("%s.%s", l->arch, suffix);
  gint64 v = fallback == G_MININT ? lo : fallback;
  if (!attnviz_gguf_read_int (l->g, key, fallback == G_MININT, lo, hi, &v, l->error))
    {
      l->failed = TRUE;
      return lo;
    }
  return (int) v;
}

double
_attnviz_gguf_loader_float (Loader *l, const char *suffix, double fallback)
{
  if (l->failed)
    return fallback;
  g_autofree char *key = g_strdup_printf ("%s.%s", l->arch, suffix);
  double v = fallback;
  if (!attnviz_gguf_read_float (l->g, key, FALSE, &v, l->error))
    l->failed = TRUE;
  return v;
}

/* tokenizer.ggml.NAME_token_id, -1 when absent or 0xffffffff. */
int
_attnviz_gguf_loader_token_id (Loader *l, const char *name, int vocab_size)
{
  if (l->failed)
    return -1;
  g_autofree char *key = g_strdup_printf ("tokenizer.ggml.%s_token_id", name);
  gint64 v = -1;
  if (!attnviz_gguf_read_int (l->g, key, FALSE, G_MININT64, G_MAXINT64, &v, l->error))
    {
      l->failed = TRUE;
      return -1;
    }
  if (v == G_MAXUINT32 || v == -1)
    return -1;
  if (v < 0 || v >= vocab_size)
    {
      _attnviz_gguf_loader_fail (l, "%s = %" G_GINT64_FORMAT " is outside the vocabulary (0 to %d)", key, v,
                   vocab_size - 1);
      return -1;
    }
  return (int) v;
}

/* The quantization mix llama.cpp records in general.file_type (llama.h's
 * llama_ftype), by value. */
static const char *const file_types[] = {
  [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0", [8] = "Q5_0",
  [9] = "Q5_1", [10] = "Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L",
  [14] = "Q4_K_S", [15] = "Q4_K_M", [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K",
  [19] = "IQ2_XXS", [20] = "IQ2_XS", [21] = "Q2_K_S", [22] = "IQ3_XS", [23] = "IQ3_XXS",
  [24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M", [28] = "IQ2_S",
  [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "BF16", [36] = "TQ1_0",
  [37] = "TQ2_0", [38] = "MXFP4_MOE",
};

char *
_attnviz_gguf_loader_file_type (Loader *l)
{
  gint64 ft = -1;
  if (attnviz_gguf_read_int (l->g, "general.file_type", FALSE, 0, G_MAXINT32, &ft, NULL)
      && ft >= 0 && ft < (gint64) G_N_ELEMENTS (file_types) && file_types[ft] != NULL)
    return g_strdup (file_types[ft]);

  /* Not recorded: name the type most of the bytes are in. */
  guint64 bytes[64] = { 0 };
  guint best = 0;
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (l->g); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (l->g, i);
      if (t->type < G_N_ELEMENTS (bytes))
        {
          bytes[t->type] += t->n_bytes;
          if (bytes[t->type] > bytes[best])
            best = t->type;
        }
    }
  const char *name = attnviz_weight_type_name (best);
  return g_strdup (name ? name : "mixed");
}

/* ---- tensors ---- */

/* NAME checked to be (ne0) or, with NE1 > 0, (ne0, ne1) in ggml order, of a
 * type attnviz reads.  NULL when absent and OPTIONAL. */
const AttnvizGgufTensor *
_attnviz_gguf_loader_tensor (Loader *l, gboolean optional, gint64 ne0, gint64 ne1, const char *name)
{
  if (l->failed)
    return NULL;
  const AttnvizGgufTensor *t = attnviz_gguf_lookup (l->g, name);
  if (t == NULL)
    {
      if (!optional)
        _attnviz_gguf_loader_fail (l, "missing tensor \"%s\" (a %s model needs it)", name, l->arch);
      return NULL;
    }
  gint64 want[ATTNVIZ_GGUF_MAX_DIMS] = { ne0, ne1 > 0 ? ne1 : 1, 1, 1 };
  gboolean shape_ok = TRUE;
  for (int i = 0; i < ATTNVIZ_GGUF_MAX_DIMS; i++)
    if ((i < t->n_dims ? t->ne[i] : 1) != want[i])
      shape_ok = FALSE;
  if (!shape_ok)
    {
      GString *got = g_string_new ("[");
      for (int i = 0; i < t->n_dims; i++)
        g_string_append_printf (got, "%s%" G_GINT64_FORMAT, i ? ", " : "", t->ne[i]);
      g_string_append_c (got, ']');
      g_autofree char *got_str = g_string_free (got, FALSE);
      if (ne1 > 0)
        _attnviz_gguf_loader_fail (l, "tensor \"%s\" has shape %s, expected [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                     "] from the metadata", name, got_str, ne0, ne1);
      else
        _attnviz_gguf_loader_fail (l, "tensor \"%s\" has shape %s, expected [%" G_GINT64_FORMAT "] from the metadata",
                     name, got_str, ne0);
      return NULL;
    }
  if (!attnviz_weight_type_supported (t->type))
    {
      const char *type = attnviz_weight_type_name (t->type);
      _attnviz_gguf_loader_fail (l, "tensor \"%s\" is %s, a type attnviz cannot read (it reads F32, F16, BF16, "
                   "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K)",
                   name, type ? type : "of an unknown type");
      return NULL;
    }
  return t;
}

/* A vector (or small table) as float32: in place when F32, converted
 * otherwise; non-finite values are refused. */
const float *
_attnviz_gguf_loader_vector (Loader *l, gboolean optional, gint64 n, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  const AttnvizGgufTensor *t = _attnviz_gguf_loader_tensor (l, optional, n, 0, name);
  if (t == NULL)
    return NULL;
  const float *v;
  if (t->type == ATTNVIZ_WEIGHT_F32 && (guintptr) t->data % sizeof (float) == 0)
    v = (const float *) t->data;
  else
    {
      float *copy = g_new (float, n);
      attnviz_dequantize_row (t->type, t->data, copy, n);
      g_ptr_array_add (l->m->owned, copy);
      v = copy;
    }
  for (gint64 i = 0; i < n; i++)
    if (!isfinite (v[i]))
      {
        _attnviz_gguf_loader_fail (l, "tensor \"%s\" holds a non-finite value (%g at element %" G_GINT64_FORMAT ")",
                     name, v[i], i);
        return NULL;
      }
  return v;
}

/* A matrix of ROWS rows of COLS values, in place in its stored type. */
AttnvizMatrix
_attnviz_gguf_loader_matrix (Loader *l, gboolean optional, gint64 cols, gint64 rows, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  AttnvizMatrix m = { 0 };
  const AttnvizGgufTensor *t = _attnviz_gguf_loader_tensor (l, optional, cols, rows, name);
  if (t == NULL)
    return m;
  /* Kept in its stored type, so checked here on its bits: the forward
   * pass's check of the residual stream misses a NaN that softmax turns
   * into a row of zeros. */
  double bad = 0;
  gint64 at = attnviz_weight_first_non_finite (t->type, t->data, rows * cols, &bad);
  if (at >= 0)
    {
      _attnviz_gguf_loader_fail (l, "tensor \"%s\" holds a non-finite value (%g at element %" G_GINT64_FORMAT ")",
                   name, bad, at);
      return m;
    }
  m.data = t->data;
  m.type = t->type;
  m.rows = (int) rows;
  m.cols = (int) cols;
  m.row_bytes = t->row_bytes;
  if (t->type == ATTNVIZ_WEIGHT_F32 && (guintptr) t->data % sizeof (float) != 0)
    {
      /* Only a file with an alignment below 4 can do this: copy. */
      float *copy = g_new (float, rows * cols);
      memcpy (copy, t->data, sizeof (float) * rows * cols);
      g_ptr_array_add (l->m->owned, copy);
      m = attnviz_matrix_f32 (copy, (int) rows, (int) cols, (int) cols);
    }
  return m;
}

AttnvizLinear
_attnviz_gguf_loader_linear (Loader *l, int n_in, int n_out, gboolean bias, const char *name)
{
  AttnvizLinear lin = { .n_in = n_in, .n_out = n_out };
  lin.w = _attnviz_gguf_loader_matrix (l, FALSE, n_in, n_out, "%s.weight", name);
  lin.b = bias ? _attnviz_gguf_loader_vector (l, FALSE, n_out, "%s.bias", name) : NULL;
  return lin;
}

/* ---- the description ---- */

/* ARCH.rope.scaling.*: linear scaling divides the positions by its factor;
 * other kinds change positions in ways attnviz does not follow, so they
 * are refused rather than shown wrong. */
static void
read_rope_scaling (Loader *l)
{
  g_autofree char *type_key = g_strdup_printf ("%s.rope.scaling.type", l->arch);
  if (l->failed)
    return;
  const char *type = attnviz_gguf_read_string (l->g, type_key, FALSE, l->error);
  if (type == NULL && attnviz_gguf_find_key (l->g, type_key) >= 0)
    {
      l->failed = TRUE;
      return;
    }
  if (type == NULL || strcmp (type, "none") == 0)
    return;
  if (strcmp (type, "linear") != 0)
    {
      g_autofree char *quoted = attnviz_quote_name (type);
      _attnviz_gguf_loader_fail (l, "%s = \"%s\" is not supported (attnviz follows none and linear RoPE scaling)", type_key,
                   quoted);
      return;
    }
  double factor = _attnviz_gguf_loader_float (l, "rope.scaling.factor", 1.0);
  if (!l->failed && !(factor >= 1.0 && factor <= 1024.0))
    _attnviz_gguf_loader_fail (l, "%s.rope.scaling.factor = %g is outside [1, 1024]", l->arch, factor);
  l->m->config.rope_scale = (float) factor;
}

static gboolean
read_config (Loader *l, Arch arch)
{
  AttnvizConfig *c = &l->m->config;
  c->n_ctx = _attnviz_gguf_loader_int (l, "context_length", G_MININT, 1, ATTNVIZ_CONFIG_MAX_CTX);
  c->d_model = _attnviz_gguf_loader_int (l, "embedding_length", G_MININT, 1, ATTNVIZ_CONFIG_MAX_DIM);
  c->n_layer = _attnviz_gguf_loader_int (l, "block_count", G_MININT, 1, ATTNVIZ_CONFIG_MAX_LAYER);
  c->d_ff = _attnviz_gguf_loader_int (l, "feed_forward_length", G_MININT, 1, 8 * ATTNVIZ_CONFIG_MAX_DIM);
  c->n_head = _attnviz_gguf_loader_int (l, "attention.head_count", G_MININT, 1, ATTNVIZ_CONFIG_MAX_HEAD);
  c->n_kv_head = _attnviz_gguf_loader_int (l, "attention.head_count_kv", c->n_head, 1, ATTNVIZ_CONFIG_MAX_HEAD);
  if (l->failed)
    return FALSE;
  if (c->n_head % c->n_kv_head != 0)
    _attnviz_gguf_loader_fail (l, "%s.attention.head_count = %d cannot share %s.attention.head_count_kv = %d "
                 "key/value heads", l->arch, c->n_head, l->arch, c->n_kv_head);
  int default_hd = c->d_model % c->n_head == 0 ? c->d_model / c->n_head : 0;
  c->head_dim = _attnviz_gguf_loader_int (l, "attention.key_length", default_hd, 1, ATTNVIZ_CONFIG_MAX_DIM);
  int value_dim = _attnviz_gguf_loader_int (l, "attention.value_length", c->head_dim, 1, ATTNVIZ_CONFIG_MAX_DIM);
  if (!l->failed && c->head_dim == 0)
    _attnviz_gguf_loader_fail (l, "%s.embedding_length = %d is not a multiple of the %d heads", l->arch,
                 c->d_model, c->n_head);
  if (!l->failed && value_dim != c->head_dim)
    _attnviz_gguf_loader_fail (l, "%s.attention.value_length = %d differs from key_length %d; attnviz needs them equal",
                 l->arch, value_dim, c->head_dim);

  /* The vocabulary: the embedding's rows (the tokenizer may list fewer). */
  const AttnvizGgufTensor *emb = attnviz_gguf_lookup (l->g, "token_embd.weight");
  gint64 vocab = emb && emb->n_dims >= 2 ? emb->ne[1] : 0;
  c->vocab_size = _attnviz_gguf_loader_int (l, "vocab_size", (int) CLAMP (vocab, 0, ATTNVIZ_CONFIG_MAX_VOCAB), 1,
                            ATTNVIZ_CONFIG_MAX_VOCAB);
  if (!l->failed && c->vocab_size < 1)
    _attnviz_gguf_loader_fail (l, "missing tensor \"token_embd.weight\" (a %s model needs it)", l->arch);

  gboolean llama_like = arch == ARCH_LLAMA || arch == ARCH_QWEN2;
  c->architecture = g_strdup (l->arch);
  c->model_type = g_strdup (l->arch);
  c->family = llama_like ? ATTNVIZ_FAMILY_LLAMA : arch == ARCH_GPT2 ? ATTNVIZ_FAMILY_GPT2
                                                                    : ATTNVIZ_FAMILY_BERT;
  c->norm = llama_like ? ATTNVIZ_NORM_RMSNORM : ATTNVIZ_NORM_LAYERNORM;
  c->norm_eps = llama_like ? _attnviz_gguf_loader_float (l, "attention.layer_norm_rms_epsilon", 1e-5)
                           : _attnviz_gguf_loader_float (l, "attention.layer_norm_epsilon", 1e-5);
  c->pre_norm = arch != ARCH_BERT;
  c->final_norm = arch != ARCH_BERT;
  c->embedding_norm = arch == ARCH_BERT;
  c->act = llama_like ? ATTNVIZ_ACT_SILU : arch == ARCH_GPT2 ? ATTNVIZ_ACT_GELU_TANH
                                                             : ATTNVIZ_ACT_GELU_ERF;
  c->gated_mlp = llama_like;
  c->causal = TRUE;
  if (arch == ARCH_BERT)
    {
      gboolean causal = FALSE;
      if (!attnviz_gguf_read_bool (l->g, "bert.attention.causal", FALSE, &causal, l->error))
        l->failed = TRUE;
      c->causal = causal;
    }
  c->pos = llama_like ? ATTNVIZ_POS_ROPE : ATTNVIZ_POS_LEARNED;
  if (llama_like)
    {
      c->rope_theta = _attnviz_gguf_loader_float (l, "rope.freq_base", 10000.0);
      /* RoPE turns pairs inside one head: at most head_dim dimensions (a
       * head of 1 once turned half of the next head's first value). */
      if (!l->failed && c->head_dim < 2)
        _attnviz_gguf_loader_fail (l, "the head dimension %d is below 2, too small for RoPE, which turns pairs",
                     c->head_dim);
      c->rope_dims = _attnviz_gguf_loader_int (l, "rope.dimension_count", c->head_dim, 2, MAX (c->head_dim, 2));
      c->rope_style = arch == ARCH_LLAMA ? ATTNVIZ_ROPE_PAIRS : ATTNVIZ_ROPE_HALVES;
      if (!l->failed && c->rope_dims % 2 != 0)
        _attnviz_gguf_loader_fail (l, "%s.rope.dimension_count = %d is odd; RoPE turns pairs", l->arch, c->rope_dims);
      if (!l->failed && !(c->rope_theta > 1.0f && isfinite (c->rope_theta)))
        _attnviz_gguf_loader_fail (l, "%s.rope.freq_base = %g must be above 1", l->arch, c->rope_theta);
      read_rope_scaling (l);
    }
  if (!l->failed && !(c->norm_eps >= 0.0f && c->norm_eps < 1.0f))
    _attnviz_gguf_loader_fail (l, "%s.%s = %g is outside [0, 1)", l->arch,
                               llama_like ? "attention.layer_norm_rms_epsilon" : "attention.layer_norm_epsilon",
                               c->norm_eps);
  c->qkv_bias = arch != ARCH_LLAMA || attnviz_gguf_lookup (l->g, "blk.0.attn_q.bias") != NULL;
  c->out_bias = arch == ARCH_GPT2 || arch == ARCH_BERT
                || (arch == ARCH_LLAMA && attnviz_gguf_lookup (l->g, "blk.0.attn_output.bias") != NULL);
  c->mlp_bias = arch == ARCH_GPT2 || arch == ARCH_BERT;
  c->tied_embeddings = attnviz_gguf_lookup (l->g, "output.weight") == NULL;
  c->has_lm_head = arch != ARCH_BERT;
  if (arch == ARCH_BERT)
    {
      const AttnvizGgufTensor *types = attnviz_gguf_lookup (l->g, "token_types.weight");
      c->n_token_types = types && types->n_dims >= 2 ? (int) CLAMP (types->ne[1], 0, 1024) : 0;
    }
  c->bos_id = _attnviz_gguf_loader_token_id (l, "bos", c->vocab_size);
  c->eos_id = _attnviz_gguf_loader_token_id (l, "eos", c->vocab_size);
  c->pad_id = _attnviz_gguf_loader_token_id (l, "padding", c->vocab_size);
  if (!l->failed && attnviz_config_n_params (c) > ((gint64) 1 << 36))
    _attnviz_gguf_loader_fail (l, "the sizes describe %" G_GINT64_FORMAT " parameters, more than attnviz will load",
                 attnviz_config_n_params (c));
  return !l->failed;
}

static void
load_layer (Loader *l, Arch arch, int i)
{
  AttnvizModel *m = l->m;
  const AttnvizConfig *c = &m->config;
  AttnvizLayerWeights *L = &m->layers[i];
  int d = c->d_model, ff = c->d_ff;
  int dq = c->n_head * c->head_dim, dkv = c->n_kv_head * c->head_dim;
  gboolean ln = c->norm == ATTNVIZ_NORM_LAYERNORM;
  g_autofree char *p = g_strdup_printf ("blk.%d.", i);
  g_autofree char *q = g_strconcat (p, "attn_q", NULL);
  g_autofree char *k = g_strconcat (p, "attn_k", NULL);
  g_autofree char *v = g_strconcat (p, "attn_v", NULL);
  g_autofree char *o = g_strconcat (p, "attn_output", NULL);
  g_autofree char *gate = g_strconcat (p, "ffn_gate", NULL);
  g_autofree char *up = g_strconcat (p, "ffn_up", NULL);
  g_autofree char *down = g_strconcat (p, "ffn_down", NULL);

  if (arch == ARCH_GPT2)
    {
      /* One (d, 3d) matrix whose rows are Q's, then K's, then V's. */
      AttnvizMatrix qkv = _attnviz_gguf_loader_matrix (l, FALSE, d, 3 * d, "%sattn_qkv.weight", p);
      const float *qkv_b = _attnviz_gguf_loader_vector (l, FALSE, 3 * d, "%sattn_qkv.bias", p);
      if (l->failed)
        return;
      for (int j = 0; j < 3; j++)
        {
          AttnvizLinear lin = { .w = qkv, .b = qkv_b + j * d, .n_in = d, .n_out = d };
          lin.w.data = (const guint8 *) qkv.data + (gsize) j * d * qkv.row_bytes;
          lin.w.rows = d;
          *(j == 0 ? &L->q : j == 1 ? &L->k : &L->v) = lin;
        }
    }
  else
    {
      L->q = _attnviz_gguf_loader_linear (l, d, dq, c->qkv_bias, q);
      L->k = _attnviz_gguf_loader_linear (l, d, dkv, c->qkv_bias, k);
      L->v = _attnviz_gguf_loader_linear (l, d, dkv, c->qkv_bias, v);
    }
  L->o = _attnviz_gguf_loader_linear (l, dq, d, c->out_bias, o);
  if (arch == ARCH_BERT)
    {
      L->attn_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%sattn_output_norm.weight", p);
      L->attn_norm_b = _attnviz_gguf_loader_vector (l, FALSE, d, "%sattn_output_norm.bias", p);
      L->mlp_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%slayer_output_norm.weight", p);
      L->mlp_norm_b = _attnviz_gguf_loader_vector (l, FALSE, d, "%slayer_output_norm.bias", p);
    }
  else
    {
      L->attn_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%sattn_norm.weight", p);
      L->attn_norm_b = ln ? _attnviz_gguf_loader_vector (l, FALSE, d, "%sattn_norm.bias", p) : NULL;
      L->mlp_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "%sffn_norm.weight", p);
      L->mlp_norm_b = ln ? _attnviz_gguf_loader_vector (l, FALSE, d, "%sffn_norm.bias", p) : NULL;
    }
  if (c->gated_mlp)
    L->gate = _attnviz_gguf_loader_linear (l, d, ff, c->mlp_bias, gate);
  L->up = _attnviz_gguf_loader_linear (l, d, ff, c->mlp_bias, up);
  L->down = _attnviz_gguf_loader_linear (l, ff, d, c->mlp_bias, down);
}

static void
load_weights (Loader *l, Arch arch)
{
  AttnvizModel *m = l->m;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  m->tok_emb = _attnviz_gguf_loader_matrix (l, FALSE, d, c->vocab_size, "token_embd.weight");
  if (c->pos == ATTNVIZ_POS_LEARNED)
    m->pos_emb = _attnviz_gguf_loader_matrix (l, FALSE, d, c->n_ctx, "position_embd.weight");
  if (arch == ARCH_BERT)
    {
      if (c->n_token_types > 0)
        m->type_emb = _attnviz_gguf_loader_matrix (l, FALSE, d, c->n_token_types, "token_types.weight");
      m->emb_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "token_embd_norm.weight");
      m->emb_norm_b = _attnviz_gguf_loader_vector (l, FALSE, d, "token_embd_norm.bias");
    }
  if (c->pos == ATTNVIZ_POS_ROPE)
    m->rope_freq_factors = _attnviz_gguf_loader_vector (l, TRUE, c->rope_dims / 2, "rope_freqs.weight");
  /* Each divides a frequency: 0 makes it infinite, and every angle NaN. */
  for (int i = 0; m->rope_freq_factors != NULL && !l->failed && i < c->rope_dims / 2; i++)
    if (!(m->rope_freq_factors[i] > 0))
      _attnviz_gguf_loader_fail (l, "tensor \"rope_freqs.weight\" holds %g at element %d; frequency factors "
                   "must be above 0", m->rope_freq_factors[i], i);
  /* A layer's tensors past the block count: llama.cpp refuses the file,
   * and loading only the first layers would show another model. */
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (l->g) && !l->failed; i++)
    {
      const char *name = attnviz_gguf_get_tensor (l->g, i)->name;
      char *end = NULL;
      if (!g_str_has_prefix (name, "blk."))
        continue;
      guint64 n = g_ascii_strtoull (name + 4, &end, 10);
      if (end != name + 4 && *end == '.' && n >= (guint64) c->n_layer)
        {
          g_autofree char *quoted = attnviz_quote_name (name);
          _attnviz_gguf_loader_fail (l, "tensor \"%s\" belongs to layer %" G_GUINT64_FORMAT ", but %s.block_count = %d "
                       "(the file holds more layers than it says)", quoted, n, l->arch, c->n_layer);
        }
    }
  m->layers = g_new0 (AttnvizLayerWeights, c->n_layer);
  for (int i = 0; i < c->n_layer && !l->failed; i++)
    load_layer (l, arch, i);
  if (c->final_norm)
    {
      m->final_norm_w = _attnviz_gguf_loader_vector (l, FALSE, d, "output_norm.weight");
      m->final_norm_b = c->norm == ATTNVIZ_NORM_LAYERNORM ? _attnviz_gguf_loader_vector (l, FALSE, d, "output_norm.bias")
                                                          : NULL;
    }
  if (c->has_lm_head)
    {
      AttnvizMatrix head = _attnviz_gguf_loader_matrix (l, TRUE, d, c->vocab_size, "output.weight");
      m->lm_head = (AttnvizLinear) { .w = head.data ? head : m->tok_emb, .n_in = d, .n_out = c->vocab_size };
    }
}

/* M from M->gguf_file, already open and checked; M->path names it. */
static gboolean
build_from_gguf (AttnvizModel *m, GError **error)
{
  m->gguf = TRUE;
  m->weights_path = g_strdup (m->path);
  m->dir = g_path_get_dirname (m->path);

  Loader l = { m, m->gguf_file, m->path, NULL, error, FALSE };
  l.arch = attnviz_gguf_read_string (l.g, "general.architecture", TRUE, error);
  if (l.arch == NULL)
    return FALSE;
  static const struct { const char *name; Arch arch; } arches[] = {
    { "llama", ARCH_LLAMA }, { "qwen2", ARCH_QWEN2 }, { "gpt2", ARCH_GPT2 }, { "bert", ARCH_BERT },
    { "t5", ARCH_T5 },
  };
  int arch = -1;
  for (guint i = 0; i < G_N_ELEMENTS (arches); i++)
    if (strcmp (l.arch, arches[i].name) == 0)
      arch = arches[i].arch;
  if (arch < 0)
    {
      g_autofree char *quoted = attnviz_quote_name (l.arch);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: architecture \"%s\" is not supported (attnviz reads llama, qwen2, gpt2, bert and t5)",
                   m->path, quoted);
      return FALSE;
    }

  if (arch == ARCH_T5)
    {
      if (!_attnviz_gguf_load_t5 (&l))
        return FALSE;
    }
  else if (!read_config (&l, arch))
    return FALSE;
  else
    load_weights (&l, arch);
  if (l.failed)
    return FALSE;

  m->type_name = _attnviz_gguf_loader_file_type (&l);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (l.g); i++)
    m->weight_bytes += attnviz_gguf_get_tensor (l.g, i)->n_bytes;

  /* A file without a tokenizer, or with a kind attnviz does not read
   * ("none", an unknown pre-tokenizer), still runs on ids; a tokenizer that
   * is there but broken is a broken file. */
  g_autoptr(GError) tok_error = NULL;
  m->tokenizer = attnviz_tokenizer_new_from_gguf (l.g, &tok_error);
  if (m->tokenizer == NULL && attnviz_gguf_find_key (l.g, "tokenizer.ggml.model") >= 0
      && !g_error_matches (tok_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    {
      g_propagate_error (error, g_steal_pointer (&tok_error));
      return FALSE;
    }
  if (m->tokenizer == NULL)
    m->tokenizer_error = g_strdup (tok_error->message);
  else if (attnviz_tokenizer_get_vocab_size (m->tokenizer) > m->config.vocab_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the tokenizer has %d tokens but the model only %d", m->path,
                   attnviz_tokenizer_get_vocab_size (m->tokenizer), m->config.vocab_size);
      return FALSE;
    }
  return TRUE;
}

gboolean
_attnviz_model_load_gguf (AttnvizModel *m, GError **error)
{
  m->gguf_file = attnviz_gguf_open (m->path, error);
  if (m->gguf_file == NULL)
    return FALSE;
  return build_from_gguf (m, error);
}

AttnvizModel *
_attnviz_model_new_from_gguf (AttnvizGguf *gguf, GError **error)
{
  g_return_val_if_fail (gguf != NULL, NULL);

  g_autoptr(AttnvizModel) m = _attnviz_model_new ();
  m->path = g_strdup (attnviz_gguf_get_path (gguf));
  m->gguf_file = gguf;
  return build_from_gguf (m, error) ? g_steal_pointer (&m) : NULL;
}
