#define G_LOG_DOMAIN "attnviz-painter"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-scale.h"

static const char *kind_names[ATTNVIZ_N_SCALES] = {
  [ATTNVIZ_SCALE_LINEAR] = "linear",
  [ATTNVIZ_SCALE_LOG] = "log",
  [ATTNVIZ_SCALE_POWER] = "power",
};

void
attnviz_scale_init (AttnvizScale *scale, AttnvizScaleKind kind, double vmin, double vmax)
{
  g_return_if_fail (scale != NULL);
  *scale = (AttnvizScale) {
    .kind = kind,
    .vmin = vmin,
    .vmax = vmax,
    .gamma = ATTNVIZ_SCALE_DEFAULT_GAMMA,
    .floor = ATTNVIZ_SCALE_DEFAULT_FLOOR,
  };
}

static double
scale_floor (const AttnvizScale *scale)
{
  return scale->floor > 0 ? scale->floor : ATTNVIZ_SCALE_DEFAULT_FLOOR;
}

static double
scale_gamma (const AttnvizScale *scale)
{
  return scale->gamma > 0 ? scale->gamma : ATTNVIZ_SCALE_DEFAULT_GAMMA;
}

void
attnviz_scale_get_bounds (const AttnvizScale *scale, double *lo, double *hi)
{
  *lo = scale->vmin;
  *hi = scale->vmax;
  if (scale->kind == ATTNVIZ_SCALE_LOG && *lo <= 0)
    *lo = scale_floor (scale);
}

gboolean
attnviz_scale_has_range (const AttnvizScale *scale)
{
  double lo, hi;
  attnviz_scale_get_bounds (scale, &lo, &hi);
  return isfinite (lo) && isfinite (hi) && lo < hi;
}

void
attnviz_scale_fit (AttnvizScale *scale, const float *data, gsize n, gboolean symmetric)
{
  g_return_if_fail (scale != NULL);

  if (scale->vmin != scale->vmax)
    return;

  double lo = INFINITY, hi = -INFINITY;
  for (gsize i = 0; i < n; i++)
    {
      float v = data[i];
      if (!isfinite (v))
        continue;
      if (v < lo)
        lo = v;
      if (v > hi)
        hi = v;
    }
  if (lo > hi)
    {
      lo = symmetric ? -1 : 0;
      hi = 1;
    }
  if (symmetric)
    {
      double m = MAX (fabs (lo), fabs (hi));
      lo = -m;
      hi = m;
    }
  if (lo == hi)
    {
      double d = lo == 0 ? 1 : fabs (lo) * 0.5;
      if (!symmetric && lo >= 0 && lo - d < 0)
        lo = 0;   /* a constant probability stays a probability */
      else
        lo -= d;
      hi += d;
    }
  if (scale->kind == ATTNVIZ_SCALE_LOG && hi <= scale_floor (scale))
    hi = scale_floor (scale) * 10;
  scale->vmin = lo;
  scale->vmax = hi;
}

double
attnviz_scale_map (const AttnvizScale *scale, double v)
{
  if (isnan (v))
    return v;

  double lo, hi, t;
  attnviz_scale_get_bounds (scale, &lo, &hi);
  if (!(hi > lo))
    return v >= hi ? 1.0 : 0.0;

  switch (scale->kind)
    {
    case ATTNVIZ_SCALE_LOG:
      if (v <= lo)
        return 0.0;
      t = log (v / lo) / log (hi / lo);
      break;
    case ATTNVIZ_SCALE_POWER:
      t = (v - lo) / (hi - lo);
      if (t <= 0)
        return 0.0;
      t = pow (t, scale_gamma (scale));
      break;
    case ATTNVIZ_SCALE_LINEAR:
    default:
      t = (v - lo) / (hi - lo);
      break;
    }
  return CLAMP (t, 0.0, 1.0);
}

double
attnviz_scale_unmap (const AttnvizScale *scale, double t)
{
  double lo, hi;
  attnviz_scale_get_bounds (scale, &lo, &hi);
  t = CLAMP (t, 0.0, 1.0);
  switch (scale->kind)
    {
    case ATTNVIZ_SCALE_LOG:
      return lo * pow (hi / lo, t);
    case ATTNVIZ_SCALE_POWER:
      return lo + (hi - lo) * pow (t, 1.0 / scale_gamma (scale));
    case ATTNVIZ_SCALE_LINEAR:
    default:
      return lo + (hi - lo) * t;
    }
}

/* The nice step (1, 2, 2.5 or 5 x 10^k) that splits [lo, hi] into at most
 * MAX_TICKS - 1 intervals. */
static double
nice_step (double lo, double hi, int max_ticks)
{
  static const double mantissas[] = { 1, 2, 2.5, 5, 10 };
  double rough = (hi - lo) / MAX (max_ticks - 1, 1);
  double p = pow (10, floor (log10 (rough)));
  for (guint i = 0; i < G_N_ELEMENTS (mantissas); i++)
    {
      double step = mantissas[i] * p;
      double first = ceil (lo / step - 1e-9) * step;
      int n = (int) floor ((hi - first) / step + 1e-9) + 1;
      if (n <= max_ticks)
        return step;
    }
  return 10 * p;
}

static int
linear_ticks (double lo, double hi, int max_ticks, double *ticks)
{
  double step = nice_step (lo, hi, max_ticks);
  double first = ceil (lo / step - 1e-9);
  int n = 0;
  for (double k = first; n < max_ticks; k++)
    {
      double v = k * step;
      if (v > hi + step * 1e-9)
        break;
      if (fabs (v) < step * 1e-9)
        v = 0;
      ticks[n++] = v;
    }
  return n;
}

int
attnviz_scale_ticks (const AttnvizScale *scale, int max_ticks, double *ticks)
{
  g_return_val_if_fail (max_ticks >= 2, 0);

  double lo, hi;
  attnviz_scale_get_bounds (scale, &lo, &hi);
  if (!(hi > lo) || !isfinite (lo) || !isfinite (hi))
    {
      ticks[0] = lo;
      return 1;
    }

  if (scale->kind == ATTNVIZ_SCALE_LOG)
    {
      int e0 = (int) ceil (log10 (lo) - 1e-9);
      int e1 = (int) floor (log10 (hi) + 1e-9);
      if (e1 > e0)
        {
          int n_dec = e1 - e0 + 1;
          int every = (n_dec + max_ticks - 1) / max_ticks;
          /* Keep the top decade (1 for probabilities) among the ticks. */
          int n = 0;
          for (int e = e1 - ((e1 - e0) / every) * every; e <= e1; e += every)
            ticks[n++] = pow (10, e);
          return n;
        }
    }
  return linear_ticks (lo, hi, max_ticks, ticks);
}

static const char *superscripts[] = {
  "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹",
};

static char *
format_decade (int e)
{
  if (e >= -2 && e <= 3)
    return g_strdup_printf ("%g", pow (10, e));
  GString *s = g_string_new ("10");
  if (e < 0)
    g_string_append (s, "⁻");
  char digits[16];
  g_snprintf (digits, sizeof digits, "%d", ABS (e));
  for (const char *d = digits; *d; d++)
    g_string_append (s, superscripts[*d - '0']);
  return g_string_free (s, FALSE);
}

static gboolean
is_decade (double v, int *e)
{
  if (!(v > 0))
    return FALSE;
  double l = log10 (v);
  *e = (int) lround (l);
  return fabs (l - *e) < 1e-9;
}

char **
attnviz_scale_tick_labels (const AttnvizScale *scale, const double *ticks, int n)
{
  char **labels = g_new0 (char *, n + 1);
  gboolean decades = scale->kind == ATTNVIZ_SCALE_LOG && n >= 2;
  for (int i = 0; decades && i < n; i++)
    {
      int e;
      decades = is_decade (ticks[i], &e);
    }

  /* Decimals: enough to tell neighbouring ticks apart. */
  int decimals = 0;
  if (!decades)
    {
      double step = n >= 2 ? ticks[1] - ticks[0] : fabs (ticks[0]);
      while (decimals < 8 && step > 0)
        {
          double scaled = step * pow (10, decimals);
          if (fabs (scaled - round (scaled)) < 1e-6 * MAX (1.0, scaled))
            break;
          decimals++;
        }
    }

  for (int i = 0; i < n; i++)
    {
      int e;
      if (decades && is_decade (ticks[i], &e))
        labels[i] = format_decade (e);
      else
        {
          double v = fabs (ticks[i]) < 1e-12 ? 0.0 : ticks[i];
          labels[i] = g_strdup_printf ("%.*f", decimals, v);
          /* "-0.00" for a value that rounds to zero reads as a bug. */
          if (labels[i][0] == '-' && strspn (labels[i] + 1, "0.") == strlen (labels[i] + 1))
            memmove (labels[i], labels[i] + 1, strlen (labels[i]));
        }
    }
  return labels;
}

const char *
attnviz_scale_kind_to_string (AttnvizScaleKind kind)
{
  g_return_val_if_fail ((guint) kind < ATTNVIZ_N_SCALES, NULL);
  return kind_names[kind];
}

gboolean
attnviz_scale_kind_from_string (const char *name, AttnvizScaleKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (guint i = 0; i < ATTNVIZ_N_SCALES; i++)
    if (g_ascii_strcasecmp (name, kind_names[i]) == 0)
      {
        *kind = (AttnvizScaleKind) i;
        return TRUE;
      }
  if (g_ascii_strcasecmp (name, "gamma") == 0 || g_ascii_strcasecmp (name, "sqrt") == 0)
    {
      *kind = ATTNVIZ_SCALE_POWER;
      return TRUE;
    }
  return FALSE;
}
