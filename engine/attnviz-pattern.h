/* attnviz-pattern.h: sparse and local attention patterns
 *
 * Which keys a query may see besides the causal mask: a local window, a
 * stride (Child et al.'s strided pattern), blocks, and global tokens
 * (Longformer, BigBird: the first G positions attend to and are attended
 * by every position).  One definition for the trainer's masks
 * (attnviz-train-net.inc), a trained model's "mask" (config.json), the
 * engine's forward pass and recomputation (AttnvizMask) and its variants
 * (mask=...), so a model trained sparse runs in the engine with the very
 * mask it was trained with.
 *
 * Spelled "dense" (nothing restricted; a causal model is still causal),
 * or terms joined by '+', each at most once:
 *   window:W   |i - j| < W
 *   strided:S  |i - j| < S or |i - j| a multiple of S
 *   block:B    i and j in the same block of B positions (i / B == j / B)
 *   global:G   beside one of the others: positions < G see and are seen by all
 * e.g. "window:4+global:2".  Every restriction given must hold, except
 * that a global position is never restricted.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int window;   /* > 0: |i - j| < window */
  int stride;   /* > 0: |i - j| < stride or |i - j| % stride == 0 */
  int block;    /* > 0: i / block == j / block */
  int global;   /* > 0: query or key < global sees / is seen regardless */
} AttnvizPattern;

static inline gboolean
attnviz_pattern_is_dense (const AttnvizPattern *p)
{
  return p->window <= 0 && p->stride <= 0 && p->block <= 0;
}

/* Whether the pattern lets query I see key J (causality apart). */
static inline gboolean
attnviz_pattern_allows (const AttnvizPattern *p, int i, int j)
{
  if (p->global > 0 && (i < p->global || j < p->global))
    return TRUE;
  int dist = i > j ? i - j : j - i;
  if (p->window > 0 && dist >= p->window)
    return FALSE;
  if (p->stride > 0 && dist >= p->stride && dist % p->stride != 0)
    return FALSE;
  if (p->block > 0 && i / p->block != j / p->block)
    return FALSE;
  return TRUE;
}

/* Parses S as above ("causal" is read as "dense").  Errors name S. */
gboolean attnviz_pattern_parse (AttnvizPattern *p, const char *s, GError **error);
/* The canonical spelling: "dense", or the terms in the order window,
 * strided, block, global. */
char *attnviz_pattern_to_string (const AttnvizPattern *p);

G_END_DECLS
