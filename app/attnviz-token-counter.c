/* attnviz-token-counter.c: the input box's token count, as you type */
#define G_LOG_DOMAIN "attnviz-token-counter"
#include "config.h"

#include "attnviz-config.h"
#include "attnviz-token-counter.h"
#include "attnviz-tokenizer.h"

/* After the last keystroke: long enough to skip most of a burst of
 * typing, short enough to read as immediate. */
#define COUNT_DELAY_MS 250

struct _AttnvizTokenCounter
{
  GObject parent_instance;

  GtkTextBuffer *buffer;
  GtkLabel *label;
  AttnvizLoadedModel *model;
  int count;

  guint delay_source;
  guint generation;       /* of the text being counted; older answers are dropped */
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (AttnvizTokenCounter, attnviz_token_counter, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_COUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct {
  AttnvizLoadedModel *model;
  char *text;
  guint generation;
} CountJob;

static void
count_job_free (CountJob *job)
{
  attnviz_loaded_model_unref (job->model);
  g_free (job->text);
  g_free (job);
}

static void
count_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CountJob *job = task_data;
  const AttnvizModel *model = attnviz_loaded_model_get_model (job->model);
  GError *error = NULL;
  GArray *tokens = attnviz_tokenizer_encode (model->tokenizer, job->text, -1, TRUE, &error);

  if (tokens == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_int (task, tokens->len);
  g_array_unref (tokens);
}

static void
set_count (AttnvizTokenCounter *self, int count)
{
  if (count == self->count)
    return;
  self->count = count;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COUNT]);
}

static void
show (AttnvizTokenCounter *self, const char *text, const char *style)
{
  GtkWidget *label = GTK_WIDGET (self->label);

  gtk_label_set_text (self->label, text);
  gtk_widget_remove_css_class (label, "error");
  gtk_widget_remove_css_class (label, "warning");
  if (style != NULL)
    gtk_widget_add_css_class (label, style);
}

/* "412 tokens", and where that stands against the model's positions. */
static void
show_count (AttnvizTokenCounter *self, int n)
{
  const AttnvizConfig *config = &attnviz_loaded_model_get_model (self->model)->config;
  int limit = attnviz_config_max_positions (config);
  g_autofree char *count = g_strdup_printf (n == 1 ? "%'d token" : "%'d tokens", n);

  if (n > limit)
    {
      g_autofree char *text = g_strdup_printf ("%s · this model reads at most %'d", count, limit);
      show (self, text, "error");
    }
  else if (config->n_ctx > 0 && n > config->n_ctx)
    {
      g_autofree char *text = g_strdup_printf ("%s · past the %'d it was trained on", count, config->n_ctx);
      show (self, text, "warning");
    }
  else
    show (self, count, NULL);
}

static void
on_counted (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AttnvizTokenCounter *self = user_data;   /* a reference, held by the task */
  CountJob *job = g_task_get_task_data (G_TASK (res));
  g_autoptr(GError) error = NULL;
  gssize n = g_task_propagate_int (G_TASK (res), &error);

  if (job->generation == self->generation && self->model != NULL)
    {
      if (error != NULL)
        {
          g_autofree char *text = g_strdup_printf ("Could not count the tokens: %s", error->message);
          set_count (self, -1);
          show (self, text, "error");
        }
      else
        {
          set_count (self, (int) n);
          show_count (self, (int) n);
        }
    }
  g_object_unref (self);
}

static gboolean
count_now (gpointer data)
{
  AttnvizTokenCounter *self = data;
  GtkTextIter start, end;

  self->delay_source = 0;
  if (self->model == NULL || attnviz_loaded_model_get_model (self->model)->tokenizer == NULL)
    return G_SOURCE_REMOVE;
  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  CountJob *job = g_new0 (CountJob, 1);
  job->model = attnviz_loaded_model_ref (self->model);
  job->text = gtk_text_buffer_get_text (self->buffer, &start, &end, FALSE);
  job->generation = self->generation;
  GTask *task = g_task_new (NULL, NULL, on_counted, g_object_ref (self));
  g_task_set_source_tag (task, count_now);
  g_task_set_task_data (task, job, (GDestroyNotify) count_job_free);
  g_task_run_in_thread (task, count_thread);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
schedule (AttnvizTokenCounter *self)
{
  self->generation++;
  g_clear_handle_id (&self->delay_source, g_source_remove);
  if (self->model == NULL || attnviz_loaded_model_get_model (self->model)->tokenizer == NULL)
    {
      set_count (self, -1);
      show (self, "", NULL);
      return;
    }
  /* An empty box makes no tokens to run, whatever BOS a run would add. */
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  g_autofree char *text = gtk_text_buffer_get_text (self->buffer, &start, &end, FALSE);
  if (*g_strstrip (text) == '\0')
    {
      set_count (self, 0);
      show (self, "0 tokens", NULL);
      return;
    }
  self->delay_source = g_timeout_add (COUNT_DELAY_MS, count_now, self);
}

static void
on_changed (GtkTextBuffer *buffer, AttnvizTokenCounter *self)
{
  schedule (self);
}

static void
attnviz_token_counter_dispose (GObject *object)
{
  AttnvizTokenCounter *self = ATTNVIZ_TOKEN_COUNTER (object);

  g_clear_handle_id (&self->delay_source, g_source_remove);
  if (self->buffer != NULL)
    g_signal_handlers_disconnect_by_func (self->buffer, on_changed, self);
  g_clear_object (&self->buffer);
  g_clear_object (&self->label);
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  G_OBJECT_CLASS (attnviz_token_counter_parent_class)->dispose (object);
}

static void
attnviz_token_counter_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_COUNT:
      g_value_set_int (value, ATTNVIZ_TOKEN_COUNTER (object)->count);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_token_counter_class_init (AttnvizTokenCounterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = attnviz_token_counter_dispose;
  object_class->get_property = attnviz_token_counter_get_property;

  properties[PROP_COUNT] =
    g_param_spec_int ("count", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
attnviz_token_counter_init (AttnvizTokenCounter *self)
{
  self->count = -1;
}

AttnvizTokenCounter *
attnviz_token_counter_new (GtkTextBuffer *buffer, GtkLabel *label)
{
  g_return_val_if_fail (GTK_IS_TEXT_BUFFER (buffer) && GTK_IS_LABEL (label), NULL);

  AttnvizTokenCounter *self = g_object_new (ATTNVIZ_TYPE_TOKEN_COUNTER, NULL);
  self->buffer = g_object_ref (buffer);
  self->label = g_object_ref (label);
  g_signal_connect (buffer, "changed", G_CALLBACK (on_changed), self);
  return self;
}

void
attnviz_token_counter_set_model (AttnvizTokenCounter *self, AttnvizLoadedModel *model)
{
  g_return_if_fail (ATTNVIZ_IS_TOKEN_COUNTER (self));

  if (model == self->model)
    return;
  g_clear_pointer (&self->model, attnviz_loaded_model_unref);
  self->model = model ? attnviz_loaded_model_ref (model) : NULL;
  schedule (self);
}

int
attnviz_token_counter_get_count (AttnvizTokenCounter *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_TOKEN_COUNTER (self), -1);
  return self->count;
}
