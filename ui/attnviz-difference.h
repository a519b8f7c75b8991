/* attnviz-difference.h: A − B of two runs, as a result
 *
 * Compares two runs of the same tokens by the same model, A and B: its
 * matrices are A - B (computed on first use and kept), its per-token loss
 * is A's minus B's, its overviews A's mean overviews minus B's, it carries
 * one total variation distance per head, and its variant reads
 * "A: mask=bidirectional − B: model".  The views show it like any other
 * result, on a diverging colour map.
 */
#pragma once

#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_DIFFERENCE (attnviz_difference_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizDifference, attnviz_difference, ATTNVIZ, DIFFERENCE, AttnvizResult)

/* Compares A and B, two complete runs (AttnvizRunResult: every layer and
 * head recorded) of the same tokens by the same model; NULL with an error
 * when they differ in tokens or shape.  Computes the per-head total
 * variation distance. */
AttnvizDifference *attnviz_difference_new (AttnvizResult *a, AttnvizResult *b, GError **error);
/* A and B (runs). */
AttnvizResult *attnviz_difference_get_a (AttnvizDifference *self);
AttnvizResult *attnviz_difference_get_b (AttnvizDifference *self);
/* (n_layers * n_heads) layer-major: the mean over the rows of the total
 * variation distance between A's and B's rows of each head, in [0, 1]. */
const double *attnviz_difference_get_tvd (AttnvizDifference *self);

G_END_DECLS
