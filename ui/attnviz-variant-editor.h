/* attnviz-variant-editor.h: choose a variant of the model (A or B of a comparison) */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-config.h"
#include "attnviz-variant.h"

G_BEGIN_DECLS

/* The presets of the drop-down, one change each; anything else is Custom. */
typedef enum {
  ATTNVIZ_VARIANT_PRESET_MODEL,            /* model */
  ATTNVIZ_VARIANT_PRESET_CAUSAL,           /* mask=causal */
  ATTNVIZ_VARIANT_PRESET_BIDIRECTIONAL,    /* mask=bidirectional */
  ATTNVIZ_VARIANT_PRESET_WINDOW,           /* mask=window:W */
  ATTNVIZ_VARIANT_PRESET_STRIDED,          /* mask=strided:S */
  ATTNVIZ_VARIANT_PRESET_EXCLUDE_SPECIAL,  /* exclude=special */
  ATTNVIZ_VARIANT_PRESET_POS_NONE,         /* pos=none */
  ATTNVIZ_VARIANT_PRESET_POS_SINUSOIDAL,   /* pos=sinusoidal */
  ATTNVIZ_VARIANT_PRESET_POS_SHUFFLED,     /* pos=shuffled:SEED */
  ATTNVIZ_VARIANT_PRESET_POS_REVERSED,     /* pos=reversed */
  ATTNVIZ_VARIANT_PRESET_ROPE_THETA,       /* pos=rope-theta:THETA (RoPE models only) */
  ATTNVIZ_VARIANT_PRESET_SCORE_DOT,        /* score=dot */
  ATTNVIZ_VARIANT_PRESET_SCORE_SCALE,      /* score=scale:S */
  ATTNVIZ_VARIANT_PRESET_ABLATE,           /* ablate=LxHy+... */
  ATTNVIZ_VARIANT_PRESET_ABLATE_MEAN,      /* ablate=LxHy+...,ablate-mode=mean */
  ATTNVIZ_VARIANT_PRESET_CUSTOM,           /* several changes: edit the spec */
  ATTNVIZ_N_VARIANT_PRESETS
} AttnvizVariantPreset;

#define ATTNVIZ_TYPE_VARIANT_EDITOR (attnviz_variant_editor_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizVariantEditor, attnviz_variant_editor, ATTNVIZ, VARIANT_EDITOR, GtkWidget)

GtkWidget *attnviz_variant_editor_new (void);

/* The badge before the controls: "A" or "B". */
const char *attnviz_variant_editor_get_label (AttnvizVariantEditor *self);
void attnviz_variant_editor_set_label (AttnvizVariantEditor *self, const char *label);

/* The canonical spec of the variant in effect ("model", "mask=window:8"). */
const char *attnviz_variant_editor_get_spec (AttnvizVariantEditor *self);
const AttnvizVariant *attnviz_variant_editor_get_variant (AttnvizVariantEditor *self);
/* Parses SPEC and checks it against the model: when it is valid it takes
 * effect and the entry shows it canonicalised; when not, the error shows
 * under the entry, the variant in effect stays, and FALSE. */
gboolean attnviz_variant_editor_set_spec (AttnvizVariantEditor *self, const char *spec, GError **error);
/* The error shown under the entry, or NULL. */
const char *attnviz_variant_editor_get_error (AttnvizVariantEditor *self);

/* The model the variants are for (its positions, score and shape decide
 * which presets apply); NULL: any.  Copied.  A variant that does not fit
 * the new model is replaced by the model's own, saying so. */
void attnviz_variant_editor_set_config (AttnvizVariantEditor *self, const AttnvizConfig *config);

AttnvizVariantPreset attnviz_variant_editor_get_preset (AttnvizVariantEditor *self);
/* Whether PRESET applies to the model (greyed out in the list when not). */
gboolean attnviz_variant_editor_preset_is_valid (AttnvizVariantEditor *self, AttnvizVariantPreset preset);
/* Picks PRESET with its parameter at its default; FALSE when it does not
 * apply to the model. */
gboolean attnviz_variant_editor_set_preset (AttnvizVariantEditor *self, AttnvizVariantPreset preset);

/* The head the "Heads switched off" preset starts from. */
void attnviz_variant_editor_set_current_head (AttnvizVariantEditor *self, int layer, int head);
/* Adds the head to the variant's ablation list or removes it; returns
 * whether it is switched off now. */
gboolean attnviz_variant_editor_toggle_head (AttnvizVariantEditor *self, int layer, int head);

/* The spec entry (for tests). */
GtkWidget *attnviz_variant_editor_get_entry (AttnvizVariantEditor *self);

G_END_DECLS
