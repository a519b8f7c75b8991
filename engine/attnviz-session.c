/* attnviz-session.c: attention opened again from a file (the header says
 * which files, and what is checked)
 *
 * Opening: the path's kind is decided first (a folder is an npy dump, a
 * .json a json dump, a .safetensors a dump when its __metadata__ says so,
 * else a foreign tensor, as is a .npy); the attention array is read whole
 * into float32 within the budget, checked value by value, and handed to a
 * dense attention source (attnviz_attention_new_dense ()), which makes the
 * overviews the grid draws.
 */
#define G_LOG_DOMAIN "attnviz-session"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-model.h"
#include "attnviz-npy.h"
#include "attnviz-session-private.h"

/* A token file: at most this many bytes. */
#define TOKENS_MAX_BYTES ((gsize) 16 << 20)

gboolean
_attnviz_session_fail (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *name = attnviz_printable_line (path);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", name, msg);
  return FALSE;
}

void
attnviz_session_free (AttnvizSession *self)
{
  if (self == NULL)
    return;
  g_free (self->path);
  attnviz_recording_free (self->rec);
  g_strfreev (self->token_texts);
  g_strfreev (self->source_texts);
  g_free (self->tokens);
  g_free (self->source_tokens);
  g_free (self->model_path);
  g_free (self->model_type);
  g_free (self->architecture);
  g_free (self->engine);
  g_free (self->tensor);
  g_free (self);
}

/* ---- the values ---- */

/* Checks DENSE (L, H, T, S): every value finite and not negative, and
 * counts the rows whose sum is off 1.  Sets *CAUSAL_SEEN when S == T and
 * every cell right of the diagonal is exactly 0. */
static gboolean
check_values (AttnvizSession *self, const char *name, const float *dense, int L, int H, int T, int S,
              gboolean count, gboolean *causal_seen, GError **error)
{
  gboolean upper_zero = S == T;
  if (count)
    {
      self->n_rows = L * H * T;
      self->worst_sum = 1.0;
    }
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      for (int i = 0; i < T; i++)
        {
          const float *row = dense + (((gsize) l * H + h) * T + i) * S;
          double sum = 0.0;
          for (int j = 0; j < S; j++)
            {
              float v = row[j];
              if (!isfinite (v) || v < 0.0f)
                {
                  char what[48];
                  if (isnan (v))
                    g_strlcpy (what, "NaN", sizeof what);
                  else if (!isfinite (v))
                    g_strlcpy (what, "infinite", sizeof what);
                  else
                    g_snprintf (what, sizeof what, "negative (%g)", v);
                  return _attnviz_session_fail (error, self->path, "%s[%d, %d, %d, %d] is %s: attention weights are "
                                                "finite and not negative", name, l, h, i, j, what);
                }
              sum += v;
              if (j > i && v != 0.0f)
                upper_zero = FALSE;
            }
          if (count && fabs (sum - 1.0) > ATTNVIZ_SESSION_ROW_SUM_TOL)
            {
              if (self->n_rows_off == 0 || fabs (sum - 1.0) > fabs (self->worst_sum - 1.0))
                {
                  self->worst_sum = sum;
                  self->worst_layer = l;
                  self->worst_head = h;
                  self->worst_row = i;
                }
              self->n_rows_off++;
            }
        }
  *causal_seen = upper_zero && T > 1;
  return TRUE;
}

gboolean
_attnviz_session_make_recording (AttnvizSession *self, float *dense, int L, int H, int T, int S,
                                 const int *layers, int n_layer, const int *heads, int n_head, gboolean causal,
                                 GError **error)
{
  g_autofree float *owned = dense;
  gboolean causal_seen = FALSE;
  if (!check_values (self, self->tensor, owned, L, H, T, S, TRUE, &causal_seen, error))
    return FALSE;
  if (self->origin == ATTNVIZ_SESSION_FOREIGN)
    causal = causal_seen;
  g_autofree int *all_layers = g_new (int, L);
  g_autofree int *all_heads = g_new (int, H);
  for (int i = 0; i < L; i++)
    all_layers[i] = i;
  for (int i = 0; i < H; i++)
    all_heads[i] = i;
  if (layers == NULL)
    layers = all_layers;
  if (heads == NULL)
    heads = all_heads;

  AttnvizRecording *rec = g_new0 (AttnvizRecording, 1);
  self->rec = rec;
  rec->T = T;
  rec->n_layer = n_layer;
  rec->n_head = n_head;
  rec->causal = causal;
  rec->ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    rec->ids[t] = t;
  rec->loss = g_new (float, T);
  for (int t = 0; t < T; t++)
    rec->loss[t] = NAN;
  rec->variant = g_strdup ("model");
  /* taken over, also when it fails (out of memory for the overviews: it
   * freed the matrices, and freeing them here too was a double free) */
  AttnvizAttention *source = attnviz_attention_new_dense (g_steal_pointer (&owned), n_layer, n_head, layers, L,
                                                          heads, H, T, S, causal, error);
  if (source == NULL)
    return FALSE;
  if (S == T)
    {
      rec->n_rec_layers = L;
      rec->n_rec_heads = H;
      rec->rec_layers = g_memdup2 (layers, sizeof (int) * L);
      rec->rec_heads = g_memdup2 (heads, sizeof (int) * H);
      rec->attention = source;
      rec->attn = (float *) attnviz_attention_peek_dense (source, layers[0], heads[0]);
    }
  else
    {
      /* target rows, source columns: a cross-attention with every layer
       * and head, and no self-attention */
      rec->rec_layers = g_new0 (int, 1);
      rec->rec_heads = g_new0 (int, 1);
      rec->S = S;
      rec->src_ids = g_new (gint32, S);
      for (int s = 0; s < S; s++)
        rec->src_ids[s] = s;
      rec->cross_attention = source;
      rec->cross_attn = (float *) attnviz_attention_peek_dense (source, layers[0], heads[0]);
    }
  return TRUE;
}

AttnvizAttention *
_attnviz_session_dense_source (AttnvizSession *self, const char *name, float *dense, int L, int H, int T, int S,
                               GError **error)
{
  g_autofree float *owned = dense;
  gboolean causal_seen;
  if (!check_values (self, name, owned, L, H, T, S, FALSE, &causal_seen, error))
    return NULL;
  g_autofree int *layers = g_new (int, L);
  g_autofree int *heads = g_new (int, H);
  for (int i = 0; i < L; i++)
    layers[i] = i;
  for (int i = 0; i < H; i++)
    heads[i] = i;
  /* taken over, also when it fails */
  return attnviz_attention_new_dense (g_steal_pointer (&owned), L, H, layers, L, heads, H, T, S, FALSE, error);
}

/* ---- foreign tensors ---- */

/* The attention of a foreign safetensors file: "attentions", or
 * "attentions.0" ... stacked. */
static float *
foreign_safetensors (AttnvizSession *self, const SessionFile *f, gint64 *shape, int *nd, GError **error)
{
  if (attnviz_safetensors_lookup (f->st, "attentions") != NULL)
    {
      self->tensor = g_strdup ("attentions");
      return _attnviz_session_array (f, "attentions", shape, nd, error);
    }
  int L = 0;
  while (L < 100000)
    {
      g_autofree char *name = g_strdup_printf ("attentions.%d", L);
      if (attnviz_safetensors_lookup (f->st, name) == NULL)
        break;
      L++;
    }
  for (guint i = 0; i < attnviz_safetensors_get_n_tensors (f->st); i++)
    {
      const char *name = attnviz_safetensors_get_nth (f->st, i)->name;
      if (g_str_has_prefix (name, "attentions."))
        {
          /* only attentions.N as Python writes N: not "01", "+1", " 1", "-0" */
          const char *digits = name + strlen ("attentions.");
          guint64 k = g_ascii_strtoull (digits, NULL, 10);
          g_autofree char *canonical = g_strdup_printf ("%" G_GUINT64_FORMAT, k);
          if (!g_ascii_isdigit (*digits) || strcmp (digits, canonical) != 0 || k >= (guint64) L)
            {
              g_autofree char *q = attnviz_printable (name);
              if (L == 0)
                return _attnviz_session_fail (error, f->path, "tensor \"%s\" without attentions.0: Hugging Face's "
                                              "tuple numbers its layers from 0", q), NULL;
              return _attnviz_session_fail (error, f->path, "tensor \"%s\" does not follow attentions.0 to "
                                            "attentions.%d", q, L - 1), NULL;
            }
        }
    }
  if (L == 0)
    return _attnviz_session_fail (error, f->path, "holds no \"attentions\" tensor (nor Hugging Face's "
                                  "attentions.0, attentions.1, ...)"), NULL;
  self->tensor = L > 1 ? g_strdup_printf ("attentions.0-%d", L - 1) : g_strdup ("attentions.0");
  const AttnvizTensorInfo *first = attnviz_safetensors_lookup (f->st, "attentions.0");
  int fd = first->n_dims;
  gboolean batch = fd == 4 && first->shape[0] == 1;
  if (!(fd == 3 || batch))
    {
      g_autofree char *s = attnviz_shape_string (first->shape, fd);
      return _attnviz_session_fail (error, f->path, "attentions.0 has shape %s: expected (H, T, T) or "
                                    "(1, H, T, T) per layer", s), NULL;
    }
  guint64 per = (guint64) first->n_elements;
  if (per == 0)
    return _attnviz_session_fail (error, f->path, "attentions.0 is empty"), NULL;
  if (per * L > f->max_values)
    {
      g_autofree char *need = g_format_size (per * L * sizeof (float));
      g_autofree char *limit = g_format_size (f->max_values * sizeof (float));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s: %d layers of attention take %s as float32, over "
                   "the %s attnviz opens", f->path, L, need, limit);
      return NULL;
    }
  float *out = g_try_new (float, per * L);
  if (out == NULL)
    return _attnviz_session_fail (error, f->path, "out of memory for %d layers", L), NULL;
  for (int l = 0; l < L; l++)
    {
      g_autofree char *name = g_strdup_printf ("attentions.%d", l);
      gint64 s[5];
      int n = 0;
      g_autofree float *one = _attnviz_session_array (f, name, s, &n, error);
      if (one == NULL)
        return g_free (out), NULL;
      if (n != fd || memcmp (s, first->shape, sizeof (gint64) * n) != 0)
        {
          g_free (out);
          return _attnviz_session_fail (error, f->path, "%s has another shape than attentions.0", name), NULL;
        }
      memcpy (out + per * l, one, per * sizeof (float));
    }
  *nd = 4;
  shape[0] = L;
  shape[1] = first->shape[fd - 3];
  shape[2] = first->shape[fd - 2];
  shape[3] = first->shape[fd - 1];
  return out;
}

/* Normalizes a foreign SHAPE to (L, H, T, S). */
static gboolean
foreign_shape (const AttnvizSession *self, const gint64 *shape, int nd, int out[4], GError **error)
{
  gint64 d[4] = { 1, 1, 1, 1 };
  if (nd == 2 || nd == 3 || nd == 4)
    memcpy (d + 4 - nd, shape, sizeof (gint64) * nd);
  else if (nd == 5 && shape[1] == 1)
    d[0] = shape[0], d[1] = shape[2], d[2] = shape[3], d[3] = shape[4];
  else
    {
      g_autofree char *s = attnviz_shape_string (shape, nd);
      return _attnviz_session_fail (error, self->path, "%s has shape %s: expected (L, H, T, T), (H, T, T), (T, T) "
                                    "or (L, H, T, S)", self->tensor, s);
    }
  for (int i = 0; i < 4; i++)
    if (d[i] < 1 || d[i] > G_MAXINT32 / 2)
      {
        g_autofree char *s = attnviz_shape_string (shape, nd);
        return _attnviz_session_fail (error, self->path, "%s has shape %s: every size must be at least 1",
                                      self->tensor, s);
      }
  if (d[0] > SESSION_MAX_LAYERS || d[1] > SESSION_MAX_HEADS)
    return _attnviz_session_fail (error, self->path, "%s has %" G_GINT64_FORMAT " layers and %" G_GINT64_FORMAT
                                  " heads: at most %d of each", self->tensor, d[0], d[1], SESSION_MAX_LAYERS);
  if (d[2] > SESSION_MAX_TOKENS || d[3] > SESSION_MAX_TOKENS)
    return _attnviz_session_fail (error, self->path, "%s has %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " tokens: at "
                                  "most %d on each side", self->tensor, d[2], d[3], SESSION_MAX_TOKENS);
  for (int i = 0; i < 4; i++)
    out[i] = (int) d[i];
  return TRUE;
}

/* N labels from a token file: a JSON list of strings, or one per line. */
static char **
read_token_file (const char *path, int n, const char *side, GError **error)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  if (g_str_has_suffix (path, ".json"))
    {
      g_autoptr(JsonNode) root = attnviz_json_load (path, ATTNVIZ_JSON_TOKEN_LIST, error);
      if (root == NULL)
        return NULL;
      JsonArray *a = json_node_get_array (root);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
            g_ptr_array_add (labels, attnviz_printable_line (json_node_get_string (e)));
          else if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64)
            g_ptr_array_add (labels, g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (e)));
          else
            return _attnviz_session_fail (error, path, "item %u of the token list is not a string", i), NULL;
        }
    }
  else
    {
      g_autofree char *text = NULL;
      gsize len = 0;
      if (!attnviz_read_regular (path, TOKENS_MAX_BYTES, "a token list", &text, &len, error))
        return NULL;
      const char *bad = NULL;
      if (memchr (text, '\0', len) != NULL || !g_utf8_validate_len (text, len, &bad))
        return _attnviz_session_fail (error, path, "a token list must be UTF-8 text without NUL bytes"), NULL;
      const char *p = text, *end = text + len;
      while (p < end)
        {
          const char *nl = memchr (p, '\n', end - p);
          const char *stop = nl ? nl : end;
          gsize l = stop - p;
          if (l > 0 && p[l - 1] == '\r')
            l--;
          g_autofree char *line = g_strndup (p, l);
          g_ptr_array_add (labels, attnviz_printable_line (line));
          p = nl ? nl + 1 : end;
        }
    }
  if (labels->len != (guint) n)
    return _attnviz_session_fail (error, path, "%u tokens for the %d %s of the attention", labels->len, n, side),
           NULL;
  g_ptr_array_add (labels, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&labels), FALSE);
}

static char **
numbered_labels (int n)
{
  char **v = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    v[i] = g_strdup_printf ("%d", i);
  return v;
}

static gboolean
read_foreign (AttnvizSession *self, const SessionFile *f, const guint8 *npy, gsize npy_len, const char *tokens,
              const char *source_tokens, GError **error)
{
  gint64 shape[5];
  int nd = 0;
  g_autofree float *att = NULL;
  if (f->format == ATTNVIZ_DUMP_SAFETENSORS)
    att = foreign_safetensors (self, f, shape, &nd, error);
  else
    {
      self->tensor = g_strdup ("array");
      att = attnviz_npy_read_floats_max (npy, npy_len, f->path, shape, 5, &nd, f->max_values, error);
    }
  if (att == NULL)
    return FALSE;
  if (self->n_dims == 0)
    {
      self->n_dims = nd;
      memcpy (self->shape, shape, sizeof (gint64) * nd);
    }
  int d[4];
  if (!foreign_shape (self, shape, nd, d, error))
    return FALSE;
  int L = d[0], H = d[1], T = d[2], S = d[3];
  if (S == T && source_tokens != NULL)
    return g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--source-tokens: %s is square (%d x %d): "
                        "its --tokens label both sides", f->path, T, T), FALSE;
  self->token_texts = tokens ? read_token_file (tokens, T, S == T ? "rows and columns" : "rows", error)
                             : numbered_labels (T);
  if (self->token_texts == NULL)
    return FALSE;
  self->numbered = tokens == NULL;
  if (S != T)
    {
      self->source_texts = source_tokens ? read_token_file (source_tokens, S, "columns", error) : numbered_labels (S);
      if (self->source_texts == NULL)
        return FALSE;
    }
  self->model_type = g_strdup ("");
  self->architecture = g_strdup ("");
  return _attnviz_session_make_recording (self, g_steal_pointer (&att), L, H, T, S, NULL, L, NULL, H, FALSE, error);
}

/* ---- opening ---- */

static guint64
budget_values (guint64 max_bytes)
{
  return (max_bytes ? max_bytes : ATTNVIZ_SESSION_MAX_BYTES) / sizeof (float);
}

/* The dump metadata in a safetensors file, or NULL (no error) when it is
 * not a dump. */
static JsonNode *
safetensors_dump_metadata (const SessionFile *f, GError **error)
{
  const char *format = attnviz_safetensors_get_metadata (f->st, "format");
  if (g_strcmp0 (format, "attnviz-dump") != 0)
    return NULL;
  const char *json = attnviz_safetensors_get_metadata (f->st, "attnviz");
  if (json == NULL)
    return _attnviz_session_fail (error, f->path, "an attnviz dump without its \"attnviz\" metadata"), NULL;
  return attnviz_json_parse (json, strlen (json), ATTNVIZ_JSON_DUMP, f->path, error);
}

static gboolean
open_safetensors (AttnvizSession *self, AttnvizSafetensors *st, guint64 max_bytes, const char *tokens,
                  const char *source_tokens, GError **error)
{
  SessionFile f = { self->path, ATTNVIZ_DUMP_SAFETENSORS, NULL, st, NULL, budget_values (max_bytes) };
  self->format = ATTNVIZ_DUMP_SAFETENSORS;
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) meta = safetensors_dump_metadata (&f, &local);
  if (local != NULL)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  if (meta == NULL)
    {
      self->origin = ATTNVIZ_SESSION_FOREIGN;
      return read_foreign (self, &f, NULL, 0, tokens, source_tokens, error);
    }
  self->origin = ATTNVIZ_SESSION_DUMP;
  return _attnviz_session_read_dump (self, &f, json_node_get_object (meta), error);
}

static gboolean
open_json (AttnvizSession *self, JsonNode *root, guint64 max_bytes, GError **error)
{
  JsonObject *o = json_node_get_object (root);
  JsonNode *meta = json_object_get_member (o, "metadata");
  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta) || !json_object_has_member (o, "attentions"))
    return _attnviz_session_fail (error, self->path, "not an attnviz json dump (no \"metadata\" and \"attentions\"); "
                                  "foreign attention opens as .npy or .safetensors");
  SessionFile f = { self->path, ATTNVIZ_DUMP_JSON, NULL, NULL, o, budget_values (max_bytes) };
  self->format = ATTNVIZ_DUMP_JSON;
  self->origin = ATTNVIZ_SESSION_DUMP;
  return _attnviz_session_read_dump (self, &f, json_node_get_object (meta), error);
}

static gboolean
no_tokens_for_dump (const char *tokens, const char *source_tokens, const char *path, GError **error)
{
  if (tokens == NULL && source_tokens == NULL)
    return TRUE;
  g_autofree char *name = attnviz_printable_line (path);
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: %s is an attnviz dump, which carries its own "
               "tokens", tokens ? "--tokens" : "--source-tokens", name);
  return FALSE;
}

AttnvizSession *
attnviz_session_load (const char *path, const char *tokens, const char *source_tokens, guint64 max_bytes,
                      GError **error)
{
  if ((tokens != NULL && *tokens == '\0') || (source_tokens != NULL && *source_tokens == '\0'))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: the path is empty",
                   tokens != NULL && *tokens == '\0' ? "--tokens" : "--source-tokens");
      return NULL;
    }
  /* a dump folder's metadata.json stands for its folder (what a file
   * chooser can pick) */
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *beside = g_build_filename (folder, "attentions.npy", NULL);
  if (g_str_equal (base, "metadata.json") && attnviz_path_present (beside))
    path = folder;
  g_autoptr(AttnvizSession) self = g_new0 (AttnvizSession, 1);
  self->path = g_strdup (path);
  gboolean ok;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *meta_path = g_build_filename (path, "metadata.json", NULL);
      if (!attnviz_path_present (meta_path))
        return _attnviz_session_fail (error, path, "a folder without metadata.json: not an attnviz dump"), NULL;
      if (!no_tokens_for_dump (tokens, source_tokens, path, error))
        return NULL;
      g_autoptr(JsonNode) meta = attnviz_json_load (meta_path, ATTNVIZ_JSON_DUMP, error);
      if (meta == NULL)
        return NULL;
      SessionFile f = { path, ATTNVIZ_DUMP_NPY, path, NULL, NULL, budget_values (max_bytes) };
      self->format = ATTNVIZ_DUMP_NPY;
      self->origin = ATTNVIZ_SESSION_DUMP;
      ok = _attnviz_session_read_dump (self, &f, json_node_get_object (meta), error);
    }
  else if (g_str_has_suffix (path, ".json"))
    {
      if (!no_tokens_for_dump (tokens, source_tokens, path, error))
        return NULL;
      g_autoptr(JsonNode) root = attnviz_json_load (path, ATTNVIZ_JSON_DUMP, error);
      ok = root != NULL && open_json (self, root, max_bytes, error);
    }
  else if (g_str_has_suffix (path, ".safetensors"))
    {
      g_autoptr(AttnvizSafetensors) st = attnviz_safetensors_open (path, error);
      if (st == NULL)
        return NULL;
      if (g_strcmp0 (attnviz_safetensors_get_metadata (st, "format"), "attnviz-dump") == 0
          && !no_tokens_for_dump (tokens, source_tokens, path, error))
        return NULL;
      ok = open_safetensors (self, st, max_bytes, tokens, source_tokens, error);
    }
  else if (g_str_has_suffix (path, ".npy"))
    {
      g_autoptr(GMappedFile) map = attnviz_map_regular (path, error);
      if (map == NULL)
        return NULL;
      SessionFile f = { path, ATTNVIZ_DUMP_NPY, NULL, NULL, NULL, budget_values (max_bytes) };
      self->format = ATTNVIZ_DUMP_NPY;
      self->origin = ATTNVIZ_SESSION_FOREIGN;
      ok = read_foreign (self, &f, (const guint8 *) g_mapped_file_get_contents (map), g_mapped_file_get_length (map),
                         tokens, source_tokens, error);
    }
  else
    return _attnviz_session_fail (error, path, "expected an attnviz dump (a folder, .safetensors or .json) or "
                                  "attention as .npy or .safetensors"), NULL;
  return ok ? g_steal_pointer (&self) : NULL;
}

AttnvizSession *
attnviz_session_load_bytes (const guint8 *data, gsize len, const char *name, guint64 max_bytes, GError **error)
{
  g_autoptr(AttnvizSession) self = g_new0 (AttnvizSession, 1);
  self->path = g_strdup (name);
  gboolean ok;
  if (g_str_has_suffix (name, ".json"))
    {
      g_autoptr(JsonNode) root = attnviz_json_parse ((const char *) data, len, ATTNVIZ_JSON_DUMP, name, error);
      ok = root != NULL && open_json (self, root, max_bytes, error);
    }
  else if (g_str_has_suffix (name, ".safetensors"))
    {
      g_autoptr(AttnvizSafetensors) st = attnviz_safetensors_open_bytes (data, len, name, error);
      ok = st != NULL && open_safetensors (self, st, max_bytes, NULL, NULL, error);
    }
  else
    {
      SessionFile f = { name, ATTNVIZ_DUMP_NPY, NULL, NULL, NULL, budget_values (max_bytes) };
      self->format = ATTNVIZ_DUMP_NPY;
      self->origin = ATTNVIZ_SESSION_FOREIGN;
      ok = read_foreign (self, &f, data, len, NULL, NULL, error);
    }
  return ok ? g_steal_pointer (&self) : NULL;
}

gboolean
attnviz_session_is_session_path (const char *path, gboolean look_inside)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      /* a dump with either file missing or broken is still one (its error
       * names what is wrong, where a model's would ask for --text) */
      g_autofree char *meta = g_build_filename (path, "metadata.json", NULL);
      g_autofree char *att = g_build_filename (path, "attentions.npy", NULL);
      g_autofree char *config = g_build_filename (path, "config.json", NULL);
      gboolean named = g_str_has_suffix (path, ".npy") || g_str_has_suffix (path, ".json")
                       || g_str_has_suffix (path, ".safetensors");
      return (named || attnviz_path_present (meta) || attnviz_path_present (att)) && !attnviz_path_present (config);
    }
  /* a model's shard index and config name the model, not a dump */
  if (g_str_has_suffix (path, ".index.json") || g_str_has_suffix (path, "config.json"))
    return FALSE;
  if (g_str_has_suffix (path, ".npy") || g_str_has_suffix (path, ".json"))
    return TRUE;
  if (!g_str_has_suffix (path, ".safetensors"))
    return FALSE;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  if (!attnviz_path_present (config))
    return TRUE;
  if (!look_inside)
    return FALSE;
  g_autoptr(AttnvizSafetensors) st = attnviz_safetensors_open (path, NULL);
  return st != NULL && g_strcmp0 (attnviz_safetensors_get_metadata (st, "format"), "attnviz-dump") == 0;
}

/* ---- what a session is ---- */

char *
attnviz_session_display_name (const AttnvizSession *self)
{
  if (self->model_path != NULL && *self->model_path != '\0')
    return attnviz_model_display_name (self->model_path);
  return attnviz_model_display_name (self->path);
}

char *
attnviz_session_describe_rows (const AttnvizSession *self)
{
  if (self->n_rows_off == 0)
    return NULL;
  g_autofree char *name = attnviz_printable_line (self->path);
  return g_strdup_printf ("%s: %d of %d rows do not sum to 1 (row %d of layer %d, head %d sums to %.4g); shown as "
                          "they are, as scores", name, self->n_rows_off, self->n_rows, self->worst_row,
                          self->worst_layer, self->worst_head, self->worst_sum);
}

static const char *
format_name (const AttnvizSession *self)
{
  if (self->origin == ATTNVIZ_SESSION_FOREIGN)
    return self->format == ATTNVIZ_DUMP_SAFETENSORS ? "attention tensors (safetensors)" : "an attention array (npy)";
  switch (self->format)
    {
    case ATTNVIZ_DUMP_NPY: return "an attnviz dump (npy folder)";
    case ATTNVIZ_DUMP_SAFETENSORS: return "an attnviz dump (safetensors)";
    case ATTNVIZ_DUMP_JSON:
    default: return "an attnviz dump (json)";
    }
}

/* The first and last few of N labels, quoted. */
static void
append_labels (GString *out, char **labels, int n)
{
  for (int i = 0; i < n; i++)
    {
      if (n > 12 && i == 6)
        {
          g_string_append_printf (out, " … (%d more)", n - 12);
          i = n - 7;   /* the loop's step: the last six */
          continue;
        }
      g_autofree char *q = attnviz_printable (labels[i]);
      g_string_append_printf (out, " \"%s\"", q);
    }
}

char *
attnviz_session_describe (const AttnvizSession *self)
{
  const AttnvizRecording *rec = self->rec;
  GString *out = g_string_new (NULL);
  g_autofree char *name = attnviz_printable_line (self->path);
  g_autofree char *shape = attnviz_shape_string (self->shape, self->n_dims);
  gboolean cross_only = rec->attention == NULL;
  AttnvizAttention *source = cross_only ? rec->cross_attention : rec->attention;
  int L = attnviz_attention_get_n_layers (source), H = attnviz_attention_get_n_heads (source);
  int rows = attnviz_attention_get_n_rows (source), cols = attnviz_attention_get_n_cols (source);
  g_string_append_printf (out, "file:      %s\n", name);
  g_string_append_printf (out, "kind:      %s\n", format_name (self));
  g_string_append_printf (out, "tensor:    %s %s\n", self->tensor, shape);
  g_string_append_printf (out, "shown as:  %d %s x %d %s of %d x %d%s\n", L, L == 1 ? "layer" : "layers", H,
                          H == 1 ? "head" : "heads", rows, cols,
                          cross_only ? " (target rows, source columns)" : rec->causal ? " (causal)" : "");
  if (!cross_only && rec->S > 0)
    g_string_append_printf (out, "also:      encoder %d layers of %d x %d, cross-attention %d x %d\n",
                            rec->n_enc_layer, rec->S, rec->S, rec->T, rec->S);
  if (self->origin == ATTNVIZ_SESSION_DUMP)
    {
      g_autofree char *layers = g_strdup ("");
      for (int i = 0; i < rec->n_rec_layers; i++)
        {
          char *l = g_strdup_printf ("%s%s%d", layers, i ? "," : "", rec->rec_layers[i]);
          g_free (layers);
          layers = l;
        }
      g_autofree char *model = attnviz_printable_line (self->model_path);
      g_string_append_printf (out, "model:     %s (%s%s%s)\n", model, self->model_type,
                              *self->architecture ? ", " : "", self->architecture);
      g_string_append_printf (out, "variant:   %s\n", rec->variant);
      g_string_append_printf (out, "recorded:  layers %s of %d, %d of %d heads\n", layers, rec->n_layer,
                              rec->n_rec_heads, rec->n_head);
      g_string_append_printf (out, "engine:    %s\n", self->engine);
    }
  g_string_append_printf (out, "tokens:    %d%s:", rec->T, self->numbered ? " (numbered: no token list)" : "");
  append_labels (out, self->token_texts, rec->T);
  g_string_append_c (out, '\n');
  if (rec->S > 0)
    {
      g_string_append_printf (out, "source:    %d:", rec->S);
      append_labels (out, self->source_texts, rec->S);
      g_string_append_c (out, '\n');
    }
  g_autofree char *rows_note = attnviz_session_describe_rows (self);
  if (rows_note)
    g_string_append_printf (out, "row sums:  %d of %d rows off 1 by more than %g (worst: layer %d, head %d, row %d "
                            "sums to %.4g): scores, not probabilities?\n", self->n_rows_off, self->n_rows,
                            ATTNVIZ_SESSION_ROW_SUM_TOL, self->worst_layer, self->worst_head, self->worst_row,
                            self->worst_sum);
  else
    g_string_append_printf (out, "row sums:  all %d rows sum to 1 (within %g)\n", self->n_rows,
                            ATTNVIZ_SESSION_ROW_SUM_TOL);
  return g_string_free (out, FALSE);
}

static gboolean
same_labels (char **a, char **b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

gboolean
attnviz_session_same_tokens (const AttnvizSession *a, const AttnvizSession *b)
{
  const AttnvizRecording *ra = a->rec, *rb = b->rec;
  return ra->T == rb->T && ra->S == rb->S && memcmp (ra->ids, rb->ids, sizeof (gint32) * ra->T) == 0
         && (ra->S == 0 || memcmp (ra->src_ids, rb->src_ids, sizeof (gint32) * ra->S) == 0)
         && same_labels (a->token_texts, b->token_texts) && same_labels (a->source_texts, b->source_texts);
}

gboolean
attnviz_session_save (const AttnvizSession *self, AttnvizDumpFormat format, const char *path, GError **error)
{
  if (self->rec->attention == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: a dump holds square self-attention; this "
                   "session's attention is %d x %d (target x source)", path, self->rec->T, self->rec->S);
      return FALSE;
    }
  if (!attnviz_dump_check_output (format, path, error))
    return FALSE;
  AttnvizDumpInfo info = {
    .model_path = self->model_path ? self->model_path : "",
    .architecture = self->architecture,
    .model_type = self->model_type,
    .variant = self->rec->variant,
    .tokens = self->tokens,
    .token_texts = self->token_texts,
    .source_tokens = self->source_tokens,
    .source_texts = self->source_texts,
  };
  AttnvizDumpOptions options = ATTNVIZ_DUMP_OPTIONS_INIT;
  options.format = format;
  return attnviz_dump_write (self->rec, &info, &options, path, error);
}
