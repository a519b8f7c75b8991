/* attnviz-session-dump.c: a dump read back, in any of its three formats
 *
 * Arrays come through one call (_attnviz_session_array) whatever the
 * format: an npy folder's NAME.npy, a safetensors file's tensor NAME, a
 * json dump's member NAME as nested arrays.  The metadata (attnviz-dump.h
 * lists it) is checked against the arrays: n_tokens, n_layer, n_head,
 * layers and heads against the shape of attentions, every token's id
 * against input_ids.
 */
#define G_LOG_DOMAIN "attnviz-session"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-npy.h"
#include "attnviz-pattern.h"
#include "attnviz-variant.h"
#include "attnviz-session-private.h"

/* ---- arrays ---- */

static float *
npy_array (const SessionFile *f, const char *name, gint64 *shape, int *n_dims, GError **error)
{
  g_autofree char *file = g_strconcat (name, ".npy", NULL);
  g_autofree char *path = g_build_filename (f->dir, file, NULL);
  if (!attnviz_path_present (path))
    return NULL;
  g_autoptr(GMappedFile) map = attnviz_map_regular (path, error);
  if (map == NULL)
    return NULL;
  return attnviz_npy_read_floats_max ((const guint8 *) g_mapped_file_get_contents (map),
                                      g_mapped_file_get_length (map), path, shape, 5, n_dims, f->max_values,
                                      error);
}

static float *
safetensors_array (const SessionFile *f, const char *name, gint64 *shape, int *n_dims, GError **error)
{
  const AttnvizTensorInfo *t = attnviz_safetensors_lookup (f->st, name);
  if (t == NULL)
    return NULL;
  if (t->n_dims > 5)
    return _attnviz_session_fail (error, f->path, "tensor %s has %d dimensions, more than 5", name, t->n_dims),
           NULL;
  if ((guint64) t->n_elements > f->max_values)
    {
      g_autofree char *need = g_format_size ((guint64) t->n_elements * sizeof (float));
      g_autofree char *limit = g_format_size (f->max_values * sizeof (float));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s: tensor %s takes %s as float32, over the %s "
                   "attnviz opens", f->path, name, need, limit);
      return NULL;
    }
  float *out = g_try_new (float, MAX (t->n_elements, 1));
  if (out == NULL)
    return _attnviz_session_fail (error, f->path, "out of memory reading tensor %s", name), NULL;
  switch (t->dtype)
    {
    case ATTNVIZ_DTYPE_F32:
    case ATTNVIZ_DTYPE_F16:
    case ATTNVIZ_DTYPE_BF16:
    case ATTNVIZ_DTYPE_F64:
      attnviz_tensor_to_f32 (t, out);
      break;
    case ATTNVIZ_DTYPE_I32:
      for (gint64 i = 0; i < t->n_elements; i++)
        {
          gint32 v;
          memcpy (&v, t->data + i * 4, 4);
          out[i] = (float) GINT32_FROM_LE (v);
        }
      break;
    case ATTNVIZ_DTYPE_I64:
      for (gint64 i = 0; i < t->n_elements; i++)
        {
          gint64 v;
          memcpy (&v, t->data + i * 8, 8);
          out[i] = (float) GINT64_FROM_LE (v);
        }
      break;
    default:
      g_free (out);
      return _attnviz_session_fail (error, f->path, "tensor %s is %s: expected a float or int32/int64 tensor", name,
                                    attnviz_dtype_to_string (t->dtype)), NULL;
    }
  *n_dims = t->n_dims;
  memcpy (shape, t->shape, sizeof (gint64) * t->n_dims);
  return out;
}

/* The shape of nested arrays NODE, following first elements. */
static gboolean
json_shape (JsonNode *node, gint64 *shape, int *n_dims)
{
  *n_dims = 0;
  while (JSON_NODE_HOLDS_ARRAY (node))
    {
      if (*n_dims >= 5)
        return FALSE;
      JsonArray *a = json_node_get_array (node);
      guint n = json_array_get_length (a);
      shape[(*n_dims)++] = n;
      if (n == 0)
        break;
      node = json_array_get_element (a, 0);
    }
  return TRUE;
}

/* Fills OUT from NODE (nested arrays of SHAPE from dimension DIM); numbers
 * and null (NaN, as the writer stores non-finite floats).  Never writes at
 * or past END. */
static gboolean
json_fill (JsonNode *node, const gint64 *shape, int n_dims, int dim, float **out, const float *end)
{
  if (dim == n_dims)
    {
      if (*out >= end)
        return FALSE;
      if (JSON_NODE_HOLDS_NULL (node))
        *(*out)++ = NAN;
      else if (JSON_NODE_HOLDS_VALUE (node)
               && (json_node_get_value_type (node) == G_TYPE_INT64 || json_node_get_value_type (node) == G_TYPE_DOUBLE))
        *(*out)++ = (float) json_node_get_double (node);
      else
        return FALSE;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  JsonArray *a = json_node_get_array (node);
  if (json_array_get_length (a) != (guint) shape[dim])
    return FALSE;
  for (guint i = 0; i < (guint) shape[dim]; i++)
    if (!json_fill (json_array_get_element (a, i), shape, n_dims, dim + 1, out, end))
      return FALSE;
  return TRUE;
}

static float *
json_array_values (const SessionFile *f, const char *name, gint64 *shape, int *n_dims, GError **error)
{
  JsonNode *node = json_object_get_member (f->json, name);
  if (node == NULL)
    return NULL;
  if (!json_shape (node, shape, n_dims))
    return _attnviz_session_fail (error, f->path, "%s nests more than 5 arrays deep", name), NULL;
  /* Only first elements were followed, so the sizes can multiply past
   * 2^64 (five of 8192 wrap to 0) in a file of 100 kB: check each step. */
  guint64 n = 1;
  for (int i = 0; i < *n_dims; i++)
    {
      if (shape[i] != 0 && n > f->max_values / (guint64) shape[i])
        return _attnviz_session_fail (error, f->path, "%s holds too many values", name), NULL;
      n *= (guint64) shape[i];
    }
  float *out = g_new (float, MAX (n, 1)), *p = out;
  if (!json_fill (node, shape, *n_dims, 0, &p, out + n))
    {
      g_free (out);
      return _attnviz_session_fail (error, f->path, "%s is not a rectangular array of numbers", name), NULL;
    }
  return out;
}

float *
_attnviz_session_array (const SessionFile *f, const char *name, gint64 *shape, int *n_dims, GError **error)
{
  switch (f->format)
    {
    case ATTNVIZ_DUMP_NPY: return npy_array (f, name, shape, n_dims, error);
    case ATTNVIZ_DUMP_SAFETENSORS: return safetensors_array (f, name, shape, n_dims, error);
    case ATTNVIZ_DUMP_JSON:
    default: return json_array_values (f, name, shape, n_dims, error);
    }
}

/* Array NAME, or NULL: *FAILED tells a file without it (FALSE) from one
 * where it is broken (TRUE, ERROR set), whether or not the caller wants
 * the error. */
static float *
optional_array (const SessionFile *f, const char *name, gint64 *shape, int *n_dims, gboolean *failed,
                GError **error)
{
  GError *local = NULL;
  float *a = _attnviz_session_array (f, name, shape, n_dims, &local);
  *failed = local != NULL;
  if (local != NULL)
    g_propagate_error (error, local);
  return a;
}

/* ---- the metadata ---- */

/* Member NAME of META as an int in [lo, hi]. */
static gboolean
meta_int (const SessionFile *f, JsonObject *meta, const char *name, gint64 lo, gint64 hi, int *out, GError **error)
{
  JsonNode *n = json_object_get_member (meta, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return _attnviz_session_fail (error, f->path, "the metadata's %s is missing or not an integer", name);
  gint64 v = json_node_get_int (n);
  if (v < lo || v > hi)
    return _attnviz_session_fail (error, f->path, "the metadata's %s is %" G_GINT64_FORMAT ", not in %"
                                  G_GINT64_FORMAT "-%" G_GINT64_FORMAT, name, v, lo, hi);
  *out = (int) v;
  return TRUE;
}

/* Member NAME of object O (WHAT names O in messages) as an integer in
 * [LO, HI], or DEFAULT_VALUE when O has no such member.  Anything else
 * there (a string, a float, null, a list) is an error: json-glib's
 * _with_default getters would warn on a list and convert a float past
 * 64 bits with undefined behaviour. */
static gboolean
member_int (const SessionFile *f, JsonObject *o, const char *what, const char *name, gint64 lo, gint64 hi,
            gint64 default_value, gint64 *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL)
    {
      *out = default_value;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 || json_node_get_int (n) < lo
      || json_node_get_int (n) > hi)
    return _attnviz_session_fail (error, f->path, "the metadata's %s%s is not an integer in %" G_GINT64_FORMAT "-%"
                                  G_GINT64_FORMAT, what, name, lo, hi);
  *out = json_node_get_int (n);
  return TRUE;
}

/* Member NAME of O as true or false, DEFAULT_VALUE when absent, else an
 * error (as member_int ()). */
static gboolean
member_bool (const SessionFile *f, JsonObject *o, const char *what, const char *name, gboolean default_value,
             gboolean *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL)
    {
      *out = default_value;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return _attnviz_session_fail (error, f->path, "the metadata's %s%s is not true or false", what, name);
  *out = json_node_get_boolean (n);
  return TRUE;
}

/* Member NAME of META as a string made safe to show, or "" when absent. */
static char *
meta_string (JsonObject *meta, const char *name)
{
  JsonNode *n = json_object_get_member (meta, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return g_strdup ("");
  return attnviz_printable_line (json_node_get_string (n));
}

/* The metadata's list NAME of N indices, each in [0, count), none twice,
 * equal to the array NAME when the file has one. */
static int *
meta_indices (const SessionFile *f, JsonObject *meta, const char *name, int n, int count, GError **error)
{
  JsonNode *node = json_object_get_member (meta, name);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != (guint) n)
    return _attnviz_session_fail (error, f->path, "the metadata's %s is not a list of %d indices", name, n), NULL;
  JsonArray *a = json_node_get_array (node);
  g_autofree int *v = g_new (int, MAX (n, 1));
  g_autofree guint8 *seen = g_new0 (guint8, count);
  for (int i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      gint64 x = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64 ? json_node_get_int (e) : -1;
      if (x < 0 || x >= count || seen[x])
        return _attnviz_session_fail (error, f->path, "the metadata's %s[%d] is not a new index below %d", name, i,
                                      count), NULL;
      seen[x] = 1;
      v[i] = (int) x;
    }
  gint64 shape[5];
  int nd = 0;
  gboolean failed;
  g_autofree float *arr = optional_array (f, name, shape, &nd, &failed, error);
  if (failed)
    return NULL;
  if (arr != NULL)
    {
      gboolean same = nd == 1 && shape[0] == n;
      for (int i = 0; same && i < n; i++)
        same = arr[i] == (float) v[i];
      if (!same)
        return _attnviz_session_fail (error, f->path, "the array %s disagrees with the metadata's", name), NULL;
    }
  return g_steal_pointer (&v);
}

/* The metadata's list NAME of T tokens {id, text, start, end, special}
 * into *TOKENS (T) and *TEXTS (T + 1), and whether each had its text in
 * *HAVE_TEXT. */
static gboolean
meta_tokens (const SessionFile *f, JsonObject *meta, const char *name, int T, AttnvizToken **tokens_out,
             char ***texts_out, gboolean *have_text_out, GError **error)
{
  JsonNode *node = json_object_get_member (meta, name);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != (guint) T)
    return _attnviz_session_fail (error, f->path, "the metadata's %s are not a list of %d tokens", name, T);
  JsonArray *a = json_node_get_array (node);
  AttnvizToken *tokens = *tokens_out = g_new0 (AttnvizToken, T);
  char **texts = *texts_out = g_new0 (char *, T + 1);
  gboolean have_text = TRUE;
  for (int t = 0; t < T; t++)
    {
      JsonNode *e = json_array_get_element (a, t);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      JsonNode *id = o ? json_object_get_member (o, "id") : NULL;
      if (id == NULL || !JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64
          || json_node_get_int (id) < 0 || json_node_get_int (id) >= SESSION_MAX_TOKENS)
        return _attnviz_session_fail (error, f->path, "the metadata's %s[%d] has no id in 0-%d", name, t,
                                      SESSION_MAX_TOKENS - 1);
      tokens[t].id = (gint32) json_node_get_int (id);
      JsonNode *text = json_object_get_member (o, "text");
      if (text && JSON_NODE_HOLDS_VALUE (text) && json_node_get_value_type (text) == G_TYPE_STRING)
        texts[t] = g_strdup (json_node_get_string (text));
      else
        {
          have_text = FALSE;
          texts[t] = g_strdup_printf ("%d", tokens[t].id);
        }
      /* spans are byte offsets the dump writes as int32 (token_spans) */
      g_autofree char *what = g_strdup_printf ("%s[%d].", name, t);
      gint64 start, end;
      gboolean special;
      if (!member_int (f, o, what, "start", 0, G_MAXINT32, 0, &start, error)
          || !member_int (f, o, what, "end", 0, G_MAXINT32, 0, &end, error)
          || !member_bool (f, o, what, "special", FALSE, &special, error))
        return FALSE;
      if (end < start)
        return _attnviz_session_fail (error, f->path, "the metadata's %s[%d] has a span %" G_GINT64_FORMAT "-%"
                                      G_GINT64_FORMAT " that ends before it starts", name, t, start, end);
      tokens[t].start = (guint32) start;
      tokens[t].end = (guint32) end;
      tokens[t].special = special;
    }
  *have_text_out = have_text;
  return TRUE;
}

/* The array NAME (N, 2) of byte spans, when the file has one, against the
 * metadata's TOKENS (float32 holds spans past 2^24 rounded, as both sides
 * are). */
static gboolean
spans_agree (const SessionFile *f, const char *name, const AttnvizToken *tokens, int n, GError **error)
{
  gint64 shape[5];
  int nd = 0;
  gboolean failed;
  g_autofree float *spans = optional_array (f, name, shape, &nd, &failed, error);
  if (failed)
    return FALSE;
  if (spans == NULL)
    return TRUE;
  gboolean same = nd == 2 && shape[0] == n && shape[1] == 2;
  for (int t = 0; same && t < n; t++)
    same = spans[2 * t] == (float) tokens[t].start && spans[2 * t + 1] == (float) tokens[t].end;
  if (!same)
    return _attnviz_session_fail (error, f->path, "%s disagree with the metadata's spans", name);
  return TRUE;
}

/* Optional (T, K) / (V) arrays of the dump: top-k and the last logits. */
static gboolean
read_predictions (AttnvizSession *self, const SessionFile *f, JsonObject *meta, int T, GError **error)
{
  AttnvizRecording *rec = self->rec;
  gint64 s_ids[5], s_probs[5], s_last[5];
  int n_ids = 0, n_probs = 0, n_last = 0;
  gboolean failed;
  g_autofree float *ids = optional_array (f, "topk_ids", s_ids, &n_ids, &failed, error);
  if (failed)
    return FALSE;
  g_autofree float *probs = optional_array (f, "topk_probs", s_probs, &n_probs, &failed, error);
  if (failed)
    return FALSE;
  g_autofree float *last = optional_array (f, "logits_last", s_last, &n_last, &failed, error);
  if (failed)
    return FALSE;
  if (ids == NULL || probs == NULL || last == NULL)
    return TRUE;   /* a model without an output layer */
  if (n_ids != 2 || n_probs != 2 || n_last != 1 || s_ids[0] != T || s_probs[0] != T || s_ids[1] != s_probs[1]
      || s_ids[1] < 1 || s_ids[1] > s_last[0] || s_last[0] >= SESSION_MAX_TOKENS)
    return _attnviz_session_fail (error, f->path, "topk_ids, topk_probs and logits_last do not fit %d tokens", T);
  int K = (int) s_ids[1], V = (int) s_last[0];
  /* the metadata's counts, when it gives them, are the arrays' */
  gint64 meta_v, meta_k;
  if (!member_int (f, meta, "", "vocab_size", 0, SESSION_MAX_TOKENS, V, &meta_v, error)
      || !member_int (f, meta, "", "top_k", 0, SESSION_MAX_TOKENS, K, &meta_k, error))
    return FALSE;
  if (meta_v != V || meta_k != K)
    return _attnviz_session_fail (error, f->path, "logits_last has %d values and topk_ids %d a token, where the "
                                  "metadata says vocab_size %" G_GINT64_FORMAT " and top_k %" G_GINT64_FORMAT, V, K,
                                  meta_v, meta_k);
  rec->vocab_size = V;
  rec->top_k = K;
  rec->topk_ids = g_new (gint32, (gsize) T * K);
  rec->topk_probs = g_memdup2 (probs, sizeof (float) * T * K);
  for (gsize i = 0; i < (gsize) T * K; i++)
    {
      if (!(ids[i] >= 0 && ids[i] < V))
        return _attnviz_session_fail (error, f->path, "topk_ids holds %g, not a token of the %d", ids[i], V);
      rec->topk_ids[i] = (gint32) ids[i];
    }
  rec->last_logits = g_steal_pointer (&last);
  /* the probability of the token that follows: the dump's, or (an older
   * dump) exp (-loss) */
  gint64 s_next[5];
  int n_next = 0;
  g_autofree float *next = optional_array (f, "next_prob", s_next, &n_next, &failed, error);
  if (failed)
    return FALSE;
  if (next != NULL && (n_next != 1 || s_next[0] != T))
    return _attnviz_session_fail (error, f->path, "next_prob is not one value per token");
  rec->next_prob = g_new (float, MAX (T, 1));
  for (int t = 0; t < T; t++)
    rec->next_prob[t] = next ? next[t] : expf (-rec->loss[t]);
  return TRUE;
}

/* Reads array NAME of shape (L, H, T, S) exactly, or fails naming it. */
static float *
stack_array (const SessionFile *f, const char *name, int L, int H, int T, int S, GError **error)
{
  gint64 shape[5];
  int nd = 0;
  gboolean failed;
  float *a = optional_array (f, name, shape, &nd, &failed, error);
  if (failed)
    return NULL;
  if (a == NULL)
    return _attnviz_session_fail (error, f->path, "an encoder-decoder dump without %s", name), NULL;
  if (nd != 4 || shape[0] != L || shape[1] != H || shape[2] != T || shape[3] != S)
    {
      g_free (a);
      g_autofree char *s = attnviz_shape_string (shape, nd);
      return _attnviz_session_fail (error, f->path, "%s has shape %s, not (%d, %d, %d, %d) as the metadata says",
                                    name, s, L, H, T, S), NULL;
    }
  return a;
}

/* An encoder-decoder dump's source side: its tokens, the encoder's
 * self-attention (every layer and head) and the cross-attention, into
 * SELF->rec as its run had them. */
static gboolean
read_source_side (AttnvizSession *self, const SessionFile *f, JsonObject *meta, int T, int n_layer, int n_head,
                  GError **error)
{
  AttnvizRecording *rec = self->rec;
  int S, n_enc;
  if (!meta_int (f, meta, "n_source_tokens", 1, SESSION_MAX_TOKENS, &S, error)
      || !meta_int (f, meta, "n_enc_layer", 1, SESSION_MAX_LAYERS, &n_enc, error))
    return FALSE;
  gboolean have_text;
  if (!meta_tokens (f, meta, "source_tokens", S, &self->source_tokens, &self->source_texts, &have_text, error))
    return FALSE;
  /* n_enc * n_head * S * S reaches 2^72: divide rather than multiply */
  guint64 per_source = (guint64) n_head * S;
  guint64 enc_rows = (guint64) n_enc * per_source, cross_rows = (guint64) n_layer * T;
  if (enc_rows > f->max_values / S || cross_rows > f->max_values / per_source
      || enc_rows * S + cross_rows * per_source > f->max_values)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s: the encoder and cross-attention of %d source "
                   "tokens take more than the memory attnviz opens a dump in", f->path, S);
      return FALSE;
    }
  float *enc = stack_array (f, "encoder_attentions", n_enc, n_head, S, S, error);
  if (enc == NULL)
    return FALSE;
  rec->enc_attention = _attnviz_session_dense_source (self, "encoder_attentions", enc, n_enc, n_head, S, S, error);
  if (rec->enc_attention == NULL)
    return FALSE;
  float *cross = stack_array (f, "cross_attentions", n_layer, n_head, T, S, error);
  if (cross == NULL)
    return FALSE;
  rec->cross_attention = _attnviz_session_dense_source (self, "cross_attentions", cross, n_layer, n_head, T, S,
                                                        error);
  if (rec->cross_attention == NULL)
    return FALSE;
  rec->enc_attn = (float *) attnviz_attention_peek_dense (rec->enc_attention, 0, 0);
  rec->cross_attn = (float *) attnviz_attention_peek_dense (rec->cross_attention, 0, 0);
  rec->S = S;
  rec->n_enc_layer = n_enc;
  rec->src_ids = g_new (gint32, S);
  for (int s = 0; s < S; s++)
    rec->src_ids[s] = self->source_tokens[s].id;
  gint64 shape[5];
  int nd = 0;
  gboolean failed;
  g_autofree float *ids = optional_array (f, "source_ids", shape, &nd, &failed, error);
  if (failed)
    return FALSE;
  gboolean same = ids == NULL || (nd == 1 && shape[0] == S);
  for (int s = 0; ids != NULL && same && s < S; s++)
    same = ids[s] == (float) rec->src_ids[s];
  if (!same)
    return _attnviz_session_fail (error, f->path, "source_ids disagree with the metadata's source tokens");
  return spans_agree (f, "source_spans", self->source_tokens, S, error);
}

gboolean
_attnviz_session_read_dump (AttnvizSession *self, const SessionFile *f, JsonObject *meta, GError **error)
{
  if (json_object_has_member (meta, "pool"))
    return _attnviz_session_fail (error, f->path, "a pooled dump (--pool): it holds bins, not the matrices; "
                                  "dump without --pool to open it");
  gint64 row_offset;
  if (!member_int (f, meta, "", "attentions_row_offset", 0, G_MAXINT64, 0, &row_offset, error))
    return FALSE;
  if (row_offset != 0)
    return _attnviz_session_fail (error, f->path, "a dump of some rows only (--rows): dump every row to open it");

  int T, n_layer, n_head;
  if (!meta_int (f, meta, "n_tokens", 1, SESSION_MAX_TOKENS, &T, error)
      || !meta_int (f, meta, "n_layer", 1, SESSION_MAX_LAYERS, &n_layer, error)
      || !meta_int (f, meta, "n_head", 1, SESSION_MAX_HEADS, &n_head, error))
    return FALSE;

  gint64 shape[5];
  int nd = 0;
  gboolean failed;
  g_autofree float *att = optional_array (f, "attentions", shape, &nd, &failed, error);
  if (failed)
    return FALSE;
  if (att == NULL)
    return _attnviz_session_fail (error, f->path, "a dump without attentions");
  self->n_dims = nd;
  memcpy (self->shape, shape, sizeof (gint64) * nd);
  self->tensor = g_strdup ("attentions");
  if (nd != 4 || shape[2] != T || shape[3] != T || shape[0] > n_layer || shape[1] > n_head)
    {
      g_autofree char *s = attnviz_shape_string (shape, nd);
      return _attnviz_session_fail (error, f->path, "attentions of shape %s do not fit the metadata's %d layers, "
                                    "%d heads and %d tokens", s, n_layer, n_head, T);
    }
  int L = (int) shape[0], H = (int) shape[1];
  if (L < 1 || H < 1)
    return _attnviz_session_fail (error, f->path, "a dump that recorded no head");
  g_autofree int *layers = meta_indices (f, meta, "layers", L, n_layer, error);
  if (layers == NULL)
    return FALSE;
  g_autofree int *heads = meta_indices (f, meta, "heads", H, n_head, error);
  if (heads == NULL)
    return FALSE;
  gboolean have_text;
  if (!meta_tokens (f, meta, "tokens", T, &self->tokens, &self->token_texts, &have_text, error))
    return FALSE;
  /* a dump of --ids has no texts: the ids label the rows */
  self->numbered = !have_text;

  JsonNode *causal = json_object_get_member (meta, "causal");
  if (causal == NULL || !JSON_NODE_HOLDS_VALUE (causal) || json_node_get_value_type (causal) != G_TYPE_BOOLEAN)
    return _attnviz_session_fail (error, f->path, "the metadata's causal is missing or not true/false");
  self->model_path = meta_string (meta, "model");
  self->model_type = meta_string (meta, "model_type");
  self->architecture = meta_string (meta, "architecture");
  self->engine = meta_string (meta, "engine");
  if (!_attnviz_session_make_recording (self, g_steal_pointer (&att), L, H, T, T, layers, n_layer, heads, n_head,
                                        json_node_get_boolean (causal), error))
    return FALSE;
  AttnvizRecording *rec = self->rec;
  gboolean encoder_decoder;
  if (!member_bool (f, meta, "", "encoder_decoder", FALSE, &encoder_decoder, error))
    return FALSE;
  if (encoder_decoder && !read_source_side (self, f, meta, T, n_layer, n_head, error))
    return FALSE;
  /* a sparse model's pattern: the keys outside it are 0 by construction */
  g_autofree char *mask = meta_string (meta, "mask");
  if (*mask != '\0')
    {
      g_autoptr(GError) why = NULL;
      if (!attnviz_pattern_parse (&rec->pattern, mask, &why))
        return _attnviz_session_fail (error, f->path, "the metadata's %s", why->message);
    }
  g_autofree char *variant = meta_string (meta, "variant");
  /* a variant's mask takes the model's place, as in the run it came from */
  g_auto(AttnvizVariant) v = { 0 };
  if (*variant && attnviz_variant_parse (&v, variant, NULL))
    rec->pattern = attnviz_variant_effective_pattern (&v, &rec->pattern);
  g_free (rec->variant);
  rec->variant = *variant ? g_steal_pointer (&variant) : g_strdup ("model");
  for (int t = 0; t < T; t++)
    rec->ids[t] = self->tokens[t].id;

  /* the arrays that repeat the metadata must agree with it */
  g_autofree float *ids = optional_array (f, "input_ids", shape, &nd, &failed, error);
  if (failed)
    return FALSE;
  if (ids != NULL)
    {
      gboolean same = nd == 1 && shape[0] == T;
      for (int t = 0; same && t < T; t++)
        same = ids[t] == (float) rec->ids[t];
      if (!same)
        return _attnviz_session_fail (error, f->path, "input_ids disagree with the metadata's tokens");
    }
  if (!spans_agree (f, "token_spans", self->tokens, T, error))
    return FALSE;
  g_autofree float *loss = optional_array (f, "loss", shape, &nd, &failed, error);
  if (failed)
    return FALSE;
  if (loss != NULL)
    {
      if (nd != 1 || shape[0] != T)
        return _attnviz_session_fail (error, f->path, "loss is not one value per token");
      memcpy (rec->loss, loss, sizeof (float) * T);
    }
  return read_predictions (self, f, meta, T, error);
}
