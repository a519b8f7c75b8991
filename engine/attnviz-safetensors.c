#define G_LOG_DOMAIN "attnviz-safetensors"
#include "config.h"

/* The safetensors format, as this reader checks it
 * (https://huggingface.co/docs/safetensors):
 *
 *   offset 0, 8 bytes   N: u64 little-endian, the header length in bytes.
 *                       Refused when the file is shorter than 8 bytes, when
 *                       N > 100 MB (no real header comes close: a 70B model
 *                       lists ~1000 tensors in ~100 KB) or when 8 + N runs
 *                       past the end of the file.
 *   offset 8, N bytes   the header: a UTF-8 JSON object, possibly padded at
 *                       the end with spaces so the data starts 8-aligned.
 *                       Read by attnviz_json_parse (attnviz-json.h): no NUL
 *                       bytes, strict JSON (no comments), nesting at most
 *                       ATTNVIZ_JSON_MAX_DEPTH deep (json-glib recurses, so
 *                       deeper input would overflow the stack), integers
 *                       within 64 bits.  Each member is either
 *     "__metadata__": {"key": "value", ...}
 *                       free-form strings (format, producer...); every value
 *                       must be a string.
 *     "<tensor name>": {
 *       "dtype":        one of F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL
 *                       (anything else, e.g. F8_E4M3, is refused by name);
 *       "shape":        [d0, d1, ...]: 0 to ATTNVIZ_MAX_DIMS non-negative
 *                       integers, row-major, [] for a scalar; the product
 *                       times the dtype size must fit in 63 bits;
 *       "data_offsets": [begin, end]: two integers, byte offsets relative to
 *                       the start of the data, begin <= end <= data length,
 *                       end - begin == n_elements * dtype size.
 *     }                 Other members of a tensor entry are ignored.
 *   offset 8 + N        the data: tensors little-endian, packed, in any
 *                       order, no two overlapping (empty tensors excepted).
 *                       Nothing promises alignment, so readers memcpy.
 *
 * A sharded checkpoint adds `model.safetensors.index.json`:
 *   {"metadata": {...}, "weight_map": {"<tensor name>": "<shard file>", ...}}
 * with shard files named relative to the index's folder.  Every shard named
 * is opened and must hold every tensor the weight_map assigns to it; the
 * tensors of all shards are presented as one list.
 *
 * Tensors are listed shard by shard in data order (by begin offset), which
 * for files from attnviz_safetensors_write is the order they were written.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "attnviz-fileutil.h"
#include "attnviz-quant-private.h"
#include "attnviz-json.h"
#include "attnviz-safetensors.h"
#include "attnviz-safetensors-private.h"

#define MAX_HEADER_BYTES (100 * 1000 * 1000)

struct _AttnvizSafetensors {
  char *path;
  GPtrArray *mappings;      /* GMappedFile*, one per shard; empty for open_bytes */
  GPtrArray *files;         /* char*, the shard paths AttnvizTensorInfo.file points into */
  GArray *tensors;          /* AttnvizTensorInfo, in data order, shard by shard */
  GHashTable *by_name;      /* name -> index + 1 into tensors (0 means absent) */
  GHashTable *metadata;     /* char* -> char*, __metadata__ of every shard */
};

/* ---- errors ------------------------------------------------------------ */

static gboolean G_GNUC_PRINTF (3, 4)
set_invalid (GError **error, const char *file, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *problem = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", file, problem);
  return FALSE;
}

static gboolean G_GNUC_PRINTF (4, 5)
set_tensor_invalid (GError **error, const char *file, const char *tensor, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *problem = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *quoted = attnviz_quote_name (tensor);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: tensor \"%s\": %s",
               file, quoted, problem);
  return FALSE;
}

/* ---- JSON helpers -------------------------------------------------------- */

/* A JSON integer (not a double, not a bool) that is >= 0. */
static gboolean
node_get_count (JsonNode *node, gint64 *out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = v;
  return TRUE;
}

static const char *
node_type_name (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a number";
    }
}

/* ---- parsing one image --------------------------------------------------- */

typedef struct {
  guint64 begin;
  guint64 end;
  guint index;  /* into the tensors being built */
} Span;

static int
span_compare (gconstpointer a, gconstpointer b)
{
  const Span *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static void
tensor_info_clear (gpointer p)
{
  AttnvizTensorInfo *info = p;
  g_free (info->name);
}

static gboolean
parse_tensor_entry (JsonNode *node,
                    const char *name,
                    const char *file,
                    guint64 data_len,
                    AttnvizTensorInfo *info,
                    Span *span,
                    GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return set_tensor_invalid (error, file, name, "entry is %s, not an object",
                               node_type_name (node));
  JsonObject *obj = json_node_get_object (node);

  JsonNode *dtype_node = json_object_get_member (obj, "dtype");
  if (dtype_node == NULL)
    return set_tensor_invalid (error, file, name, "dtype is missing");
  if (!JSON_NODE_HOLDS_VALUE (dtype_node) || json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    return set_tensor_invalid (error, file, name, "dtype is %s, not a string",
                               node_type_name (dtype_node));
  const char *dtype_str = json_node_get_string (dtype_node);
  if (!_attnviz_dtype_from_string (dtype_str, &info->dtype))
    {
      g_autofree char *quoted = attnviz_quote_name (dtype_str);
      return set_tensor_invalid (error, file, name, "unknown dtype \"%s\"", quoted);
    }

  JsonNode *shape_node = json_object_get_member (obj, "shape");
  if (shape_node == NULL)
    return set_tensor_invalid (error, file, name, "shape is missing");
  if (!JSON_NODE_HOLDS_ARRAY (shape_node))
    return set_tensor_invalid (error, file, name, "shape is %s, not an array",
                               node_type_name (shape_node));
  JsonArray *shape = json_node_get_array (shape_node);
  guint n_dims = json_array_get_length (shape);
  if (n_dims > ATTNVIZ_MAX_DIMS)
    return set_tensor_invalid (error, file, name, "shape has %u dimensions, more than %d",
                               n_dims, ATTNVIZ_MAX_DIMS);
  info->n_dims = (int) n_dims;
  guint64 n_elements = 1;
  gboolean overflow = FALSE;
  for (guint i = 0; i < n_dims; i++)
    {
      gint64 d;
      if (!node_get_count (json_array_get_element (shape, i), &d))
        return set_tensor_invalid (error, file, name,
                                   "shape entry %u is not a non-negative integer", i);
      info->shape[i] = d;
      if (!g_uint64_checked_mul (&n_elements, n_elements, (guint64) d))
        overflow = TRUE;
    }
  g_autofree char *shape_str = attnviz_shape_string (info->shape, info->n_dims);
  guint64 n_bytes = 0;
  gsize elsize = attnviz_dtype_size (info->dtype);
  if (overflow || !g_uint64_checked_mul (&n_bytes, n_elements, elsize)
      || n_bytes > G_MAXINT64 || n_bytes > G_MAXSIZE)
    return set_tensor_invalid (error, file, name, "shape %s has too many elements", shape_str);
  info->n_elements = (gint64) n_elements;
  info->n_bytes = (gsize) n_bytes;

  JsonNode *off_node = json_object_get_member (obj, "data_offsets");
  if (off_node == NULL)
    return set_tensor_invalid (error, file, name, "data_offsets is missing");
  gint64 begin, end;
  if (!JSON_NODE_HOLDS_ARRAY (off_node)
      || json_array_get_length (json_node_get_array (off_node)) != 2
      || !node_get_count (json_array_get_element (json_node_get_array (off_node), 0), &begin)
      || !node_get_count (json_array_get_element (json_node_get_array (off_node), 1), &end))
    return set_tensor_invalid (error, file, name,
                               "data_offsets is not two non-negative integers [begin, end]");
  if (begin > end)
    return set_tensor_invalid (error, file, name,
                               "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] "
                               "begin after end", begin, end);
  if ((guint64) end > data_len)
    {
      /* Plain words first: almost always an interrupted download. */
      g_autofree char *missing = g_format_size ((guint64) end - data_len);
      g_autofree char *quoted = attnviz_quote_name (name);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the file is truncated (at least %s missing; an interrupted download?): tensor \"%s\": "
                   "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] end past the %" G_GUINT64_FORMAT
                   " bytes of data", file, missing, quoted, begin, end, data_len);
      return FALSE;
    }
  if ((guint64) (end - begin) != n_bytes)
    return set_tensor_invalid (error, file, name,
                               "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] "
                               "hold %" G_GINT64_FORMAT " bytes but shape %s of %s needs "
                               "%" G_GUINT64_FORMAT, begin, end, end - begin, shape_str,
                               dtype_str, n_bytes);
  span->begin = (guint64) begin;
  span->end = (guint64) end;
  return TRUE;
}

static gboolean
parse_metadata (JsonNode *node, const char *file, GHashTable *metadata, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return set_invalid (error, file, "__metadata__ is %s, not an object", node_type_name (node));
  JsonObject *obj = json_node_get_object (node);
  g_autoptr(GList) keys = json_object_get_members (obj);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (obj, l->data);
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_autofree char *quoted = attnviz_quote_name (l->data);
          return set_invalid (error, file, "__metadata__ \"%s\" is %s, not a string",
                              quoted, node_type_name (value));
        }
      if (!g_hash_table_contains (metadata, l->data))
        g_hash_table_insert (metadata, g_strdup (l->data), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

/* Parses one safetensors image and appends its tensors, in data order, to
 * SELF.  FILE names it in errors and becomes AttnvizTensorInfo.file (it must
 * outlive SELF). */
static gboolean
parse_image (AttnvizSafetensors *self,
             const guint8 *data,
             gsize size,
             const char *file,
             GError **error)
{
  if (size < 8)
    return set_invalid (error, file, "%zu bytes is too short for a safetensors file "
                        "(the header length alone takes 8)", size);

  guint64 header_len;
  memcpy (&header_len, data, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > MAX_HEADER_BYTES)
    return set_invalid (error, file, "header length %" G_GUINT64_FORMAT " is absurd "
                        "(more than %d bytes)", header_len, MAX_HEADER_BYTES);
  if (header_len > size - 8)
    return set_invalid (error, file, "the file is truncated (or not safetensors): header length %" G_GUINT64_FORMAT
                        " runs past the end of the %zu-byte file", header_len, size);

  const char *header = (const char *) data + 8;
  const guint8 *base = data + 8 + header_len;
  guint64 data_len = size - 8 - header_len;

  g_autoptr(JsonNode) root = attnviz_json_parse (header, (gsize) header_len, ATTNVIZ_JSON_SAFETENSORS_HEADER,
                                                 file, error);
  if (root == NULL)
    return FALSE;

  JsonObject *obj = json_node_get_object (root);
  g_autoptr(GList) names = json_object_get_members (obj);
  g_autoptr(GArray) infos = g_array_new (FALSE, TRUE, sizeof (AttnvizTensorInfo));
  g_array_set_clear_func (infos, tensor_info_clear);
  g_autoptr(GArray) spans = g_array_new (FALSE, TRUE, sizeof (Span));

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (obj, name);

      if (strcmp (name, "__metadata__") == 0)
        {
          if (!parse_metadata (node, file, self->metadata, error))
            return FALSE;
          continue;
        }

      AttnvizTensorInfo info = { 0 };
      Span span = { 0 };
      if (!parse_tensor_entry (node, name, file, data_len, &info, &span, error))
        return FALSE;
      info.name = g_strdup (name);
      info.file = file;
      info.data = base + span.begin;
      span.index = infos->len;
      g_array_append_val (infos, info);
      g_array_append_val (spans, span);
    }

  /* In begin order, a non-empty tensor overlaps an earlier one exactly when
   * it starts before the furthest end seen so far. */
  g_array_sort (spans, span_compare);
  const Span *furthest = NULL;
  for (guint i = 0; i < spans->len; i++)
    {
      const Span *s = &g_array_index (spans, Span, i);
      if (s->begin == s->end)
        continue;
      if (furthest != NULL && s->begin < furthest->end)
        {
          const AttnvizTensorInfo *a = &g_array_index (infos, AttnvizTensorInfo, furthest->index);
          const AttnvizTensorInfo *b = &g_array_index (infos, AttnvizTensorInfo, s->index);
          g_autofree char *qa = attnviz_quote_name (a->name);
          return set_tensor_invalid (error, file, b->name,
                                     "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                                     "] overlap tensor \"%s\" at [%" G_GUINT64_FORMAT
                                     ", %" G_GUINT64_FORMAT "]",
                                     s->begin, s->end, qa, furthest->begin, furthest->end);
        }
      if (furthest == NULL || s->end > furthest->end)
        furthest = s;
    }

  /* Names are unique within a JSON object (json-glib keeps the last of
   * duplicates), but two shards may both claim a name. */
  for (guint i = 0; i < spans->len; i++)
    {
      AttnvizTensorInfo *info = &g_array_index (infos, AttnvizTensorInfo,
                                                g_array_index (spans, Span, i).index);
      if (g_hash_table_contains (self->by_name, info->name))
        {
          guint prev = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_name, info->name)) - 1;
          const char *other = g_array_index (self->tensors, AttnvizTensorInfo, prev).file;
          return set_tensor_invalid (error, file, info->name, "also in %s", other);
        }
      AttnvizTensorInfo moved = *info;
      info->name = NULL;  /* now owned by self->tensors */
      g_array_append_val (self->tensors, moved);
      g_hash_table_insert (self->by_name, moved.name, GUINT_TO_POINTER (self->tensors->len));
    }
  return TRUE;
}

/* ---- opening -------------------------------------------------------------- */

static AttnvizSafetensors *
safetensors_new (const char *path)
{
  AttnvizSafetensors *self = g_new0 (AttnvizSafetensors, 1);
  self->path = g_strdup (path);
  self->mappings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_mapped_file_unref);
  self->files = g_ptr_array_new_with_free_func (g_free);
  self->tensors = g_array_new (FALSE, TRUE, sizeof (AttnvizTensorInfo));
  g_array_set_clear_func (self->tensors, tensor_info_clear);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
attnviz_safetensors_free (AttnvizSafetensors *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->by_name);
  g_hash_table_unref (self->metadata);
  g_array_unref (self->tensors);
  g_ptr_array_unref (self->files);
  g_ptr_array_unref (self->mappings);
  g_free (self->path);
  g_free (self);
}


AttnvizSafetensors *
attnviz_safetensors_open_bytes (const guint8 *data,
                                gsize size,
                                const char *filename,
                                GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (filename == NULL)
    filename = "<memory>";
  g_autoptr(AttnvizSafetensors) self = safetensors_new (filename);
  if (!parse_image (self, data, size, self->path, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* Maps FILE (owned by SELF->files from here on) and parses it. */
static gboolean
open_shard (AttnvizSafetensors *self, char *file, const char *what, GError **error)
{
  g_ptr_array_add (self->files, file);

  /* Only a regular file: a FIFO would block, /dev/zero would map. */
  GError *local = NULL;
  GMappedFile *mapped = attnviz_map_regular (file, &local);
  if (mapped == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s does not exist", file, what);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      g_clear_error (&local);
      return FALSE;
    }
  g_ptr_array_add (self->mappings, mapped);
  return parse_image (self, (const guint8 *) g_mapped_file_get_contents (mapped),
                      g_mapped_file_get_length (mapped), file, error);
}

/* A weight_map value must name a file beside the index, or below it. */
static gboolean
shard_name_ok (const char *name)
{
  if (name[0] == '\0' || g_path_is_absolute (name))
    return FALSE;
  g_auto(GStrv) parts = g_strsplit_set (name, "/\\", -1);
  for (char **p = parts; *p != NULL; p++)
    if (strcmp (*p, "..") == 0)
      return FALSE;
  return TRUE;
}

static gboolean
open_index (AttnvizSafetensors *self, const char *path, GError **error)
{
  g_autoptr(JsonNode) root = attnviz_json_load (path, ATTNVIZ_JSON_INDEX, error);
  if (root == NULL)
    return FALSE;
  JsonNode *map_node = json_object_get_member (json_node_get_object (root), "weight_map");
  if (map_node == NULL)
    return set_invalid (error, path, "weight_map is missing");
  if (!JSON_NODE_HOLDS_OBJECT (map_node))
    return set_invalid (error, path, "weight_map is %s, not an object",
                        node_type_name (map_node));
  JsonObject *map = json_node_get_object (map_node);
  g_autoptr(GList) names = json_object_get_members (map);
  if (names == NULL)
    return set_invalid (error, path, "weight_map lists no tensors");

  /* Every shard once, in order of first mention. */
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GHashTable) opened = g_hash_table_new (g_str_hash, g_str_equal);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (map, l->data);
      g_autofree char *quoted = attnviz_quote_name (l->data);
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return set_invalid (error, path, "weight_map \"%s\" is %s, not a file name",
                            quoted, node_type_name (value));
      const char *shard = json_node_get_string (value);
      g_autofree char *qshard = attnviz_quote_name (shard);
      if (!shard_name_ok (shard))
        return set_invalid (error, path, "weight_map \"%s\": shard \"%s\" is not a file "
                            "beside the index", quoted, qshard);
      if (g_hash_table_contains (opened, shard))
        continue;
      g_hash_table_add (opened, (gpointer) shard);

      g_autofree char *what = g_strdup_printf ("shard \"%s\" named by %s", qshard, path);
      if (!open_shard (self, g_build_filename (dir, shard, NULL), what, error))
        return FALSE;
    }

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *shard = json_node_get_string (json_object_get_member (map, l->data));
      const AttnvizTensorInfo *info = attnviz_safetensors_lookup (self, l->data);
      g_autofree char *shard_path = g_build_filename (dir, shard, NULL);
      if (info == NULL || strcmp (info->file, shard_path) != 0)
        {
          g_autofree char *quoted = attnviz_quote_name (l->data);
          g_autofree char *qshard = attnviz_quote_name (shard);
          return set_invalid (error, path, "tensor \"%s\": weight_map puts it in \"%s\", "
                              "which has no such tensor", quoted, qshard);
        }
    }
  return TRUE;
}

AttnvizSafetensors *
attnviz_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(AttnvizSafetensors) self = safetensors_new (path);
  gboolean ok;
  if (g_str_has_suffix (path, ".index.json"))
    ok = open_index (self, path, error);
  else
    ok = open_shard (self, g_strdup (path), "the file", error);
  if (!ok)
    return NULL;
  return g_steal_pointer (&self);
}

const char *
attnviz_safetensors_get_path (const AttnvizSafetensors *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

guint
attnviz_safetensors_get_n_tensors (const AttnvizSafetensors *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->tensors->len;
}

const AttnvizTensorInfo *
attnviz_safetensors_get_nth (const AttnvizSafetensors *self, guint i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->tensors->len, NULL);
  return &g_array_index (self->tensors, AttnvizTensorInfo, i);
}

const AttnvizTensorInfo *
attnviz_safetensors_lookup (const AttnvizSafetensors *self, const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  guint i = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_name, name));
  if (i == 0)
    return NULL;
  return &g_array_index (self->tensors, AttnvizTensorInfo, i - 1);
}

const char *
attnviz_safetensors_get_metadata (const AttnvizSafetensors *self, const char *key)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (self->metadata, key);
}
