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

/* "10⁻³": 10 to the E in superscripts. */
static void
append_power_of_ten (GString *s, int e)
{
  g_string_append (s, "10");
  if (e < 0)
    g_string_append (s, "⁻");
  char digits[16];
  g_snprintf (digits, sizeof digits, "%d", ABS (e));
  for (const char *d = digits; *d; d++)
    g_string_append (s, superscripts[*d - '0']);
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

/* A log bar's label: every label of a bar in one notation, powers of ten
 * ("10⁻⁴", "8.7×10⁻¹") when POWERS, else plain numbers ("0.01", "0.87"). */
static char *
log_label (double v, gboolean powers)
{
  int e;
  if (!powers)
    return g_strdup_printf ("%.3g", v);
  GString *s = g_string_new (NULL);
  if (!is_decade (v, &e))
    {
      e = (int) floor (log10 (v));
      double mantissa = v / pow (10, e);
      if (mantissa >= 9.95)
        {
          mantissa /= 10;
          e++;
        }
      g_string_append_printf (s, "%.1f×", mantissa);
    }
  append_power_of_ten (s, e);
  return g_string_free (s, FALSE);
}

/* The decimals V needs, up to 8. */
static int
decimals_of (double v)
{
  int decimals = 0;
  while (decimals < 8 && v != 0 && isfinite (v))
    {
      double scaled = fabs (v) * pow (10, decimals);
      if (fabs (scaled - round (scaled)) < 1e-6 * MAX (1.0, scaled))
        break;
      decimals++;
    }
  return decimals;
}

/* The decimals of TICKS (N): those of their largest (nice) step, and
 * enough for two significant digits of an end off that grid (a colour
 * bar's): "0.0 … 0.8" and 0.8734 as "0.00 … 0.80 0.87". */
static int
tick_decimals (const double *ticks, int n)
{
  /* The step between the ticks inside the ends: nice numbers. */
  double step = n >= 4 ? INFINITY : n == 3 ? ticks[1] : n == 2 ? ticks[1] - ticks[0] : ticks[0];
  for (int i = 2; i < n - 1; i++)
    step = MIN (step, ticks[i] - ticks[i - 1]);
  int decimals = decimals_of (step);
  for (int i = 1; i < n - 1; i++)
    decimals = MAX (decimals, decimals_of (ticks[i]));
  return CLAMP (decimals, 0, 8);
}

/* An end off the step's grid keeps two significant digits of its own
 * ("0.64", "0.000051"), without lending its decimals to the others. */
static int
end_decimals (double v, int decimals)
{
  if (v == 0 || decimals_of (v) <= decimals)
    return decimals;
  return CLAMP (MAX (decimals, (int) ceil (-log10 (fabs (v)) - 1e-9) + 1), 0, 8);
}

char **
attnviz_scale_tick_labels (const AttnvizScale *scale, const double *ticks, int n)
{
  char **labels = g_new0 (char *, n + 1);

  if (scale->kind == ATTNVIZ_SCALE_LOG)
    {
      /* Powers of ten as soon as one label would need more than two
       * decimals or three digits; then all of them. */
      gboolean powers = FALSE;
      for (int i = 0; i < n; i++)
        if (ticks[i] > 0 && (ticks[i] < 0.00999 || ticks[i] >= 1000))
          powers = TRUE;
      for (int i = 0; i < n; i++)
        labels[i] = ticks[i] > 0 ? log_label (ticks[i], powers) : g_strdup ("0");
      return labels;
    }

  int decimals = tick_decimals (ticks, n);
  for (int i = 0; i < n; i++)
    {
      double v = fabs (ticks[i]) < 1e-12 ? 0.0 : ticks[i];
      int d = i == 0 || i == n - 1 ? end_decimals (v, decimals) : decimals;
      labels[i] = g_strdup_printf ("%.*f", d, v);
      /* "-0.00" for a value that rounds to zero reads as a bug; a negative
       * number takes a minus sign, not a hyphen. */
      if (labels[i][0] == '-' && strspn (labels[i] + 1, "0.") == strlen (labels[i] + 1))
        memmove (labels[i], labels[i] + 1, strlen (labels[i]));
      else if (labels[i][0] == '-')
        {
          char *minus = g_strconcat ("−", labels[i] + 1, NULL);
          g_free (labels[i]);
          labels[i] = minus;
        }
    }
  return labels;
}

int
attnviz_scale_ticks_with_ends (const AttnvizScale *scale, int max_ticks, double min_gap, double *ticks)
{
  g_return_val_if_fail (max_ticks >= 2, 0);

  double lo, hi, nice[16];
  attnviz_scale_get_bounds (scale, &lo, &hi);
  int n_nice = attnviz_scale_ticks (scale, MIN (max_ticks, (int) G_N_ELEMENTS (nice)), nice);
  if (!(hi > lo) || !isfinite (lo) || !isfinite (hi))
    {
      memcpy (ticks, nice, sizeof (double) * n_nice);
      return n_nice;
    }
  /* The ends always; a nice tick between them unless it is within MIN_GAP
   * of an end.  When the nice ticks do not all fit, fewer of them with a
   * larger step (never the first few of a fine step, which left a bar's
   * top half bare). */
  for (int want = MIN (max_ticks, (int) G_N_ELEMENTS (nice)); ; want--)
    {
      int n = 0;
      gboolean full = FALSE;
      ticks[n++] = lo;
      for (int i = 0; i < n_nice; i++)
        {
          double t = attnviz_scale_map (scale, nice[i]);
          if (t - attnviz_scale_map (scale, ticks[n - 1]) < min_gap || 1.0 - t < min_gap)
            continue;
          if (n >= max_ticks - 1)
            {
              full = TRUE;
              break;
            }
          ticks[n++] = nice[i];
        }
      ticks[n++] = hi;
      if (!full || want <= 2)
        return n;
      n_nice = attnviz_scale_ticks (scale, want - 1, nice);
    }
}

static const char *range_mode_names[ATTNVIZ_N_RANGE_MODES] = {
  [ATTNVIZ_RANGE_HEAD] = "head",
  [ATTNVIZ_RANGE_LAYER] = "layer",
  [ATTNVIZ_RANGE_RUN] = "run",
  [ATTNVIZ_RANGE_FIXED] = "fixed",
};

const char *
attnviz_range_mode_to_string (AttnvizRangeMode mode)
{
  g_return_val_if_fail ((guint) mode < ATTNVIZ_N_RANGE_MODES, NULL);
  return range_mode_names[mode];
}

gboolean
attnviz_range_mode_from_string (const char *name, AttnvizRangeMode *mode)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (guint i = 0; i < ATTNVIZ_N_RANGE_MODES; i++)
    if (g_ascii_strcasecmp (name, range_mode_names[i]) == 0)
      {
        *mode = (AttnvizRangeMode) i;
        return TRUE;
      }
  return FALSE;
}

/* A range end as a short number: "0", "1", "0.25", "−0.5", "1e-05". */
static char *
format_end (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.3g", fabs (v) < 1e-12 ? 0.0 : v);
  return buf[0] == '-' ? g_strdup_printf ("−%s", buf + 1) : g_strdup (buf);
}

char *
attnviz_range_mode_describe (AttnvizRangeMode mode, const AttnvizScale *scale)
{
  switch (mode)
    {
    case ATTNVIZ_RANGE_LAYER:
      return g_strdup ("per layer");
    case ATTNVIZ_RANGE_RUN:
      return g_strdup ("whole run");
    case ATTNVIZ_RANGE_FIXED:
      {
        double lo = scale ? scale->vmin : 0, hi = scale ? scale->vmax : 1;
        if (!(lo < hi))
          lo = 0, hi = 1;
        g_autofree char *a = format_end (lo);
        g_autofree char *b = format_end (hi);
        return g_strdup_printf ("fixed %s–%s", a, b);
      }
    case ATTNVIZ_RANGE_HEAD:
    default:
      return g_strdup ("per head");
    }
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
