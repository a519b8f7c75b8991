/* attnviz-demos.h: the built-in demo models and the sample inputs that suit them
 *
 * A demo is a model folder holding demo.json:
 *
 *   { "title": "Dates", "description": "...", "inputs": "...", "samples": ["21 nov 2026", ...] }
 *
 * "inputs" (optional) says in a sentence or two which inputs suit the
 * model, since a small trained model knows only its task's inputs; the
 * welcome page shows it on the demo's card.
 *
 * read through the project's JSON reader (attnviz-json.h) like any other
 * file.  The built-in ones live in data/models and are installed into
 * ATTNVIZ_DATADIR/models; $ATTNVIZ_DEMO_DIR overrides both.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ATTNVIZ_DEMO_MAX_SAMPLES 32
#define ATTNVIZ_DEMO_MAX_TEXT 4096

typedef struct {
  char *path;          /* the model folder */
  char *title;         /* "Dates" */
  char *description;   /* one paragraph */
  char *inputs;        /* which inputs suit the model; NULL when demo.json does not say */
  char **samples;      /* NULL-terminated, at least one */
} AttnvizDemo;

/* The folder the built-in demo models are in: $ATTNVIZ_DEMO_DIR, else the
 * installed ATTNVIZ_DATADIR/models, else the source tree's data/models (the
 * app run from its build folder); NULL when none exists. */
char *attnviz_demos_dir (void);

/* The demos in attnviz_demos_dir (), by folder name; folders without a
 * demo.json are not demos, and a bad demo.json is logged and skipped.
 * Never NULL. */
GPtrArray *attnviz_demos_list (void);

/* MODEL_DIR's demo.json; NULL without an error when there is none, NULL
 * with a one-line error naming the file when it is not a demo. */
AttnvizDemo *attnviz_demo_load (const char *model_dir, GError **error);

/* The demo's first sample, the one an input box starts with. */
const char *attnviz_demo_get_sample (const AttnvizDemo *demo);

void attnviz_demo_free (AttnvizDemo *demo);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizDemo, attnviz_demo_free)

G_END_DECLS
