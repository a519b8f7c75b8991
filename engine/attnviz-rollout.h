/* attnviz-rollout.h: how much of each input token reaches each output
 * token through all the layers (Abnar & Zuidema 2020, "Quantifying
 * Attention Flow in Transformers")
 *
 * Per recorded layer l (all of them unless the run chose some; the
 * product then runs over those), over T tokens:
 *
 *   A_l = mean over heads h of P_l^h                       (T, T)
 *         (the heads the run recorded: all of them unless it chose some)
 *   Â_l = 0.5 A_l + 0.5 I, each row divided by its sum     (the residual)
 *
 * Attention rollout:
 *
 *   R = Â_L · Â_{L-1} · ... · Â_1                          (T, T)
 *
 * R_ij is how much of input token j reaches output token i, mixing heads
 * linearly; rows sum to 1.  Cost: L T^3 / 2 flops (sgemm), T^2 floats.
 *
 * Attention flow: the same Â as a layered graph, nodes (l, t) for l = 0 ..
 * L, an edge (l - 1, j) -> (l, i) of capacity Â_l[i, j].  F_ij is the max
 * flow from input node (0, j) to output node (L, i): it bounds what can get
 * through by the narrowest layer instead of multiplying weights.  Each of
 * the T^2 flows is a Dinic max-flow on (L + 1) T nodes and L T^2 edges
 * (worst case O(V^2 E) each; in practice a handful of BFS phases), so the
 * whole matrix is about T^2 * phases * L T^2: refused past
 * ATTNVIZ_FLOW_MAX_TOKENS.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-attention.h"

G_BEGIN_DECLS

/* The longest input attnviz_attention_flow () takes. */
#define ATTNVIZ_FLOW_MAX_TOKENS 128
/* The longest input rollout takes (T^2 floats, T^3 flops a layer). */
#define ATTNVIZ_ROLLOUT_MAX_TOKENS 8192

/* OUT (T, T) = Â_l of recorded layer LAYER (the residual-mixed head mean),
 * read through SOURCE a row block at a time.  FALSE with an error when a
 * head of the layer was not recorded or the source is not square. */
gboolean attnviz_attention_residual_mean (AttnvizAttention *source, int layer, float *out, GError **error);

/* The (T, T) rollout, newly allocated (g_free).  Errors: a layer or head
 * not recorded, T over ATTNVIZ_ROLLOUT_MAX_TOKENS, cancellation. */
float *attnviz_attention_rollout (AttnvizAttention *source, GCancellable *cancellable, GError **error);

/* The same from L given (T, T) matrices Â_1 .. Â_L (each row already
 * normalised), for tests and callers that have them. */
float *attnviz_rollout_of (const float *const *mixed, int n_layers, int T);

/* The (T, T) attention flow, newly allocated.  Errors: as rollout, and T
 * over ATTNVIZ_FLOW_MAX_TOKENS. */
float *attnviz_attention_flow (AttnvizAttention *source, GCancellable *cancellable, GError **error);

/* The flow matrix of the layered graph of L given Â matrices (T, T):
 * OUT (T, T), OUT[i * T + j] = max flow from (0, j) to (L, i).  FALSE when
 * cancelled. */
gboolean attnviz_flow_of (const float *const *mixed, int n_layers, int T, float *out, GCancellable *cancellable);

G_END_DECLS
