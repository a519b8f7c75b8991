/* attnviz-token-strip-private.h: what the token strip's files share
 *
 * attnviz-token-strip.c lays the chips out, draws them and selects;
 * attnviz-token-strip-scroll.c scrolls: the wheel, the selected chip into
 * view, and going to a token by its number (Ctrl+G).
 */
#pragma once

#include "attnviz-token-strip.h"
#include "attnviz-view-state.h"
#include "attnviz-widgets-private.h"

G_BEGIN_DECLS

#define SPACING 4
#define PAD_X 6
#define MIN_CHIP_HEIGHT 22
#define RADIUS 6
#define MAX_CHARS 24
/* Kept above and below the selected chip when it is scrolled to. */
#define SCROLL_MARGIN 8

struct _AttnvizTokenStrip
{
  GtkWidget parent_instance;

  AttnvizViewState *state;
  gboolean source;        /* the run's encoder tokens and the selected source */
  AttnvizResult *result;  /* what it shows, from the state */
  gboolean columns;       /* its tokens are the result's columns (a cross-attention's source, when the run
                           * has no encoder: one made elsewhere) */
  int selected_token;     /* the state's, within the result */
  int hover_token;

  /* One entry a token, from the result */
  char **shown;           /* (T + 1) the chip's text: visible spaces, cut at MAX_CHARS */
  int *widths;            /* (T) chip widths, measured on first layout; NULL until then */
  int chip_height;

  /* The flow at layout_width */
  int layout_width;       /* -1: none */
  int *x;                 /* (T) */
  int *line;              /* (T) */
  int n_lines;
  int n_drawn;            /* chips the last snapshot drew */

  GtkAdjustment *vadjustment;  /* of the scrolled window around the strip, while mapped */
  guint scroll_tick;
  int scroll_waits;
  GtkWidget *go_to;       /* the Ctrl+G popover, a child, or NULL */
};

int _attnviz_token_strip_n_tokens (AttnvizTokenStrip *self);
#define n_tokens(self) _attnviz_token_strip_n_tokens (self)
/* Lays the chips out in lines of at most WIDTH; returns the height. */
int _attnviz_token_strip_flow (AttnvizTokenStrip *self, int width);
#define flow(self, width) _attnviz_token_strip_flow (self, width)

/* attnviz-token-strip-scroll.c */
void _attnviz_token_strip_class_init_scroll (GtkWidgetClass *widget_class);
void _attnviz_token_strip_init_scroll (AttnvizTokenStrip *self);
void _attnviz_token_strip_queue_scroll_to_selected (AttnvizTokenStrip *self);
void _attnviz_token_strip_map (GtkWidget *widget);
void _attnviz_token_strip_unmap (GtkWidget *widget);
void _attnviz_token_strip_allocate_popover (AttnvizTokenStrip *self);

G_END_DECLS
