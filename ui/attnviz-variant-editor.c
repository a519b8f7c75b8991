/* attnviz-variant-editor.c: choose a variant of the model (A or B of a comparison)
 *
 * One row: a badge ("A"), a drop-down of presets (each one change to how
 * the model computes attention), a spin button for the preset's number
 * (the window w, the stride s, θ, the scale) and an entry holding the
 * canonical spec, which can be edited freely to combine changes.  The
 * presets that do not apply to the model (RoPE's base on a model without
 * RoPE) are greyed out, with attnviz_variant_check ()'s reason as their
 * tooltip.  An entry that does not parse, or does not fit the model, shows
 * the error under it and leaves the last valid variant in effect.
 */
#define G_LOG_DOMAIN "attnviz-variant-editor"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-variant-editor.h"

struct _AttnvizVariantEditor
{
  GtkWidget parent_instance;

  GtkWidget *row;
  GtkWidget *badge;
  GtkWidget *dropdown;
  GtkWidget *spin;
  GtkWidget *entry;
  GtkWidget *error_label;

  char *label;
  AttnvizVariant variant;     /* in effect */
  char *spec;                 /* its canonical spec */
  char *error;                /* shown under the entry, or NULL */
  AttnvizVariantPreset preset;

  gboolean has_config;
  AttnvizConfig config;       /* scalar fields only: what attnviz_variant_check reads */
  gboolean valid[ATTNVIZ_N_VARIANT_PRESETS];
  char *why[ATTNVIZ_N_VARIANT_PRESETS];

  int current_layer, current_head;
  gboolean updating;          /* setting the controls from the variant */
};

G_DEFINE_FINAL_TYPE (AttnvizVariantEditor, attnviz_variant_editor, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_LABEL,
  PROP_SPEC,
  PROP_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What each preset is called, what its number means, and the number's range. */
typedef struct {
  const char *name;
  const char *spec;           /* printf format of the spec with the number, or the spec */
  gboolean integer;           /* the number is an integer */
  gboolean has_param;
  double lower, upper, step, page, fallback;
  int digits;
  const char *param_tooltip;
} PresetInfo;

static const PresetInfo presets[ATTNVIZ_N_VARIANT_PRESETS] = {
  [ATTNVIZ_VARIANT_PRESET_MODEL] = { "Model’s own", "model" },
  [ATTNVIZ_VARIANT_PRESET_CAUSAL] = { "Mask: causal", "mask=causal" },
  [ATTNVIZ_VARIANT_PRESET_BIDIRECTIONAL] = { "Mask: none (bidirectional)", "mask=bidirectional" },
  [ATTNVIZ_VARIANT_PRESET_WINDOW] = { "Mask: sliding window", "mask=window:%d", TRUE, TRUE, 1, 65536, 1, 8, 8, 0,
                                      "Window: each token sees the tokens less than w away" },
  [ATTNVIZ_VARIANT_PRESET_STRIDED] = { "Mask: strided", "mask=strided:%d", TRUE, TRUE, 1, 65536, 1, 4, 4, 0,
                                       "Stride: each token sees its s neighbours and every s-th token" },
  [ATTNVIZ_VARIANT_PRESET_EXCLUDE_SPECIAL] = { "Keys: no special tokens", "exclude=special" },
  [ATTNVIZ_VARIANT_PRESET_POS_NONE] = { "Positions: none", "pos=none" },
  [ATTNVIZ_VARIANT_PRESET_POS_SINUSOIDAL] = { "Positions: sinusoidal", "pos=sinusoidal" },
  [ATTNVIZ_VARIANT_PRESET_POS_SHUFFLED] = { "Positions: shuffled", "pos=shuffled:%d", TRUE, TRUE, 1, 1000000, 1, 10, 1, 0,
                                            "Seed of the shuffle" },
  [ATTNVIZ_VARIANT_PRESET_POS_REVERSED] = { "Positions: reversed", "pos=reversed" },
  [ATTNVIZ_VARIANT_PRESET_ROPE_THETA] = { "Positions: RoPE base θ", "pos=rope-theta:%g", FALSE, TRUE, 1, 1e9, 100, 10000, 1000, 0,
                                          "θ: the base of RoPE’s frequencies" },
  [ATTNVIZ_VARIANT_PRESET_SCORE_DOT] = { "Score: unscaled dot product", "score=dot" },
  [ATTNVIZ_VARIANT_PRESET_SCORE_SCALE] = { "Score: scale s", "score=scale:%g", FALSE, TRUE, 0.001, 100, 0.01, 0.1, 0.25, 3,
                                           "s: the factor in place of 1/√d (lower is flatter, higher is sharper)" },
  [ATTNVIZ_VARIANT_PRESET_ABLATE] = { "Heads: switched off", "ablate=L%dH%d" },
  [ATTNVIZ_VARIANT_PRESET_ABLATE_MEAN] = { "Heads: set to their mean", "ablate=L%dH%d,ablate-mode=mean" },
  [ATTNVIZ_VARIANT_PRESET_CUSTOM] = { "Custom", NULL },
};

/* ---- From a variant to a preset, and back -------------------------------- */

/* The preset VARIANT is, and its number in *PARAM. */
static AttnvizVariantPreset
classify (const AttnvizVariant *v, double *param)
{
  gboolean mask = v->mask != ATTNVIZ_MASK_MODEL;
  gboolean exclude = v->exclude_special || v->n_exclude > 0;
  gboolean pos = v->positions != ATTNVIZ_POSITIONS_MODEL;
  gboolean score = v->score != ATTNVIZ_SCORE_VARIANT_MODEL && v->score != ATTNVIZ_SCORE_VARIANT_ADDITIVE;
  gboolean ablate = v->n_ablate > 0;

  *param = NAN;
  if (mask + exclude + pos + score + ablate == 0)
    return ATTNVIZ_VARIANT_PRESET_MODEL;
  if (mask + exclude + pos + score + ablate > 1)
    return ATTNVIZ_VARIANT_PRESET_CUSTOM;
  if (mask)
    switch (v->mask)
      {
      case ATTNVIZ_MASK_CAUSAL:
        return ATTNVIZ_VARIANT_PRESET_CAUSAL;
      case ATTNVIZ_MASK_BIDIRECTIONAL:
        return ATTNVIZ_VARIANT_PRESET_BIDIRECTIONAL;
      case ATTNVIZ_MASK_WINDOW:
        *param = v->pattern.window;
        return ATTNVIZ_VARIANT_PRESET_WINDOW;
      case ATTNVIZ_MASK_STRIDED:
        *param = v->pattern.stride;
        return ATTNVIZ_VARIANT_PRESET_STRIDED;
      default:
        return ATTNVIZ_VARIANT_PRESET_CUSTOM;
      }
  if (exclude)
    return v->n_exclude == 0 ? ATTNVIZ_VARIANT_PRESET_EXCLUDE_SPECIAL : ATTNVIZ_VARIANT_PRESET_CUSTOM;
  if (pos)
    switch (v->positions)
      {
      case ATTNVIZ_POSITIONS_NONE:
        return ATTNVIZ_VARIANT_PRESET_POS_NONE;
      case ATTNVIZ_POSITIONS_SINUSOIDAL:
        return ATTNVIZ_VARIANT_PRESET_POS_SINUSOIDAL;
      case ATTNVIZ_POSITIONS_SHUFFLED:
        *param = v->shuffle_seed;
        return ATTNVIZ_VARIANT_PRESET_POS_SHUFFLED;
      case ATTNVIZ_POSITIONS_REVERSED:
        return ATTNVIZ_VARIANT_PRESET_POS_REVERSED;
      case ATTNVIZ_POSITIONS_ROPE_THETA:
        *param = v->rope_theta;
        return ATTNVIZ_VARIANT_PRESET_ROPE_THETA;
      default:
        return ATTNVIZ_VARIANT_PRESET_CUSTOM;
      }
  if (score)
    {
      if (v->score == ATTNVIZ_SCORE_VARIANT_DOT)
        return ATTNVIZ_VARIANT_PRESET_SCORE_DOT;
      *param = v->scale;
      return ATTNVIZ_VARIANT_PRESET_SCORE_SCALE;
    }
  return v->ablate_mode == ATTNVIZ_ABLATE_MEAN ? ATTNVIZ_VARIANT_PRESET_ABLATE_MEAN : ATTNVIZ_VARIANT_PRESET_ABLATE;
}

static double
default_param (AttnvizVariantEditor *self, AttnvizVariantPreset preset)
{
  /* Twice the model's own factor: visibly sharper attention. */
  if (preset == ATTNVIZ_VARIANT_PRESET_SCORE_SCALE && self->has_config && self->config.head_dim > 0)
    return round (2000.0 / sqrt (self->config.head_dim)) / 1000.0;
  return presets[preset].fallback;
}

/* The heads of V's ablation list, as "L1H2+L3H0", sorted. */
static int
compare_heads (const void *a, const void *b)
{
  const AttnvizHeadRef *x = a, *y = b;
  return x->layer != y->layer ? x->layer - y->layer : x->head - y->head;
}

static char *
ablate_list (const AttnvizHeadRef *heads, int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%sL%dH%d", i ? "+" : "", heads[i].layer, heads[i].head);
  return g_string_free (s, FALSE);
}

/* The spec of PRESET with the number PARAM (NaN: its default). */
static char *
preset_spec (AttnvizVariantEditor *self, AttnvizVariantPreset preset, double param)
{
  const PresetInfo *info = &presets[preset];

  if (preset == ATTNVIZ_VARIANT_PRESET_ABLATE || preset == ATTNVIZ_VARIANT_PRESET_ABLATE_MEAN)
    {
      /* Keep the heads already switched off; else start from the current one. */
      g_autofree char *heads = self->variant.n_ablate > 0
        ? ablate_list (self->variant.ablate, self->variant.n_ablate)
        : g_strdup_printf ("L%dH%d", self->current_layer, self->current_head);
      return g_strdup_printf (preset == ATTNVIZ_VARIANT_PRESET_ABLATE ? "ablate=%s" : "ablate=%s,ablate-mode=mean",
                              heads);
    }
  if (!info->has_param)
    return g_strdup (info->spec);
  if (isnan (param))
    param = default_param (self, preset);
  if (info->integer)
    return g_strdup_printf (info->spec, (int) param);
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (number, sizeof number, "%g", param);
  g_autofree char *format = g_strdup (info->spec);
  *strstr (format, "%g") = '\0';
  return g_strconcat (format, number, NULL);
}

/* ---- The controls --------------------------------------------------------- */

static void
set_error (AttnvizVariantEditor *self, const char *error)
{
  if (g_strcmp0 (error, self->error) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (error);
  gtk_label_set_text (GTK_LABEL (self->error_label), error ? error : "");
  gtk_widget_set_visible (self->error_label, error != NULL);
  if (error)
    {
      gtk_widget_add_css_class (self->entry, "error");
      gtk_entry_set_icon_from_icon_name (GTK_ENTRY (self->entry), GTK_ENTRY_ICON_SECONDARY, "dialog-warning-symbolic");
      gtk_entry_set_icon_tooltip_text (GTK_ENTRY (self->entry), GTK_ENTRY_ICON_SECONDARY, error);
    }
  else
    {
      gtk_widget_remove_css_class (self->entry, "error");
      gtk_entry_set_icon_from_icon_name (GTK_ENTRY (self->entry), GTK_ENTRY_ICON_SECONDARY, NULL);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

/* Shows the variant in effect in the drop-down, the spin button and the entry. */
static void
sync_controls (AttnvizVariantEditor *self)
{
  double param;
  AttnvizVariantPreset preset = classify (&self->variant, &param);
  const PresetInfo *info = &presets[preset];

  self->updating = TRUE;
  self->preset = preset;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->dropdown), preset);
  gtk_widget_set_visible (self->spin, info->has_param);
  if (info->has_param)
    {
      GtkAdjustment *adj = gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (self->spin));
      gtk_adjustment_configure (adj, isnan (param) ? default_param (self, preset) : param,
                                info->lower, info->upper, info->step, info->page, 0);
      gtk_spin_button_set_digits (GTK_SPIN_BUTTON (self->spin), info->digits);
      gtk_widget_set_tooltip_text (self->spin, info->param_tooltip);
    }
  gtk_editable_set_text (GTK_EDITABLE (self->entry), self->spec);
  self->updating = FALSE;
}

static gboolean
check (AttnvizVariantEditor *self, const AttnvizVariant *variant, GError **error)
{
  return !self->has_config || attnviz_variant_check (variant, &self->config, error);
}

/* Makes VARIANT (valid) the one in effect. */
static void
take_variant (AttnvizVariantEditor *self, AttnvizVariant *variant)
{
  g_autofree char *spec = attnviz_variant_to_string (variant);
  gboolean changed = g_strcmp0 (spec, self->spec) != 0;

  attnviz_variant_clear (&self->variant);
  self->variant = *variant;
  attnviz_variant_init (variant);   /* moved */
  g_free (self->spec);
  self->spec = g_steal_pointer (&spec);
  set_error (self, NULL);
  sync_controls (self);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEC]);
}

gboolean
attnviz_variant_editor_set_spec (AttnvizVariantEditor *self, const char *spec, GError **error)
{
  g_auto(AttnvizVariant) variant = { 0 };
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), FALSE);

  if (!attnviz_variant_parse (&variant, spec, &local) || !check (self, &variant, &local))
    {
      /* "variant: " is what the CLI says first; the editor says it already. */
      const char *message = local->message;
      if (g_str_has_prefix (message, "variant: "))
        message += strlen ("variant: ");
      set_error (self, message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  take_variant (self, &variant);
  return TRUE;
}

static void
apply_entry (AttnvizVariantEditor *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));

  if (g_strcmp0 (text, self->spec) == 0 && self->error == NULL)
    return;
  attnviz_variant_editor_set_spec (self, text, NULL);
}

static void
on_entry_activate (GtkEntry *entry, AttnvizVariantEditor *self)
{
  apply_entry (self);
}

static void
on_entry_leave (GtkEventControllerFocus *controller, AttnvizVariantEditor *self)
{
  apply_entry (self);
}

static void
on_preset_selected (GtkDropDown *dropdown, GParamSpec *pspec, AttnvizVariantEditor *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating || selected >= ATTNVIZ_N_VARIANT_PRESETS || selected == self->preset)
    return;
  if (!attnviz_variant_editor_set_preset (self, selected))
    sync_controls (self);   /* back to the one in effect */
}

static void
on_param_changed (GtkSpinButton *spin, AttnvizVariantEditor *self)
{
  if (self->updating || !presets[self->preset].has_param)
    return;
  g_autofree char *spec = preset_spec (self, self->preset, gtk_spin_button_get_value (spin));
  attnviz_variant_editor_set_spec (self, spec, NULL);
}

/* The list rows: greyed out, and not selectable, when the preset does not
 * apply to the model. */
static void
setup_row (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *check = gtk_image_new_from_icon_name ("object-select-symbolic");

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), check);
  gtk_list_item_set_child (item, box);
}

/* The check mark of the preset in effect, as GtkDropDown's own rows have. */
static void
update_check (GtkDropDown *dropdown, GParamSpec *pspec, GtkListItem *item)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *check = gtk_widget_get_last_child (box);

  gtk_widget_set_opacity (check, gtk_drop_down_get_selected (dropdown) == gtk_list_item_get_position (item) ? 1 : 0);
}

static void
bind_row (GtkSignalListItemFactory *factory, GtkListItem *item, AttnvizVariantEditor *self)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *label = gtk_widget_get_first_child (box);
  GtkStringObject *string = gtk_list_item_get_item (item);
  guint position = gtk_list_item_get_position (item);
  gboolean valid = position < ATTNVIZ_N_VARIANT_PRESETS && self->valid[position];

  gtk_label_set_text (GTK_LABEL (label), gtk_string_object_get_string (string));
  gtk_widget_set_sensitive (box, valid);
  gtk_widget_set_tooltip_text (box, valid || position >= ATTNVIZ_N_VARIANT_PRESETS ? NULL : self->why[position]);
  gtk_list_item_set_selectable (item, valid);
  gtk_list_item_set_activatable (item, valid);
  g_signal_connect (self->dropdown, "notify::selected", G_CALLBACK (update_check), item);
  update_check (GTK_DROP_DOWN (self->dropdown), NULL, item);
}

static void
unbind_row (GtkSignalListItemFactory *factory, GtkListItem *item, AttnvizVariantEditor *self)
{
  g_signal_handlers_disconnect_by_func (self->dropdown, update_check, item);
}

/* Which presets apply to the model, and the drop-down's list to match. */
static void
update_presets (AttnvizVariantEditor *self)
{
  const char *names[ATTNVIZ_N_VARIANT_PRESETS + 1];

  for (int p = 0; p < ATTNVIZ_N_VARIANT_PRESETS; p++)
    {
      g_auto(AttnvizVariant) variant = { 0 };
      g_autoptr(GError) error = NULL;

      names[p] = presets[p].name;
      g_clear_pointer (&self->why[p], g_free);
      if (p == ATTNVIZ_VARIANT_PRESET_CUSTOM)
        {
          self->valid[p] = FALSE;
          self->why[p] = g_strdup ("Edit the spec to combine changes");
          continue;
        }
      g_autofree char *spec = preset_spec (self, p, NAN);
      self->valid[p] = attnviz_variant_parse (&variant, spec, &error) && check (self, &variant, &error);
      if (!self->valid[p])
        {
          const char *message = error->message;
          if (g_str_has_prefix (message, "variant: "))
            message += strlen ("variant: ");
          self->why[p] = g_strdup (message);
        }
    }
  names[ATTNVIZ_N_VARIANT_PRESETS] = NULL;

  /* A new list rebinds every row with the new validity. */
  g_autoptr(GtkStringList) model = gtk_string_list_new (names);
  self->updating = TRUE;
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->dropdown), G_LIST_MODEL (model));
  self->updating = FALSE;
  sync_controls (self);
}

/* ---- Public --------------------------------------------------------------- */

AttnvizVariantPreset
attnviz_variant_editor_get_preset (AttnvizVariantEditor *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), ATTNVIZ_VARIANT_PRESET_MODEL);
  return self->preset;
}

gboolean
attnviz_variant_editor_preset_is_valid (AttnvizVariantEditor *self, AttnvizVariantPreset preset)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), FALSE);
  g_return_val_if_fail (preset < ATTNVIZ_N_VARIANT_PRESETS, FALSE);
  return self->valid[preset];
}

gboolean
attnviz_variant_editor_set_preset (AttnvizVariantEditor *self, AttnvizVariantPreset preset)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), FALSE);
  g_return_val_if_fail (preset < ATTNVIZ_N_VARIANT_PRESETS, FALSE);

  if (!self->valid[preset])
    return FALSE;
  g_autofree char *spec = preset_spec (self, preset, NAN);
  return attnviz_variant_editor_set_spec (self, spec, NULL);
}

void
attnviz_variant_editor_set_current_head (AttnvizVariantEditor *self, int layer, int head)
{
  g_return_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self));
  self->current_layer = MAX (layer, 0);
  self->current_head = MAX (head, 0);
}

gboolean
attnviz_variant_editor_toggle_head (AttnvizVariantEditor *self, int layer, int head)
{
  g_auto(AttnvizVariant) variant = { 0 };

  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), FALSE);

  attnviz_variant_copy (&variant, &self->variant);
  gboolean was = attnviz_variant_head_ablated (&variant, layer, head);
  if (was)
    {
      int kept = 0;
      for (int i = 0; i < variant.n_ablate; i++)
        if (variant.ablate[i].layer != layer || variant.ablate[i].head != head)
          variant.ablate[kept++] = variant.ablate[i];
      variant.n_ablate = kept;
      if (kept == 0)
        {
          g_clear_pointer (&variant.ablate, g_free);
          variant.ablate_mode = ATTNVIZ_ABLATE_ZERO;
        }
    }
  else
    {
      variant.ablate = g_renew (AttnvizHeadRef, variant.ablate, variant.n_ablate + 1);
      variant.ablate[variant.n_ablate++] = (AttnvizHeadRef) { layer, head };
      qsort (variant.ablate, variant.n_ablate, sizeof (AttnvizHeadRef), compare_heads);
    }
  g_autoptr(GError) error = NULL;
  if (!check (self, &variant, &error))
    {
      set_error (self, error->message);
      return was;
    }
  take_variant (self, &variant);
  return !was;
}

const char *
attnviz_variant_editor_get_spec (AttnvizVariantEditor *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), NULL);
  return self->spec;
}

const AttnvizVariant *
attnviz_variant_editor_get_variant (AttnvizVariantEditor *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), NULL);
  return &self->variant;
}

const char *
attnviz_variant_editor_get_error (AttnvizVariantEditor *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), NULL);
  return self->error;
}

void
attnviz_variant_editor_set_config (AttnvizVariantEditor *self, const AttnvizConfig *config)
{
  g_return_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self));

  memset (&self->config, 0, sizeof self->config);
  self->has_config = config != NULL;
  if (config != NULL)
    {
      self->config.n_layer = config->n_layer;
      self->config.n_head = config->n_head;
      self->config.n_kv_head = config->n_kv_head;
      self->config.head_dim = config->head_dim;
      self->config.d_model = config->d_model;
      self->config.n_ctx = config->n_ctx;
      self->config.rope_theta = config->rope_theta;
      self->config.pos = config->pos;
      self->config.causal = config->causal;
      self->config.score = config->score;
    }
  update_presets (self);

  g_autoptr(GError) error = NULL;
  if (!check (self, &self->variant, &error))
    {
      /* The previous model's variant does not fit this one. */
      g_autofree char *was = g_strdup (self->spec);
      g_auto(AttnvizVariant) model = { 0 };
      attnviz_variant_init (&model);
      take_variant (self, &model);
      g_autofree char *message = g_strdup_printf ("%s did not fit this model: back to the model’s own", was);
      set_error (self, message);
    }
}

const char *
attnviz_variant_editor_get_label (AttnvizVariantEditor *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), NULL);
  return self->label;
}

void
attnviz_variant_editor_set_label (AttnvizVariantEditor *self, const char *label)
{
  g_return_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self));

  if (g_strcmp0 (label, self->label) == 0)
    return;
  if (self->label)
    gtk_widget_remove_css_class (self->badge, self->label);
  g_free (self->label);
  self->label = g_strdup (label);
  gtk_label_set_text (GTK_LABEL (self->badge), label ? label : "");
  gtk_widget_set_visible (self->badge, label != NULL);
  if (label)
    gtk_widget_add_css_class (self->badge, label);   /* .A, .B: their colours */
  g_autofree char *name = g_strdup_printf ("Variant %s", label ? label : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->entry), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
}

GtkWidget *
attnviz_variant_editor_get_entry (AttnvizVariantEditor *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_VARIANT_EDITOR (self), NULL);
  return self->entry;
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_variant_editor_dispose (GObject *object)
{
  AttnvizVariantEditor *self = ATTNVIZ_VARIANT_EDITOR (object);

  g_clear_pointer (&self->row, gtk_widget_unparent);
  g_clear_pointer (&self->error_label, gtk_widget_unparent);
  G_OBJECT_CLASS (attnviz_variant_editor_parent_class)->dispose (object);
}

static void
attnviz_variant_editor_finalize (GObject *object)
{
  AttnvizVariantEditor *self = ATTNVIZ_VARIANT_EDITOR (object);

  attnviz_variant_clear (&self->variant);
  g_free (self->spec);
  g_free (self->error);
  g_free (self->label);
  for (int p = 0; p < ATTNVIZ_N_VARIANT_PRESETS; p++)
    g_free (self->why[p]);
  G_OBJECT_CLASS (attnviz_variant_editor_parent_class)->finalize (object);
}

static void
attnviz_variant_editor_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizVariantEditor *self = ATTNVIZ_VARIANT_EDITOR (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_SPEC:
      g_value_set_string (value, self->spec);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_variant_editor_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizVariantEditor *self = ATTNVIZ_VARIANT_EDITOR (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      attnviz_variant_editor_set_label (self, g_value_get_string (value));
      break;
    case PROP_SPEC:
      attnviz_variant_editor_set_spec (self, g_value_get_string (value), NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_variant_editor_class_init (AttnvizVariantEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_variant_editor_dispose;
  object_class->finalize = attnviz_variant_editor_finalize;
  object_class->get_property = attnviz_variant_editor_get_property;
  object_class->set_property = attnviz_variant_editor_set_property;

  properties[PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Setting an invalid spec shows its error and changes nothing. */
  properties[PROP_SPEC] =
    g_param_spec_string ("spec", NULL, NULL, "model",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "varianteditor");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
attnviz_variant_editor_init (AttnvizVariantEditor *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (widget);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 4);
  attnviz_variant_init (&self->variant);
  self->spec = g_strdup ("model");

  self->row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_parent (self->row, widget);

  self->badge = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->badge, "variant-badge");
  gtk_widget_set_valign (self->badge, GTK_ALIGN_CENTER);
  gtk_widget_set_visible (self->badge, FALSE);
  gtk_box_append (GTK_BOX (self->row), self->badge);

  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row), self);
  self->dropdown = gtk_drop_down_new (NULL, NULL);
  gtk_drop_down_set_list_factory (GTK_DROP_DOWN (self->dropdown), factory);
  g_object_unref (factory);
  gtk_widget_set_valign (self->dropdown, GTK_ALIGN_CENTER);
  /* One width for every preset, so that the entry does not jump. */
  gtk_widget_set_size_request (self->dropdown, 220, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->dropdown), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Preset", -1);
  g_signal_connect (self->dropdown, "notify::selected", G_CALLBACK (on_preset_selected), self);
  gtk_box_append (GTK_BOX (self->row), self->dropdown);

  self->spin = gtk_spin_button_new_with_range (1, 100, 1);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (self->spin), TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (self->spin), 6);
  gtk_widget_set_valign (self->spin, GTK_ALIGN_CENTER);
  gtk_widget_set_visible (self->spin, FALSE);
  g_signal_connect (self->spin, "value-changed", G_CALLBACK (on_param_changed), self);
  gtk_box_append (GTK_BOX (self->row), self->spin);

  self->entry = gtk_entry_new ();
  gtk_widget_set_hexpand (self->entry, TRUE);
  gtk_widget_set_valign (self->entry, GTK_ALIGN_CENTER);
  gtk_editable_set_width_chars (GTK_EDITABLE (self->entry), 16);
  gtk_widget_add_css_class (self->entry, "monospace");
  gtk_widget_add_css_class (self->entry, "variant-spec");
  gtk_widget_set_tooltip_text (self->entry,
                               "The variant’s spec: keys mask, exclude, pos, score, ablate and ablate-mode, "
                               "joined by commas (mask=window:8,pos=none). Press Enter to use it.");
  g_signal_connect (self->entry, "activate", G_CALLBACK (on_entry_activate), self);
  GtkEventController *focus = gtk_event_controller_focus_new ();
  g_signal_connect (focus, "leave", G_CALLBACK (on_entry_leave), self);
  gtk_widget_add_controller (self->entry, focus);
  gtk_box_append (GTK_BOX (self->row), self->entry);

  self->error_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->error_label), 0);
  gtk_label_set_wrap (GTK_LABEL (self->error_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->error_label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (self->error_label, "error");
  gtk_widget_add_css_class (self->error_label, "caption");
  gtk_widget_set_visible (self->error_label, FALSE);
  gtk_widget_set_parent (self->error_label, widget);

  update_presets (self);
}

GtkWidget *
attnviz_variant_editor_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_VARIANT_EDITOR, NULL);
}
