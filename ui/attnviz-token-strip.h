/* attnviz-token-strip.h: the tokens of a run as a flow of chips, drawn
 * by one widget (only the chips in view), at any length */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-result.h"
#include "attnviz-view-state.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_TOKEN_STRIP (attnviz_token_strip_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizTokenStrip, attnviz_token_strip, ATTNVIZ, TOKEN_STRIP, GtkWidget)

GtkWidget *attnviz_token_strip_new (void);

/* What it shows is its state's (attnviz-view-state.h), as the figure
 * views': the run's tokens and the selected token, or with "source" the
 * run's encoder tokens and the selected source.  A click or a key selects
 * through the state. */
AttnvizViewState *attnviz_token_strip_get_state (AttnvizTokenStrip *self);
void attnviz_token_strip_set_state (AttnvizTokenStrip *self, AttnvizViewState *state);
gboolean attnviz_token_strip_get_source (AttnvizTokenStrip *self);
void attnviz_token_strip_set_source (AttnvizTokenStrip *self, gboolean source);

/* The result shown (from the state) and its selected token, -1: none;
 * the strip's scrolled window scrolls to it. */
AttnvizResult *attnviz_token_strip_get_result (AttnvizTokenStrip *self);
int attnviz_token_strip_get_selected_token (AttnvizTokenStrip *self);
/* Selects TOKEN (-1: none) in the state. */
void attnviz_token_strip_select (AttnvizTokenStrip *self, int token);

/* The box of token INDEX's chip in the strip's coordinates (as laid out at
 * its width); FALSE when there is no such token. */
gboolean attnviz_token_strip_get_chip_rect (AttnvizTokenStrip *self, int index, graphene_rect_t *rect);
/* The token whose chip is at (X, Y), or -1. */
int attnviz_token_strip_get_token_at (AttnvizTokenStrip *self, double x, double y);
/* The text a chip shows ("␣the"), or NULL. */
const char *attnviz_token_strip_get_chip_text (AttnvizTokenStrip *self, int index);
/* Its tooltip: "Token 3: id 262, bytes 9–13". */
char *attnviz_token_strip_describe_token (AttnvizTokenStrip *self, int index);
/* Whether chip INDEX is drawn as a token the model wrote (Continue). */
gboolean attnviz_token_strip_get_chip_generated (AttnvizTokenStrip *self, int index);
/* The chip's tooltip, Pango markup: describe_token (), then for a causal
 * run the predictions after the token (attnviz_prediction_to_markup ()). */
char *attnviz_token_strip_describe_tooltip (AttnvizTokenStrip *self, int index);
/* Scrolls the enclosing scrolled window so that chip INDEX shows. */
void attnviz_token_strip_scroll_to_token (AttnvizTokenStrip *self, int index);
/* How many chips the last frame drew (for tests and benchmarks). */
int attnviz_token_strip_get_n_drawn (AttnvizTokenStrip *self);

G_END_DECLS
