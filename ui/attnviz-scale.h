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

/* The ticks of a colour bar that labels both its ends: the lowest and
 * highest values of the scale, and between them the nice ticks that are
 * at least MIN_GAP (in t, the [0, 1] the scale maps to) from their
 * neighbours; at most MAX_TICKS (>= 2) in all.  Returns how many. */
int attnviz_scale_ticks_with_ends (const AttnvizScale *scale, int max_ticks, double min_gap, double *ticks);

/* Labels for the N TICKS: as many decimals as the smallest step needs
 * ("0.25", "0.87"); no "-0".  A log scale's are all in one notation:
 * plain ("0.01", "0.1", "0.87") while every one fits in two decimals and
 * three digits, else powers of ten ("10⁻⁴", "10⁻³", "8.7×10⁻¹").  A
 * NULL-terminated array. */
char **attnviz_scale_tick_labels (const AttnvizScale *scale, const double *ticks, int n);

/* What a colour range is fitted to, so that scrubbing heads, layers or
 * training steps never silently changes what a colour means: one head's
 * own largest weight (the default), the largest over the heads of its
 * layer, over every layer and head of the run, or fixed 0 to 1 (a
 * difference: -1 to 1).  Layer and run take each head's exact largest
 * weight from its max-pooled overview, never a whole matrix. */
typedef enum {
  ATTNVIZ_RANGE_HEAD,
  ATTNVIZ_RANGE_LAYER,
  ATTNVIZ_RANGE_RUN,
  ATTNVIZ_RANGE_FIXED,
  ATTNVIZ_N_RANGE_MODES
} AttnvizRangeMode;

/* "head", "layer", "run", "fixed" (the names of the GType's values). */
const char *attnviz_range_mode_to_string (AttnvizRangeMode mode);
gboolean attnviz_range_mode_from_string (const char *name, AttnvizRangeMode *mode);
/* What a colour bar says under it and a subtitle after "colour range ":
 * "per head", "per layer", "whole run", or "fixed LO–HI" with SCALE's
 * ends (fixed: a user's range, or 0–1). */
char *attnviz_range_mode_describe (AttnvizRangeMode mode, const AttnvizScale *scale);

/* "linear", "log", "power". */
const char *attnviz_scale_kind_to_string (AttnvizScaleKind kind);
gboolean attnviz_scale_kind_from_string (const char *name, AttnvizScaleKind *kind);

G_END_DECLS
