/* attnviz-kernels.h: small kernels the forward pass and the attention
 * source share, outputs first */
#pragma once

#include <glib.h>

#include "attnviz-config.h"

G_BEGIN_DECLS

void attnviz_layernorm (float *out, const float *x, const float *w, const float *b, int n, float eps);
void attnviz_rmsnorm (float *out, const float *x, const float *w, int n, float eps);
/* In place over N values; entries at -INFINITY become exactly 0, and a row
 * with none other becomes all zeros (a row of NaN stays NaN). */
void attnviz_softmax (float *x, int n);

/* The largest of X[0..N), NaN ignored, -inf when empty. */
float attnviz_max_of (const float *x, gsize n);
/* The index of the first NaN in X[0..N), or -1 (attnviz_max_of passes over
 * NaN, so a row of them would otherwise look fully masked). */
gssize attnviz_first_nan (const float *x, gsize n);
/* X[i] += Y[i] over X[0..N). */
void attnviz_add_into (float *x, const float *y, gsize n);
/* SUM[i] += ROW[i] and BEST[i] = max (BEST[i], ROW[i]) (ROW[i] taken when
 * greater, so NaN never) over [0, N). */
void attnviz_sum_max_into (float *sum, float *best, const float *row, gsize n);
/* Whether any of X[0..N) is an infinity or a NaN. */
gboolean attnviz_has_non_finite (const float *x, gsize n);
/* The index of the first of X[0..N) not at most LIMIT (greater, or NaN),
 * or N. */
gsize attnviz_first_above (const float *x, gsize n, float limit);
/* X[i] = e^(X[i] - SHIFT) over X[0..N); returns their sum (in double). */
double attnviz_exp_shifted (float *x, gsize n, float shift);
/* The sum of e^(X[i] - SHIFT) over X[0..N), nothing stored. */
double attnviz_sum_exp_shifted (const float *x, gsize n, float shift);
void attnviz_scale_array (float *x, gsize n, float factor);

/* The activation over X[0..N), in place, on the engine's threads. */
void attnviz_activate (float *x, gsize n, AttnvizActivation act);
/* T5's bucket of the distance REL = key position - query position
 * (Hugging Face's T5Attention._relative_position_bucket, in float32 as it
 * computes it): BIDIRECTIONAL gives half the N_BUCKETS to keys after the
 * query; within each half, distances below a quarter (half, causal) of
 * the buckets have their own, the rest share log-spaced buckets up to
 * MAX_DISTANCE. */
int attnviz_relative_bucket (int rel, gboolean bidirectional, int n_buckets, int max_distance);
/* OUT (T, d_model) = the model's norm of each row of X (may be OUT). */
void attnviz_norm_rows (const AttnvizConfig *c, float *out, const float *x, const float *w,
                        const float *b, int T);
/* RoPE over the N_HEADS heads of each row of X (T, n_heads * head_dim), in
 * place: the first N_ROT dimensions of each head turn in pairs, dimension i
 * with i + N_ROT / 2 (rotate-half) or 2i with 2i + 1 (adjacent pairs), pair
 * i by position * INV_FREQ[i]; row t's position is POSITIONS[t], or
 * FIRST + t. */
void attnviz_rope (float *x, int T, int n_heads, int head_dim, int n_rot, AttnvizRopeStyle style,
                   const gint32 *positions, int first, const float *inv_freq);

/* Asks for transparent huge pages for a large buffer about to be filled. */
void attnviz_advise_huge_pages (void *p, gsize bytes);

G_END_DECLS
