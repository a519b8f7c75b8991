/* attnviz-scale.h: from values to [0, 1] for a colour map, and the ticks
 * of a colour bar
 *
 * linear: t = (v - vmin) / (vmax - vmin)
 * log:    t = log (v / lo) / log (vmax / lo), lo = vmin when vmin > 0,
 *         else FLOOR; values at or below lo map to 0 (attention
 *         probabilities span [1e-4, 1] usefully)
 * power:  t = ((v - vmin) / (vmax - vmin)) ^ GAMMA; GAMMA < 1 lifts the
 *         small weights that a linear map leaves black
 * t is clamped to [0, 1]; NaN stays NaN ("no data").
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_SCALE_LINEAR,
  ATTNVIZ_SCALE_LOG,
  ATTNVIZ_SCALE_POWER,
  ATTNVIZ_N_SCALES
} AttnvizScaleKind;

#define ATTNVIZ_SCALE_DEFAULT_GAMMA 0.5
#define ATTNVIZ_SCALE_DEFAULT_FLOOR 1e-4

/* A zero-initialised scale is linear with no range set: painters then take
 * the range from the data (attnviz_scale_fit). */
typedef struct {
  AttnvizScaleKind kind;
  double vmin;     /* value at t = 0; vmin == vmax: not set */
  double vmax;     /* value at t = 1 */
  double gamma;    /* power only; 0: ATTNVIZ_SCALE_DEFAULT_GAMMA */
  double floor;    /* log only, > 0; 0: ATTNVIZ_SCALE_DEFAULT_FLOOR */
} AttnvizScale;

void attnviz_scale_init (AttnvizScale *scale, AttnvizScaleKind kind, double vmin, double vmax);

/* TRUE when vmin < vmax (log: and vmax above the floor). */
gboolean attnviz_scale_has_range (const AttnvizScale *scale);

/* When SCALE has no range, sets it to the range of the N values in DATA
 * (NaN and infinities ignored); SYMMETRIC makes it [-m, m] with m the
 * largest |value|, for diverging maps.  Constant or empty data get a range
 * around the value (or [0, 1]).  Leaves a set range alone. */
void attnviz_scale_fit (AttnvizScale *scale, const float *data, gsize n, gboolean symmetric);

/* The lowest and highest values the scale distinguishes (log: lo is the
 * floor when vmin <= 0). */
void attnviz_scale_get_bounds (const AttnvizScale *scale, double *lo, double *hi);

double attnviz_scale_map (const AttnvizScale *scale, double v);
/* The value at T in [0, 1] (the inverse of map within the bounds). */
double attnviz_scale_unmap (const AttnvizScale *scale, double t);

/* Tick values for a colour bar, ascending, at most MAX_TICKS (>= 2) of
 * them, written to TICKS (MAX_TICKS): "nice" numbers 1, 2, 2.5, 5 x 10^k
 * for linear and power scales, whole decades for log (every k-th decade
 * when there are too many; nice numbers when the range is under a decade).
 * Returns how many. */
int attnviz_scale_ticks (const AttnvizScale *scale, int max_ticks, double *ticks);

/* Labels for the N TICKS: as many decimals as the step needs ("0.25"),
 * decades as "10⁻³", "0.1", "1"; no "-0".  A NULL-terminated array. */
char **attnviz_scale_tick_labels (const AttnvizScale *scale, const double *ticks, int n);

/* "linear", "log", "power". */
const char *attnviz_scale_kind_to_string (AttnvizScaleKind kind);
gboolean attnviz_scale_kind_from_string (const char *name, AttnvizScaleKind *kind);

G_END_DECLS
