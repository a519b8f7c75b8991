/* attnviz-run-matrix.h: another matrix of a run, as a result
 *
 * What a heatmap can show of a run (or of one attention of an
 * encoder-decoder run) besides its attention weights: each head's
 * value-weighted attention α_ij ‖W_O v_j‖, or one (T, T) matrix of the
 * whole run through all its layers, its attention rollout or attention
 * flow, the same for every layer, head and aggregate.  Made and kept by
 * the result it derives from (attnviz_result_peek_matrix (),
 * attnviz_result_prepare_matrix_async ()), whose recording it reads, so it
 * is valid as long as that result is; read like any other result.
 */
#pragma once

#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_RUN_MATRIX (attnviz_run_matrix_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizRunMatrix, attnviz_run_matrix, ATTNVIZ, RUN_MATRIX, AttnvizResult)

G_END_DECLS
