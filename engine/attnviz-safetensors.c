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

#define MAX_HEADER_BYTES (100 * 1000 * 1000)

struct _AttnvizSafetensors {
  char *path;
  GPtrArray *mappings;      /* GMappedFile*, one per shard; empty for open_bytes */
  GPtrArray *files;         /* char*, the shard paths AttnvizTensorInfo.file points into */
  GArray *tensors;          /* AttnvizTensorInfo, in data order, shard by shard */
  GHashTable *by_name;      /* name -> index + 1 into tensors (0 means absent) */
  GHashTable *metadata;     /* char* -> char*, __metadata__ of every shard */
};

static const struct {
  const char *name;
  gsize size;
} dtype_table[] = {
  [ATTNVIZ_DTYPE_F32] = { "F32", 4 },
  [ATTNVIZ_DTYPE_F16] = { "F16", 2 },
  [ATTNVIZ_DTYPE_BF16] = { "BF16", 2 },
  [ATTNVIZ_DTYPE_F64] = { "F64", 8 },
  [ATTNVIZ_DTYPE_I64] = { "I64", 8 },
  [ATTNVIZ_DTYPE_I32] = { "I32", 4 },
  [ATTNVIZ_DTYPE_I16] = { "I16", 2 },
  [ATTNVIZ_DTYPE_I8] = { "I8", 1 },
  [ATTNVIZ_DTYPE_U8] = { "U8", 1 },
  [ATTNVIZ_DTYPE_BOOL] = { "BOOL", 1 },
};

const char *
attnviz_dtype_to_string (AttnvizDtype dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_table), "invalid");
  return dtype_table[dtype].name;
}

gsize
attnviz_dtype_size (AttnvizDtype dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_table), 0);
  return dtype_table[dtype].size;
}

static gboolean
dtype_from_string (const char *s, AttnvizDtype *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    if (strcmp (s, dtype_table[i].name) == 0)
      {
        *out = (AttnvizDtype) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- half-precision conversions ---------------------------------------- */

static inline float
f32_from_bits (guint32 bits)
{
  return attnviz_quant_float_from_bits (bits);
}

static inline guint32
f32_to_bits (float f)
{
  return attnviz_quant_float_to_bits (f);
}

/* IEEE binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits;
 * the weight kernels' exact conversion (attnviz-quant-private.h). */
float
attnviz_f16_to_f32 (guint16 h)
{
  return attnviz_quant_half_to_float (h);
}

/* bfloat16 is the top half of a float32. */
float
attnviz_bf16_to_f32 (guint16 h)
{
  return f32_from_bits ((guint32) h << 16);
}

guint16
attnviz_f32_to_f16 (float f)
{
  guint32 x = f32_to_bits (f);
  guint16 sign = (guint16) ((x >> 16) & 0x8000);
  guint32 abs = x & 0x7fffffff;

  if (abs > 0x7f800000)  /* NaN: keep the top payload bits, stay a NaN */
    return sign | 0x7e00 | ((abs >> 13) & 0x3ff);
  if (abs >= 0x47800000)  /* >= 65536 (and inf): past the rounding of 65504 */
    return sign | 0x7c00;

  guint32 e = abs >> 23;
  if (e >= 113)  /* >= 2^-14: a half normal; rounding may carry up to inf */
    {
      guint32 h = ((e - 112) << 10) | ((abs >> 13) & 0x3ff);
      guint32 rem = abs & 0x1fff;
      if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
      return sign | (guint16) h;
    }
  if (e < 102)  /* below 2^-25: rounds to zero */
    return sign;

  /* Half subnormal: the value in units of 2^-24 is m * 2^(e - 126), with
   * m the 24-bit significand; shift 14..24 bits off, round to even.  A carry
   * to 0x400 is exactly the smallest normal. */
  guint32 m = (abs & 0x7fffff) | 0x800000;
  guint32 shift = 126 - e;
  guint32 h = m >> shift;
  guint32 rem = m & ((1u << shift) - 1);
  guint32 half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1)))
    h++;
  return sign | (guint16) h;
}

void
attnviz_tensor_to_f32 (const AttnvizTensorInfo *info, float *out)
{
  g_return_if_fail (info != NULL);
  g_return_if_fail (out != NULL || info->n_elements == 0);

  const guint8 *p = info->data;
  gsize n = (gsize) info->n_elements;

  /* The data has no alignment promise: read every element with memcpy. */
  switch (info->dtype)
    {
    case ATTNVIZ_DTYPE_F32:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      if (n > 0)
        memcpy (out, p, n * sizeof (float));
#else
      for (gsize i = 0; i < n; i++)
        {
          guint32 v;
          memcpy (&v, p + 4 * i, 4);
          out[i] = f32_from_bits (GUINT32_FROM_LE (v));
        }
#endif
      break;
    case ATTNVIZ_DTYPE_F16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 v;
          memcpy (&v, p + 2 * i, 2);
          out[i] = attnviz_f16_to_f32 (GUINT16_FROM_LE (v));
        }
      break;
    case ATTNVIZ_DTYPE_BF16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 v;
          memcpy (&v, p + 2 * i, 2);
          out[i] = attnviz_bf16_to_f32 (GUINT16_FROM_LE (v));
        }
      break;
    case ATTNVIZ_DTYPE_F64:
      for (gsize i = 0; i < n; i++)
        {
          guint64 v;
          double d;
          memcpy (&v, p + 8 * i, 8);
          v = GUINT64_FROM_LE (v);
          memcpy (&d, &v, 8);
          out[i] = (float) d;
        }
      break;
    case ATTNVIZ_DTYPE_I64:
    case ATTNVIZ_DTYPE_I32:
    case ATTNVIZ_DTYPE_I16:
    case ATTNVIZ_DTYPE_I8:
    case ATTNVIZ_DTYPE_U8:
    case ATTNVIZ_DTYPE_BOOL:
    default:
      g_return_if_reached ();
    }
}

/* ---- errors ------------------------------------------------------------ */

/* A name from the file, made fit for a one-line message: control characters
 * and quotes escaped, UTF-8 left readable. */
static char *
quote_name (const char *name)
{
  char high[129];

  for (int i = 0; i < 128; i++)
    high[i] = (char) (0x80 + i);
  high[128] = '\0';
  return g_strescape (name, high);
}

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
  g_autofree char *quoted = quote_name (tensor);
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

static char *
format_shape (const gint64 *shape, int n_dims)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
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
  if (!dtype_from_string (dtype_str, &info->dtype))
    {
      g_autofree char *quoted = quote_name (dtype_str);
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
  g_autofree char *shape_str = format_shape (info->shape, info->n_dims);
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
      g_autofree char *quoted = quote_name (name);
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
          g_autofree char *quoted = quote_name (l->data);
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
          g_autofree char *qa = quote_name (a->name);
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizSafetensors, attnviz_safetensors_free)

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
      g_autofree char *quoted = quote_name (l->data);
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return set_invalid (error, path, "weight_map \"%s\" is %s, not a file name",
                            quoted, node_type_name (value));
      const char *shard = json_node_get_string (value);
      g_autofree char *qshard = quote_name (shard);
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
          g_autofree char *quoted = quote_name (l->data);
          g_autofree char *qshard = quote_name (shard);
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

/* ---- writing ------------------------------------------------------------- */

static int
compare_strings (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* S as a JSON string literal, escaped as every attnviz output is. */
static void
append_json_string (GString *out, const char *s)
{
  g_autofree char *text = attnviz_json_quote (s);
  g_string_append (out, text);
}

/* The header of TENSORS and METADATA into HEADER, padded with spaces to
 * a multiple of 8 at least MIN_LEN long, and each tensor's byte count into
 * SIZES (n_tensors). */
static gboolean
build_header (const char *path, const AttnvizTensorOut *tensors, guint n_tensors, GHashTable *metadata,
              gsize min_len, GString *header, guint64 *sizes, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 offset = 0;

  g_string_assign (header, "{");
  if (metadata != NULL && g_hash_table_size (metadata) > 0)
    {
      /* Sorted, so the same input always gives the same bytes. */
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, NULL);
      guint n_keys = g_hash_table_size (metadata);
      g_qsort_with_data (keys, n_keys, sizeof (gpointer), compare_strings, NULL);
      g_string_append (header, "\"__metadata__\":{");
      for (guint i = 0; i < n_keys; i++)
        {
          if (i > 0)
            g_string_append_c (header, ',');
          append_json_string (header, keys[i]);
          g_string_append_c (header, ':');
          append_json_string (header, g_hash_table_lookup (metadata, keys[i]));
        }
      g_string_append_c (header, '}');
    }

  for (guint t = 0; t < n_tensors; t++)
    {
      const AttnvizTensorOut *tensor = &tensors[t];
      g_return_val_if_fail (tensor->name != NULL, FALSE);
      g_return_val_if_fail ((guint) tensor->dtype < G_N_ELEMENTS (dtype_table), FALSE);
      g_return_val_if_fail (tensor->n_dims >= 0 && tensor->n_dims <= ATTNVIZ_MAX_DIMS, FALSE);

      g_autofree char *quoted = quote_name (tensor->name);
      if (strcmp (tensor->name, "__metadata__") == 0 || g_hash_table_contains (seen, tensor->name))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s: tensor \"%s\": the name is %s", path, quoted,
                       strcmp (tensor->name, "__metadata__") == 0 ? "reserved" : "used twice");
          return FALSE;
        }
      g_hash_table_add (seen, (gpointer) tensor->name);

      guint64 n = 1;
      gboolean overflow = FALSE;
      for (int d = 0; d < tensor->n_dims; d++)
        if (tensor->shape[d] < 0 || !g_uint64_checked_mul (&n, n, (guint64) tensor->shape[d]))
          overflow = TRUE;
      guint64 n_bytes = 0;
      if (overflow || !g_uint64_checked_mul (&n_bytes, n, attnviz_dtype_size (tensor->dtype))
          || n_bytes > G_MAXSIZE || offset + n_bytes < offset)
        {
          g_autofree char *shape = format_shape (tensor->shape, tensor->n_dims);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s: tensor \"%s\": shape %s is negative or too large", path, quoted, shape);
          return FALSE;
        }
      sizes[t] = n_bytes;

      if (header->len > 1)
        g_string_append_c (header, ',');
      append_json_string (header, tensor->name);
      g_string_append_printf (header, ":{\"dtype\":\"%s\",\"shape\":[",
                              attnviz_dtype_to_string (tensor->dtype));
      for (int d = 0; d < tensor->n_dims; d++)
        g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d ? "," : "", tensor->shape[d]);
      g_string_append_printf (header, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%"
                              G_GUINT64_FORMAT "]}", offset, offset + n_bytes);
      offset += n_bytes;
    }
  g_string_append_c (header, '}');

  /* Pad with spaces so the data, at 8 + header->len, starts 8-aligned. */
  while (header->len < min_len || header->len % 8 != 0)
    g_string_append_c (header, ' ');
  return TRUE;
}

struct _AttnvizSafetensorsWriter {
  char *path;
  AttnvizAtomicFile *file;
  int fd;                     /* of the file: every write is a pwrite at its place */
  AttnvizTensorOut *tensors;  /* (n_tensors) the layout, data unused */
  guint n_tensors;
  guint64 *begin;             /* (n_tensors) where each tensor's bytes start, from the data's start */
  guint64 *size;              /* (n_tensors) how many there are */
  guint64 *written;           /* (n_tensors) how many were written */
  gsize header_len;           /* fixed once written: the data's offsets hang on it */
};

static void
writer_free (AttnvizSafetensorsWriter *self)
{
  g_free (self->path);
  g_free (self->tensors);
  g_free (self->begin);
  g_free (self->size);
  g_free (self->written);
  g_free (self);
}

static gboolean
writer_failed (AttnvizSafetensorsWriter *self, int saved, GError **error)
{
  saved = saved ? saved : EIO;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot write: %s", self->path,
               g_strerror (saved));
  return FALSE;
}

/* N bytes of DATA at OFFSET of the file, whatever pwrite () takes at once. */
static gboolean
write_at (AttnvizSafetensorsWriter *self, guint64 offset, const void *data, gsize n, GError **error)
{
  const guint8 *p = data;
  while (n > 0)
    {
      ssize_t k = pwrite (self->fd, p, MIN (n, (gsize) 1 << 30), (off_t) offset);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return writer_failed (self, k < 0 ? errno : EIO, error);
      p += k;
      n -= (gsize) k;
      offset += (guint64) k;
    }
  return TRUE;
}

AttnvizSafetensorsWriter *
attnviz_safetensors_writer_open (const char *path,
                                 const AttnvizTensorOut *tensors,
                                 guint n_tensors,
                                 GHashTable *metadata,
                                 gsize metadata_room,
                                 GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(GString) header = g_string_new (NULL);
  g_autofree guint64 *sizes = g_new0 (guint64, n_tensors + 1);
  if (!build_header (path, tensors, n_tensors, metadata, 0, header, sizes, error))
    return NULL;
  if (metadata_room > 0)
    {
      gsize want = header->len + metadata_room;
      while (header->len < want || header->len % 8 != 0)
        g_string_append_c (header, ' ');
    }

  AttnvizSafetensorsWriter *self = g_new0 (AttnvizSafetensorsWriter, 1);
  self->path = g_strdup (path);
  self->tensors = g_memdup2 (tensors, sizeof (AttnvizTensorOut) * MAX (n_tensors, 1));
  self->n_tensors = n_tensors;
  self->header_len = header->len;
  self->begin = g_new0 (guint64, n_tensors + 1);
  self->size = g_steal_pointer (&sizes);
  self->written = g_new0 (guint64, n_tensors + 1);
  for (guint t = 1; t < n_tensors; t++)
    self->begin[t] = self->begin[t - 1] + self->size[t - 1];

  self->file = attnviz_atomic_file_open (path, error);
  if (self->file == NULL)
    {
      writer_free (self);
      return NULL;
    }
  FILE *stream = attnviz_atomic_file_get_stream (self->file);
  if (fflush (stream) != 0)
    {
      writer_failed (self, errno, error);
      attnviz_safetensors_writer_abort (self);
      return NULL;
    }
  self->fd = fileno (stream);
  guint64 len_le = GUINT64_TO_LE ((guint64) header->len);
  if (!write_at (self, 0, &len_le, 8, error) || !write_at (self, 8, header->str, header->len, error))
    {
      attnviz_safetensors_writer_abort (self);
      return NULL;
    }
  return self;
}

gboolean
attnviz_safetensors_writer_write (AttnvizSafetensorsWriter *self, guint tensor, const void *data, gsize n_bytes,
                                  GError **error)
{
  g_return_val_if_fail (self != NULL && tensor < self->n_tensors, FALSE);
  g_return_val_if_fail (data != NULL || n_bytes == 0, FALSE);
  g_return_val_if_fail (n_bytes <= self->size[tensor] - self->written[tensor], FALSE);
  if (!write_at (self, 8 + self->header_len + self->begin[tensor] + self->written[tensor], data, n_bytes, error))
    return FALSE;
  self->written[tensor] += n_bytes;
  return TRUE;
}

gboolean
attnviz_safetensors_writer_set_metadata (AttnvizSafetensorsWriter *self, GHashTable *metadata, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_autoptr(GString) header = g_string_new (NULL);
  g_autofree guint64 *sizes = g_new0 (guint64, self->n_tensors + 1);
  if (!build_header (self->path, self->tensors, self->n_tensors, metadata, self->header_len, header, sizes, error))
    return FALSE;
  if (header->len != self->header_len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: the metadata (%" G_GSIZE_FORMAT " bytes of header) outgrew the room kept for it (%"
                   G_GSIZE_FORMAT ")", self->path, header->len, self->header_len);
      return FALSE;
    }
  return write_at (self, 8, header->str, header->len, error);
}

gboolean
attnviz_safetensors_writer_commit (AttnvizSafetensorsWriter *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  for (guint t = 0; t < self->n_tensors; t++)
    if (self->written[t] != self->size[t])
      {
        g_critical ("%s: tensor %s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes written", self->path,
                    self->tensors[t].name, self->written[t], self->size[t]);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: the tensors were not written whole", self->path);
        attnviz_safetensors_writer_abort (self);
        return FALSE;
      }
  gboolean ok = attnviz_atomic_file_commit (self->file, error);
  writer_free (self);
  return ok;
}

void
attnviz_safetensors_writer_abort (AttnvizSafetensorsWriter *self)
{
  if (self == NULL)
    return;
  attnviz_atomic_file_abort (self->file);
  writer_free (self);
}

gboolean
attnviz_safetensors_write (const char *path,
                           const AttnvizTensorOut *tensors,
                           guint n_tensors,
                           GHashTable *metadata,
                           GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  AttnvizSafetensorsWriter *w = attnviz_safetensors_writer_open (path, tensors, n_tensors, metadata, 0, error);
  if (w == NULL)
    return FALSE;
  for (guint t = 0; t < n_tensors; t++)
    {
      gsize n_bytes = 1;
      for (int d = 0; d < tensors[t].n_dims; d++)
        n_bytes *= (gsize) tensors[t].shape[d];
      n_bytes *= attnviz_dtype_size (tensors[t].dtype);
      if (n_bytes > 0 && tensors[t].data == NULL)
        {
          attnviz_safetensors_writer_abort (w);
          g_return_val_if_reached (FALSE);
        }
      if (!attnviz_safetensors_writer_write (w, t, tensors[t].data, n_bytes, error))
        {
          attnviz_safetensors_writer_abort (w);
          return FALSE;
        }
    }
  return attnviz_safetensors_writer_commit (w, error);
}
