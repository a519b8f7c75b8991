/* attnviz-config-score.c: the compatibility function of an attnviz model
 * as a string (`train --score`, `sweep --score`, config.json's "score"),
 * and its hybrid reading (see attnviz-config.h) */
#define G_LOG_DOMAIN "attnviz-config"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-config.h"
#include "attnviz-fileutil.h"

static gboolean
fail (GError **error, const char *s, const char *why)
{
  g_autofree char *quoted = attnviz_printable (s);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "compatibility function \"%s\": %s (scaled_dot, dot, additive, hybrid, hybrid:heads=K or "
               "hybrid:additive=L1,L2,...)", quoted, why);
  return FALSE;
}

gboolean
attnviz_config_parse_score (AttnvizConfig *c, const char *s, GError **error)
{
  if (s == NULL)
    return fail (error, "", "missing");
  c->additive_layers = 0;
  c->additive_heads = 0;
  if (strcmp (s, "scaled_dot") == 0 || strcmp (s, "scaled-dot") == 0 || strcmp (s, "scaled") == 0)
    c->score = ATTNVIZ_SCORE_SCALED_DOT;
  else if (strcmp (s, "dot") == 0)
    c->score = ATTNVIZ_SCORE_DOT;
  else if (strcmp (s, "additive") == 0)
    c->score = ATTNVIZ_SCORE_ADDITIVE;
  else if (strcmp (s, "hybrid") == 0)
    {
      c->score = ATTNVIZ_SCORE_HYBRID;
      c->additive_heads = -1;
    }
  else if (g_str_has_prefix (s, "hybrid:heads="))
    {
      gint64 k;
      if (!g_ascii_string_to_signed (s + strlen ("hybrid:heads="), 10, 1, 4096, &k, NULL))
        return fail (error, s, "K must be a number of heads from 1");
      c->score = ATTNVIZ_SCORE_HYBRID;
      c->additive_heads = (int) k;
    }
  else if (g_str_has_prefix (s, "hybrid:additive="))
    {
      g_auto(GStrv) layers = g_strsplit (s + strlen ("hybrid:additive="), ",", -1);
      guint64 bits = 0;
      for (int i = 0; layers[i]; i++)
        {
          gint64 l;
          if (!g_ascii_string_to_signed (layers[i], 10, 0, 63, &l, NULL))
            return fail (error, s, "the layers must be numbers from 0 to 63, joined by commas");
          if ((bits >> l) & 1)
            return fail (error, s, "a layer listed twice");
          bits |= G_GUINT64_CONSTANT (1) << l;
        }
      if (bits == 0)
        return fail (error, s, "no layer listed");
      c->score = ATTNVIZ_SCORE_HYBRID;
      c->additive_layers = bits;
    }
  else
    return fail (error, s, "unknown");
  return TRUE;
}

char *
attnviz_config_score_to_string (const AttnvizConfig *c)
{
  switch (c->score)
    {
    case ATTNVIZ_SCORE_SCALED_DOT: return g_strdup ("scaled_dot");
    case ATTNVIZ_SCORE_DOT: return g_strdup ("dot");
    case ATTNVIZ_SCORE_ADDITIVE: return g_strdup ("additive");
    case ATTNVIZ_SCORE_HYBRID: break;
    default: g_assert_not_reached ();
    }
  if (c->additive_layers == 0)
    return c->additive_heads < 0 ? g_strdup ("hybrid") : g_strdup_printf ("hybrid:heads=%d", c->additive_heads);
  GString *s = g_string_new ("hybrid:additive=");
  for (int l = 0; l < 64; l++)
    if ((c->additive_layers >> l) & 1)
      g_string_append_printf (s, "%s%d", s->str[s->len - 1] == '=' ? "" : ",", l);
  return g_string_free (s, FALSE);
}

gboolean
attnviz_config_check_score (AttnvizConfig *c, GError **error)
{
  if (c->score != ATTNVIZ_SCORE_HYBRID)
    return TRUE;
  g_autofree char *spec = attnviz_config_score_to_string (c);
  int n_layer = MAX (c->n_layer, c->encoder_decoder ? c->n_enc_layer : 0);
  if (c->additive_layers != 0 && c->additive_heads != 0)
    return fail (error, spec, "per layer or per head, not both");
  if (c->additive_heads < 0)
    c->additive_heads = MAX (c->n_head / 2, 1);
  if (c->additive_heads > c->n_head)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "compatibility function \"%s\": the model has %d head%s per layer", spec, c->n_head,
                   c->n_head == 1 ? "" : "s");
      return FALSE;
    }
  if (n_layer < 64 && (c->additive_layers >> n_layer) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "compatibility function \"%s\": the model has layers 0-%d", spec, n_layer - 1);
      return FALSE;
    }
  /* A hybrid mixes: one whose every head is additive is "additive", and
   * would be labelled hybrid where it is not. */
  if (c->additive_layers == 0 && c->additive_heads == c->n_head)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "compatibility function \"%s\": with %d head%s per layer every head would be additive; a hybrid "
                   "needs at least one scaled dot-product head (use additive, or hybrid:additive=L)", spec,
                   c->n_head, c->n_head == 1 ? "" : "s");
      return FALSE;
    }
  if (c->additive_layers != 0 && n_layer < 64 && c->additive_layers == (((guint64) 1 << n_layer) - 1))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "compatibility function \"%s\": every layer would be additive; a hybrid needs at least one "
                   "scaled dot-product layer (use additive)", spec);
      return FALSE;
    }
  return TRUE;
}

char *
attnviz_config_describe_hybrid (const AttnvizConfig *c)
{
  if (c->score != ATTNVIZ_SCORE_HYBRID)
    return NULL;
  if (c->additive_layers == 0)
    return c->additive_heads == 1 ? g_strdup ("additive: head 0 of every layer, scaled dot elsewhere")
                                  : g_strdup_printf ("additive: heads 0-%d of every layer, scaled dot elsewhere",
                                                     c->additive_heads - 1);
  GString *s = g_string_new ("additive: every head of layer");
  gboolean several = (c->additive_layers & (c->additive_layers - 1)) != 0;
  if (several)
    g_string_append_c (s, 's');
  const char *sep = " ";
  for (int l = 0; l < 64; l++)
    if ((c->additive_layers >> l) & 1)
      {
        g_string_append_printf (s, "%s%d", sep, l);
        sep = ", ";
      }
  g_string_append (s, ", scaled dot elsewhere");
  return g_string_free (s, FALSE);
}

guint8 *
attnviz_config_additive_mask (const AttnvizConfig *c)
{
  if (c->score != ATTNVIZ_SCORE_ADDITIVE && c->score != ATTNVIZ_SCORE_HYBRID)
    return NULL;
  int rows = MAX (c->n_layer, c->encoder_decoder ? c->n_enc_layer : 0);
  guint8 *mask = g_new0 (guint8, MAX ((gsize) rows * c->n_head, 1));
  for (int l = 0; l < rows; l++)
    for (int h = 0; h < c->n_head; h++)
      mask[(gsize) l * c->n_head + h] = attnviz_config_head_additive (c, l, h);
  return mask;
}
