/* attnviz convert --type: each type stays within the error its rounding
 * steps explain.
 *
 * - Each --type stays within its expected error of the F32 model (the
 *   bound is derived at test_type_stays_within_its_bound).
 * - The bytes do not depend on the number of threads.
 * - Values beyond a type's range keep their tensor F32; a non-finite
 *   value is refused as the model loads.
 */
#define G_LOG_DOMAIN "test-convert"
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-gguf.h"
#include "attnviz-test-convert.h"
#include "attnviz-test-util.h"

/* ---- each --type ---- */

typedef struct {
  const AttnvizTestSource *source;
  AttnvizWeightType type;
} TypeCase;

/* The bound for a quantized file, derived from its own types: rounding
 * to a grid of step s leaves an error spread evenly over +-s/2 (RMS
 * s / sqrt 12), and each type fixes s per value or per block:
 *   F16    the value's own ulp, 2^(e - 10) for 2^e <= |x| < 2^(e + 1)
 *          (2^-24 below F16's normal range)
 *   BF16   2^(e - 7)
 *   Q8_0   d = amax / 127 over each block of 32
 *   Q4_0   d = amax / 8 (levels -8 .. 7 with -8 at the largest magnitude)
 *   Q4_K   (max - min(min, 0)) / 15 over each sub-block of 32
 * The reference is the F32 model with exactly that noise added to every
 * tensor the quantized file stores in a rounded type (each in its own
 * type: fallbacks and the Q8_0 LM head included), drawn uniformly and
 * independently: the logits' error that rounding of those steps makes in
 * this model, however the model amplifies it.  A correct quantizer's error
 * is that noise but for its correlations (and Q4_K's fitted scales do a
 * little better), so its logits stay within 2 x the noisy model's error
 * (measured 0.6 to 1.3 x); a wrong scale, a misplaced block or a lost
 * row goes far past it. */
static float
rounding_step (AttnvizWeightType type, const float *block, int n, int j)
{
  float amax = 0.0f, max = -INFINITY, min = INFINITY;
  int e;
  switch (type)
    {
    case ATTNVIZ_WEIGHT_F16:
      if (fabsf (block[j]) < 0x1p-14f)
        return 0x1p-24f;
      frexpf (block[j], &e);
      return ldexpf (1.0f, e - 1 - 10);
    case ATTNVIZ_WEIGHT_BF16:
      if (block[j] == 0.0f)
        return 0.0f;
      frexpf (block[j], &e);
      return ldexpf (1.0f, e - 1 - 7);
    case ATTNVIZ_WEIGHT_Q8_0:
    case ATTNVIZ_WEIGHT_Q4_0:
      for (int k = 0; k < n; k++)
        amax = MAX (amax, fabsf (block[k]));
      return amax / (type == ATTNVIZ_WEIGHT_Q8_0 ? 127.0f : 8.0f);
    case ATTNVIZ_WEIGHT_Q4_K:
      for (int k = 0; k < n; k++)
        {
          max = MAX (max, block[k]);
          min = MIN (min, block[k]);
        }
      return (max - MIN (min, 0.0f)) / 15.0f;
    default:
      return 0.0f;
    }
}

/* The F32 file F32_PATH with every tensor that QUANT_PATH rounds given
 * the noise of its type's step (above); returns the new file's path. */
static char *
add_rounding_noise (const char *f32_path, const char *quant_path, const char *label)
{
  g_autoptr(GError) error = NULL;
  AttnvizGguf *f = attnviz_gguf_open (f32_path, &error);
  g_assert_no_error (error);
  AttnvizGguf *q = attnviz_gguf_open (quant_path, &error);
  g_assert_no_error (error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, f, NULL, NULL);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (f); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (f, i);
      AttnvizWeightType type = attnviz_gguf_lookup (q, t->name)->type;
      float *x = g_memdup2 (t->data, t->n_bytes);
      int block = type == ATTNVIZ_WEIGHT_F16 || type == ATTNVIZ_WEIGHT_BF16 ? 1 : 32;
      g_assert_cmpint (t->type, ==, ATTNVIZ_WEIGHT_F32);
      for (gint64 b = 0; type != ATTNVIZ_WEIGHT_F32 && b < t->n_elements; b += block)
        {
          /* Steps from the clean block, then the noise. */
          float steps[32];
          for (int j = 0; j < block; j++)
            steps[j] = rounding_step (type, x + b, block, j);
          for (int j = 0; j < block; j++)
            x[b + j] += steps[j] * (float) (g_rand_double (rand) - 0.5);
        }
      attnviz_gguf_writer_add_tensor (w, t->name, ATTNVIZ_WEIGHT_F32, t->n_dims, t->ne, x, t->n_bytes, g_free);
    }
  g_autofree char *base = g_path_get_basename (quant_path);
  g_autofree char *name = g_strdup_printf ("%s-noise-%s", label, base);
  char *out = g_build_filename (attnviz_test_tmp_dir, name, NULL);
  g_assert_true (attnviz_gguf_writer_write (w, out, &error));
  g_assert_no_error (error);
  attnviz_gguf_writer_free (w);
  attnviz_gguf_free (f);
  attnviz_gguf_free (q);
  return out;
}

/* ||a - b|| / ||b|| over T rows of V logits, each row taken less its mean
 * (a softmax does not see a row's mean). */
static double
relative_rms (const float *a, const float *b, int T, int V)
{
  double num = 0.0, den = 0.0;
  for (int t = 0; t < T; t++)
    {
      const float *x = a + (gsize) t * V, *y = b + (gsize) t * V;
      double mx = 0.0, my = 0.0;
      for (int v = 0; v < V; v++)
        {
          mx += x[v];
          my += y[v];
        }
      mx /= V;
      my /= V;
      for (int v = 0; v < V; v++)
        {
          double d = (x[v] - mx) - (y[v] - my);
          num += d * d;
          den += (y[v] - my) * (y[v] - my);
        }
    }
  return sqrt (num / den);
}

static void
test_type_stays_within_its_bound (gconstpointer data)
{
  const TypeCase *tc = data;
  g_autofree char *path = attnviz_test_source_path (tc->source);
  if (path == NULL)
    return;
  g_autoptr(AttnvizModel) hf = attnviz_test_load (path);
  g_autofree char *out = attnviz_test_convert (hf, tc->source->label, tc->type, 2);
  g_autoptr(AttnvizModel) q = attnviz_test_load (out);

  /* Every matrix in the type asked for, but the documented exceptions. */
  const AttnvizGguf *g = q->gguf_file;
  gboolean q4 = tc->type == ATTNVIZ_WEIGHT_Q4_0 || tc->type == ATTNVIZ_WEIGHT_Q4_K;
  gboolean block_type = q4 || tc->type == ATTNVIZ_WEIGHT_Q8_0;
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (g); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      gboolean head = g_str_equal (t->name, "output.weight")
                      || (g_str_equal (t->name, "token_embd.weight") && hf->config.tied_embeddings
                          && q->config.has_lm_head);
      gboolean table = g_str_equal (t->name, "position_embd.weight") || g_str_equal (t->name, "token_types.weight");
      AttnvizWeightType want = tc->type;
      if (t->n_dims == 1 || table)
        want = ATTNVIZ_WEIGHT_F32;
      else if (head && q4)
        want = ATTNVIZ_WEIGHT_Q8_0;
      if (t->ne[0] % attnviz_weight_type_block_size (want) != 0)
        want = want == ATTNVIZ_WEIGHT_Q4_K && t->ne[0] % 32 == 0 ? ATTNVIZ_WEIGHT_Q8_0 : ATTNVIZ_WEIGHT_F16;
      g_assert_cmpstr (attnviz_weight_type_name (t->type), ==, attnviz_weight_type_name (want));
    }
  gint64 ft = -1, qv = -1;
  g_assert_true (attnviz_gguf_read_int (g, "general.file_type", TRUE, 0, 100, &ft, NULL));
  g_assert_cmpint (ft, ==, attnviz_convert_file_type (tc->type));
  g_assert_true (attnviz_gguf_read_int (g, "general.quantization_version", FALSE, 0, 100, &qv, NULL));
  g_assert_cmpint (qv, ==, block_type ? 2 : -1);

  /* The reference: the F32 file with each tensor's rounding noise. */
  g_autofree char *f32 = attnviz_test_convert (hf, tc->source->label, ATTNVIZ_WEIGHT_F32, 2);
  g_autofree char *noisy_path = add_rounding_noise (f32, out, tc->source->label);
  g_autoptr(AttnvizModel) exact = attnviz_test_load (f32);
  g_autoptr(AttnvizModel) noisy = attnviz_test_load (noisy_path);

  int T = MIN (64, hf->config.n_ctx);
  g_autofree gint32 *ids = attnviz_test_spread_ids (hf, T);
  g_autoptr(AttnvizRecording) ra = attnviz_test_forward (exact, ids, T);
  g_autoptr(AttnvizRecording) rb = attnviz_test_forward (q, ids, T);
  g_autoptr(AttnvizRecording) rn = attnviz_test_forward (noisy, ids, T);
  /* BERT's GGUF has no logits: its last layer's attention instead. */
  const float *a = ra->logits, *b = rb->logits, *n = rn->logits;
  int rows = T, cols = hf->config.vocab_size;
  if (a == NULL)
    {
      gsize last = (gsize) (hf->config.n_layer - 1) * hf->config.n_head * T * T;
      a = ra->attn + last;
      b = rb->attn + last;
      n = rn->attn + last;
      rows = hf->config.n_head * T;
      cols = T;
    }
  double err = relative_rms (b, a, rows, cols);
  double ref = relative_rms (n, a, rows, cols);
  g_test_message ("%s %s: %s' relative RMS error %.3g, %.2f x that of the rounding noise (%.3g; bound 2 x)",
                  tc->source->label, attnviz_weight_type_name (tc->type), ra->logits ? "logits" : "last attention",
                  err, err / ref, ref);
  g_assert_cmpfloat (err, <=, 2.0 * ref);
  g_remove (out);
  g_remove (f32);
  g_remove (noisy_path);
}

/* The bytes do not depend on the number of threads. */
static void
test_threads_do_not_change_the_bytes (void)
{
  g_autofree char *path = attnviz_test_shared_path ("models", "tiny-llama-gguf", "hf", NULL);
  if (path == NULL)
    return;
  g_autoptr(AttnvizModel) hf = attnviz_test_load (path);
  g_autofree char *one = attnviz_test_convert (hf, "threads", ATTNVIZ_WEIGHT_Q4_K, 1);
  g_autofree char *three = attnviz_test_convert (hf, "threads", ATTNVIZ_WEIGHT_Q4_K, 3);
  g_autofree char *a = NULL, *b = NULL;
  gsize la, lb;
  g_assert_true (g_file_get_contents (one, &a, &la, NULL));
  g_assert_true (g_file_get_contents (three, &b, &lb, NULL));
  g_assert_cmpmem (a, la, b, lb);
  g_remove (one);
  g_remove (three);
}

/* ---- values beyond a type's range ---- */

static void
keep_note (const char *note, gpointer data)
{
  GPtrArray *notes = data;
  g_ptr_array_add (notes, g_strdup (note));
}

/* gpt2-tiny as F32 GGUF with one value of blk.0.ffn_up.weight set to V. */
static char *
gpt2_with_value (float v, const char *label)
{
  g_autofree char *path = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(AttnvizModel) hf = attnviz_test_load (path);
  g_autofree char *f32 = attnviz_test_convert (hf, label, ATTNVIZ_WEIGHT_F32, 2);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *g = attnviz_gguf_open (f32, &error);
  g_assert_no_error (error);
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, g, NULL, NULL);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (g); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      float *x = g_memdup2 (t->data, t->n_bytes);
      if (g_str_equal (t->name, "blk.0.ffn_up.weight"))
        x[77] = v;
      attnviz_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, x, t->n_bytes, g_free);
    }
  g_autofree char *name = g_strdup_printf ("%s-edited.gguf", label);
  char *out = g_build_filename (attnviz_test_tmp_dir, name, NULL);
  g_assert_true (attnviz_gguf_writer_write (w, out, &error));
  g_assert_no_error (error);
  attnviz_gguf_writer_free (w);
  attnviz_gguf_free (g);
  g_remove (f32);
  return out;
}

/* A value F16 (or a block type's f16 scale) cannot hold keeps its tensor
 * F32, with one note; the other tensors take the type. */
static void
test_values_beyond_the_range_keep_f32 (void)
{
  static const struct { AttnvizWeightType type; float v; } cases[] = {
    { ATTNVIZ_WEIGHT_F16, 1e5f }, { ATTNVIZ_WEIGHT_Q4_0, 1e6f }, { ATTNVIZ_WEIGHT_Q8_0, 1e7f },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *src = gpt2_with_value (cases[c].v, "range");
      g_autoptr(AttnvizModel) m = attnviz_test_load (src);
      g_autofree char *out = g_build_filename (attnviz_test_tmp_dir, "range-out.gguf", NULL);
      g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
      AttnvizConvertOptions opts = { .type = cases[c].type, .note = keep_note, .user_data = notes };
      g_autoptr(GError) error = NULL;
      g_assert_true (attnviz_convert_model (m, out, &opts, NULL, &error));
      g_assert_no_error (error);
      g_autoptr(AttnvizModel) q = attnviz_test_load (out);
      const AttnvizGgufTensor *up0 = attnviz_gguf_lookup (q->gguf_file, "blk.0.ffn_up.weight");
      const AttnvizGgufTensor *up1 = attnviz_gguf_lookup (q->gguf_file, "blk.1.ffn_up.weight");
      g_assert_cmpint (up0->type, ==, ATTNVIZ_WEIGHT_F32);
      g_assert_cmpint (up1->type, ==, cases[c].type);
      g_assert_cmpfloat (((const float *) up0->data)[77], ==, cases[c].v);
      guint found = 0;
      for (guint i = 0; i < notes->len; i++)
        if (strstr (g_ptr_array_index (notes, i), "beyond its range") != NULL)
          {
            g_assert_nonnull (strstr (g_ptr_array_index (notes, i), "blk.0.ffn_up.weight"));
            found++;
          }
      g_assert_cmpuint (found, ==, 1);
      g_test_message ("%s: %s", attnviz_weight_type_name (cases[c].type),
                      (const char *) g_ptr_array_index (notes, notes->len - 1));
      g_remove (out);
      g_remove (src);
    }
}

/* A non-finite weight is an error naming the tensor as the model loads
 * (every GGUF matrix is checked on its stored bits, as safetensors ones
 * are), so there is nothing to convert. */
static void
test_a_non_finite_value_is_refused (void)
{
  g_autofree char *src = gpt2_with_value (NAN, "nan");
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (src, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, src));
  g_assert_nonnull (strstr (error->message, "tensor \"blk.0.ffn_up.weight\" holds a non-finite value "
                                            "(nan at element 77)"));
  g_remove (src);
}

int
main (int argc, char **argv)
{
  attnviz_test_convert_init (&argc, &argv);
  static const AttnvizWeightType types[] = {
    ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16, ATTNVIZ_WEIGHT_Q8_0, ATTNVIZ_WEIGHT_Q4_0, ATTNVIZ_WEIGHT_Q4_K,
  };
  static TypeCase type_cases[G_N_ELEMENTS (attnviz_test_sources) * G_N_ELEMENTS (types)];
  guint n_type = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (attnviz_test_sources); i++)
    {
      const AttnvizTestSource *s = &attnviz_test_sources[i];
      for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
        {
          type_cases[n_type] = (TypeCase) { s, types[t] };
          g_autofree char *p3 = g_strdup_printf ("/convert/type/%s/%s/stays-within-its-bound", s->label,
                                                 attnviz_weight_type_name (types[t]));
          g_test_add_data_func (p3, &type_cases[n_type++], test_type_stays_within_its_bound);
        }
    }
  g_test_add_func ("/convert/threads/do-not-change-the-bytes", test_threads_do_not_change_the_bytes);
  g_test_add_func ("/convert/range/values-beyond-a-type-keep-f32", test_values_beyond_the_range_keep_f32);
  g_test_add_func ("/convert/range/a-non-finite-value-is-refused", test_a_non_finite_value_is_refused);

  return attnviz_test_convert_run ();
}
