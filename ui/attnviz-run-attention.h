/* attnviz-run-attention.h: one more attention of an encoder-decoder run
 *
 * An encoder-decoder run (AttnvizRunResult) is the result of its
 * decoder's self-attention; attnviz_result_get_attention () gives its
 * other two as results of this type, sharing the run's recording (and
 * holding the run): the cross-attention (ATTNVIZ_ATTENTION_CROSS), whose
 * rows are the target tokens and whose columns the source tokens (not
 * square), and the encoder's self-attention (ATTNVIZ_ATTENTION_ENCODER)
 * over the source, with the encoder's own count of layers.  Its step and
 * loss are the run's (the encoder has no loss).
 */
#pragma once

#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_RUN_ATTENTION (attnviz_run_attention_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizRunAttention, attnviz_run_attention, ATTNVIZ, RUN_ATTENTION, AttnvizResult)

G_END_DECLS
