/* attnviz-similarity.h: how alike two heads' patterns are on one input,
 * and an order of the heads that puts alike ones together
 *
 * Distance between heads a and b over the same T queries:
 *
 *   D_ab = mean_i JSD (P^a_i, P^b_i)
 *   JSD (p, q) = sqrt (JS (p, q)),  JS = 1/2 KL (p || m) + 1/2 KL (q || m),
 *                m = (p + q) / 2, logarithms base 2
 *
 * so D is in [0, 1] (0: the same pattern; 1: disjoint keys on every row),
 * symmetric, a metric on the rows (Endres & Schindelin 2003).  Rows a mask
 * left empty (no visible key) are skipped.
 *
 * Exactly, for T up to an "exact" limit (ATTNVIZ_SIMILARITY_EXACT_TOKENS by
 * default): rows are read through the attention source a block at a time
 * for all heads together (bounded memory), then every pair of heads
 * compares the block: n^2 / 2 * T^2 logarithms for n heads (GPT-2 small at
 * T = 256: 10^4 pairs x 6.5 10^4).  Above the limit the heads are compared
 * on their overviews instead (the R x C bins of mean attention the forward
 * pass left, R, C <= 256): each row bin becomes a distribution over column
 * bins (a bin's mean times its width, renormalised), and D_ab is the mean
 * JSD of those: the same measure at the resolution of the overview.
 *
 * Ordering: average-linkage agglomerative clustering (UPGMA) on D, O(n^3)
 * (512 heads: a fraction of a second); the order is the dendrogram's leaves
 * left to right, each merge putting first the child whose smallest head
 * index is smaller.  Neighbours in the order are alike, so a grid of heads
 * in this order shows families of heads side by side.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-attention.h"

G_BEGIN_DECLS

#define ATTNVIZ_SIMILARITY_EXACT_TOKENS 256

typedef struct {
  int n;                    /* heads compared: every recorded (layer, head) */
  int *layers, *heads;      /* (n) model layer and head of each */
  float *distance;          /* (n, n) D, 0 on the diagonal */
  int *order;               /* (n) indices into the heads, clustered order */
  int *merge_a, *merge_b;   /* (n - 1) clusters merged at each step: < n a head, n + k merge k (scipy's linkage) */
  float *height;            /* (n - 1) the average distance at which they merged */
  gboolean pooled;          /* compared on the overviews (T above the exact limit) */
} AttnvizHeadSimilarity;

/* Every recorded head of SOURCE against every other.  EXACT_MAX_TOKENS:
 * the longest T compared exactly (0: ATTNVIZ_SIMILARITY_EXACT_TOKENS).
 * Errors: cancellation, out of memory. */
AttnvizHeadSimilarity *attnviz_head_similarity (AttnvizAttention *source, int exact_max_tokens,
                                                GCancellable *cancellable, GError **error);
void attnviz_head_similarity_free (AttnvizHeadSimilarity *self);

/* JSD (p, q) of two distributions of N values, base 2, in [0, 1]. */
double attnviz_jsd (const float *p, const float *q, int n);

/* Average-linkage clustering of N items with distances D (n, n): ORDER (n)
 * the leaf order, MERGE_A, MERGE_B, HEIGHT (n - 1) the merges (may be NULL). */
void attnviz_cluster_average (const float *D, int n, int *order, int *merge_a, int *merge_b, float *height);

/* CSV of D in the clustered order: a header "layer,head,L0H1,L2H3,..."
 * (the heads in that order), then one row per head in the same order, its
 * layer, its head and its distance to each. */
char *attnviz_head_similarity_to_csv (const AttnvizHeadSimilarity *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizHeadSimilarity, attnviz_head_similarity_free)

G_END_DECLS
