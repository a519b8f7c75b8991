/* attnviz-token-strip.h: the tokens of a run as a flow of chips */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-result.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_TOKEN_STRIP (attnviz_token_strip_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizTokenStrip, attnviz_token_strip, ATTNVIZ, TOKEN_STRIP, GtkWidget)

GtkWidget *attnviz_token_strip_new (void);

AttnvizResult *attnviz_token_strip_get_result (AttnvizTokenStrip *self);
void attnviz_token_strip_set_result (AttnvizTokenStrip *self, AttnvizResult *result);
int attnviz_token_strip_get_selected_token (AttnvizTokenStrip *self);
void attnviz_token_strip_set_selected_token (AttnvizTokenStrip *self, int token);

/* The chip of token INDEX (for tests), or NULL. */
GtkWidget *attnviz_token_strip_get_chip (AttnvizTokenStrip *self, int index);

G_END_DECLS
