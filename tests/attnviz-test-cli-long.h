/* attnviz-test-cli-long.h: what the long-input command-line test programs
 * (test-cli-long, test-cli-long-render) share: a copy of stories260K with
 * its context raised to 8192, the ids and files of its runs, runs of
 * attnviz under an address-space limit. */
#pragma once

#include <glib.h>

#include "attnviz-test-util.h"

G_BEGIN_DECLS

/* This process's folder: the model copy and the outputs. */
extern char *attnviz_test_scratch;

/* g_test_init and the scratch folder. */
void attnviz_test_cli_long_init (int *argc, char ***argv);
/* g_test_run, then the scratch folder removed; returns g_test_run's status. */
int attnviz_test_cli_long_run (void);

/* The copy of stories260K, made once; NULL (the test skipped) without ../shared. */
const char *attnviz_test_long_model (void);
/* "1,8,15,...": N ids of stories260K's vocabulary, BOS first. */
char *attnviz_test_some_ids (int n);
/* NAME in the scratch folder. */
char *attnviz_test_out_path (const char *name);
/* Runs attnviz ARGS (NULL-terminated), under an address-space limit of AS
 * bytes unless 0, keeping its status and output in R. */
void attnviz_test_run_limited (AttnvizTestRun *r, const char *const *args, gsize as);
/* Runs attnviz ARGS (NULL-terminated) and asserts it succeeded. */
void attnviz_test_dump_ok (const char *const *args);

/* An address-space limit a dense recording of the long runs would break
 * (2.7 GB of attention at T = 4096), with room for OpenBLAS's buffers. */
#define LONG_RUN_AS ((gsize) 1 << 30)

/* FALSE, saying why, where an address-space limit cannot be set (ASan). */
gboolean attnviz_test_address_space_limits_work (void);

G_END_DECLS
