/* attnviz-cmd-render-private.h: what the files of attnviz render share
 *
 * attnviz-cmd-render.c reads the options and makes the run (a model run
 * on a text, or a session opened from a dump or a foreign tensor:
 * attnviz-session.h); attnviz-cmd-render-draw.c draws any run the same
 * way, so a dump gives the picture of the run it came from. */
#pragma once

#include "attnviz-cli-figure.h"
#include "attnviz-painter.h"
#include "attnviz-recording.h"

G_BEGIN_DECLS

typedef enum {
  VIEW_HEATMAP,
  VIEW_GRID,
  VIEW_LINES,
} RenderView;

typedef enum {
  ATTENTION_SELF,     /* the decoder's (or the only) self-attention: (T, T) */
  ATTENTION_ENCODER,  /* (S, S) */
  ATTENTION_CROSS,    /* (T, S): rows targets, columns sources */
} RenderAttention;

typedef enum {
  AGGREGATE_NONE,
  AGGREGATE_MEAN,
  AGGREGATE_MAX,
} RenderAggregate;

/* Inputs up to this many tokens a side are drawn cell by cell, exactly as
 * always; longer ones from the pooled matrix when the figure has fewer
 * pixels than tokens. */
#define RENDER_EXACT_MAX_TOKENS 1024

/* What is drawn from: one run (and a second for --vs), its labels and
 * names. */
typedef struct {
  const AttnvizRecording *rec;
  const AttnvizRecording *rec_b;      /* --vs: A - B; NULL otherwise */
  RenderAttention kind;
  const char *const *row_labels;      /* (rows) */
  const char *const *col_labels;      /* (cols) */
  const char *name;                   /* the title's model name */
  const char *model_type;             /* the subtitle's first part */
  gboolean seq2seq;                   /* figures say which attention */
  int n_layer, n_head;                /* of the attention drawn */
  int rows, cols;
} RenderRun;

/* How it is drawn: the checked options. */
typedef struct {
  RenderView view;
  RenderAggregate aggregate;
  AttnvizColormap colormap;
  gboolean colormap_given;            /* --colormap was given */
  AttnvizScaleKind scale_kind;
  double vmin, vmax;                  /* NaN: from the data */
  AttnvizCliFigure *fig;
  int layer, head;                    /* -1 when not given */
  const char *out;
  gboolean quiet;
} RenderRequest;

/* Draws RUN as REQ asks into REQ->out; the exit status (a message printed
 * on failure). */
int _attnviz_render_draw (const RenderRun *run, const RenderRequest *req);

G_END_DECLS
