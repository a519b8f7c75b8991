#define G_LOG_DOMAIN "attnviz-gguf"
#include "config.h"

/* GGUF metadata, as parsed and checked at open (attnviz-gguf.c): lookups,
 * typed reads with the file's own errors, and text for `attnviz info`. */

#include <string.h>
#include <gio/gio.h>

#include "attnviz-gguf-private.h"

static const struct {
  const char *name;
  gsize size;
} type_table[ATTNVIZ_GGUF_N_TYPES] = {
  [ATTNVIZ_GGUF_UINT8] = { "uint8", 1 },
  [ATTNVIZ_GGUF_INT8] = { "int8", 1 },
  [ATTNVIZ_GGUF_UINT16] = { "uint16", 2 },
  [ATTNVIZ_GGUF_INT16] = { "int16", 2 },
  [ATTNVIZ_GGUF_UINT32] = { "uint32", 4 },
  [ATTNVIZ_GGUF_INT32] = { "int32", 4 },
  [ATTNVIZ_GGUF_FLOAT32] = { "float32", 4 },
  [ATTNVIZ_GGUF_BOOL] = { "bool", 1 },
  [ATTNVIZ_GGUF_STRING] = { "string", 0 },
  [ATTNVIZ_GGUF_ARRAY] = { "array", 0 },
  [ATTNVIZ_GGUF_UINT64] = { "uint64", 8 },
  [ATTNVIZ_GGUF_INT64] = { "int64", 8 },
  [ATTNVIZ_GGUF_FLOAT64] = { "float64", 8 },
};

gsize
attnviz_gguf_type_size (guint32 type)
{
  return type < ATTNVIZ_GGUF_N_TYPES ? type_table[type].size : 0;
}

const char *
attnviz_gguf_type_name (guint32 type)
{
  return type < ATTNVIZ_GGUF_N_TYPES ? type_table[type].name : NULL;
}

gboolean
attnviz_gguf_name_ok (const char *s, gsize len)
{
  if (!g_utf8_validate (s, (gssize) len, NULL))
    return FALSE;
  for (const char *p = s; p < s + len; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c < 0x20 || (c >= 0x7f && c < 0xa0))
        return FALSE;
    }
  return TRUE;
}

char *
attnviz_gguf_escape (const char *s, gsize len, gsize max_chars)
{
  GString *out = g_string_sized_new (MIN (len, 256) + 8);
  const char *p = s, *end = s + len;
  gsize chars = 0;

  while (p < end)
    {
      if (max_chars > 0 && chars == max_chars)
        {
          g_string_append (out, "...");
          break;
        }
      chars++;
      /* -1: not UTF-8; -2: cut short, or a NUL byte. */
      gunichar c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      const char *next = g_utf8_next_char (p);
      GUnicodeType kind = g_unichar_type (c);
      if (c == '\\' || c == '"')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x80 && !g_ascii_isprint ((char) c))
        g_string_append_printf (out, "\\x%02x", c);
      else if (!g_unichar_isprint (c) || kind == G_UNICODE_LINE_SEPARATOR
               || kind == G_UNICODE_PARAGRAPH_SEPARATOR)
        g_string_append_printf (out, "\\u{%04x}", c);
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}

/* ---- lookups ------------------------------------------------------------ */

static const AttnvizGgufKv *
nth_kv (const AttnvizGguf *self, guint i)
{
  return &g_array_index (self->kvs, AttnvizGgufKv, i);
}

static const AttnvizGgufKv *
find_kv (const AttnvizGguf *self, const char *key)
{
  guint at = GPOINTER_TO_UINT (g_hash_table_lookup (self->kv_index, key));
  return at ? nth_kv (self, at - 1) : NULL;
}

guint
attnviz_gguf_get_n_kv (const AttnvizGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->kvs->len;
}

const char *
attnviz_gguf_get_key (const AttnvizGguf *self, guint i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->kvs->len, NULL);
  return nth_kv (self, i)->key;
}

AttnvizGgufType
attnviz_gguf_get_kv_type (const AttnvizGguf *self, guint i)
{
  g_return_val_if_fail (self != NULL, ATTNVIZ_GGUF_UINT8);
  g_return_val_if_fail (i < self->kvs->len, ATTNVIZ_GGUF_UINT8);
  return nth_kv (self, i)->type;
}

AttnvizGgufType
attnviz_gguf_get_array_type (const AttnvizGguf *self, guint i)
{
  g_return_val_if_fail (self != NULL, ATTNVIZ_GGUF_UINT8);
  g_return_val_if_fail (i < self->kvs->len, ATTNVIZ_GGUF_UINT8);
  const AttnvizGgufKv *kv = nth_kv (self, i);
  return kv->type == ATTNVIZ_GGUF_ARRAY ? kv->array_type : kv->type;
}

guint64
attnviz_gguf_get_array_length (const AttnvizGguf *self, guint i)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (i < self->kvs->len, 0);
  const AttnvizGgufKv *kv = nth_kv (self, i);
  return kv->type == ATTNVIZ_GGUF_ARRAY ? kv->n : 0;
}

int
attnviz_gguf_find_key (const AttnvizGguf *self, const char *key)
{
  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (key != NULL, -1);
  guint at = GPOINTER_TO_UINT (g_hash_table_lookup (self->kv_index, key));
  return (int) at - 1;
}

/* ---- values --------------------------------------------------------------- */

static gboolean
is_int_type (AttnvizGgufType type)
{
  return type <= ATTNVIZ_GGUF_INT32 || type == ATTNVIZ_GGUF_UINT64 || type == ATTNVIZ_GGUF_INT64;
}

static gboolean
is_signed_type (AttnvizGgufType type)
{
  return type == ATTNVIZ_GGUF_INT8 || type == ATTNVIZ_GGUF_INT16 || type == ATTNVIZ_GGUF_INT32
         || type == ATTNVIZ_GGUF_INT64;
}

/* BITS of an integer TYPE as a gint64: FALSE for a uint64 above G_MAXINT64. */
static gboolean
decode_int (AttnvizGgufType type, guint64 bits, gint64 *out)
{
  switch (type)
    {
    case ATTNVIZ_GGUF_INT8: *out = (gint8) (guint8) bits; return TRUE;
    case ATTNVIZ_GGUF_INT16: *out = (gint16) (guint16) bits; return TRUE;
    case ATTNVIZ_GGUF_INT32: *out = (gint32) (guint32) bits; return TRUE;
    case ATTNVIZ_GGUF_INT64: *out = (gint64) bits; return TRUE;
    default:
      if (bits > G_MAXINT64)
        return FALSE;
      *out = (gint64) bits;
      return TRUE;
    }
}

static double
decode_float (AttnvizGgufType type, guint64 bits)
{
  if (type == ATTNVIZ_GGUF_FLOAT32)
    {
      guint32 b = (guint32) bits;
      float f;
      memcpy (&f, &b, 4);
      return f;
    }
  double d;
  memcpy (&d, &bits, 8);
  return d;
}

static guint64
load_element (const guint8 *p, gsize size)
{
  guint64 v = 0;
  for (gsize i = 0; i < size; i++)
    v |= (guint64) p[i] << (8 * i);
  return v;
}

/* The shortest text that reads back as the same float (or double). */
static char *
format_float (double v, gboolean single)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = single ? 6 : 15; digits < (single ? 9 : 17); digits++)
    {
      char format[8];
      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, v);
      double back = g_ascii_strtod (buf, NULL);
      if (single ? (float) back == (float) v : back == v)
        return g_strdup (buf);
    }
  return g_strdup (g_ascii_formatd (buf, sizeof buf, single ? "%.9g" : "%.17g", v));
}

char *
attnviz_gguf_kv_to_string (const AttnvizGguf *self, guint i, gsize max_chars)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->kvs->len, NULL);
  const AttnvizGgufKv *kv = nth_kv (self, i);

  switch (kv->type)
    {
    case ATTNVIZ_GGUF_STRING:
      {
        g_autofree char *text = attnviz_gguf_escape (kv->str, kv->str_len, max_chars);
        return g_strdup_printf ("\"%s\"", text);
      }
    case ATTNVIZ_GGUF_ARRAY:
      if (kv->array_type == ATTNVIZ_GGUF_STRING)
        return g_strdup_printf ("[%" G_GUINT64_FORMAT " string%s]", kv->n, kv->n == 1 ? "" : "s");
      if (kv->array_type == ATTNVIZ_GGUF_ARRAY)
        return g_strdup_printf ("[%" G_GUINT64_FORMAT " array%s]", kv->n, kv->n == 1 ? "" : "s");
      return g_strdup_printf ("[%" G_GUINT64_FORMAT " %s value%s]", kv->n,
                              attnviz_gguf_type_name (kv->array_type), kv->n == 1 ? "" : "s");
    case ATTNVIZ_GGUF_BOOL:
      return g_strdup (kv->bits ? "true" : "false");
    case ATTNVIZ_GGUF_FLOAT32:
    case ATTNVIZ_GGUF_FLOAT64:
      return format_float (decode_float (kv->type, kv->bits), kv->type == ATTNVIZ_GGUF_FLOAT32);
    default:
      {
        gint64 v;
        if (is_signed_type (kv->type) && decode_int (kv->type, kv->bits, &v))
          return g_strdup_printf ("%" G_GINT64_FORMAT, v);
        return g_strdup_printf ("%" G_GUINT64_FORMAT, kv->bits);
      }
    }
}

/* ---- typed reads ------------------------------------------------------- */

static gboolean G_GNUC_PRINTF (4, 5)
key_error (const AttnvizGguf *self, GError **error, const char *key, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *problem = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *quoted = attnviz_gguf_escape (key, strlen (key), 80);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: key \"%s\": %s", self->path,
               quoted, problem);
  return FALSE;
}

static gboolean
missing (const AttnvizGguf *self, GError **error, const char *key)
{
  g_autofree char *quoted = attnviz_gguf_escape (key, strlen (key), 80);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: missing key \"%s\"",
               self->path, quoted);
  return FALSE;
}

/* "a uint32", "an int8", "an array of strings" (a new string). */
static char *
kind_of (const AttnvizGgufKv *kv)
{
  const char *name = attnviz_gguf_type_name (kv->type);
  const char *article = name[0] == 'i' || name[0] == 'a' ? "an" : "a";
  if (kv->type == ATTNVIZ_GGUF_ARRAY)
    return g_strdup_printf ("an array of %s", attnviz_gguf_type_name (kv->array_type));
  return g_strdup_printf ("%s %s", article, name);
}

static gboolean
wrong_type (const AttnvizGguf *self, GError **error, const char *key, const AttnvizGgufKv *kv,
            const char *wanted)
{
  g_autofree char *kind = kind_of (kv);
  return key_error (self, error, key, "is %s, not %s", kind, wanted);
}

gboolean
attnviz_gguf_read_int (const AttnvizGguf *self, const char *key, gboolean required, gint64 lo,
                       gint64 hi, gint64 *out, GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && out != NULL, FALSE);
  const AttnvizGgufKv *kv = find_kv (self, key);
  if (kv == NULL)
    return required ? missing (self, error, key) : TRUE;
  if (!is_int_type (kv->type))
    return wrong_type (self, error, key, kv, "an integer");
  gint64 v;
  if (!decode_int (kv->type, kv->bits, &v))
    return key_error (self, error, key, "%" G_GUINT64_FORMAT " is outside [%" G_GINT64_FORMAT
                      ", %" G_GINT64_FORMAT "]", kv->bits, lo, hi);
  if (v < lo || v > hi)
    return key_error (self, error, key, "%" G_GINT64_FORMAT " is outside [%" G_GINT64_FORMAT
                      ", %" G_GINT64_FORMAT "]", v, lo, hi);
  *out = v;
  return TRUE;
}

gboolean
attnviz_gguf_read_float (const AttnvizGguf *self, const char *key, gboolean required,
                         double *out, GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && out != NULL, FALSE);
  const AttnvizGgufKv *kv = find_kv (self, key);
  if (kv == NULL)
    return required ? missing (self, error, key) : TRUE;
  if (kv->type == ATTNVIZ_GGUF_FLOAT32 || kv->type == ATTNVIZ_GGUF_FLOAT64)
    *out = decode_float (kv->type, kv->bits);
  else if (is_int_type (kv->type))
    {
      gint64 v;
      *out = decode_int (kv->type, kv->bits, &v) ? (double) v : (double) kv->bits;
    }
  else
    return wrong_type (self, error, key, kv, "a number");
  return TRUE;
}

gboolean
attnviz_gguf_read_bool (const AttnvizGguf *self, const char *key, gboolean required,
                        gboolean *out, GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && out != NULL, FALSE);
  const AttnvizGgufKv *kv = find_kv (self, key);
  if (kv == NULL)
    return required ? missing (self, error, key) : TRUE;
  if (kv->type != ATTNVIZ_GGUF_BOOL)
    return wrong_type (self, error, key, kv, "a bool");
  *out = kv->bits != 0;
  return TRUE;
}

const char *
attnviz_gguf_read_string (const AttnvizGguf *self, const char *key, gboolean required,
                          GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL, NULL);
  const AttnvizGgufKv *kv = find_kv (self, key);
  if (kv == NULL)
    {
      if (required)
        missing (self, error, key);
      return NULL;
    }
  if (kv->type != ATTNVIZ_GGUF_STRING)
    {
      wrong_type (self, error, key, kv, "a string");
      return NULL;
    }
  return kv->str;
}

/* The entry for KEY when it is an array; NULL, with an error unless it is
 * absent and not REQUIRED, otherwise. */
static const AttnvizGgufKv *
find_array (const AttnvizGguf *self, const char *key, gboolean required, GError **error)
{
  const AttnvizGgufKv *kv = find_kv (self, key);
  if (kv == NULL)
    {
      if (required)
        missing (self, error, key);
      return NULL;
    }
  if (kv->type != ATTNVIZ_GGUF_ARRAY)
    {
      wrong_type (self, error, key, kv, "an array");
      return NULL;
    }
  return kv;
}

static void
wrong_elements (const AttnvizGguf *self, GError **error, const char *key,
                const AttnvizGgufKv *kv, const char *wanted)
{
  key_error (self, error, key, "is an array of %s, not of %s",
             attnviz_gguf_type_name (kv->array_type), wanted);
}

const char *const *
attnviz_gguf_read_string_array (const AttnvizGguf *self, const char *key, gboolean required,
                                gsize *n_out, const gsize **lens_out, GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && n_out != NULL, NULL);
  const AttnvizGgufKv *kv = find_array (self, key, required, error);
  if (kv == NULL)
    return NULL;
  if (kv->array_type != ATTNVIZ_GGUF_STRING)
    {
      wrong_elements (self, error, key, kv, "strings");
      return NULL;
    }
  *n_out = (gsize) kv->n;
  if (lens_out)
    *lens_out = kv->lens;
  return (const char *const *) kv->strs;
}

float *
attnviz_gguf_dup_float_array (const AttnvizGguf *self, const char *key, gboolean required,
                              gsize *n_out, GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && n_out != NULL, NULL);
  const AttnvizGgufKv *kv = find_array (self, key, required, error);
  if (kv == NULL)
    return NULL;
  if (kv->array_type != ATTNVIZ_GGUF_FLOAT32 && kv->array_type != ATTNVIZ_GGUF_FLOAT64)
    {
      wrong_elements (self, error, key, kv, "floats");
      return NULL;
    }
  /* The open checked that n elements lie in the file: n is bounded by it. */
  gsize n = (gsize) kv->n, size = attnviz_gguf_type_size (kv->array_type);
  float *out = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    out[i] = (float) decode_float (kv->array_type, load_element (kv->elems + i * size, size));
  *n_out = n;
  return out;
}

gint64 *
attnviz_gguf_dup_int_array (const AttnvizGguf *self, const char *key, gboolean required,
                            gsize *n_out, GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && n_out != NULL, NULL);
  const AttnvizGgufKv *kv = find_array (self, key, required, error);
  if (kv == NULL)
    return NULL;
  if (!is_int_type (kv->array_type))
    {
      wrong_elements (self, error, key, kv, "integers");
      return NULL;
    }
  gsize n = (gsize) kv->n, size = attnviz_gguf_type_size (kv->array_type);
  g_autofree gint64 *out = g_new (gint64, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      guint64 bits = load_element (kv->elems + i * size, size);
      if (!decode_int (kv->array_type, bits, &out[i]))
        {
          key_error (self, error, key, "element %zu is %" G_GUINT64_FORMAT ", above 2^63 - 1",
                     i, bits);
          return NULL;
        }
    }
  *n_out = n;
  return g_steal_pointer (&out);
}

const guint8 *
attnviz_gguf_get_byte_array (const AttnvizGguf *self, guint i, gsize *n_out)
{
  g_return_val_if_fail (self != NULL && i < self->kvs->len && n_out != NULL, NULL);
  const AttnvizGgufKv *kv = nth_kv (self, i);
  *n_out = 0;
  if (kv->type != ATTNVIZ_GGUF_ARRAY || (kv->array_type != ATTNVIZ_GGUF_UINT8 && kv->array_type != ATTNVIZ_GGUF_INT8))
    return NULL;
  *n_out = (gsize) kv->n;
  return kv->elems;
}
