/* attnviz-test-hostile.h: what the hostile-input test programs
 * (test-hostile, test-hostile-outputs, test-hostile-writes) share: a
 * scratch folder holding a copy of the gpt2-tiny fixture, the hostile
 * files planted in it, snapshots of it, runs of attnviz with a time limit
 * and child limits, and the table row a case is. */
#pragma once

#include <gio/gio.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "attnviz-test-util.h"

G_BEGIN_DECLS

/* ---- the scratch folder ---- */

typedef struct {
  char *tmp;    /* @T */
  char *model;  /* @M = @T/m, a copy of the gpt2-tiny fixture */
} AttnvizTestCtx;

/* A new scratch folder with the model copied in. */
void attnviz_test_ctx_init (AttnvizTestCtx *ctx);
/* The scratch folder removed. */
void attnviz_test_ctx_clear (AttnvizTestCtx *ctx);

/* S with @M and @T expanded. */
char *attnviz_test_expand (const AttnvizTestCtx *ctx, const char *s);
/* The file WHERE (expanded) holding LEN bytes of DATA, or TEXT. */
void attnviz_test_put_bytes (const AttnvizTestCtx *ctx, const char *where, const char *data, gsize len);
void attnviz_test_put (const AttnvizTestCtx *ctx, const char *where, const char *text);
/* A FIFO at WHERE (expanded), in place of what was there. */
void attnviz_test_put_fifo (const AttnvizTestCtx *ctx, const char *where);
/* A symbolic link at WHERE to TARGET (both expanded), in place of what was there. */
void attnviz_test_put_link (const AttnvizTestCtx *ctx, const char *where, const char *target);
/* config.json and model.safetensors of tests/fixtures/FIXTURE copied into @M. */
void attnviz_test_copy_fixture (const AttnvizTestCtx *ctx, const char *fixture);
/* N opening brackets: ~100 KB of them crashed json-glib's recursion. */
char *attnviz_test_brackets (gsize n);
/* config.json with KEY set to the raw JSON text VALUE (which json-glib may
 * not even read the same way: huge integers), or removed when VALUE is
 * NULL. */
void attnviz_test_config_set_raw (const AttnvizTestCtx *ctx, const char *key, const char *value);
/* Every float of tensor NAME in @M/model.safetensors set to VALUE. */
void attnviz_test_set_tensor (const AttnvizTestCtx *ctx, const char *name, float value);
/* A small WordPiece tokenizer.json over ids 0..4, with ADDED as its
 * added_tokens array (raw JSON). */
char *attnviz_test_wordpiece_json (const char *added);

/* @M as the llama-gqa-tiny fixture with a context of 40000 tokens. */
void attnviz_test_long_context_llama (AttnvizTestCtx *ctx);

/* A small SentencePiece-style tokenizer.json (BPE with Metaspace). */
#define SPM_JSON                                                                                       \
  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"\xe2\x96\x81" \
  "a\": 3, \"a\": 4}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "  \
  "\"\xe2\x96\x81\"}}"

/* "1,2,...": N ids within gpt2-tiny's vocabulary. */
char *attnviz_test_many_ids (int n);

/* ---- snapshots: nothing new, nothing changed ---- */

/* A line per name under ROOT (its mode, size, inode, mtime and link
 * target), sorted: equal snapshots mean nothing new and nothing changed. */
char *attnviz_test_snapshot (const char *root);
/* Hidden temporaries (".NAME.XXXXXX") anywhere under ROOT, each logged
 * when LOG. */
guint attnviz_test_count_hidden_logged (const char *root, gboolean log);
guint attnviz_test_count_hidden (const char *root);

/* ---- running attnviz with a time limit and a child setup ---- */

typedef struct {
  mode_t umask;          /* 0: leave the umask */
  rlim_t fsize;          /* 0: no file-size limit */
  rlim_t as;             /* 0: no address-space limit */
} AttnvizTestChildLimits;

/* attnviz ARGS started under LIMITS (or none), its pipes open. */
GSubprocess *attnviz_test_spawn (const char *const *args, const AttnvizTestChildLimits *limits);
/* Runs attnviz ARGS and waits at most RUN_TIMEOUT_S for it: a hang is a
 * failure, not a stuck test. */
void attnviz_test_run_with_limits (AttnvizTestRun *r, const char *const *args, const AttnvizTestChildLimits *limits);

/* ---- the table ---- */

/* Set by a setup that cannot make its hostile file here. */
extern gboolean attnviz_test_setup_skipped;

typedef void (*AttnvizTestSetupFunc) (AttnvizTestCtx *ctx);
typedef void (*AttnvizTestCheckFunc) (AttnvizTestCtx *ctx, const AttnvizTestRun *r);

typedef struct {
  const char *path;        /* /hostile/CLASS/CASE */
  AttnvizTestSetupFunc setup; /* plants the hostile file (NULL: the plain model) */
  const char *args[14];    /* @M, @T expanded */
  int status;              /* 1: a bad file, 2: a bad option */
  const char *names;       /* the file or option the line must name (expanded) */
  const char *needle;      /* and what it must say */
  AttnvizTestCheckFunc check; /* more than "nothing changed", or NULL */
} AttnvizTestHostileCase;

/* One row of a table (DATA, an AttnvizTestHostileCase): its setup in a new
 * scratch folder, the command, one line naming the file or option with
 * the exit status asked, nothing in the folder new or changed. */
void attnviz_test_hostile_case (gconstpointer data);

G_END_DECLS
