/* attnviz-test-convert.h: what the attnviz convert test programs
 * (test-convert, test-convert-types, test-convert-llama-cpp) share: the
 * models they convert and the temporary folder they write in. */
#pragma once

#include <glib.h>

#include "attnviz-convert.h"
#include "attnviz-forward.h"
#include "attnviz-model.h"

G_BEGIN_DECLS

typedef struct {
  const char *label;
  gboolean fixture;          /* tests/fixtures, else ../shared/data/models */
  const char *dir;
  const char *sub;           /* under DIR, or NULL */
  gboolean trained;          /* real weights: logits of 10 and more */
} AttnvizTestSource;

/* stories260K, tiny-llama, tiny-qwen2, gpt2-tiny, bert-tiny. */
extern const AttnvizTestSource attnviz_test_sources[5];

/* The folder every converted file goes to, made by attnviz_test_convert_init. */
extern char *attnviz_test_tmp_dir;

/* g_test_init and a new temporary folder. */
void attnviz_test_convert_init (int *argc, char ***argv);
/* g_test_run, then the temporary folder removed; returns g_test_run's status. */
int attnviz_test_convert_run (void);

/* The source's path, or NULL (after g_test_skip) when ../shared is absent. */
char *attnviz_test_source_path (const AttnvizTestSource *s);
/* MODEL converted to a new file in the temporary folder, named after LABEL. */
char *attnviz_test_convert (const AttnvizModel *model, const char *label, AttnvizWeightType type, int threads);
/* The model at PATH, asserting that it loads. */
AttnvizModel *attnviz_test_load (const char *path);
/* T ids spread over the vocabulary (BOS first when the model has one). */
gint32 *attnviz_test_spread_ids (const AttnvizModel *m, int T);
/* M's forward pass over T ids, asserting that it runs. */
AttnvizRecording *attnviz_test_forward (const AttnvizModel *m, const gint32 *ids, int T);

G_END_DECLS
