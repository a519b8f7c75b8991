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

/* Reads a .npy file of little-endian <f4, <f8 or <i4/<i8 (converted to float). */
float *attnviz_test_load_npy (const char *path, gint64 *shape, int *n_dims, gsize *n);

/* The .npy at PATH has REF_PATH's shape and every value within TOL of it. */
void attnviz_test_assert_npy_close (const char *path, const char *ref_path, float tol, const char *label);

/* One run of the attnviz executable ($ATTNVIZ_EXE): its exit status and
 * what it wrote, as UTF-8. */
typedef struct {
  int status;
  char *out;
  char *err;
} AttnvizTestRun;

void attnviz_test_run_clear (AttnvizTestRun *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AttnvizTestRun, attnviz_test_run_clear)

/* Runs attnviz with the NULL-terminated arguments ARGS, waits for it and
 * keeps its status, stdout and stderr in R (stderr is also logged). */
void attnviz_test_run_attnvizv (AttnvizTestRun *r, const char *const *args);
/* The same with the arguments given one by one, NULL-terminated. */
void attnviz_test_run_attnviz (AttnvizTestRun *r, const char *first, ...) G_GNUC_NULL_TERMINATED;

/* R exited with STATUS and wrote exactly one line on stderr, holding NEEDLE
 * when that is not NULL. */
void attnviz_test_assert_one_line_error (const AttnvizTestRun *r, int status, const char *needle);

/* llama.cpp as a reference (../shared/tools/llref/build.sh builds it). */
#define LLREF "/tmp/llref/llref"
#define LLREF_LIBDIR_FILE "/tmp/llref/libdir"

/* TRUE, with llama.cpp's library folder in LIBDIR, when LLREF is built. */
gboolean attnviz_test_have_llref (char **libdir);

/* Removes PATH and, when it is a directory (not a link to one), all below it. */
void attnviz_test_remove_tree (const char *path);

G_END_DECLS
