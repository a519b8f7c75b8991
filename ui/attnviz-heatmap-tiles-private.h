/* attnviz-heatmap-tiles-private.h: what the tiles' files share
 *
 * attnviz-heatmap-tiles.c makes, caches and paints the tiles;
 * attnviz-heatmap-tiles-hover.c computes what the pointer is over (a cell,
 * or a bin's max and mean) off the main thread.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-heatmap-tiles.h"

G_BEGIN_DECLS

typedef struct {
  AttnvizAggregate aggregate;
  int layer, head;
  int k;          /* cells a side of a bin */
  int tr, tc;     /* the tile's place, in tiles */
} TileKey;

typedef enum {
  TILE_WANTED,    /* asked for, not started */
  TILE_RUNNING,
  TILE_READY,
} TileState;

typedef struct {
  TileKey key;
  TileState state;
  int rows, cols;             /* bins */
  float *values;              /* (rows, cols) once ready */
  cairo_surface_t *surface;   /* coloured, for COLOR_STAMP */
  guint color_stamp;
  GCancellable *cancellable;  /* while running */
  guint frame;                /* the last frame that wanted it */
  GList lru;                  /* in the LRU list while ready */
} Tile;

struct _AttnvizHeatmapTiles
{
  GObject parent_instance;

  AttnvizResult *result;
  TileKey picture;            /* k, tr, tc unused */
  AttnvizColormap colormap;
  AttnvizScale scale;
  guint color_stamp;

  GHashTable *tiles;          /* TileKey -> Tile */
  GQueue lru;                 /* ready tiles, most recently painted first */
  gsize bytes;
  int running;
  guint frame;
  gboolean complete;

  cairo_surface_t *overview;  /* the picture's overview, coloured */
  TileKey overview_picture;
  guint overview_stamp;

  /* The hover value (K = 1) or bin (K > 1) computed off the main thread */
  int hover_k, hover_row, hover_col;
  TileKey hover_picture;
  gboolean hover_ready;
  float hover[3];             /* value, A, B */
  GCancellable *hover_cancellable;
};

static inline gboolean
same_picture (const TileKey *a, const TileKey *b)
{
  return a->aggregate == b->aggregate && a->layer == b->layer && a->head == b->head;
}

/* "changed": a tile or a hover value arrived. */
void _attnviz_heatmap_tiles_emit_changed (AttnvizHeatmapTiles *self);

G_END_DECLS
