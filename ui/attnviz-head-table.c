/* attnviz-head-table.c: every head of a run as a row of its measures
 *
 * The rows flow store -> layer filter -> the view's own sorter (its
 * headers' clicks) -> a single selection -> the column view.  Each row
 * holds a copy of its head's numbers, so that sorting reads no table.
 */
#define G_LOG_DOMAIN "attnviz-head-table"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-head-table.h"
#include "attnviz-run-result.h"

/* The columns before the measures; "score" only for a model with
 * additive heads (a hybrid's say which). */
#define COLUMN_SCORE (-3)
#define COLUMN_LAYER (-2)
#define COLUMN_HEAD (-1)

static const char *const probe_names[] = {
  "probe-previous-token", "probe-duplicate-token", "probe-induction",
};
static const AttnvizMeasure probe_sources[] = {
  ATTNVIZ_MEASURE_PREVIOUS_TOKEN, ATTNVIZ_MEASURE_DUPLICATE_TOKEN, ATTNVIZ_MEASURE_INDUCTION,
};
/* The costly columns a job adds from the run's own tokens. */
static const AttnvizMeasure costly[] = {
  ATTNVIZ_MEASURE_POS_NONE, ATTNVIZ_MEASURE_POS_SHUFFLED, ATTNVIZ_MEASURE_IMPORTANCE,
};

/* ---- A row: one head (a list model's items are objects) ------------------ */

#define ATTNVIZ_TYPE_HEAD_TABLE_ROW (attnviz_head_table_row_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizHeadTableRow, attnviz_head_table_row, ATTNVIZ, HEAD_TABLE_ROW, GObject)

struct _AttnvizHeadTableRow
{
  GObject parent_instance;
  int layer, head;
  gboolean additive;                       /* the head scored additively */
  double values[ATTNVIZ_HEAD_N_COLUMNS];   /* NaN where not computed */
};

G_DEFINE_FINAL_TYPE (AttnvizHeadTableRow, attnviz_head_table_row, G_TYPE_OBJECT)

static void
attnviz_head_table_row_class_init (AttnvizHeadTableRowClass *klass)
{
}

static void
attnviz_head_table_row_init (AttnvizHeadTableRow *self)
{
}

static double
row_value (const AttnvizHeadTableRow *row, int column)
{
  return column == COLUMN_LAYER ? row->layer : column == COLUMN_HEAD ? row->head
       : column == COLUMN_SCORE ? row->additive : row->values[column];
}

/* ---- The table ------------------------------------------------------------ */

struct _AttnvizHeadTable
{
  GtkWidget parent_instance;

  AttnvizViewState *state;
  AttnvizResult *run;                /* the run the rows describe */
  AttnvizHeadMeasures *measures;     /* its measures, costly columns added (owned copy) */
  AttnvizHeadMeasures *probe;        /* the probe's, or NULL */
  gboolean computing;
  int layer_filter;                  /* -1: all */

  GtkWidget *box;
  GtkWidget *toolbar;                /* hidden while there is no table */
  gboolean score_only;               /* an encoder-decoder hybrid's table: no measures, each head's score */
  GtkDropDown *layer_dropdown;
  GtkStringList *layer_names;
  GtkWidget *caption;
  GtkProgressBar *progress;
  GtkWidget *cancel_button;
  GtkWidget *compute_button;
  GtkStack *stack;
  GtkLabel *empty_title;
  GtkLabel *empty_description;
  GtkColumnView *view;
  GListStore *rows;
  GtkFilter *filter;
  GtkSortListModel *sorted;
  GtkSingleSelection *selection;
  GtkColumnViewColumn *layer_column, *head_column, *score_column;
  GtkColumnViewColumn *columns[ATTNVIZ_HEAD_N_COLUMNS];
};

G_DEFINE_FINAL_TYPE (AttnvizHeadTable, attnviz_head_table, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STATE,
  PROP_COMPUTING,
  PROP_PROGRESS,
  PROP_LAYER_FILTER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  HEAD_ACTIVATED,
  COMPUTE,
  CANCEL,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
column_name (int column)
{
  if (column == COLUMN_SCORE)
    return "score";
  if (column == COLUMN_LAYER)
    return "layer";
  if (column == COLUMN_HEAD)
    return "head";
  if (column >= ATTNVIZ_N_MEASURES)
    return probe_names[column - ATTNVIZ_N_MEASURES];
  return attnviz_measure_get_name (column);
}

static gboolean
column_from_name (const char *name, int *column)
{
  AttnvizMeasure m;

  for (int c = COLUMN_SCORE; c < ATTNVIZ_HEAD_N_COLUMNS; c++)
    if (c >= ATTNVIZ_N_MEASURES || c < 0)
      if (g_strcmp0 (name, column_name (c)) == 0)
        {
          *column = c;
          return TRUE;
        }
  if (name == NULL || !attnviz_measure_from_name (name, &m))
    return FALSE;
  *column = m;
  return TRUE;
}

/* NaN below every number: last when sorted largest first, as `attnviz
 * heads --sort` puts it; ties keep the rows' order (layer by layer). */
static int
compare_rows (gconstpointer a, gconstpointer b, gpointer data)
{
  int column = GPOINTER_TO_INT (data);
  double x = row_value (a, column), y = row_value (b, column);

  if (isnan (x) || isnan (y))
    return isnan (y) - isnan (x);
  return (x > y) - (x < y);
}

static gboolean
filter_row (gpointer item, gpointer user_data)
{
  AttnvizHeadTable *self = user_data;
  return self->layer_filter < 0 || ATTNVIZ_HEAD_TABLE_ROW (item)->layer == self->layer_filter;
}

static void
setup_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);

  /* Numbers right-aligned in tabular figures, so that digits line up. */
  gtk_label_set_xalign (GTK_LABEL (label), 1.0);
  gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  int column = GPOINTER_TO_INT (data);
  AttnvizHeadTableRow *row = gtk_list_item_get_item (item);
  double v = row_value (row, column);
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  if (column == COLUMN_SCORE)
    g_strlcpy (text, v > 0 ? "additive" : "scaled dot", sizeof text);
  else if (column < 0)
    g_snprintf (text, sizeof text, "%d", (int) v);
  else if (isnan (v))
    g_strlcpy (text, "—", sizeof text);
  else
    g_snprintf (text, sizeof text, "%.3f", v);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
}

static GtkColumnViewColumn *
add_column (AttnvizHeadTable *self, int column)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), GINT_TO_POINTER (column));

  GtkColumnViewColumn *c = gtk_column_view_column_new (column_name (column), factory);
  g_autoptr(GtkSorter) sorter = GTK_SORTER (gtk_custom_sorter_new (compare_rows, GINT_TO_POINTER (column), NULL));
  gtk_column_view_column_set_sorter (c, sorter);
  gtk_column_view_column_set_resizable (c, TRUE);
  gtk_column_view_append_column (self->view, c);
  g_object_unref (c);   /* the view holds it */
  return c;
}

static gboolean
has_column (AttnvizHeadTable *self, int column)
{
  if (self->measures == NULL)
    return FALSE;
  if (column >= ATTNVIZ_N_MEASURES)
    return self->probe != NULL && self->probe->has[probe_sources[column - ATTNVIZ_N_MEASURES]];
  /* offset-0 is "self" and offset-1 "prev" to the last digit: shown once
   * (the CSV and JSON keep both). */
  if (column == ATTNVIZ_MEASURE_OFFSET_0 || column == ATTNVIZ_MEASURE_OFFSET_1)
    return FALSE;
  return self->measures->has[column];
}

static void
update_actions (AttnvizHeadTable *self)
{
  gboolean complete = attnviz_head_table_get_complete (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "heads.compute",
                                 self->measures != NULL && !self->score_only && !self->computing && !complete);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "heads.cancel", self->computing);
  gtk_widget_set_visible (self->compute_button, !self->computing && !complete);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), self->computing);
  gtk_widget_set_visible (self->cancel_button, self->computing);
}

/* The row of the state's head is the selected one. */
static void
select_current (AttnvizHeadTable *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));
  guint found = GTK_INVALID_LIST_POSITION;
  int layer = self->state ? attnviz_view_state_get_layer (self->state) : -1;
  int head = self->state ? attnviz_view_state_get_head (self->state) : -1;

  for (guint i = 0; i < n && found == GTK_INVALID_LIST_POSITION; i++)
    {
      g_autoptr(AttnvizHeadTableRow) row = g_list_model_get_item (G_LIST_MODEL (self->selection), i);
      if (row->layer == layer && row->head == head)
        found = i;
    }
  gtk_single_selection_set_selected (self->selection, found);
}

static void
rebuild_rows (AttnvizHeadTable *self)
{
  const AttnvizHeadMeasures *m = self->measures;
  int n = m ? m->n_layer * m->n_head : 0;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_full (n, g_object_unref);
  const AttnvizRecording *rec = self->run ? attnviz_result_get_recording (self->run) : NULL;

  for (int k = 0; k < n; k++)
    {
      AttnvizHeadTableRow *row = g_object_new (ATTNVIZ_TYPE_HEAD_TABLE_ROW, NULL);
      row->layer = k / m->n_head;
      row->head = k % m->n_head;
      row->additive = rec != NULL && attnviz_recording_head_additive (rec, row->layer, row->head);
      const double *v = attnviz_head_measures_at (m, row->layer, row->head);
      for (int c = 0; c < ATTNVIZ_N_MEASURES; c++)
        row->values[c] = v[c];
      for (int p = 0; p < (int) G_N_ELEMENTS (probe_sources); p++)
        row->values[ATTNVIZ_N_MEASURES + p]
          = self->probe ? attnviz_head_measures_at (self->probe, row->layer, row->head)[probe_sources[p]] : NAN;
      g_ptr_array_add (rows, row);
    }
  g_list_store_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)), rows->pdata, rows->len);
  for (int c = 0; c < ATTNVIZ_HEAD_N_COLUMNS; c++)
    gtk_column_view_column_set_visible (self->columns[c], has_column (self, c));
  gtk_column_view_column_set_visible (self->score_column, rec != NULL && rec->head_additive != NULL);
  select_current (self);
  update_actions (self);
}

static void
update_layers (AttnvizHeadTable *self)
{
  int n_layer = self->measures ? self->measures->n_layer : 0;
  guint had = g_list_model_get_n_items (G_LIST_MODEL (self->layer_names));

  if ((int) had == n_layer + 1)
    return;
  /* The layer shown stays while the new run has it. */
  int keep = self->layer_filter < n_layer ? self->layer_filter : -1;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (names, g_strdup ("All layers"));
  for (int l = 0; l < n_layer; l++)
    g_ptr_array_add (names, g_strdup_printf ("Layer %d", l));
  g_ptr_array_add (names, NULL);
  gtk_string_list_splice (self->layer_names, 0, had, (const char *const *) names->pdata);
  attnviz_head_table_set_layer_filter (self, keep);
}

static void
show_empty (AttnvizHeadTable *self, const char *title, const char *description)
{
  gtk_label_set_text (self->empty_title, title);
  gtk_label_set_text (self->empty_description, description);
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
on_run_changed (AttnvizHeadTable *self)
{
  AttnvizResult *run = self->state ? attnviz_view_state_get_run (self->state) : NULL;

  if (run == self->run)
    return;
  g_set_object (&self->run, run);
  g_clear_pointer (&self->measures, attnviz_head_measures_free);
  g_clear_pointer (&self->probe, attnviz_head_measures_free);
  self->score_only = FALSE;

  const AttnvizHeadMeasures *m = run ? attnviz_run_result_measures_of (run) : NULL;
  if (m != NULL)
    {
      self->measures = attnviz_head_measures_new (m->n_layer, m->n_head);
      memcpy (self->measures->values, m->values, sizeof (double) * m->n_layer * m->n_head * ATTNVIZ_N_MEASURES);
      memcpy (self->measures->has, m->has, sizeof m->has);
      gtk_stack_set_visible_child_name (self->stack, "table");
    }
  else if (run == NULL)
    show_empty (self, "No Run Yet", "Run the model on a text to measure each of its heads.");
  else if (attnviz_result_get_kind (run) == ATTNVIZ_ATTENTION_CROSS)
    show_empty (self, "No Head Measures", "This run is a cross-attention alone; heads are measured on self-attention.");
  else if (attnviz_result_is_seq2seq (run) && attnviz_result_get_recording (run)->head_additive != NULL)
    {
      /* No measures, but a hybrid's heads still say how each one scores:
       * a table of its layers (of both stacks) and heads, its score alone. */
      const AttnvizRecording *rec = attnviz_result_get_recording (run);
      self->measures = attnviz_head_measures_new (MAX (rec->n_layer, rec->n_enc_layer), rec->n_head);
      self->score_only = TRUE;
      gtk_stack_set_visible_child_name (self->stack, "table");
    }
  else if (attnviz_result_is_seq2seq (run))
    show_empty (self, "No Head Measures", "Heads are measured for decoder-only and encoder models.");
  else
    show_empty (self, "No Head Measures", "This run was made without them.");
  gtk_widget_set_visible (self->toolbar, self->measures != NULL && !self->score_only);
  update_layers (self);
  rebuild_rows (self);
}

static void
on_position_changed (AttnvizHeadTable *self)
{
  select_current (self);
}

static void
on_activate (GtkColumnView *view, guint position, AttnvizHeadTable *self)
{
  g_autoptr(AttnvizHeadTableRow) row = g_list_model_get_item (G_LIST_MODEL (self->selection), position);

  if (row != NULL)
    g_signal_emit (self, signals[HEAD_ACTIVATED], 0, row->layer, row->head);
}

static void
on_layer_selected (AttnvizHeadTable *self)
{
  guint selected = gtk_drop_down_get_selected (self->layer_dropdown);
  int layer = selected == GTK_INVALID_LIST_POSITION || selected == 0 ? -1 : (int) selected - 1;

  if (layer == self->layer_filter)
    return;
  self->layer_filter = layer;
  gtk_filter_changed (self->filter, GTK_FILTER_CHANGE_DIFFERENT);
  select_current (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYER_FILTER]);
}

static void
compute_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  g_signal_emit (widget, signals[COMPUTE], 0);
}

static void
cancel_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  g_signal_emit (widget, signals[CANCEL], 0);
}

static gboolean
attnviz_head_table_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (ATTNVIZ_HEAD_TABLE (widget)->view));
}

static void
attnviz_head_table_dispose (GObject *object)
{
  AttnvizHeadTable *self = ATTNVIZ_HEAD_TABLE (object);

  attnviz_head_table_set_state (self, NULL);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->rows);
  g_clear_object (&self->run);
  G_OBJECT_CLASS (attnviz_head_table_parent_class)->dispose (object);
}

static void
attnviz_head_table_finalize (GObject *object)
{
  AttnvizHeadTable *self = ATTNVIZ_HEAD_TABLE (object);

  g_clear_pointer (&self->measures, attnviz_head_measures_free);
  g_clear_pointer (&self->probe, attnviz_head_measures_free);
  G_OBJECT_CLASS (attnviz_head_table_parent_class)->finalize (object);
}

static void
attnviz_head_table_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizHeadTable *self = ATTNVIZ_HEAD_TABLE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_object (value, self->state);
      break;
    case PROP_COMPUTING:
      g_value_set_boolean (value, self->computing);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, attnviz_head_table_get_progress (self));
      break;
    case PROP_LAYER_FILTER:
      g_value_set_int (value, self->layer_filter);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_head_table_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizHeadTable *self = ATTNVIZ_HEAD_TABLE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      attnviz_head_table_set_state (self, g_value_get_object (value));
      break;
    case PROP_LAYER_FILTER:
      attnviz_head_table_set_layer_filter (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_head_table_class_init (AttnvizHeadTableClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_head_table_dispose;
  object_class->finalize = attnviz_head_table_finalize;
  object_class->get_property = attnviz_head_table_get_property;
  object_class->set_property = attnviz_head_table_set_property;
  widget_class->grab_focus = attnviz_head_table_grab_focus;

  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL, ATTNVIZ_TYPE_VIEW_STATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPUTING] =
    g_param_spec_boolean ("computing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAYER_FILTER] =
    g_param_spec_int ("layer-filter", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A row was double-clicked, or Enter pressed on it: open that head. */
  signals[HEAD_ACTIVATED] =
    g_signal_new ("head-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  /* The user asked for the costly measures, or to stop them. */
  signals[COMPUTE] =
    g_signal_new ("compute", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[CANCEL] =
    g_signal_new ("cancel", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "heads.compute", NULL, compute_action);
  gtk_widget_class_install_action (widget_class, "heads.cancel", NULL, cancel_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "headtable");
}

static GtkWidget *
build_toolbar (AttnvizHeadTable *self)
{
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (bar, "toolbar");

  self->layer_names = gtk_string_list_new (NULL);
  self->layer_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (self->layer_names), NULL));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->layer_dropdown), "Show the Heads of One Layer");
  g_signal_connect_swapped (self->layer_dropdown, "notify::selected", G_CALLBACK (on_layer_selected), self);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->layer_dropdown));

  self->caption = gtk_label_new ("Click a header to sort; double-click a head to open it.");
  gtk_label_set_xalign (GTK_LABEL (self->caption), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (self->caption), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (self->caption, TRUE);
  gtk_widget_add_css_class (self->caption, "dim-label");
  gtk_box_append (GTK_BOX (bar), self->caption);

  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (self->progress, TRUE);
  gtk_progress_bar_set_ellipsize (self->progress, PANGO_ELLIPSIZE_END);
  gtk_widget_set_size_request (GTK_WIDGET (self->progress), 220, -1);
  gtk_widget_set_valign (GTK_WIDGET (self->progress), GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->progress));

  self->cancel_button = gtk_button_new_with_mnemonic ("_Cancel");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->cancel_button), "heads.cancel");
  gtk_box_append (GTK_BOX (bar), self->cancel_button);

  self->compute_button = gtk_button_new_with_mnemonic ("Compute _Roles and Importance");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->compute_button), "heads.compute");
  gtk_widget_set_tooltip_text (self->compute_button,
                               "Previous-token, duplicate-token and induction scores on a repeated random probe "
                               "(as TransformerLens measures them), how far each head moves without positions "
                               "or with them shuffled, and each head’s importance: the change in loss with it "
                               "switched off (one run per head)");
  gtk_box_append (GTK_BOX (bar), self->compute_button);
  return bar;
}

static GtkWidget *
build_empty (AttnvizHeadTable *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
  self->empty_title = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_add_css_class (GTK_WIDGET (self->empty_title), "title-2");
  self->empty_description = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->empty_description, TRUE);
  gtk_label_set_justify (self->empty_description, GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (self->empty_description), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->empty_title));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->empty_description));
  return box;
}

static void
attnviz_head_table_init (AttnvizHeadTable *self)
{
  self->layer_filter = -1;
  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  self->toolbar = build_toolbar (self);
  gtk_widget_set_visible (self->toolbar, FALSE);
  gtk_box_append (GTK_BOX (self->box), self->toolbar);

  self->view = GTK_COLUMN_VIEW (gtk_column_view_new (NULL));
  gtk_column_view_set_show_column_separators (self->view, TRUE);
  gtk_column_view_set_show_row_separators (self->view, TRUE);
  gtk_column_view_set_reorderable (self->view, FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self->view), "data-table");
  g_signal_connect (self->view, "activate", G_CALLBACK (on_activate), self);
  self->layer_column = add_column (self, COLUMN_LAYER);
  self->head_column = add_column (self, COLUMN_HEAD);
  self->score_column = add_column (self, COLUMN_SCORE);
  for (int c = 0; c < ATTNVIZ_HEAD_N_COLUMNS; c++)
    self->columns[c] = add_column (self, c);

  self->rows = g_list_store_new (ATTNVIZ_TYPE_HEAD_TABLE_ROW);
  self->filter = GTK_FILTER (gtk_custom_filter_new (filter_row, self, NULL));
  GtkFilterListModel *filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)), self->filter);
  GtkSorter *sorter = gtk_column_view_get_sorter (self->view);
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (filtered), g_object_ref (sorter));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->sorted));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->view, GTK_SELECTION_MODEL (self->selection));
  g_object_unref (self->selection);   /* the view holds the chain */

  GtkWidget *scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->view));
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_widget_set_hexpand (scrolled, TRUE);

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_add_named (self->stack, scrolled, "table");
  gtk_stack_add_named (self->stack, build_empty (self), "empty");
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->stack));

  update_layers (self);
  rebuild_rows (self);
  show_empty (self, "No Run Yet", "Run the model on a text to measure each of its heads.");
}

GtkWidget *
attnviz_head_table_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_HEAD_TABLE, NULL);
}

AttnvizViewState *
attnviz_head_table_get_state (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), NULL);
  return self->state;
}

static void
on_state_notify (AttnvizViewState *state, GParamSpec *pspec, AttnvizHeadTable *self)
{
  if (g_str_equal (pspec->name, "run"))
    on_run_changed (self);
  else
    on_position_changed (self);
}

void
attnviz_head_table_set_state (AttnvizHeadTable *self, AttnvizViewState *state)
{
  g_return_if_fail (ATTNVIZ_IS_HEAD_TABLE (self));
  g_return_if_fail (state == NULL || ATTNVIZ_IS_VIEW_STATE (state));

  static const char *const watched[] = { "run", "layer", "head", NULL };
  if (!attnviz_view_state_observe (&self->state, state, G_CALLBACK (on_state_notify), self, watched))
    return;
  on_run_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

const AttnvizHeadMeasures *
attnviz_head_table_get_measures (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), NULL);
  return self->score_only ? NULL : self->measures;   /* a score-only table has none */
}

void
attnviz_head_table_add_measures (AttnvizHeadTable *self, AttnvizResult *run, AttnvizHeadMeasures *table,
                                 AttnvizHeadMeasures *probe)
{
  g_autoptr(AttnvizHeadMeasures) owned = table;
  g_autoptr(AttnvizHeadMeasures) owned_probe = probe;

  g_return_if_fail (ATTNVIZ_IS_HEAD_TABLE (self));
  if (run != self->run || self->measures == NULL)
    return;
  AttnvizHeadMeasures *m = self->measures;
  g_return_if_fail (table == NULL || (table->n_layer == m->n_layer && table->n_head == m->n_head));
  g_return_if_fail (probe == NULL || (probe->n_layer == m->n_layer && probe->n_head == m->n_head));

  for (guint i = 0; table != NULL && i < G_N_ELEMENTS (costly); i++)
    {
      if (!table->has[costly[i]])
        continue;
      m->has[costly[i]] = TRUE;
      for (int k = 0; k < m->n_layer * m->n_head; k++)
        m->values[(gsize) k * ATTNVIZ_N_MEASURES + costly[i]] = table->values[(gsize) k * ATTNVIZ_N_MEASURES + costly[i]];
    }
  if (probe != NULL)
    {
      g_clear_pointer (&self->probe, attnviz_head_measures_free);
      self->probe = g_steal_pointer (&owned_probe);
    }
  rebuild_rows (self);
}

gboolean
attnviz_head_table_get_complete (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), FALSE);
  return self->measures != NULL && self->probe != NULL;
}

void
attnviz_head_table_set_progress (AttnvizHeadTable *self, double fraction, const char *stage)
{
  g_return_if_fail (ATTNVIZ_IS_HEAD_TABLE (self));

  gboolean computing = stage != NULL;
  gboolean was = self->computing;
  self->computing = computing;
  fraction = computing ? CLAMP (fraction, 0.0, 1.0) : 0.0;
  if (computing)
    {
      gtk_progress_bar_set_text (self->progress, stage);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->progress), stage);
    }
  if (fraction != gtk_progress_bar_get_fraction (self->progress))
    {
      gtk_progress_bar_set_fraction (self->progress, fraction);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
  if (computing == was)
    return;
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPUTING]);
}

double
attnviz_head_table_get_progress (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), 0.0);
  return self->computing ? gtk_progress_bar_get_fraction (self->progress) : 0.0;
}

gboolean
attnviz_head_table_get_computing (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), FALSE);
  return self->computing;
}

guint
attnviz_head_table_get_n_rows (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
}

void
attnviz_head_table_get_row (AttnvizHeadTable *self, guint position, int *layer, int *head)
{
  g_return_if_fail (ATTNVIZ_IS_HEAD_TABLE (self));
  g_autoptr(AttnvizHeadTableRow) row = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  g_return_if_fail (row != NULL);
  *layer = row->layer;
  *head = row->head;
}

double
attnviz_head_table_get_value (AttnvizHeadTable *self, guint position, const char *column)
{
  int c;

  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), NAN);
  g_return_val_if_fail (column_from_name (column, &c), NAN);
  g_autoptr(AttnvizHeadTableRow) row = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  g_return_val_if_fail (row != NULL, NAN);
  return row_value (row, c);
}

GtkColumnViewColumn *
attnviz_head_table_get_column (AttnvizHeadTable *self, const char *name)
{
  int c;

  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), NULL);
  if (!column_from_name (name, &c))
    return NULL;
  return c == COLUMN_LAYER ? self->layer_column : c == COLUMN_HEAD ? self->head_column
       : c == COLUMN_SCORE ? self->score_column : self->columns[c];
}

GtkColumnView *
attnviz_head_table_get_column_view (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), NULL);
  return self->view;
}

int
attnviz_head_table_get_layer_filter (AttnvizHeadTable *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEAD_TABLE (self), -1);
  return self->layer_filter;
}

void
attnviz_head_table_set_layer_filter (AttnvizHeadTable *self, int layer)
{
  g_return_if_fail (ATTNVIZ_IS_HEAD_TABLE (self));

  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layer_names));
  layer = layer >= 0 && layer + 1 < (int) n ? layer : -1;
  gtk_drop_down_set_selected (self->layer_dropdown, layer + 1);
  on_layer_selected (self);
}
