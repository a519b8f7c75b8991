/* attnviz-test-util.h: helpers every test program shares */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ../shared/data (or $ATTNVIZ_SHARED_DIR/data) joined with the NULL-terminated
 * path elements, or NULL after g_test_skip() when it is absent. */
char *attnviz_test_shared_path (const char *first, ...) G_GNUC_NULL_TERMINATED;
/* tests/fixtures joined with the path elements. */
char *attnviz_test_fixture_path (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Compares N floats, printing the largest absolute difference (llm.c's
 * check_tensor); returns TRUE when every |a - b| <= TOL. */
gboolean attnviz_test_check_tensor (const float *a, const float *b, gsize n,
                                    float tol, const char *label);

/* Reads a .npy file of little-endian <f4 or <i4/<i8 (converted to float). */
float *attnviz_test_load_npy (const char *path, gint64 *shape, int *n_dims, gsize *n);

G_END_DECLS
