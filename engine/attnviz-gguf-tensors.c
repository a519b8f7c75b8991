/* attnviz-gguf-tensors.c: a GGUF file's tensor infos, read and placed
 *
 * Each tensor info (name, dimensions, type, offset) as the reader takes it,
 * checked against the layout attnviz-gguf.c documents: a known type, a
 * shape whose element count fits and whose rows fill whole blocks, an
 * aligned offset; then every tensor placed inside the data section, in
 * offset order, with no two overlapping.
 */
#define G_LOG_DOMAIN "attnviz-gguf"
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "attnviz-fileutil.h"
#include "attnviz-gguf-private.h"
#include "attnviz-quant.h"

/* ---- tensor infos ------------------------------------------------------ */

gboolean
_attnviz_gguf_take_tensor (AttnvizGguf *self, Reader *r, guint64 i)
{
  r->where = AT_TENSOR_N;
  r->index = i;
  AttnvizGgufTensor t = { 0 };
  char *name;
  if (!_attnviz_gguf_take_name (r, &name, "the name"))
    return FALSE;
  t.name = name;
  g_array_append_val (self->tensors, t);
  AttnvizGgufTensor *at = &g_array_index (self->tensors, AttnvizGgufTensor,
                                          self->tensors->len - 1);
  r->where = AT_TENSOR;
  r->name = name;

  guint first = GPOINTER_TO_UINT (g_hash_table_lookup (self->tensor_index, name));
  if (first != 0)
    return _attnviz_gguf_fail (r, INVALID, "appears twice (tensors %u and %" G_GUINT64_FORMAT ")",
                 first - 1, i);

  guint32 n_dims;
  if (!_attnviz_gguf_take_u32 (r, &n_dims, "the dimension count"))
    return FALSE;
  if (n_dims < 1 || n_dims > ATTNVIZ_GGUF_MAX_DIMS)
    return _attnviz_gguf_fail (r, INVALID, "%u dimensions (1 to %d allowed)", n_dims, ATTNVIZ_GGUF_MAX_DIMS);
  at->n_dims = (int) n_dims;
  for (int d = 0; d < ATTNVIZ_GGUF_MAX_DIMS; d++)
    {
      at->ne[d] = 1;
      if (d >= (int) n_dims)
        continue;
      guint64 ne;
      if (!_attnviz_gguf_take_u64 (r, &ne, "a dimension"))
        return FALSE;
      if (ne > G_MAXINT64)
        return _attnviz_gguf_fail (r, INVALID, "dimension %d is negative (%" G_GINT64_FORMAT ")", d,
                     (gint64) ne);
      at->ne[d] = (gint64) ne;
    }

  guint32 type;
  guint64 offset;
  if (!_attnviz_gguf_take_u32 (r, &type, "the type") || !_attnviz_gguf_take_u64 (r, &offset, "the offset"))
    return FALSE;
  const char *type_name;
  int block_size;
  gsize block_bytes;
  if (!attnviz_weight_type_known (type, &type_name, &block_size, &block_bytes))
    return _attnviz_gguf_fail (r, INVALID, "unknown type id %u", type);
  at->type = type;
  at->offset = offset;

  guint64 rows, n_elements, n_bytes;
  if (!g_uint64_checked_mul (&rows, (guint64) at->ne[1], (guint64) at->ne[2])
      || !g_uint64_checked_mul (&rows, rows, (guint64) at->ne[3])
      || rows > G_MAXINT64
      || !g_uint64_checked_mul (&n_elements, (guint64) at->ne[0], rows)
      || n_elements > G_MAXINT64)
    {
      g_autofree char *shape = attnviz_shape_string (at->ne, at->n_dims);
      return _attnviz_gguf_fail (r, INVALID, "shape %s holds 2^63 values or more", shape);
    }
  at->n_elements = (gint64) n_elements;
  if (at->ne[0] % block_size != 0)
    return _attnviz_gguf_fail (r, INVALID, "%" G_GINT64_FORMAT " values per row is not a multiple of the "
                 "%s block size %d", at->ne[0], type_name, block_size);
  if (!attnviz_weight_row_bytes ((AttnvizWeightType) type, at->ne[0], &at->row_bytes)
      || !g_uint64_checked_mul (&n_bytes, rows, at->row_bytes)
      || n_bytes > G_MAXSIZE)
    {
      g_autofree char *shape = attnviz_shape_string (at->ne, at->n_dims);
      return _attnviz_gguf_fail (r, INVALID, "shape %s in %s takes 2^64 bytes or more", shape, type_name);
    }
  at->n_bytes = (gsize) n_bytes;
  if (offset % self->alignment != 0)
    return _attnviz_gguf_fail (r, INVALID, "offset %" G_GUINT64_FORMAT " is not a multiple of the "
                 "alignment %u", offset, self->alignment);

  g_hash_table_insert (self->tensor_index, name, GUINT_TO_POINTER (self->tensors->len));
  return TRUE;
}

static int
by_offset (gconstpointer a, gconstpointer b, gpointer data)
{
  const AttnvizGgufTensor *t = data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  if (t[i].offset != t[j].offset)
    return t[i].offset < t[j].offset ? -1 : 1;
  return i < j ? -1 : i > j ? 1 : 0;
}

/* Places every tensor in the data section and refuses overlaps. */
gboolean
_attnviz_gguf_place_tensors (AttnvizGguf *self, Reader *r)
{
  AttnvizGgufTensor *t = (AttnvizGgufTensor *) (void *) self->tensors->data;
  guint n = self->tensors->len;

  for (guint i = 0; i < n; i++)
    {
      r->where = AT_TENSOR;
      r->name = t[i].name;
      if (t[i].offset > self->data_size || t[i].n_bytes > self->data_size - t[i].offset)
        {
          /* Plain words first: almost always an interrupted download. */
          /* How much is missing: up to the end of the furthest tensor. */
          guint64 end = 0;
          for (guint k = 0; k < n; k++)
            {
              guint64 e = t[k].offset > G_MAXUINT64 - t[k].n_bytes ? G_MAXUINT64 : t[k].offset + t[k].n_bytes;
              end = MAX (end, e);
            }
          g_autofree char *missing = g_format_size (end - self->data_size);
          g_autofree char *quoted = attnviz_gguf_escape (r->name, strlen (r->name), MESSAGE_NAME_CHARS);
          r->where = AT_HEADER;
          if (t[i].offset > self->data_size)
            return _attnviz_gguf_fail (r, INVALID, "the file is truncated (at least %s missing; an interrupted download?): "
                         "tensor \"%s\": offset %" G_GUINT64_FORMAT " runs past the end of the %zu-byte "
                         "data section", missing, quoted, t[i].offset, self->data_size);
          return _attnviz_gguf_fail (r, INVALID, "the file is truncated (at least %s missing; an interrupted download?): "
                       "tensor \"%s\": its %zu bytes at offset %" G_GUINT64_FORMAT " run past the end of "
                       "the %zu-byte data section", missing, quoted, t[i].n_bytes, t[i].offset, self->data_size);
        }
      t[i].data = self->base + self->data_offset + t[i].offset;
    }

  g_autoptr(GArray) order = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  for (guint i = 0; i < n; i++)
    if (t[i].n_bytes > 0)
      g_array_append_val (order, i);
  g_array_sort_with_data (order, by_offset, t);
  for (guint k = 1; k < order->len; k++)
    {
      const AttnvizGgufTensor *prev = &t[g_array_index (order, guint, k - 1)];
      const AttnvizGgufTensor *cur = &t[g_array_index (order, guint, k)];
      if (prev->offset + prev->n_bytes > cur->offset)
        {
          g_autofree char *quoted = attnviz_gguf_escape (prev->name, strlen (prev->name),
                                                         MESSAGE_NAME_CHARS);
          r->name = cur->name;
          return _attnviz_gguf_fail (r, INVALID, "bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                       " of the data section overlap tensor \"%s\" (bytes %" G_GUINT64_FORMAT
                       " to %" G_GUINT64_FORMAT ")", cur->offset, cur->offset + cur->n_bytes,
                       quoted, prev->offset, prev->offset + prev->n_bytes);
        }
    }
  return TRUE;
}
