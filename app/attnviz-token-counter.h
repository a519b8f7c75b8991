/* attnviz-token-counter.h: the input box's "412 tokens", as you type
 *
 * Counts the tokens the model's tokenizer makes of a text buffer, with
 * the special tokens a run adds, and writes the count into a label.  The
 * text is tokenized in a worker thread, a short while after the last
 * change (typing in an 8192-token text never waits for it); an answer
 * that arrives after a newer change is dropped.  Past the model's limit
 * the label says so: a learned position table cannot run longer texts;
 * RoPE and the others run past the length they were trained at, and the
 * label says that too.
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-run.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_TOKEN_COUNTER (attnviz_token_counter_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizTokenCounter, attnviz_token_counter, ATTNVIZ, TOKEN_COUNTER, GObject)

/* Watches BUFFER and writes into LABEL (both kept by reference). */
AttnvizTokenCounter *attnviz_token_counter_new (GtkTextBuffer *buffer, GtkLabel *label);
/* The model whose tokenizer counts; NULL: no count shown. */
void attnviz_token_counter_set_model (AttnvizTokenCounter *self, AttnvizLoadedModel *model);
/* The last count ("count" notifies), -1 while there is none. */
int attnviz_token_counter_get_count (AttnvizTokenCounter *self);

G_END_DECLS
