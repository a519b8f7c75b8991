/* attnviz-loss-strip.h: how each token's loss changed between A and B */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-result.h"
#include "attnviz-view-state.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_LOSS_STRIP (attnviz_loss_strip_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizLossStrip, attnviz_loss_strip, ATTNVIZ, LOSS_STRIP, GtkWidget)

GtkWidget *attnviz_loss_strip_new (void);

/* What it shows is its state's (attnviz-view-state.h), as the figure
 * views': the run, a difference result (attnviz_difference_new ();
 * anything else shows nothing), and the selected token; a click selects
 * through the state. */
AttnvizViewState *attnviz_loss_strip_get_state (AttnvizLossStrip *self);
void attnviz_loss_strip_set_state (AttnvizLossStrip *self, AttnvizViewState *state);
AttnvizResult *attnviz_loss_strip_get_result (AttnvizLossStrip *self);
int attnviz_loss_strip_get_selected_token (AttnvizLossStrip *self);
/* Selects TOKEN (-1: none) in the state. */
void attnviz_loss_strip_select (AttnvizLossStrip *self, int token);

/* The largest |A - B| over the tokens: the ends of the colour range. */
double attnviz_loss_strip_get_range (AttnvizLossStrip *self);
/* The chip of token INDEX in widget coordinates (for tests); FALSE when
 * there is none. */
gboolean attnviz_loss_strip_get_chip_rect (AttnvizLossStrip *self, int index, graphene_rect_t *rect);
/* "loss A 2.31 · B 3.05 · A − B −0.74" for token INDEX. */
char *attnviz_loss_strip_describe_token (AttnvizLossStrip *self, int index);
/* The colour bar's two ends, "−0.74 A lower … A higher +0.74" (for tests). */
char *attnviz_loss_strip_describe_legend (AttnvizLossStrip *self);
/* "mean A 2.31 · B 3.05 · A − B −0.74": the mean loss per token of each. */
char *attnviz_loss_strip_describe_means (AttnvizLossStrip *self);

/* How many chips the last frame drew: only those its scrolled window
 * shows (for tests). */
int attnviz_loss_strip_get_n_drawn (AttnvizLossStrip *self);

G_END_DECLS
