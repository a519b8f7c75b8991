#define G_LOG_DOMAIN "attnviz-dump"
#include "config.h"

/* How a dump is written (attnviz-dump.h says what it holds).
 *
 * Every array is laid out before the run starts: the shapes follow from
 * the model, the run's options and the number of tokens.  An npy dump
 * opens its folder's temporary (AttnvizAtomicDir) then; a safetensors dump
 * writes its header with every offset (and some spare room, so the
 * metadata can be written again when the mean loss is known), each tensor
 * then filled at its own place.  With --logits all the logits come first:
 * the forward pass hands every block of rows to _attnviz_dump_logits () as
 * it computes them, straight into logits.npy or the safetensors file.
 *
 * After the run, each stack of attention (self, encoder, cross) is read
 * through its AttnvizAttention: a dense run's matrices are written from
 * where they lie; a recomputing run's head is computed a band of
 * ROW_BLOCK-aligned rows per thread at a time and each band written as it
 * is done; pooled heads (attnviz_attention_pool_mean_max) a few at a time.
 * Nothing holds more than a band per thread, or a head's bins per thread.
 */
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "attnviz-dump-private.h"
#include "attnviz-fileutil.h"
#include "attnviz-safetensors.h"

/* Header room a safetensors dump keeps for the metadata written after the
 * run (the mean loss, the mask the run used: a few dozen bytes more). */
#define METADATA_ROOM 256

/* Every name a dump folder may hold: an existing folder with anything else
 * in it is not replaced. */
static const char *const npy_folder_names[] = {
  "attentions.npy", "attentions_pooled_mean.npy", "attentions_pooled_max.npy",
  "encoder_attentions.npy", "encoder_attentions_pooled_mean.npy", "encoder_attentions_pooled_max.npy",
  "cross_attentions.npy", "cross_attentions_pooled_mean.npy", "cross_attentions_pooled_max.npy",
  "input_ids.npy", "token_spans.npy", "loss.npy", "topk_ids.npy", "topk_probs.npy", "logits_last.npy",
  "logits.npy", "layers.npy", "heads.npy", "source_ids.npy", "source_spans.npy", "metadata.json",
  "next_prob.npy", "lens_topk_ids.npy", "lens_topk_probs.npy",
  "metrics.json", "metrics.csv", "value_weighted.npy", "rollout.npy", "flow.npy", NULL
};

/* ---- the dump ---- */

gboolean
attnviz_dump_check_output (AttnvizDumpFormat format, const char *path, GError **error)
{
  if (format == ATTNVIZ_DUMP_NPY)
    return attnviz_output_check_dir (path, npy_folder_names, error);
  return attnviz_output_check (path, error);
}

static void
dump_free (AttnvizDump *d)
{
  if (d->arrays != NULL)
    {
      for (guint a = 0; a < d->arrays->len; a++)
        {
          Array *arr = _attnviz_dump_array_at (d, a);
          g_clear_pointer (&arr->npy, attnviz_npy_writer_abort);
          g_free (arr->name);
        }
      g_array_unref (d->arrays);
    }
  g_clear_pointer (&d->files, g_ptr_array_unref);
  g_clear_pointer (&d->st, attnviz_safetensors_writer_abort);
  g_clear_pointer (&d->dir, attnviz_atomic_dir_abort);
  g_free (d->plan.rec_layers);
  g_free (d->plan.rec_heads);
  g_free (d->plan.score);
  g_free (d->plan.additive);
  g_free (d->plan.mask);
  g_free (d->all_layers);
  g_free (d->all_enc_layers);
  g_free (d->all_heads);
  g_free (d->path);
  g_free (d);
}

void
attnviz_dump_abort (AttnvizDump *self)
{
  if (self != NULL)
    dump_free (self);
}

gboolean
attnviz_dump_failed (const AttnvizDump *self)
{
  return self != NULL && self->failed;
}

/* A dump of plan P (owned by it from now) into PATH: the output created. */
static AttnvizDump *
dump_new (const char *path, const AttnvizDumpOptions *options, Plan *p, const AttnvizDumpInfo *info,
          GError **error)
{
  AttnvizDump *d = g_new0 (AttnvizDump, 1);
  d->path = g_strdup (path);
  d->opt = *options;
  d->info = info;
  d->plan = *p;
  memset (p, 0, sizeof *p);
  if (!_attnviz_dump_check_options (options, &d->plan, error))
    {
      dump_free (d);
      return NULL;
    }
  _attnviz_dump_lay_out (d);

  if (options->format == ATTNVIZ_DUMP_NPY)
    {
      /* The folder is built under a temporary name beside PATH and swapped
       * into place whole (attnviz_atomic_dir_*): a reader, a second dump
       * or a full disk never leaves new arrays beside old metadata. */
      g_autofree char *parent = g_path_get_dirname (path);
      if (g_mkdir_with_parents (parent, 0777) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot create the folder %s: %s", path,
                       parent, g_strerror (saved));
          dump_free (d);
          return NULL;
        }
      d->dir = attnviz_atomic_dir_open (path, npy_folder_names, error);
      int logits = _attnviz_dump_find_array (d, ARRAY_LOGITS, -1);
      if (d->dir == NULL || (logits >= 0 && !_attnviz_dump_array_begin (d, logits, error)))
        {
          _attnviz_dump_name_the_output (d, error);
          dump_free (d);
          return NULL;
        }
    }
  else if (options->format == ATTNVIZ_DUMP_SAFETENSORS)
    {
      g_autofree AttnvizTensorOut *t = g_new0 (AttnvizTensorOut, MAX (d->arrays->len, 1));
      for (guint a = 0; a < d->arrays->len; a++)
        {
          const Array *arr = _attnviz_dump_array_at (d, a);
          t[a].name = arr->name;
          t[a].dtype = arr->dtype;
          t[a].n_dims = arr->n_dims;
          memcpy (t[a].shape, arr->shape, sizeof arr->shape);
        }
      g_autoptr(GHashTable) meta = _attnviz_dump_safetensors_metadata (d, NULL);
      d->st = attnviz_safetensors_writer_open (path, t, d->arrays->len, meta, METADATA_ROOM, error);
      if (d->st == NULL)
        {
          dump_free (d);
          return NULL;
        }
    }
  return d;
}

AttnvizDump *
attnviz_dump_open (const char *path,
                   const AttnvizDumpOptions *options,
                   const AttnvizModel *model,
                   AttnvizRunOptions *run,
                   const gint32 *ids,
                   int T,
                   const gint32 *src_ids,
                   int S,
                   const AttnvizDumpInfo *info,
                   GError **error)
{
  g_return_val_if_fail (path != NULL && options != NULL && model != NULL && run != NULL && info != NULL, NULL);
  g_return_val_if_fail (ids != NULL && T > 0 && S >= 0 && (src_ids != NULL || S == 0), NULL);
  /* The candidates and the lens come from the run. */
  if (options->top_k > 0)
    run->top_k = options->top_k;
  run->logit_lens = run->logit_lens || options->logit_lens;
  Plan p;
  _attnviz_dump_plan_from_run (&p, model, run, ids, T, src_ids, S);
  AttnvizDump *d = dump_new (path, options, &p, info, error);
  if (d == NULL)
    return NULL;
  if (_attnviz_dump_find_array (d, ARRAY_LOGITS, -1) >= 0)
    {
      if (options->format == ATTNVIZ_DUMP_JSON)
        run->keep_logits = TRUE;
      else
        {
          run->logits_func = _attnviz_dump_logits;
          run->logits_data = d;
        }
    }
  /* The dump reads every head exactly: the overview the run would leave
   * for the views (up to 512 MiB) is kept at its smallest. */
  run->overview_bytes = 1;
  return d;
}

void
attnviz_dump_add_file (AttnvizDump *self, const char *name, const char *contents)
{
  g_return_if_fail (self->opt.format != ATTNVIZ_DUMP_NPY || g_strv_contains (npy_folder_names, name));
  if (self->files == NULL)
    self->files = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->files, g_strdup (name));
  g_ptr_array_add (self->files, g_strdup (contents));
}

/* The added files into FOLDER (an npy dump's temporary folder), or beside
 * PATH. */
static gboolean
write_added_files (AttnvizDump *d, const char *folder, GError **error)
{
  for (guint i = 0; d->files && i < d->files->len; i += 2)
    {
      const char *name = d->files->pdata[i], *contents = d->files->pdata[i + 1];
      g_autofree char *path = NULL;
      if (folder)
        path = g_build_filename (folder, name, NULL);
      else
        {
          const char *dot = strrchr (d->path, '.'), *slash = strrchr (d->path, G_DIR_SEPARATOR);
          gsize stem = dot && (!slash || dot > slash) ? (gsize) (dot - d->path) : strlen (d->path);
          path = g_strdup_printf ("%.*s.%s", (int) stem, d->path, name);
          if (!attnviz_output_check (path, error))
            return FALSE;
        }
      if (!attnviz_file_set_contents (path, contents, strlen (contents), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
attnviz_dump_finish (AttnvizDump *self, const AttnvizRecording *rec, GError **error)
{
  g_return_val_if_fail (self != NULL && rec != NULL, FALSE);
  if (!_attnviz_dump_plan_matches (&self->plan, rec))
    {
      dump_free (self);
      g_return_val_if_reached (FALSE);
    }
  for (int i = 0; i < self->n_stacks; i++)
    if (self->stacks[i].n_layers * self->stacks[i].n_heads > 0
        && _attnviz_dump_stack_source (rec, self->stacks[i].kind) == NULL)
      {
        /* a recording with dense buffers of its own (the trainer's) */
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: the recording has no attention source to read",
                     self->path);
        dump_free (self);
        return FALSE;
      }
  gboolean ok;
  if (self->opt.format == ATTNVIZ_DUMP_JSON)
    ok = _attnviz_dump_write_json (self, rec, error) && write_added_files (self, NULL, error);
  else
    {
      ok = _attnviz_dump_finish_logits (self, rec, error) && _attnviz_dump_write_arrays (self, rec, error);
      if (ok && self->dir != NULL)
        {
          g_autofree char *json = _attnviz_dump_metadata_json (self, rec, TRUE);
          g_autofree char *meta = g_build_filename (attnviz_atomic_dir_get_path (self->dir), "metadata.json", NULL);
          ok = attnviz_file_set_contents (meta, json, strlen (json), error)
               && write_added_files (self, attnviz_atomic_dir_get_path (self->dir), error);
          if (ok)
            ok = attnviz_atomic_dir_commit (g_steal_pointer (&self->dir), error);
        }
      else if (ok)
        {
          g_autoptr(GHashTable) meta = _attnviz_dump_safetensors_metadata (self, rec);
          ok = attnviz_safetensors_writer_set_metadata (self->st, meta, error)
               && attnviz_safetensors_writer_commit (g_steal_pointer (&self->st), error)
               && write_added_files (self, NULL, error);
        }
      if (!ok)
        _attnviz_dump_name_the_output (self, error);
    }
  dump_free (self);
  return ok;
}

gboolean
attnviz_dump_write (const AttnvizRecording *rec,
                    const AttnvizDumpInfo *info,
                    const AttnvizDumpOptions *options,
                    const char *path,
                    GError **error)
{
  Plan p;
  _attnviz_dump_plan_from_recording (&p, rec);
  AttnvizDump *d = dump_new (path, options, &p, info, error);
  if (d == NULL)
    return FALSE;
  return attnviz_dump_finish (d, rec, error);
}
