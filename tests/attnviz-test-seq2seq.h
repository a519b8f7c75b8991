/* attnviz-test-seq2seq.h: what the encoder-decoder fixture tests share
 * (test-t5.c, test-bart.c): their PyTorch references and a check of every
 * attention of a recording against one. */
#pragma once

#include "attnviz-attention.h"

/* The ids in FIXTURE/reference/FILE (an .npy of floats); *N gets how many. */
gint32 *attnviz_test_load_ids (const char *fixture, const char *file, int *n);
/* FIXTURE/reference/FILE, which must hold WANT floats. */
float *attnviz_test_load_reference (const char *fixture, const char *file, gsize want);
/* Every attention of the recording against the reference, read through
 * the attention objects (so a recomputed run is checked as well). */
gboolean attnviz_test_check_attention (AttnvizAttention *att, const float *ref, int n_layer, int H, int rows,
                                       int cols, const char *label);
