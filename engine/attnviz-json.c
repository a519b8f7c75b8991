/* attnviz-json.c: the one JSON reader and the one JSON writer (see the header) */
#define G_LOG_DOMAIN "attnviz-json"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"

static const struct {
  gsize max_bytes;
  const char *name;
} kinds[] = {
  [ATTNVIZ_JSON_CONFIG] = { (gsize) 16 << 20, "a config.json" },
  [ATTNVIZ_JSON_TOKENIZER] = { (gsize) 256 << 20, "a tokenizer file" },
  [ATTNVIZ_JSON_TOKENIZER_CONFIG] = { (gsize) 64 << 20, "a tokenizer configuration" },
  [ATTNVIZ_JSON_SAFETENSORS_HEADER] = { 100 * 1000 * 1000, "a safetensors header" },
  [ATTNVIZ_JSON_INDEX] = { 100 * 1000 * 1000, "a shard index" },
  /* json-glib's tree takes about ten times the text: 64 MiB of numbers is
   * a few hundred MiB of nodes (the format is for small inputs) */
  [ATTNVIZ_JSON_DUMP] = { (gsize) 64 << 20, "a json dump" },
  [ATTNVIZ_JSON_TOKEN_LIST] = { (gsize) 16 << 20, "a token list" },
};

gsize
attnviz_json_kind_max_bytes (AttnvizJsonKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kinds), 0);
  return kinds[kind].max_bytes;
}

const char *
attnviz_json_kind_name (AttnvizJsonKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kinds), "a JSON file");
  return kinds[kind].name;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
  const char *file;
  const char *subject;  /* "header " for a safetensors header, else "" */
  GError **error;
} Scan;

static gboolean G_GNUC_PRINTF (3, 4)
scan_fail (const Scan *s, int line, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (s->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %sis not valid JSON: line %d: %s",
               s->file, s->subject, line, msg);
  return FALSE;
}

/* Where a number sits, for messages: "\"key\": " after a member name,
 * else nothing. */
static char *
number_place (const char *key, gsize key_len, gboolean after_colon)
{
  if (!after_colon || key == NULL)
    return g_strdup ("");
  g_autofree char *raw = g_strndup (key, MIN (key_len, 80));
  g_autofree char *printable = attnviz_printable (raw);
  return g_strdup_printf ("\"%s\" = ", printable);
}

/* A number token [START, END): JSON's grammar, an integer within 64 bits, a
 * finite float. */
static gboolean
check_number (const Scan *s, int line, const char *start, const char *end, const char *key, gsize key_len,
              gboolean after_colon)
{
  const char *p = start;
  gboolean integer = TRUE;
  if (*p == '-')
    p++;
  if (p == end || !g_ascii_isdigit (*p))
    return scan_fail (s, line, "\"%.*s\" is not a number", (int) MIN (end - start, 40), start);
  while (p < end && g_ascii_isdigit (*p))
    p++;
  if (p < end && *p == '.')
    {
      integer = FALSE;
      p++;
      if (p == end || !g_ascii_isdigit (*p))
        return scan_fail (s, line, "\"%.*s\" is not a number", (int) MIN (end - start, 40), start);
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      integer = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p == end || !g_ascii_isdigit (*p))
        return scan_fail (s, line, "\"%.*s\" is not a number", (int) MIN (end - start, 40), start);
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p != end)
    return scan_fail (s, line, "\"%.*s\" is not a number", (int) MIN (end - start, 40), start);

  g_autofree char *text = g_strndup (start, end - start);
  if (integer)
    {
      gint64 v;
      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &v, NULL))
        {
          g_autofree char *place = number_place (key, key_len, after_colon);
          return scan_fail (s, line, "%s%.40s%s does not fit in 64 bits", place, text,
                            strlen (text) > 40 ? "..." : "");
        }
    }
  else if (!isfinite (g_ascii_strtod (text, NULL)))
    {
      g_autofree char *place = number_place (key, key_len, after_colon);
      return scan_fail (s, line, "%s%.40s%s is out of range", place, text, strlen (text) > 40 ? "..." : "");
    }
  return TRUE;
}

/* Strict JSON lexing with a depth count.  The only string delimiter it
 * knows is '"', so everything json-glib would read otherwise ('...'
 * strings, comments) is refused here rather than miscounted. */
static gboolean
prescan (const Scan *s, const char *text, gsize len)
{
  int depth = 0, line = 1;
  const char *last_string = NULL, *key = NULL;
  gsize last_string_len = 0, key_len = 0;
  char prev = 0;  /* the last significant character */

  for (gsize i = 0; i < len;)
    {
      char c = text[i];
      switch (c)
        {
        case '\n':
          line++;
          /* fall through */
        case ' ':
        case '\t':
        case '\r':
          i++;
          continue;
        case '"':
          {
            gsize start = ++i;
            while (i < len && text[i] != '"')
              {
                if (text[i] == '\\')
                  i++;
                if (i < len && text[i] == '\n')
                  line++;
                i++;
              }
            if (i >= len)
              return scan_fail (s, line, "a string is not closed");
            last_string = text + start;
            last_string_len = i - start;
            i++;
            prev = '"';
            continue;
          }
        case ':':
          key = last_string;
          key_len = last_string_len;
          prev = c;
          i++;
          continue;
        case '[':
        case '{':
          if (++depth > ATTNVIZ_JSON_MAX_DEPTH)
            {
              g_set_error (s->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: %snests deeper than %d levels (line %d)", s->file, s->subject,
                           ATTNVIZ_JSON_MAX_DEPTH, line);
              return FALSE;
            }
          prev = c;
          i++;
          continue;
        case ']':
        case '}':
          depth--;
          prev = c;
          i++;
          continue;
        case ',':
          prev = c;
          i++;
          continue;
        default:
          break;
        }

      /* A number or a word runs to the next delimiter. */
      gsize start = i;
      while (i < len && (g_ascii_isalnum (text[i]) || text[i] == '-' || text[i] == '+' || text[i] == '.'))
        i++;
      if (i == start)
        {
          if (c == '/')
            return scan_fail (s, line, "unexpected '/' (comments are not JSON)");
          if (c == '\'')
            return scan_fail (s, line, "unexpected \"'\" (strings take double quotes)");
          if (g_ascii_isprint (c))
            return scan_fail (s, line, "unexpected '%c'", c);
          return scan_fail (s, line, "unexpected byte 0x%02x", (guint8) c);
        }
      if (c == '-' || g_ascii_isdigit (c))
        {
          if (!check_number (s, line, text + start, text + i, key, key_len, prev == ':'))
            return FALSE;
        }
      else
        {
          gsize n = i - start;
          if (!((n == 4 && memcmp (text + start, "true", 4) == 0)
                || (n == 5 && memcmp (text + start, "false", 5) == 0)
                || (n == 4 && memcmp (text + start, "null", 4) == 0)))
            {
              g_autofree char *word = g_strndup (text + start, MIN (n, 40));
              return scan_fail (s, line, "unexpected \"%s\"", word);
            }
        }
      prev = 'v';
    }
  return TRUE;
}

JsonNode *
attnviz_json_parse (const char *text, gsize len, AttnvizJsonKind kind, const char *file, GError **error)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kinds), NULL);

  Scan s = { file, kind == ATTNVIZ_JSON_SAFETENSORS_HEADER ? "header " : "", error };
  if (len > kinds[kind].max_bytes)
    {
      g_autofree char *size = g_format_size (len);
      g_autofree char *limit = g_format_size (kinds[kind].max_bytes);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s%s is too large for %s (at most %s)", file,
                   s.subject, size, kinds[kind].name, limit);
      return NULL;
    }
  const char *nul = memchr (text, '\0', len);
  if (nul != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %sholds a NUL byte (at byte %zu)", file,
                   s.subject, (gsize) (nul - text));
      return NULL;
    }
  const char *bad = NULL;
  if (!g_utf8_validate_len (text, len, &bad))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %sis not valid UTF-8 (at byte %zu)", file,
                   s.subject, (gsize) (bad - text));
      return NULL;
    }
  if (!prescan (&s, text, len))
    return NULL;

  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local))
    {
      /* json-glib says "<data>:LINE:COL: ..." of a buffer: name the file. */
      const char *msg = local->message;
      if (g_str_has_prefix (msg, "<data>:"))
        msg += strlen ("<data>:");
      g_autofree char *one_line = g_strdelimit (g_strdup (msg), "\r\n", ' ');
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %sis not valid JSON: %s", file, s.subject,
                   one_line);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (kind == ATTNVIZ_JSON_TOKEN_LIST && root != NULL && !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: is not a JSON list of token strings", file);
      return NULL;
    }
  if (root == NULL || (kind != ATTNVIZ_JSON_TOKEN_LIST && !JSON_NODE_HOLDS_OBJECT (root)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %sis not a JSON object", file, s.subject);
      return NULL;
    }
  return json_node_copy (root);
}

JsonNode *
attnviz_json_load (const char *path, AttnvizJsonKind kind, GError **error)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kinds), NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!attnviz_read_regular (path, kinds[kind].max_bytes, kinds[kind].name, &text, &len, error))
    return NULL;
  return attnviz_json_parse (text, len, kind, path, error);
}

/* ---- writing ------------------------------------------------------------ */

/* json-glib 1.6 escapes U+0001..U+001E but writes U+001F raw; the only raw
 * control characters its output may otherwise hold are the newlines of
 * pretty printing (it indents with spaces), so every other one is inside a
 * string and is escaped here. */
static char *
escape_output (const char *data, gsize len, gsize *out_len)
{
  g_autofree char *valid = g_utf8_make_valid (data, (gssize) len);
  GString *out = g_string_sized_new (strlen (valid) + 16);
  for (const char *p = valid; *p; p++)
    {
      guchar c = (guchar) *p;
      if (c < 0x20 && c != '\n')
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  if (out_len)
    *out_len = out->len;
  return g_string_free (out, FALSE);
}

char *
attnviz_json_to_data (JsonNode *root, gboolean pretty, gsize *length)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, pretty);
  json_generator_set_root (gen, root);
  gsize len = 0;
  g_autofree char *data = json_generator_to_data (gen, &len);
  return escape_output (data, len, length);
}

char *
attnviz_json_quote (const char *s)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), s ? s : "");
  return attnviz_json_to_data (node, FALSE, NULL);
}

gboolean
attnviz_json_write (const char *path, JsonNode *root, gboolean pretty, GError **error)
{
  gsize len = 0;
  g_autofree char *data = attnviz_json_to_data (root, pretty, &len);
  return attnviz_file_set_contents (path, data, len, error);
}
