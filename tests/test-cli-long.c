/* attnviz dump at any length: every head read through the attention
 * source, written band by band or pooled, logits streamed while the run
 * goes on, within a memory limit a dense recording would break; its bad
 * options.  (render: test-cli-long-render.c.)
 *
 * The long runs use a copy of stories260K (5 layers x 8 heads, RoPE) with
 * its context raised: at T = 700 its 40 heads take 78 MB, over the 64 MiB
 * a run keeps dense, so it recomputes, while a run of one layer (16 MB)
 * stays dense: the same heads written both ways. */
#define G_LOG_DOMAIN "test-cli-long"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-safetensors.h"
#include "attnviz-test-cli-long.h"
#include "attnviz-test-util.h"

/* ---- reading what was written ------------------------------------------------------- */

typedef struct {
  float *data;
  gint64 shape[8];
  int n_dims;
  gsize n;
} Tensor;

static void
tensor_clear (Tensor *t)
{
  g_clear_pointer (&t->data, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Tensor, tensor_clear)

static void
load_npy (Tensor *t, const char *dir, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".npy", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  t->data = attnviz_test_load_npy (path, t->shape, &t->n_dims, &t->n);
}

/* A tensor of a safetensors file through the engine's reader (checked
 * offsets, dtypes and shapes), as floats. */
static void
load_safetensors (Tensor *t, const char *path, const char *name)
{
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_no_error (error);
  const AttnvizTensorInfo *info = attnviz_safetensors_lookup (st, name);
  g_assert_nonnull (info);
  t->n_dims = info->n_dims;
  memcpy (t->shape, info->shape, sizeof (gint64) * info->n_dims);
  t->n = info->n_elements;
  t->data = g_new (float, MAX (t->n, 1));
  if (info->dtype == ATTNVIZ_DTYPE_I32)
    for (gsize i = 0; i < t->n; i++)
      {
        gint32 v;
        memcpy (&v, info->data + 4 * i, 4);
        t->data[i] = (float) v;
      }
  else
    attnviz_tensor_to_f32 (info, t->data);
  attnviz_safetensors_free (st);
}

static JsonObject *
safetensors_metadata (JsonParser *parser, const char *path)
{
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, attnviz_safetensors_get_metadata (st, "attnviz"), -1, NULL));
  attnviz_safetensors_free (st);
  return json_node_get_object (json_parser_get_root (parser));
}

static JsonObject *
npy_metadata (JsonParser *parser, const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "metadata.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
assert_shape (const Tensor *t, int n_dims, gint64 d0, gint64 d1, gint64 d2, gint64 d3)
{
  gint64 want[] = { d0, d1, d2, d3 };
  g_assert_cmpint (t->n_dims, ==, n_dims);
  for (int i = 0; i < n_dims; i++)
    g_assert_cmpint (t->shape[i], ==, want[i]);
}

static void
assert_json_shape (JsonObject *meta, const char *key, gint64 d0, gint64 d1, gint64 d2, gint64 d3)
{
  JsonArray *a = json_object_get_array_member (meta, key);
  g_assert_nonnull (a);
  g_assert_cmpint (json_array_get_length (a), ==, 4);
  gint64 want[] = { d0, d1, d2, d3 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (json_array_get_int_element (a, i), ==, want[i]);
}

/* ---- the full dump every comparison starts from ---------------------------------------- */

#define LONG_T 700
#define LONG_L 5
#define LONG_H 8

static Tensor full;         /* (5, 8, 700, 700) of the recomputing run */

static const Tensor *
get_full (void)
{
  if (full.data != NULL)
    return &full;
  const char *model = attnviz_test_long_model ();
  if (model == NULL)
    return NULL;
  g_autofree char *ids = attnviz_test_some_ids (LONG_T);
  g_autofree char *out = attnviz_test_out_path ("full");
  const char *args[] = { "dump", model, "--ids", ids, "-o", out, "-q", NULL };
  attnviz_test_dump_ok (args);
  load_npy (&full, out, "attentions");
  assert_shape (&full, 4, LONG_L, LONG_H, LONG_T, LONG_T);
  attnviz_test_remove_tree (out);
  return &full;
}

static const float *
full_head (int l, int h)
{
  return full.data + ((gsize) l * LONG_H + h) * LONG_T * LONG_T;
}

/* ---- dump ------------------------------------------------------------------------------ */

/* A run of one layer keeps its 8 heads dense (16 MB); all 40 recompute:
 * both write the same numbers. */
static void
test_dense_and_recomputed_heads_are_the_same (void)
{
  if (get_full () == NULL)
    return;
  g_autofree char *ids = attnviz_test_some_ids (LONG_T);
  for (int l = 0; l < LONG_L; l++)
    {
      g_autofree char *layer = g_strdup_printf ("%d", l);
      g_autofree char *out = attnviz_test_out_path ("layer");
      const char *args[] = { "dump", attnviz_test_long_model (), "--ids", ids, "--layers", layer, "-o", out, "-q",
                             NULL };
      attnviz_test_dump_ok (args);
      g_auto(Tensor) dense = { 0 };
      load_npy (&dense, out, "attentions");
      assert_shape (&dense, 4, 1, LONG_H, LONG_T, LONG_T);
      g_autofree char *label = g_strdup_printf ("layer %d: dense vs recomputed", l);
      g_assert_true (attnviz_test_check_tensor (dense.data, full_head (l, 0), (gsize) LONG_H * LONG_T * LONG_T, 0.0f,
                                                label));
      attnviz_test_remove_tree (out);
    }
}

/* The same run as safetensors: the same arrays, and the metadata says so. */
static void
test_safetensors_holds_the_same_arrays (void)
{
  if (get_full () == NULL)
    return;
  g_autofree char *ids = attnviz_test_some_ids (LONG_T);
  g_autofree char *out = attnviz_test_out_path ("full.safetensors");
  const char *args[] = { "dump", attnviz_test_long_model (), "--ids", ids, "-o", out, "-q", NULL };
  attnviz_test_dump_ok (args);
  g_auto(Tensor) att = { 0 };
  load_safetensors (&att, out, "attentions");
  assert_shape (&att, 4, LONG_L, LONG_H, LONG_T, LONG_T);
  g_assert_true (attnviz_test_check_tensor (att.data, full.data, full.n, 0.0f, "safetensors vs npy"));
  g_auto(Tensor) topk = { 0 };
  load_safetensors (&topk, out, "topk_ids");
  assert_shape (&topk, 2, LONG_T, 10, 0, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *meta = safetensors_metadata (parser, out);
  assert_json_shape (meta, "attentions_shape", LONG_L, LONG_H, LONG_T, LONG_T);
  g_assert_cmpint (json_object_get_int_member (meta, "attentions_row_offset"), ==, 0);
  g_assert_true (isfinite (json_object_get_double_member (meta, "mean_loss")));
  g_assert_cmpstr (json_object_get_string_member (meta, "logits"), ==, "last");
  g_assert_cmpint (json_object_get_int_member (meta, "top_k"), ==, 10);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (meta, "tokens")), ==, LONG_T);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (
                     json_object_get_array_member (meta, "tokens"), 1), "id"), ==, 3 + 7 % 509);
  g_remove (out);
}

/* OUT (n, m) = the mean and max of head M (rows, cols) over the engine's bins. */
static void
pool_reference (const float *m, int rows, int cols, int n, int k, double *mean, float *max)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++)
      {
        int r0 = (int) ((gint64) i * rows / n), r1 = (int) ((gint64) (i + 1) * rows / n);
        int c0 = (int) ((gint64) j * cols / k), c1 = (int) ((gint64) (j + 1) * cols / k);
        double sum = 0;
        float best = 0;
        for (int r = r0; r < r1; r++)
          for (int c = c0; c < c1; c++)
            {
              sum += m[(gsize) r * cols + c];
              best = MAX (best, m[(gsize) r * cols + c]);
            }
        mean[i * k + j] = sum / ((double) (r1 - r0) * (c1 - c0));
        max[i * k + j] = best;
      }
}

/* DATA: the format. --pool 64 over 700 tokens: bins of 10 and 11 tokens. */
static void
test_pool_is_the_mean_and_max_of_every_head (gconstpointer data)
{
  const char *format = data;
  gboolean npy = g_str_equal (format, "npy");
  if (get_full () == NULL)
    return;
  g_autofree char *ids = attnviz_test_some_ids (LONG_T);
  g_autofree char *out = attnviz_test_out_path (npy ? "pooled" : "pooled.safetensors");
  const char *args[] = { "dump", attnviz_test_long_model (), "--ids", ids, "--pool", "64", "--pool-max", "-o", out,
                         "-q", NULL };
  attnviz_test_dump_ok (args);
  g_auto(Tensor) mean = { 0 };
  g_auto(Tensor) max = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *meta;
  if (npy)
    {
      load_npy (&mean, out, "attentions_pooled_mean");
      load_npy (&max, out, "attentions_pooled_max");
      g_autofree char *absent = g_build_filename (out, "attentions.npy", NULL);
      g_assert_false (g_file_test (absent, G_FILE_TEST_EXISTS));
      meta = npy_metadata (parser, out);
    }
  else
    {
      load_safetensors (&mean, out, "attentions_pooled_mean");
      load_safetensors (&max, out, "attentions_pooled_max");
      meta = safetensors_metadata (parser, out);
    }
  assert_shape (&mean, 4, LONG_L, LONG_H, 64, 64);
  assert_shape (&max, 4, LONG_L, LONG_H, 64, 64);
  assert_json_shape (meta, "attentions_pooled_shape", LONG_L, LONG_H, 64, 64);
  g_assert_false (json_object_has_member (meta, "attentions_shape"));
  JsonObject *pool = json_object_get_object_member (meta, "pool");
  g_assert_cmpint (json_object_get_int_member (pool, "bins"), ==, 64);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (pool, "statistics")), ==, 2);

  g_autofree double *want_mean = g_new (double, 64 * 64);
  g_autofree float *want_max = g_new (float, 64 * 64);
  g_autofree float *got_mean = g_new (float, 64 * 64);
  for (int l = 0; l < LONG_L; l++)
    for (int h = 0; h < LONG_H; h++)
      {
        pool_reference (full_head (l, h), LONG_T, LONG_T, 64, 64, want_mean, want_max);
        const float *m = mean.data + ((gsize) l * LONG_H + h) * 64 * 64;
        const float *x = max.data + ((gsize) l * LONG_H + h) * 64 * 64;
        g_autofree float *wm = g_new (float, 64 * 64);
        for (int i = 0; i < 64 * 64; i++)
          wm[i] = (float) want_mean[i];
        memcpy (got_mean, m, sizeof (float) * 64 * 64);
        g_autofree char *label = g_strdup_printf ("L%dH%d pooled", l, h);
        g_assert_true (attnviz_test_check_tensor (got_mean, wm, 64 * 64, 1e-6f, label));
        g_assert_true (attnviz_test_check_tensor (x, want_max, 64 * 64, 0.0f, label));
      }
  attnviz_test_remove_tree (out);
}

/* Bins are capped at the head's size: --pool 64 of 6 tokens is the head. */
static void
test_pool_larger_than_the_input_is_the_whole_head (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *whole = attnviz_test_out_path ("tiny-whole");
  g_autofree char *pooled = attnviz_test_out_path ("tiny-pooled");
  const char *a[] = { "dump", model, "--ids", "5,17,33,2,90,41", "-o", whole, "-q", NULL };
  const char *b[] = { "dump", model, "--ids", "5,17,33,2,90,41", "--pool", "64", "-o", pooled, "-q", NULL };
  attnviz_test_dump_ok (a);
  attnviz_test_dump_ok (b);
  g_auto(Tensor) w = { 0 };
  g_auto(Tensor) p = { 0 };
  load_npy (&w, whole, "attentions");
  load_npy (&p, pooled, "attentions_pooled_mean");
  assert_shape (&p, 4, 3, 4, 6, 6);
  g_assert_true (attnviz_test_check_tensor (p.data, w.data, w.n, 0.0f, "6 x 6 bins of 6 tokens"));
  attnviz_test_remove_tree (whole);
  attnviz_test_remove_tree (pooled);
}

/* Rows 100 to 355, across the source's blocks of 128 rows, of the
 * recomputed heads, and of dense ones. */
static void
test_rows_are_a_band_of_every_head (gconstpointer data)
{
  const char *format = data;
  gboolean npy = g_str_equal (format, "npy");
  if (get_full () == NULL)
    return;
  g_autofree char *ids = attnviz_test_some_ids (LONG_T);
  g_autofree char *out = attnviz_test_out_path (npy ? "band" : "band.safetensors");
  const char *args[] = { "dump", attnviz_test_long_model (), "--ids", ids, "--rows", "100-355", "-o", out, "-q", NULL };
  attnviz_test_dump_ok (args);
  g_auto(Tensor) band = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *meta;
  if (npy)
    {
      load_npy (&band, out, "attentions");
      meta = npy_metadata (parser, out);
    }
  else
    {
      load_safetensors (&band, out, "attentions");
      meta = safetensors_metadata (parser, out);
    }
  int R = 256;
  assert_shape (&band, 4, LONG_L, LONG_H, R, LONG_T);
  assert_json_shape (meta, "attentions_shape", LONG_L, LONG_H, R, LONG_T);
  g_assert_cmpint (json_object_get_int_member (meta, "attentions_row_offset"), ==, 100);
  for (int l = 0; l < LONG_L; l++)
    for (int h = 0; h < LONG_H; h++)
      {
        g_autofree char *label = g_strdup_printf ("L%dH%d rows 100-355", l, h);
        g_assert_true (attnviz_test_check_tensor (band.data + ((gsize) l * LONG_H + h) * R * LONG_T,
                                                  full_head (l, h) + (gsize) 100 * LONG_T, (gsize) R * LONG_T, 0.0f,
                                                  label));
      }
  attnviz_test_remove_tree (out);

  /* the last rows of a dense head */
  g_autofree char *dense = attnviz_test_out_path ("band-dense");
  const char *dargs[] = { "dump", attnviz_test_long_model (), "--ids", ids, "--layers", "3", "--heads", "6",
                          "--rows", "650-699", "-o", dense, "-q", NULL };
  attnviz_test_dump_ok (dargs);
  g_auto(Tensor) d = { 0 };
  load_npy (&d, dense, "attentions");
  assert_shape (&d, 4, 1, 1, 50, LONG_T);
  g_assert_true (attnviz_test_check_tensor (d.data, full_head (3, 6) + (gsize) 650 * LONG_T, (gsize) 50 * LONG_T, 0.0f,
                                            "dense rows 650-699"));
  attnviz_test_remove_tree (dense);
}

/* --logits all of gpt2-tiny's own input, in every format: PyTorch's logits,
 * the last row logits_last, and each position's top 10 from them. */
static void
test_logits_all_are_every_position_in_every_format (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *ref_path = attnviz_test_fixture_path ("gpt2-tiny", "reference", "logits.npy", NULL);
  const char *ids = "37,65,65,25,33,95,68,17,46,93,75";
  int T = 11, V = 97;
  g_auto(Tensor) ref = { 0 };
  ref.data = attnviz_test_load_npy (ref_path, ref.shape, &ref.n_dims, &ref.n);
  assert_shape (&ref, 2, T, V, 0, 0);

  g_autofree char *npy = attnviz_test_out_path ("logits");
  g_autofree char *st = attnviz_test_out_path ("logits.safetensors");
  g_autofree char *json = attnviz_test_out_path ("logits.json");
  const char *a[] = { "dump", model, "--ids", ids, "--logits", "all", "-o", npy, "-q", NULL };
  const char *b[] = { "dump", model, "--ids", ids, "--logits", "all", "-o", st, "-q", NULL };
  const char *c[] = { "dump", model, "--ids", ids, "--logits", "all", "-o", json, "-q", NULL };
  attnviz_test_dump_ok (a);
  attnviz_test_dump_ok (b);
  attnviz_test_dump_ok (c);

  g_auto(Tensor) ln = { 0 };
  g_auto(Tensor) ls = { 0 };
  g_auto(Tensor) last = { 0 };
  g_auto(Tensor) topk = { 0 };
  g_auto(Tensor) probs = { 0 };
  load_npy (&ln, npy, "logits");
  load_npy (&last, npy, "logits_last");
  load_npy (&topk, npy, "topk_ids");
  load_npy (&probs, npy, "topk_probs");
  load_safetensors (&ls, st, "logits");
  assert_shape (&ln, 2, T, V, 0, 0);
  assert_shape (&ls, 2, T, V, 0, 0);
  assert_shape (&topk, 2, T, 10, 0, 0);
  g_assert_true (attnviz_test_check_tensor (ln.data, ref.data, ref.n, 1e-4f, "npy logits vs PyTorch"));
  g_assert_true (attnviz_test_check_tensor (ls.data, ln.data, ln.n, 0.0f, "safetensors vs npy logits"));
  g_assert_true (attnviz_test_check_tensor (last.data, ln.data + (gsize) (T - 1) * V, V, 0.0f, "logits_last"));

  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *rows = json_object_get_array_member (root, "logits");
  g_assert_cmpint (json_array_get_length (rows), ==, T);
  g_autofree float *lj = g_new (float, (gsize) T * V);
  for (int t = 0; t < T; t++)
    {
      JsonArray *row = json_array_get_array_element (rows, t);
      g_assert_cmpint (json_array_get_length (row), ==, V);
      for (int v = 0; v < V; v++)
        lj[t * V + v] = (float) json_array_get_double_element (row, v);
    }
  g_assert_true (attnviz_test_check_tensor (lj, ln.data, ln.n, 0.0f, "json vs npy logits"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "metadata"), "logits"), ==,
                   "all");
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (root, "topk_ids")), ==, T);

  /* the top 10, most likely first, with their softmax probabilities */
  for (int t = 0; t < T; t++)
    {
      const float *row = ln.data + (gsize) t * V;
      double max = -INFINITY, sum = 0;
      for (int v = 0; v < V; v++)
        max = MAX (max, row[v]);
      for (int v = 0; v < V; v++)
        sum += exp (row[v] - max);
      for (int k = 0; k < 10; k++)
        {
          int id = (int) topk.data[t * 10 + k];
          g_assert_cmpint (id, >=, 0);
          g_assert_cmpint (id, <, V);
          g_assert_cmpfloat_with_epsilon (probs.data[t * 10 + k], exp (row[id] - max) / sum, 1e-5);
          if (k > 0)
            g_assert_cmpfloat (row[id], <=, row[(int) topk.data[t * 10 + k - 1]]);
        }
      g_assert_cmpfloat (row[(int) topk.data[t * 10]], ==, max);
    }
  attnviz_test_remove_tree (npy);
  g_remove (st);
  g_remove (json);
}

/* T = 4096: every position's logits streamed into logits.npy while the run
 * goes on, every head pooled, inside 1 GiB of address space (the 40 heads
 * alone would take 2.7 GB dense). */
static void
test_logits_all_of_a_long_run_stream_within_a_memory_limit (gconstpointer data)
{
  const char *format = data;
  gboolean npy = g_str_equal (format, "npy");
  const char *model = attnviz_test_long_model ();
  if (model == NULL)
    return;
  int T = 4096, V = 512;
  g_autofree char *ids = attnviz_test_some_ids (T);
  g_autofree char *out = attnviz_test_out_path (npy ? "long-logits" : "long-logits.safetensors");
  const char *args[] = { "dump", model, "--ids", ids, "--logits", "all", "--pool", "32", "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_limited (&r, args, attnviz_test_address_space_limits_work () ? LONG_RUN_AS : 0);
  g_assert_cmpint (r.status, ==, 0);

  g_auto(Tensor) logits = { 0 };
  g_auto(Tensor) last = { 0 };
  g_auto(Tensor) topk = { 0 };
  g_auto(Tensor) pooled = { 0 };
  if (npy)
    {
      load_npy (&logits, out, "logits");
      load_npy (&last, out, "logits_last");
      load_npy (&topk, out, "topk_probs");
      load_npy (&pooled, out, "attentions_pooled_mean");
    }
  else
    {
      load_safetensors (&logits, out, "logits");
      load_safetensors (&last, out, "logits_last");
      load_safetensors (&topk, out, "topk_probs");
      load_safetensors (&pooled, out, "attentions_pooled_mean");
    }
  assert_shape (&logits, 2, T, V, 0, 0);
  assert_shape (&topk, 2, T, 10, 0, 0);
  assert_shape (&pooled, 4, LONG_L, LONG_H, 32, 32);
  g_assert_true (attnviz_test_check_tensor (last.data, logits.data + (gsize) (T - 1) * V, V, 0.0f, "logits_last"));

  /* A causal model's first 64 positions see only the first 64 tokens:
   * their logits are those of a run of those tokens alone. */
  g_autofree char *short_ids = attnviz_test_some_ids (64);
  g_autofree char *short_out = attnviz_test_out_path ("short-logits");
  const char *sargs[] = { "dump", model, "--ids", short_ids, "--logits", "all", "-o", short_out, "-q", NULL };
  attnviz_test_dump_ok (sargs);
  g_auto(Tensor) first = { 0 };
  load_npy (&first, short_out, "logits");
  g_assert_true (attnviz_test_check_tensor (logits.data, first.data, (gsize) 64 * V, 1e-4f,
                                            "the first 64 rows vs a run of 64 tokens"));
  attnviz_test_remove_tree (short_out);
  attnviz_test_remove_tree (out);
}

/* ---- usage ----------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *args[8];      /* after dump MODEL --ids IDS */
  const char *needle;       /* in the one line on stderr */
} BadOptions;

static const BadOptions bad_options[] = {
  { "pool-0", { "--pool", "0" }, "--pool 0" },
  { "pool-negative", { "--pool", "-3" }, "--pool -3" },
  { "rows-backwards", { "--rows", "9-3" }, "--rows 9-3" },
  { "rows-not-numbers", { "--rows", "a-b" }, "--rows a-b" },
  { "rows-past-the-input", { "--rows", "2-40" }, "--rows 2-40: past the last of the 6 tokens" },
  { "pool-with-rows", { "--pool", "4", "--rows", "1-2" }, "--pool and --rows" },
  { "pool-max-alone", { "--pool-max" }, "--pool-max" },
  { "logits-sideways", { "--logits", "sideways" }, "--logits sideways" },
  { "logits-of-a-model-without-an-output-layer", { "--logits", "all", "@BERT" }, "--logits all" },
};

/* bert-nopos as a bare BertModel: hidden states, no logits. */
static char *
make_bare_bert (void)
{
  g_autofree char *src = attnviz_test_fixture_path ("bert-nopos", NULL);
  char *dir = g_build_filename (attnviz_test_scratch, "bare-bert", NULL);
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return dir;
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  static const char *const files[] = { "config.json", "model.safetensors" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dir, files[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (from, &data, &len, NULL));
      if (i == 0)
        {
          g_autoptr(GString) s = g_string_new_len (data, (gssize) len);
          g_assert_cmpuint (g_string_replace (s, "BertForMaskedLM", "BertModel", 0), ==, 1);
          g_assert_true (g_file_set_contents (to, s->str, (gssize) s->len, NULL));
        }
      else
        g_assert_true (g_file_set_contents (to, data, (gssize) len, NULL));
    }
  return dir;
}

static void
test_bad_options_are_a_usage_error (gconstpointer data)
{
  const BadOptions *bad = data;
  g_autofree char *gpt2 = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *bert = make_bare_bert ();
  g_autofree char *out = attnviz_test_out_path ("bad");
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *model = gpt2;
  for (int i = 0; bad->args[i]; i++)
    if (g_str_equal (bad->args[i], "@BERT"))
      model = bert;
  g_ptr_array_add (args, (gpointer) "dump");
  g_ptr_array_add (args, (gpointer) model);
  g_ptr_array_add (args, (gpointer) "--ids");
  g_ptr_array_add (args, (gpointer) "5,17,33,2,40,41");
  for (int i = 0; bad->args[i]; i++)
    if (!g_str_equal (bad->args[i], "@BERT"))
      g_ptr_array_add (args, (gpointer) bad->args[i]);
  g_ptr_array_add (args, (gpointer) "-o");
  g_ptr_array_add (args, (gpointer) out);
  g_ptr_array_add (args, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnvizv (&r, (const char *const *) args->pdata);
  attnviz_test_assert_one_line_error (&r, 2, bad->needle);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  /* nothing left beside it either */
  g_autoptr(GDir) dir = g_dir_open (attnviz_test_scratch, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, ".bad"));
}

static void
test_json_of_a_long_input_is_refused_before_the_run (void)
{
  const char *model = attnviz_test_long_model ();
  if (model == NULL)
    return;
  g_autofree char *ids = attnviz_test_some_ids (600);
  g_autofree char *out = attnviz_test_out_path ("long.json");
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", ids, "-o", out, NULL);
  attnviz_test_assert_one_line_error (&r, 2, "--format json: 600 tokens are too many for json (at most 512)");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int argc, char *argv[])
{
  attnviz_test_cli_long_init (&argc, &argv);

  g_test_add_func ("/cli-long/dump/dense-and-recomputed-heads-are-the-same", test_dense_and_recomputed_heads_are_the_same);
  g_test_add_func ("/cli-long/dump/safetensors-holds-the-same-arrays", test_safetensors_holds_the_same_arrays);
  g_test_add_data_func ("/cli-long/dump/pool-is-the-mean-and-max-of-every-head/npy", "npy",
                        test_pool_is_the_mean_and_max_of_every_head);
  g_test_add_data_func ("/cli-long/dump/pool-is-the-mean-and-max-of-every-head/safetensors", "safetensors",
                        test_pool_is_the_mean_and_max_of_every_head);
  g_test_add_func ("/cli-long/dump/pool-larger-than-the-input-is-the-whole-head",
                   test_pool_larger_than_the_input_is_the_whole_head);
  g_test_add_data_func ("/cli-long/dump/rows-are-a-band-of-every-head/npy", "npy", test_rows_are_a_band_of_every_head);
  g_test_add_data_func ("/cli-long/dump/rows-are-a-band-of-every-head/safetensors", "safetensors",
                        test_rows_are_a_band_of_every_head);
  g_test_add_func ("/cli-long/dump/logits-all-are-every-position-in-every-format",
                   test_logits_all_are_every_position_in_every_format);
  g_test_add_data_func ("/cli-long/dump/logits-all-of-a-long-run-stream-within-a-memory-limit/npy", "npy",
                        test_logits_all_of_a_long_run_stream_within_a_memory_limit);
  g_test_add_data_func ("/cli-long/dump/logits-all-of-a-long-run-stream-within-a-memory-limit/safetensors",
                        "safetensors", test_logits_all_of_a_long_run_stream_within_a_memory_limit);
  for (guint i = 0; i < G_N_ELEMENTS (bad_options); i++)
    {
      g_autofree char *name = g_strdup_printf ("/cli-long/usage/%s", bad_options[i].name);
      g_test_add_data_func (name, &bad_options[i], test_bad_options_are_a_usage_error);
    }
  g_test_add_func ("/cli-long/usage/json-of-a-long-input-is-refused-before-the-run",
                   test_json_of_a_long_input_is_refused_before_the_run);

  int status = attnviz_test_cli_long_run ();
  tensor_clear (&full);
  return status;
}
