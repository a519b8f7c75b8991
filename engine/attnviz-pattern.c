/* attnviz-pattern.c: parsing and writing sparse attention patterns
 * (see attnviz-pattern.h) */
#define G_LOG_DOMAIN "attnviz-pattern"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-pattern.h"

/* Positions beyond any context a model has. */
#define MAX_SPAN (1 << 20)

static gboolean
fail (GError **error, const char *s, const char *why)
{
  g_autofree char *quoted = attnviz_printable (s);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "mask \"%s\": %s (dense, window:W, strided:S, block:B, or window:W+global:G)", quoted, why);
  return FALSE;
}

gboolean
attnviz_pattern_parse (AttnvizPattern *p, const char *s, GError **error)
{
  static const char *const names[] = { "window", "strided", "block", "global" };
  AttnvizPattern out = { 0 };
  int *fields[] = { &out.window, &out.stride, &out.block, &out.global };

  if (s == NULL || *s == '\0')
    return fail (error, "", "empty");
  if (strcmp (s, "dense") == 0 || strcmp (s, "causal") == 0)
    {
      *p = out;
      return TRUE;
    }
  g_auto(GStrv) terms = g_strsplit (s, "+", -1);
  for (int t = 0; terms[t]; t++)
    {
      const char *colon = strchr (terms[t], ':');
      guint k = 0;
      while (colon && k < G_N_ELEMENTS (names)
             && !((gsize) (colon - terms[t]) == strlen (names[k]) && strncmp (terms[t], names[k], colon - terms[t]) == 0))
        k++;
      if (colon == NULL || k == G_N_ELEMENTS (names))
        return fail (error, s, "unknown term");
      gint64 n;
      if (!g_ascii_string_to_signed (colon + 1, 10, 1, MAX_SPAN, &n, NULL))
        return fail (error, s, "each size must be a whole number from 1");
      if (*fields[k] != 0)
        return fail (error, s, "a term given twice");
      *fields[k] = (int) n;
    }
  if (attnviz_pattern_is_dense (&out))
    return fail (error, s, "global:G needs a window, stride or block beside it");
  *p = out;
  return TRUE;
}

char *
attnviz_pattern_to_string (const AttnvizPattern *p)
{
  if (attnviz_pattern_is_dense (p))
    return g_strdup ("dense");
  GString *s = g_string_new (NULL);
  if (p->window > 0)
    g_string_append_printf (s, "+window:%d", p->window);
  if (p->stride > 0)
    g_string_append_printf (s, "+strided:%d", p->stride);
  if (p->block > 0)
    g_string_append_printf (s, "+block:%d", p->block);
  if (p->global > 0)
    g_string_append_printf (s, "+global:%d", p->global);
  g_string_erase (s, 0, 1);
  return g_string_free (s, FALSE);
}
