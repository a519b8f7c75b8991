/* attnviz-metrics.h: numbers that compare and summarise attention */
#pragma once

#include <glib.h>

#include "attnviz-recording.h"

G_BEGIN_DECLS

/* Mean over the rows of the total variation distance between the rows of
 * two (rows, cols) attention matrices: 0.5 * sum_j |a_ij - b_ij|, in [0, 1]. */
double attnviz_total_variation (const float *a, const float *b, int rows, int cols);

/* The same for one head of two attention sources of the same shape, read
 * a band of rows at a time (whatever their length: no matrix is held
 * whole); dense sources give attnviz_total_variation ()'s value. */
double attnviz_attention_total_variation (AttnvizAttention *a, AttnvizAttention *b, int layer, int head);

/* One TVD per (layer, head) between two recordings of the same tokens and
 * the same recorded layers/heads: OUT (n_rec_layers * n_rec_heads), head
 * by head through their attention sources, on the engine's threads.
 * FALSE when the recordings are not comparable. */
gboolean attnviz_recording_tvd_per_head (const AttnvizRecording *a, const AttnvizRecording *b, double *out);

/* OUT (n) = the element-wise mean (or, TAKE_MAX, the max) of the non-NULL
 * of MAPS (n_maps, each n floats): the "mean/max over a layer's heads"
 * the app and `attnviz render --aggregate` show.  Returns how many maps
 * were used; OUT is untouched when none was. */
int attnviz_combine_maps (float *out, const float *const *maps, int n_maps, gsize n, gboolean take_max);

/* OUT (T, T) = A - B for one recorded head. */
void attnviz_attention_difference (float *out, const float *a, const float *b, int n);

/* The induction score of a (T, T) causal head over IDS: the mean attention
 * from each repeated token (second occurrence at i of a token first seen at
 * p < i) to the token after its first occurrence (p + 1).  NaN without
 * repeats. */
double attnviz_induction_score (const float *attn, const gint32 *ids, int T);

/* The previous-token score: mean attention from i to i - 1, i >= 1. */
double attnviz_previous_token_score (const float *attn, int T);

G_END_DECLS
