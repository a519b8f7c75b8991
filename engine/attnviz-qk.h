/* attnviz-qk.h: one head's queries and keys in a shared 2-D picture
 * (AttentionViz, Yeh et al. 2023, "AttentionViz: A Global View of
 * Transformer Attention", section 4.1)
 *
 * Take the head's query vectors q_i (n_q, head_dim) and key vectors k_j
 * (n_k, head_dim) as they entered its scores (after RoPE).  Two changes
 * leave every softmax row unchanged, and AttentionViz makes both so that
 * distance in the picture tracks attention:
 *
 *   scale      c = sqrt (mean_j ||k_j|| / mean_i ||q_i||), q <- c q, k <- k / c:
 *              q . k is unchanged, and the two clouds get the same mean norm
 *   translate  k <- k - mean_j k_j + mean_i q_i: every score of query i moves
 *              by the same q_i . t, which the softmax ignores; the key
 *              centroid now sits on the query centroid
 *
 * (scaling first, so the centroids still coincide afterwards).  Then one
 * PCA of all n_q + n_k points together: centred on their joint mean, the
 * two leading eigenvectors of their covariance (Jacobi, in double), each
 * signed so that its largest coordinate is positive.  AttentionViz also
 * offers t-SNE and UMAP; PCA is exact, fast and deterministic.
 *
 * Cost: (n_q + n_k) head_dim^2 for the covariance, head_dim^3 for the
 * eigenvectors: T = 2048 at head_dim 64 takes milliseconds.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-attention.h"

G_BEGIN_DECLS

typedef struct {
  int n_q, n_k;
  float *points;            /* (n_q + n_k, 2): queries first, then keys */
  float explained[2];       /* share of the total variance along each axis */
  float scale;              /* c above */
} AttnvizQkView;

/* The picture of LAYER, HEAD of SOURCE (any run: q and k are recomputed
 * from the inputs the run kept).  Errors: a head not recorded. */
AttnvizQkView *attnviz_qk_view (AttnvizAttention *source, int layer, int head, GError **error);
void attnviz_qk_view_free (AttnvizQkView *self);

static inline gboolean
attnviz_qk_view_is_query (const AttnvizQkView *self, int point)
{
  return point < self->n_q;
}

/* AttentionViz's scaling and translation of Q (n_q, d) and K (n_k, d) in
 * place; returns c. */
float attnviz_qk_normalize (float *q, int n_q, float *k, int n_k, int d);

/* OUT (n, 2) = X (n, d) projected on its two principal axes (signed as
 * above); EXPLAINED (2) may be NULL. */
void attnviz_pca2 (const float *X, int n, int d, float *out, float *explained);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizQkView, attnviz_qk_view_free)

G_END_DECLS
