/* attnviz-charsmap.c: SentencePiece's precompiled character map
 *
 * The blob (normalizer.cc, DecodePrecompiledCharsMap), little-endian:
 *   uint32        trie_size    bytes of the trie that follows
 *   uint32[trie_size / 4]      the trie: a darts-clone double array
 *   char[]        strings      the replacements, each ending in NUL; a
 *                              key's value is the offset of its string
 * A unit of the double array (darts.h's DoubleArrayUnit):
 *   bit 31        set on a value unit (which no label can equal)
 *   bits 0-30     a value unit's value (the string offset)
 *   bits 0-7      label: the key byte that leads to this unit
 *   bit 8         has_leaf: a key ends here; its value is in the unit
 *                 at this unit's child index (the NUL label's slot)
 *   bit 9         the offset is shifted left by 8 more
 *   bits 10-30    offset: child index = own index ^ offset ^ next byte
 * Searching from the root (unit 0) for the keys that prefix the input
 * (darts' commonPrefixSearch), the longest wins, as in SentencePiece's
 * Normalizer::NormalizePrefix and llama.cpp's normalize_prefix.
 *
 * The map is hostile input.  At load: the size word, the trie's extent
 * and its whole units, the strings' final NUL are checked.  At use: every
 * unit index is checked against the trie (an index past it ends the
 * search), a value past the strings, or at a string (or the middle of
 * one) that is not UTF-8, is no match (which offsets start UTF-8 is
 * worked out once, at load: a long string is not validated at each match),
 * and a search looks at most MAX_KEY bytes ahead, so a trie that cycles or
 * matches everything costs a bounded amount per input byte.  Every
 * replacement ends inside the strings, at their last NUL at the latest.
 * A map whose replacements are longer than their keys could make a text
 * of a megabyte a gigabyte (and its spans eight more): a result that
 * outgrows the text by more than the text's length or MAX_GROWTH,
 * whichever is more, is refused.
 */
#define G_LOG_DOMAIN "attnviz-charsmap"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-charsmap.h"

/* Longer keys than this are not looked for.  nmt_nfkc's longest key is a
 * few characters; this only bounds the cost of a hostile trie. */
#define MAX_KEY 256

/* A text may grow by this much whatever its length (nmt_nfkc's longest
 * replacement, U+FDFA's 33 bytes for 3, needs a text of 100000 of them to
 * get there): so a map costs at most what a text of twice the length and
 * a megabyte more costs without one (a million one-byte tokens are 1.5 GB
 * as tokenize --json). */
#define MAX_GROWTH ((gsize) 1 << 20)

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, const char *filename, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: precompiled_charsmap %s", filename, msg);
  return FALSE;
}

/* ok[v]: the replacement starting at byte V of S (N bytes, the last a
 * NUL) is UTF-8 up to its NUL: its first character is whole and valid,
 * and so is the rest. */
static guint8 *
utf8_starts (const char *s, gsize n)
{
  guint8 *ok = g_malloc0 (n + 1);
  for (gsize v = n; v-- > 0; )
    {
      gsize k = (gsize) g_utf8_skip[(guchar) s[v]];
      ok[v] = s[v] == '\0' || (v + k < n && g_utf8_validate_len (s + v, k, NULL) && ok[v + k]);
    }
  return ok;
}

AttnvizCharsmap *
attnviz_charsmap_new (const guint8 *blob, gsize len, const char *filename, GError **error)
{
  g_return_val_if_fail (blob != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len < 4)
    {
      fail (error, filename, "is %" G_GSIZE_FORMAT " bytes, too short for its trie's size", len);
      return NULL;
    }
  guint32 trie = (guint32) blob[0] | (guint32) blob[1] << 8 | (guint32) blob[2] << 16 | (guint32) blob[3] << 24;
  if (trie > len - 4)
    {
      fail (error, filename, "says its trie is %u bytes, past its end (%" G_GSIZE_FORMAT " bytes)", trie, len - 4);
      return NULL;
    }
  if (trie == 0 || trie % 4 != 0)
    {
      fail (error, filename, "has a trie of %u bytes, not a whole number of 4-byte units", trie);
      return NULL;
    }
  gsize n_strings = len - 4 - trie;
  if (n_strings > 0 && blob[len - 1] != '\0')
    {
      fail (error, filename, "has a last replacement string without its NUL");
      return NULL;
    }
  AttnvizCharsmap *map = g_new0 (AttnvizCharsmap, 1);
  map->n_units = trie / 4;
  map->units = g_new (guint32, map->n_units);
  for (gsize i = 0; i < map->n_units; i++)
    {
      const guint8 *u = blob + 4 + 4 * i;
      map->units[i] = (guint32) u[0] | (guint32) u[1] << 8 | (guint32) u[2] << 16 | (guint32) u[3] << 24;
    }
  map->n_strings = n_strings;
  /* never NULL; a blob that ends with its trie has no byte to copy */
  map->strings = n_strings > 0 ? g_memdup2 (blob + 4 + trie, n_strings) : g_malloc0 (1);
  map->utf8 = utf8_starts (map->strings, n_strings);
  map->filename = g_strdup (filename);
  return map;
}

AttnvizCharsmap *
attnviz_charsmap_new_from_base64 (const char *b64, const char *filename, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* g_base64_decode skips what is not base64: check first */
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  gsize n = b64 ? strlen (b64) : 0, body = b64 ? strspn (b64, alphabet) : 0;
  if (b64 == NULL || n % 4 != 0 || n - body > 2 || strspn (b64 + body, "=") != n - body)
    {
      fail (error, filename, "is not a base64 string");
      return NULL;
    }
  gsize len = 0;
  g_autofree guchar *blob = g_base64_decode (b64, &len);
  return attnviz_charsmap_new (blob, len, filename, error);
}

void
attnviz_charsmap_free (AttnvizCharsmap *map)
{
  if (map == NULL)
    return;
  g_free (map->units);
  g_free (map->strings);
  g_free (map->utf8);
  g_free (map->filename);
  g_free (map);
}

static inline guint32
unit_offset (guint32 u)
{
  return (u >> 10) << ((u & (1u << 9)) >> 6);
}

static inline guint32
unit_label (guint32 u)
{
  return u & ((1u << 31) | 0xff);
}

/* The length of the longest key of MAP that prefixes S (N bytes), its
 * replacement's offset in *VALUE; 0 when none does. */
static gsize
longest_key (const AttnvizCharsmap *map, const guint8 *s, gsize n, guint32 *value)
{
  gsize best = 0;
  guint32 id = unit_offset (map->units[0]);
  n = MIN (n, (gsize) MAX_KEY);
  for (gsize i = 0; i < n; i++)
    {
      id ^= s[i];
      if (id >= map->n_units)
        break;
      guint32 u = map->units[id];
      if (unit_label (u) != s[i])
        break;
      id ^= unit_offset (u);
      if ((u >> 8) & 1)
        {
          if (id >= map->n_units)
            break;
          guint32 v = map->units[id] & ((1u << 31) - 1);
          if (v < map->n_strings && map->utf8[v])
            {
              best = i + 1;
              *value = v;
            }
        }
    }
  return best;
}

char *
attnviz_charsmap_normalize (const AttnvizCharsmap *map, const char *text, gsize len, GArray *from, GArray *to,
                            GError **error)
{
  g_return_val_if_fail (map != NULL && (text != NULL || len == 0), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize limit = len + MAX (len, MAX_GROWTH);
  limit = MIN (limit, (gsize) G_MAXUINT32 - 8);   /* the spans are 32-bit */
  GString *out = g_string_sized_new (len + 8);
  gsize at = 0;
  while (at < len)
    {
      guint32 value = 0;
      gsize used = longest_key (map, (const guint8 *) text + at, len - at, &value);
      gsize before = out->len;
      const char *piece = map->strings + value;   /* what replaces [at, at + used) */
      gsize plen;
      if (used > 0)
        plen = strlen (piece);
      else
        {
          gunichar c = g_utf8_get_char_validated (text + at, (gssize) MIN (len - at, 4));
          if (c == (gunichar) -1 || c == (gunichar) -2)
            {
              piece = "\xef\xbf\xbd";   /* U+FFFD for the one byte */
              plen = 3;
              used = 1;
            }
          else
            {
              piece = text + at;
              plen = used = (gsize) g_unichar_to_utf8 (c, NULL);
            }
        }
      if (plen > limit - out->len)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: precompiled_charsmap makes a text of %" G_GSIZE_FORMAT " bytes longer than %"
                       G_GSIZE_FORMAT " bytes", map->filename, len, limit);
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_len (out, piece, (gssize) plen);
      guint32 a = (guint32) at, b = (guint32) (at + used);
      for (gsize k = before; k < out->len; k++)
        {
          g_array_append_val (from, a);
          g_array_append_val (to, b);
        }
      at += used;
    }
  return g_string_free (out, FALSE);
}
