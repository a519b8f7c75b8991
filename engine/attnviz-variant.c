#define G_LOG_DOMAIN "attnviz-variant"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-variant.h"

void
attnviz_variant_init (AttnvizVariant *v)
{
  memset (v, 0, sizeof *v);
  v->shuffle_seed = 1;
}

void
attnviz_variant_clear (AttnvizVariant *v)
{
  g_clear_pointer (&v->exclude, g_free);
  g_clear_pointer (&v->ablate, g_free);
  attnviz_variant_init (v);
}

void
attnviz_variant_copy (AttnvizVariant *dest, const AttnvizVariant *src)
{
  *dest = *src;
  dest->exclude = src->n_exclude ? g_memdup2 (src->exclude, sizeof (int) * src->n_exclude) : NULL;
  dest->ablate = src->n_ablate ? g_memdup2 (src->ablate, sizeof (AttnvizHeadRef) * src->n_ablate) : NULL;
}

static gboolean
parse_positive (const char *s, int *out)
{
  gint64 v;
  if (!g_ascii_string_to_signed (s, 10, 1, 1 << 20, &v, NULL))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

static gboolean
parse_float (const char *s, float *out)
{
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  /* The value must survive the trip to float: 1e120 would become inf. */
  if (end == s || *end != '\0' || !isfinite (v) || v <= 0.0 || !isfinite ((float) v) || (float) v <= 0.0f)
    return FALSE;
  *out = (float) v;
  return TRUE;
}

static gboolean
fail (GError **error, const char *key, const char *value, const char *expected)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "variant: %s=%s: expected %s", key, value, expected);
  return FALSE;
}

static gboolean
parse_pair (AttnvizVariant *v, const char *key, const char *value, GError **error)
{
  if (strcmp (key, "mask") == 0)
    {
      if (strcmp (value, "model") == 0)
        v->mask = ATTNVIZ_MASK_MODEL;
      else if (strcmp (value, "causal") == 0)
        v->mask = ATTNVIZ_MASK_CAUSAL;
      else if (strcmp (value, "bidirectional") == 0 || strcmp (value, "none") == 0)
        v->mask = ATTNVIZ_MASK_BIDIRECTIONAL;
      else if (strcmp (value, "dense") != 0 && strchr (value, ':') != NULL)
        {
          /* a pattern: its own message says what is wrong with it */
          g_autoptr(GError) why = NULL;
          if (!attnviz_pattern_parse (&v->pattern, value, &why))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "variant: %s", why->message);
              return FALSE;
            }
          const AttnvizPattern *p = &v->pattern;
          gboolean only_window = p->stride == 0 && p->block == 0 && p->global == 0;
          gboolean only_stride = p->window == 0 && p->block == 0 && p->global == 0;
          v->mask = only_window ? ATTNVIZ_MASK_WINDOW : only_stride ? ATTNVIZ_MASK_STRIDED : ATTNVIZ_MASK_PATTERN;
        }
      else
        return fail (error, key, value,
                     "model, causal, bidirectional, window:W, strided:S, block:B or window:W+global:G");
    }
  else if (strcmp (key, "exclude") == 0)
    {
      g_auto(GStrv) parts = g_strsplit (value, "+", -1);
      for (int i = 0; parts[i]; i++)
        {
          gint64 pos;
          if (strcmp (parts[i], "special") == 0)
            v->exclude_special = TRUE;
          else if (g_ascii_string_to_signed (parts[i], 10, 0, G_MAXINT32, &pos, NULL))
            {
              v->exclude = g_renew (int, v->exclude, v->n_exclude + 1);
              v->exclude[v->n_exclude++] = (int) pos;
            }
          else
            return fail (error, key, value, "special and/or token positions joined by +, like special+5");
        }
    }
  else if (strcmp (key, "pos") == 0)
    {
      if (strcmp (value, "model") == 0)
        v->positions = ATTNVIZ_POSITIONS_MODEL;
      else if (strcmp (value, "none") == 0)
        v->positions = ATTNVIZ_POSITIONS_NONE;
      else if (strcmp (value, "sinusoidal") == 0)
        v->positions = ATTNVIZ_POSITIONS_SINUSOIDAL;
      else if (strcmp (value, "reversed") == 0)
        v->positions = ATTNVIZ_POSITIONS_REVERSED;
      else if (strcmp (value, "shuffled") == 0)
        v->positions = ATTNVIZ_POSITIONS_SHUFFLED;
      else if (g_str_has_prefix (value, "shuffled:"))
        {
          int seed;
          if (!parse_positive (value + 9, &seed))
            return fail (error, key, value, "shuffled:SEED with a positive SEED");
          v->positions = ATTNVIZ_POSITIONS_SHUFFLED;
          v->shuffle_seed = seed;
        }
      else if (g_str_has_prefix (value, "rope-theta:") && parse_float (value + 11, &v->rope_theta))
        v->positions = ATTNVIZ_POSITIONS_ROPE_THETA;
      else
        return fail (error, key, value, "model, none, sinusoidal, shuffled[:SEED], reversed or rope-theta:THETA");
    }
  else if (strcmp (key, "score") == 0)
    {
      if (strcmp (value, "model") == 0)
        v->score = ATTNVIZ_SCORE_VARIANT_MODEL;
      else if (strcmp (value, "dot") == 0)
        v->score = ATTNVIZ_SCORE_VARIANT_DOT;
      else if (strcmp (value, "additive") == 0)
        v->score = ATTNVIZ_SCORE_VARIANT_ADDITIVE;
      else if (g_str_has_prefix (value, "scale:") && parse_float (value + 6, &v->scale))
        v->score = ATTNVIZ_SCORE_VARIANT_SCALE;
      else
        return fail (error, key, value, "model, dot, scale:S (S > 0) or additive");
    }
  else if (strcmp (key, "ablate") == 0)
    {
      g_auto(GStrv) parts = g_strsplit (value, "+", -1);
      for (int i = 0; parts[i]; i++)
        {
          int layer, head;
          char tail;
          if (sscanf (parts[i], "L%dH%d%c", &layer, &head, &tail) != 2 || layer < 0 || head < 0)
            return fail (error, key, value, "heads like L3H5, joined by +");
          v->ablate = g_renew (AttnvizHeadRef, v->ablate, v->n_ablate + 1);
          v->ablate[v->n_ablate++] = (AttnvizHeadRef) { layer, head };
        }
    }
  else if (strcmp (key, "ablate-mode") == 0)
    {
      if (strcmp (value, "zero") == 0)
        v->ablate_mode = ATTNVIZ_ABLATE_ZERO;
      else if (strcmp (value, "mean") == 0)
        v->ablate_mode = ATTNVIZ_ABLATE_MEAN;
      else
        return fail (error, key, value, "zero or mean");
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "variant: unknown key \"%s\" (expected mask, exclude, pos, score, ablate or ablate-mode)", key);
      return FALSE;
    }
  return TRUE;
}

gboolean
attnviz_variant_parse (AttnvizVariant *v, const char *spec, GError **error)
{
  attnviz_variant_init (v);
  if (spec == NULL || *spec == '\0' || strcmp (spec, "model") == 0)
    return TRUE;
  g_auto(GStrv) items = g_strsplit (spec, ",", -1);
  /* "mask=window:8,mask=block:4" would keep only the last: say so instead
   * (exclude and ablate add up, so they may come again) */
  g_autoptr(GHashTable) single = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; items[i]; i++)
    {
      char *item = g_strstrip (items[i]);
      if (*item == '\0')
        {
          /* "mask=causal,,pos=none" is a typo, not two changes. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "variant: item %d of \"%s\" is empty", i + 1,
                       spec);
          attnviz_variant_clear (v);
          return FALSE;
        }
      char *eq = strchr (item, '=');
      if (eq == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "variant: \"%s\" is not key=value (like mask=window:8)", item);
          attnviz_variant_clear (v);
          return FALSE;
        }
      *eq = '\0';
      const char *key = g_strstrip (item);
      gboolean once = strcmp (key, "exclude") != 0 && strcmp (key, "ablate") != 0;
      if (once && !g_hash_table_add (single, (gpointer) key))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "variant: %s given twice in \"%s\"", key,
                       spec);
          attnviz_variant_clear (v);
          return FALSE;
        }
      if (!parse_pair (v, key, g_strstrip (eq + 1), error))
        {
          attnviz_variant_clear (v);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
attnviz_variant_check (const AttnvizVariant *v, const AttnvizConfig *c, GError **error)
{
  if (v->positions == ATTNVIZ_POSITIONS_ROPE_THETA && c->pos != ATTNVIZ_POS_ROPE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "variant: pos=rope-theta needs a model with RoPE; this one uses %s positions",
                   attnviz_position_kind_to_string (c->pos));
      return FALSE;
    }
  /* A hybrid model has both kinds of head, trained as they are: its
   * dot-product heads have no trained additive weights, and its additive
   * heads no dot product to rescale. */
  if (v->score == ATTNVIZ_SCORE_VARIANT_ADDITIVE && c->score == ATTNVIZ_SCORE_HYBRID)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "variant: score=additive: this hybrid model's scaled dot-product heads were not trained to score "
                   "additively");
      return FALSE;
    }
  if (v->score == ATTNVIZ_SCORE_VARIANT_ADDITIVE && c->score != ATTNVIZ_SCORE_ADDITIVE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "variant: score=additive exists only in models trained with it");
      return FALSE;
    }
  if ((v->score == ATTNVIZ_SCORE_VARIANT_DOT || v->score == ATTNVIZ_SCORE_VARIANT_SCALE)
      && attnviz_config_has_score_v (c))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   c->score == ATTNVIZ_SCORE_HYBRID
                     ? "variant: score=%s: this hybrid model's additive heads have no dot product to rescale"
                     : "variant: score=%s: this model scores additively; dot-product scales do not apply",
                   v->score == ATTNVIZ_SCORE_VARIANT_DOT ? "dot" : "scale");
      return FALSE;
    }
  for (int i = 0; i < v->n_ablate; i++)
    if (v->ablate[i].layer >= c->n_layer || v->ablate[i].head >= c->n_head)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "variant: ablate=L%dH%d: the model has layers 0-%d and heads 0-%d", v->ablate[i].layer,
                     v->ablate[i].head, c->n_layer - 1, c->n_head - 1);
        return FALSE;
      }
  return TRUE;
}

static void
append_float (GString *s, float f)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.9g", f);
  g_string_append (s, buf);
}

AttnvizPattern
attnviz_variant_effective_pattern (const AttnvizVariant *variant, const AttnvizPattern *model_pattern)
{
  AttnvizPattern none = { 0 };
  switch (variant->mask)
    {
    case ATTNVIZ_MASK_MODEL: return *model_pattern;
    case ATTNVIZ_MASK_WINDOW:
    case ATTNVIZ_MASK_STRIDED:
    case ATTNVIZ_MASK_PATTERN: return variant->pattern;
    default: return none;
    }
}

char *
attnviz_variant_to_string (const AttnvizVariant *v)
{
  GString *s = g_string_new (NULL);
  switch (v->mask)
    {
    case ATTNVIZ_MASK_MODEL: break;
    case ATTNVIZ_MASK_CAUSAL: g_string_append (s, ",mask=causal"); break;
    case ATTNVIZ_MASK_BIDIRECTIONAL: g_string_append (s, ",mask=bidirectional"); break;
    case ATTNVIZ_MASK_WINDOW:
    case ATTNVIZ_MASK_STRIDED:
    case ATTNVIZ_MASK_PATTERN:
      {
        g_autofree char *pattern = attnviz_pattern_to_string (&v->pattern);
        g_string_append_printf (s, ",mask=%s", pattern);
        break;
      }
    default: g_assert_not_reached ();
    }
  if (v->exclude_special || v->n_exclude)
    {
      g_string_append (s, ",exclude=");
      gboolean first = TRUE;
      if (v->exclude_special)
        {
          g_string_append (s, "special");
          first = FALSE;
        }
      for (int i = 0; i < v->n_exclude; i++, first = FALSE)
        g_string_append_printf (s, "%s%d", first ? "" : "+", v->exclude[i]);
    }
  switch (v->positions)
    {
    case ATTNVIZ_POSITIONS_MODEL: break;
    case ATTNVIZ_POSITIONS_NONE: g_string_append (s, ",pos=none"); break;
    case ATTNVIZ_POSITIONS_SINUSOIDAL: g_string_append (s, ",pos=sinusoidal"); break;
    case ATTNVIZ_POSITIONS_SHUFFLED: g_string_append_printf (s, ",pos=shuffled:%u", v->shuffle_seed); break;
    case ATTNVIZ_POSITIONS_REVERSED: g_string_append (s, ",pos=reversed"); break;
    case ATTNVIZ_POSITIONS_ROPE_THETA:
      g_string_append (s, ",pos=rope-theta:");
      append_float (s, v->rope_theta);
      break;
    default: g_assert_not_reached ();
    }
  switch (v->score)
    {
    case ATTNVIZ_SCORE_VARIANT_MODEL: break;
    case ATTNVIZ_SCORE_VARIANT_DOT: g_string_append (s, ",score=dot"); break;
    case ATTNVIZ_SCORE_VARIANT_ADDITIVE: g_string_append (s, ",score=additive"); break;
    case ATTNVIZ_SCORE_VARIANT_SCALE:
      g_string_append (s, ",score=scale:");
      append_float (s, v->scale);
      break;
    default: g_assert_not_reached ();
    }
  if (v->n_ablate)
    {
      g_string_append (s, ",ablate=");
      for (int i = 0; i < v->n_ablate; i++)
        g_string_append_printf (s, "%sL%dH%d", i ? "+" : "", v->ablate[i].layer, v->ablate[i].head);
      if (v->ablate_mode == ATTNVIZ_ABLATE_MEAN)
        g_string_append (s, ",ablate-mode=mean");
    }
  if (s->len == 0)
    g_string_append (s, ",model");
  g_string_erase (s, 0, 1);
  return g_string_free (s, FALSE);
}

gboolean
attnviz_variant_is_model (const AttnvizVariant *v)
{
  return v->mask == ATTNVIZ_MASK_MODEL && !v->exclude_special && v->n_exclude == 0
         && v->positions == ATTNVIZ_POSITIONS_MODEL
         && (v->score == ATTNVIZ_SCORE_VARIANT_MODEL || v->score == ATTNVIZ_SCORE_VARIANT_ADDITIVE)
         && v->n_ablate == 0;
}

int
attnviz_variant_first_changed_layer (const AttnvizVariant *v, const AttnvizConfig *c)
{
  if (v->mask != ATTNVIZ_MASK_MODEL || v->exclude_special || v->n_exclude
      || v->positions != ATTNVIZ_POSITIONS_MODEL
      || (v->score != ATTNVIZ_SCORE_VARIANT_MODEL && v->score != ATTNVIZ_SCORE_VARIANT_ADDITIVE))
    return 0;
  int first = c->n_layer;
  for (int i = 0; i < v->n_ablate; i++)
    first = MIN (first, v->ablate[i].layer);
  return first;
}

gboolean
attnviz_variant_head_ablated (const AttnvizVariant *v, int layer, int head)
{
  for (int i = 0; i < v->n_ablate; i++)
    if (v->ablate[i].layer == layer && v->ablate[i].head == head)
      return TRUE;
  return FALSE;
}

gint32 *
attnviz_variant_positions (const AttnvizVariant *v, int T)
{
  if (v->positions != ATTNVIZ_POSITIONS_SHUFFLED && v->positions != ATTNVIZ_POSITIONS_REVERSED)
    return NULL;
  gint32 *pos = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    pos[t] = v->positions == ATTNVIZ_POSITIONS_REVERSED ? T - 1 - t : t;
  if (v->positions == ATTNVIZ_POSITIONS_SHUFFLED)
    {
      /* Fisher-Yates with a seeded GRand: the same seed, the same shuffle. */
      g_autoptr(GRand) rand = g_rand_new_with_seed (v->shuffle_seed);
      for (int t = T - 1; t > 0; t--)
        {
          int j = g_rand_int_range (rand, 0, t + 1);
          gint32 tmp = pos[t];
          pos[t] = pos[j];
          pos[j] = tmp;
        }
    }
  return pos;
}
