/* Variants: properties that need no reference implementation. */
#define G_LOG_DOMAIN "test-variants"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-metrics.h"
#include "attnviz-test-util.h"

static AttnvizModel *
load_fixture (const char *name)
{
  g_autofree char *dir = attnviz_test_fixture_path (name, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizModel *m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  return m;
}

/* stories260K when ../shared is there, else NULL (and the test skips). */
static AttnvizModel *
load_stories (void)
{
  g_autofree char *dir = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (dir == NULL)
    return NULL;
  g_autoptr(GError) error = NULL;
  AttnvizModel *m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  return m;
}

static AttnvizRecording *
run_variant (const AttnvizModel *m, const gint32 *ids, int T, const char *spec)
{
  AttnvizVariant v;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_variant_parse (&v, spec, &error));
  g_assert_no_error (error);
  g_assert_true (attnviz_variant_check (&v, &m->config, &error));
  AttnvizRunOptions opt = { .variant = &v };
  AttnvizRecording *rec = attnviz_forward (m, ids, T, &opt, &error);
  g_assert_no_error (error);
  attnviz_variant_clear (&v);
  return rec;
}

static const gint32 gpt2_ids[] = { 37, 65, 65, 25, 33, 95, 68, 17, 46, 93, 75 };
#define GPT2_T ((int) G_N_ELEMENTS (gpt2_ids))

static void
assert_rows_sum_to_one (const AttnvizRecording *r)
{
  int T = r->T;
  for (gsize m = 0; m < (gsize) r->n_rec_layers * r->n_rec_heads; m++)
    for (int i = 0; i < T; i++)
      {
        double sum = 0.0;
        for (int j = 0; j < T; j++)
          sum += r->attn[m * T * T + (gsize) i * T + j];
        g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-6);
      }
}

static void
test_causal_mask_zeroes_the_future (void)
{
  /* on a bidirectional model, where the model itself would look ahead */
  g_autoptr(AttnvizModel) m = load_fixture ("bert-tiny");
  g_autoptr(AttnvizRecording) r = run_variant (m, gpt2_ids, GPT2_T, "mask=causal");
  int T = GPT2_T;
  for (gsize k = 0; k < (gsize) r->n_rec_layers * r->n_rec_heads; k++)
    for (int i = 0; i < T; i++)
      for (int j = i + 1; j < T; j++)
        g_assert_cmpfloat (r->attn[k * T * T + i * T + j], ==, 0.0f);
  assert_rows_sum_to_one (r);
}

static void
test_sliding_window_is_zero_outside_the_band (gconstpointer data)
{
  g_autoptr(AttnvizModel) m = load_fixture (data);
  int w = 3, T = GPT2_T;
  g_autoptr(AttnvizRecording) r = run_variant (m, gpt2_ids, T, "mask=window:3");
  for (gsize k = 0; k < (gsize) r->n_rec_layers * r->n_rec_heads; k++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        {
          gboolean inside = m->config.causal ? (j <= i && i - j < w) : abs (i - j) < w;
          if (!inside)
            g_assert_cmpfloat (r->attn[k * T * T + i * T + j], ==, 0.0f);
        }
  assert_rows_sum_to_one (r);
}

static void
test_strided_pattern_keeps_local_and_strided_keys (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  int s = 4, T = GPT2_T;
  g_autoptr(AttnvizRecording) r = run_variant (m, gpt2_ids, T, "mask=strided:4");
  for (gsize k = 0; k < (gsize) r->n_rec_layers * r->n_rec_heads; k++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        if (j > i || (i - j >= s && (i - j) % s != 0))
          g_assert_cmpfloat (r->attn[k * T * T + i * T + j], ==, 0.0f);
  assert_rows_sum_to_one (r);
}

/* Blocks, and a window with global tokens: a key is seen exactly when
 * the shared pattern (attnviz-pattern.h) allows it, causality holding. */
static void
test_block_and_global_patterns_keep_the_keys_they_allow (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  int T = GPT2_T;
  static const char *const specs[] = { "mask=block:3", "mask=window:2+global:2" };
  for (guint v = 0; v < G_N_ELEMENTS (specs); v++)
    {
      g_autoptr(AttnvizRecording) r = run_variant (m, gpt2_ids, T, specs[v]);
      AttnvizPattern p;
      g_assert_true (attnviz_pattern_parse (&p, specs[v] + strlen ("mask="), NULL));
      for (gsize k = 0; k < (gsize) r->n_rec_layers * r->n_rec_heads; k++)
        for (int i = 0; i < T; i++)
          for (int j = 0; j < T; j++)
            if (j > i || !attnviz_pattern_allows (&p, i, j))
              g_assert_cmpfloat (r->attn[k * T * T + i * T + j], ==, 0.0f);
            else
              g_assert_cmpfloat (r->attn[k * T * T + i * T + j], >, 0.0f);
      assert_rows_sum_to_one (r);
    }
  /* the global tokens: row 1 (global) sees keys 0 and 1, row T - 1 sees
   * keys 0, 1 (global) and T - 2, T - 1 (its window), nothing between */
  AttnvizPattern wg = { .window = 2, .global = 2 };
  g_assert_true (attnviz_pattern_allows (&wg, T - 1, 0) && attnviz_pattern_allows (&wg, T - 1, 1));
  g_assert_false (attnviz_pattern_allows (&wg, T - 1, T - 3));
  g_assert_true (attnviz_pattern_allows (&wg, 1, 0));
}

static void
check_bidirectional_on_causal (const AttnvizModel *m, const gint32 *ids, int T)
{
  g_autoptr(AttnvizRecording) base = run_variant (m, ids, T, "model");
  g_autoptr(AttnvizRecording) bi = run_variant (m, ids, T, "mask=bidirectional");
  g_autoptr(AttnvizRecording) back = run_variant (m, ids, T, "mask=model");
  gsize nn = (gsize) T * T;
  for (gsize k = 0; k < (gsize) base->n_rec_layers * base->n_rec_heads; k++)
    for (int i = 0; i < T - 1; i++)
      /* every row but the last sees keys it could not see before */
      g_assert_true (memcmp (base->attn + k * nn + (gsize) i * T, bi->attn + k * nn + (gsize) i * T,
                             T * sizeof (float)) != 0);
  g_assert_cmpmem (base->attn, base->n_rec_layers * base->n_rec_heads * nn * sizeof (float),
                   back->attn, back->n_rec_layers * back->n_rec_heads * nn * sizeof (float));
  g_assert_cmpstr (bi->variant, ==, "mask=bidirectional");
  g_assert_cmpstr (back->variant, ==, "model");
}

static void
test_bidirectional_on_a_causal_model_changes_every_row_but_the_last (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  check_bidirectional_on_causal (m, gpt2_ids, GPT2_T);
  g_autoptr(AttnvizModel) s = load_stories ();
  if (s == NULL)
    return;
  gint32 ids[] = { 1, 403, 407, 261, 378, 280, 395, 267, 270, 418 };
  check_bidirectional_on_causal (s, ids, G_N_ELEMENTS (ids));
}

static void
check_permutation_invariance (const AttnvizModel *m, const gint32 *ids, int T, const int *perm)
{
  g_autofree gint32 *permuted = g_new (gint32, T);
  for (int i = 0; i < T; i++)
    permuted[i] = ids[perm[i]];
  g_autoptr(AttnvizRecording) a = run_variant (m, ids, T, "mask=bidirectional,pos=none");
  g_autoptr(AttnvizRecording) b = run_variant (m, permuted, T, "mask=bidirectional,pos=none");
  float maxdiff = 0.0f;
  gsize nn = (gsize) T * T;
  for (gsize k = 0; k < (gsize) a->n_rec_layers * a->n_rec_heads; k++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        maxdiff = fmaxf (maxdiff, fabsf (b->attn[k * nn + i * T + j] - a->attn[k * nn + perm[i] * T + perm[j]]));
  g_test_message ("max |A'[i,j] - A[perm i, perm j]| = %.3g", maxdiff);
  g_assert_cmpfloat (maxdiff, <=, 1e-5f);
}

static void
test_without_positions_or_mask_permuting_tokens_permutes_attention (void)
{
  int perm[] = { 4, 0, 8, 2, 6, 1, 7, 3, 5, 10, 9 };
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  check_permutation_invariance (m, gpt2_ids, GPT2_T, perm);
  g_autoptr(AttnvizModel) s = load_stories ();
  if (s == NULL)
    return;
  gint32 ids[] = { 1, 403, 407, 261, 378, 280, 395, 267, 270, 418, 300 };
  check_permutation_invariance (s, ids, G_N_ELEMENTS (ids), perm);
}

static void
test_ablating_a_head_changes_only_later_layers (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  int T = GPT2_T;
  gsize per_layer = (gsize) m->config.n_head * T * T;
  g_autoptr(AttnvizRecording) base = run_variant (m, gpt2_ids, T, "model");
  g_autoptr(AttnvizRecording) none = run_variant (m, gpt2_ids, T, "");
  g_assert_cmpmem (base->attn, m->config.n_layer * per_layer * 4, none->attn, m->config.n_layer * per_layer * 4);
  g_assert_cmpmem (base->loss, T * 4, none->loss, T * 4);

  for (const char *const *mode = (const char *const[]) { "zero", "mean", NULL }; *mode; mode++)
    {
      g_autofree char *spec = g_strdup_printf ("ablate=L1H2,ablate-mode=%s", *mode);
      g_autoptr(AttnvizRecording) abl = run_variant (m, gpt2_ids, T, spec);
      /* layers 0 and 1 (the ablated head's own attention pattern) are untouched */
      g_assert_cmpmem (base->attn, 2 * per_layer * 4, abl->attn, 2 * per_layer * 4);
      /* layer 2 reads the changed output */
      g_assert_true (memcmp (base->attn + 2 * per_layer, abl->attn + 2 * per_layer, per_layer * 4) != 0);
      g_assert_true (memcmp (base->loss, abl->loss, (T - 1) * 4) != 0);
    }
}

static void
test_scale_of_one_over_sqrt_d_reproduces_the_model (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("llama-gqa-tiny");
  gint32 ids[] = { 1, 40, 41, 42, 40, 41, 96, 5 };
  int T = G_N_ELEMENTS (ids);
  g_autofree char *spec = g_strdup_printf ("score=scale:%.9g", 1.0f / sqrtf ((float) m->config.head_dim));
  g_autoptr(AttnvizRecording) base = run_variant (m, ids, T, "model");
  g_autoptr(AttnvizRecording) scaled = run_variant (m, ids, T, spec);
  g_autoptr(AttnvizRecording) dot = run_variant (m, ids, T, "score=dot");
  gsize n = (gsize) m->config.n_layer * m->config.n_head * T * T;
  g_assert_cmpmem (base->attn, n * 4, scaled->attn, n * 4);
  g_assert_true (memcmp (base->attn, dot->attn, n * 4) != 0);
}

static void
test_excluding_special_tokens_renormalises_rows (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("llama-gqa-tiny");
  gint32 ids[] = { 1, 40, 41, 42, 40, 41, 96, 5 };
  int T = G_N_ELEMENTS (ids);
  gboolean special[G_N_ELEMENTS (ids)] = { TRUE };
  AttnvizVariant v;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_variant_parse (&v, "exclude=special", &error));
  AttnvizRunOptions opt = { .variant = &v, .special = special };
  g_autoptr(AttnvizRecording) r = attnviz_forward (m, ids, T, &opt, &error);
  g_assert_no_error (error);
  gsize nn = (gsize) T * T;
  for (gsize k = 0; k < (gsize) r->n_rec_layers * r->n_rec_heads; k++)
    {
      /* row 0 has nothing left to look at: all zero */
      for (int j = 0; j < T; j++)
        g_assert_cmpfloat (r->attn[k * nn + j], ==, 0.0f);
      for (int i = 1; i < T; i++)
        {
          double sum = 0.0;
          g_assert_cmpfloat (r->attn[k * nn + i * T], ==, 0.0f);
          for (int j = 0; j < T; j++)
            sum += r->attn[k * nn + i * T + j];
          g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-6);
        }
    }
  attnviz_variant_clear (&v);
}

static void
test_reusing_a_run_gives_the_same_numbers (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  int T = GPT2_T;
  g_autoptr(GError) error = NULL;
  AttnvizRunOptions base_opt = { .keep_residuals = TRUE };
  g_autoptr(AttnvizRecording) base = attnviz_forward (m, gpt2_ids, T, &base_opt, &error);
  g_assert_no_error (error);

  AttnvizVariant v;
  g_assert_true (attnviz_variant_parse (&v, "ablate=L2H0", &error));
  AttnvizRunOptions full_opt = { .variant = &v };
  AttnvizRunOptions reuse_opt = { .variant = &v, .reuse = base };
  g_autoptr(AttnvizRecording) full = attnviz_forward (m, gpt2_ids, T, &full_opt, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) reused = attnviz_forward (m, gpt2_ids, T, &reuse_opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (full->reused_layers, ==, 0);
  g_assert_cmpint (reused->reused_layers, ==, 2);
  gsize n = (gsize) m->config.n_layer * m->config.n_head * T * T;
  g_assert_cmpmem (full->attn, n * 4, reused->attn, n * 4);
  g_assert_cmpmem (full->logits, (gsize) T * m->config.vocab_size * 4, reused->logits,
                   (gsize) T * m->config.vocab_size * 4);
  attnviz_variant_clear (&v);
}

static void
test_variant_specs_round_trip (void)
{
  static const char *specs[] = {
    "model", "mask=causal", "mask=window:8,pos=none", "mask=strided:4,exclude=special+3", "mask=block:4",
    "mask=window:3+global:2", "mask=strided:3+block:6",
    "pos=shuffled:7,score=dot", "pos=rope-theta:500000", "score=scale:0.125", "ablate=L0H1+L3H2,ablate-mode=mean",
  };
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      AttnvizVariant v;
      g_autoptr(GError) error = NULL;
      g_assert_true (attnviz_variant_parse (&v, specs[i], &error));
      g_autofree char *s = attnviz_variant_to_string (&v);
      g_assert_cmpstr (s, ==, specs[i]);
      attnviz_variant_clear (&v);
    }
  static const char *bad[] = { "mask=window:0", "mask=global:2", "mask=block:4+block:2", "mask=dense", "pos=sideways", "nonsense", "ablate=H3", "score=scale:-1", "key=1",
                               "score=scale:1e300" /* inf as a float: found by fuzz-variant */,
                               "mask=window:2+global:1,mask=block:2" /* the first would be dropped */,
                               "pos=none, pos=reversed", "ablate=L0H0,ablate-mode=mean,ablate-mode=zero" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      AttnvizVariant v;
      g_autoptr(GError) error = NULL;
      g_assert_false (attnviz_variant_parse (&v, bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
  /* a pattern's refusal says what is wrong with it */
  AttnvizVariant v;
  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_variant_parse (&v, "mask=window:0", &error));
  g_assert_nonnull (strstr (error->message, "mask \"window:0\": each size must be a whole number from 1"));
}

static void
test_rope_base_needs_a_rope_model (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  AttnvizVariant v;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_variant_parse (&v, "pos=rope-theta:500", &error));
  g_assert_false (attnviz_variant_check (&v, &m->config, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  attnviz_variant_clear (&v);
  g_autoptr(AttnvizModel) l = load_fixture ("llama-gqa-tiny");
  gint32 ids[] = { 1, 40, 41, 42, 40, 41, 96, 5 };
  g_autoptr(AttnvizRecording) a = run_variant (l, ids, 8, "model");
  g_autoptr(AttnvizRecording) b = run_variant (l, ids, 8, "pos=rope-theta:500");
  g_assert_true (memcmp (a->attn + 64, b->attn + 64, 64 * 4) != 0);
}

/* A hybrid model trained each head with its own score: a variant that
 * would give every head one score is refused, saying why in its terms. */
static void
test_score_variants_refused_on_a_hybrid_say_why (void)
{
  AttnvizConfig c = { 0 };
  c.n_layer = 2;
  c.n_head = 2;
  g_assert_true (attnviz_config_parse_score (&c, "hybrid:heads=1", NULL));
  static const char *const specs[][2] = {
    { "score=additive", "scaled dot-product heads were not trained to score additively" },
    { "score=dot", "additive heads have no dot product to rescale" },
    { "score=scale:0.5", "additive heads have no dot product to rescale" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      AttnvizVariant v;
      g_autoptr(GError) error = NULL;
      g_assert_true (attnviz_variant_parse (&v, specs[i][0], &error));
      g_assert_false (attnviz_variant_check (&v, &c, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "hybrid"));
      g_assert_nonnull (strstr (error->message, specs[i][1]));
      attnviz_variant_clear (&v);
    }
}

/* A run records the mask it used, so that a view can say a cell's 0 is
 * the mask's: the cells attnviz_recording_masks names are exactly those of
 * weight 0, for a mask variant and for a model's own sparse pattern. */
static void
assert_masked_cells_are_the_zeros (const AttnvizRecording *r)
{
  int T = r->T;
  for (gsize m = 0; m < (gsize) r->n_rec_layers * r->n_rec_heads; m++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        {
          float a = r->attn[(m * T + i) * T + j];
          if (attnviz_recording_masks (r, i, j))
            g_assert_cmpfloat (a, ==, 0.0f);
          else
            g_assert_cmpfloat (a, >, 0.0f);
        }
}

static void
test_recording_names_the_cells_its_mask_hid (void)
{
  g_autoptr(AttnvizModel) m = load_fixture ("gpt2-tiny");
  g_autoptr(AttnvizRecording) dense = run_variant (m, gpt2_ids, GPT2_T, "model");
  g_assert_true (attnviz_pattern_is_dense (&dense->pattern));
  g_assert_true (attnviz_recording_masks (dense, 2, 3));    /* causal: a later key */
  g_assert_false (attnviz_recording_masks (dense, 9, 0));
  assert_masked_cells_are_the_zeros (dense);

  g_autoptr(AttnvizRecording) window = run_variant (m, gpt2_ids, GPT2_T, "mask=window:3+global:1");
  g_autofree char *spelled = attnviz_pattern_to_string (&window->pattern);
  g_assert_cmpstr (spelled, ==, "window:3+global:1");
  g_assert_true (attnviz_recording_masks (window, 9, 5));   /* 4 back, past the window */
  g_assert_false (attnviz_recording_masks (window, 9, 0));  /* a global key */
  assert_masked_cells_are_the_zeros (window);

  /* a model trained sparse runs with its own pattern, and records it */
  m->config.pattern = (AttnvizPattern) { .block = 4 };
  g_autoptr(AttnvizRecording) own = run_variant (m, gpt2_ids, GPT2_T, "model");
  g_assert_cmpint (own->pattern.block, ==, 4);
  g_assert_true (attnviz_recording_masks (own, 4, 3));
  assert_masked_cells_are_the_zeros (own);
}

static void
test_total_variation_is_zero_for_equal_and_one_for_disjoint (void)
{
  float a[] = { 1, 0, 0.5f, 0.5f };
  float b[] = { 0, 1, 0.5f, 0.5f };
  g_assert_cmpfloat_with_epsilon (attnviz_total_variation (a, a, 2, 2), 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (attnviz_total_variation (a, b, 2, 2), 0.5, 1e-12);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/variants/causal-mask-zeroes-the-future-and-rows-sum-to-one",
                   test_causal_mask_zeroes_the_future);
  g_test_add_data_func ("/engine/variants/sliding-window-is-zero-outside-the-band/causal", "gpt2-tiny",
                        test_sliding_window_is_zero_outside_the_band);
  g_test_add_data_func ("/engine/variants/sliding-window-is-zero-outside-the-band/bidirectional", "bert-tiny",
                        test_sliding_window_is_zero_outside_the_band);
  g_test_add_func ("/engine/variants/block-and-global-patterns-keep-the-keys-they-allow",
                   test_block_and_global_patterns_keep_the_keys_they_allow);
  g_test_add_func ("/engine/variants/strided-pattern-keeps-local-and-strided-keys",
                   test_strided_pattern_keeps_local_and_strided_keys);
  g_test_add_func ("/engine/variants/bidirectional-on-a-causal-model-changes-every-row-but-the-last",
                   test_bidirectional_on_a_causal_model_changes_every_row_but_the_last);
  g_test_add_func ("/engine/variants/without-positions-or-mask-permuting-tokens-permutes-attention",
                   test_without_positions_or_mask_permuting_tokens_permutes_attention);
  g_test_add_func ("/engine/variants/ablating-a-head-changes-only-later-layers",
                   test_ablating_a_head_changes_only_later_layers);
  g_test_add_func ("/engine/variants/scale-of-one-over-sqrt-d-reproduces-the-model",
                   test_scale_of_one_over_sqrt_d_reproduces_the_model);
  g_test_add_func ("/engine/variants/excluding-special-tokens-renormalises-rows",
                   test_excluding_special_tokens_renormalises_rows);
  g_test_add_func ("/engine/variants/reusing-a-run-gives-the-same-numbers", test_reusing_a_run_gives_the_same_numbers);
  g_test_add_func ("/engine/variants/specs-round-trip", test_variant_specs_round_trip);
  g_test_add_func ("/engine/variants/rope-base-needs-a-rope-model", test_rope_base_needs_a_rope_model);
  g_test_add_func ("/engine/variants/score-variants-refused-on-a-hybrid-say-why",
                   test_score_variants_refused_on_a_hybrid_say_why);
  g_test_add_func ("/engine/variants/a-recording-names-the-cells-its-mask-hid",
                   test_recording_names_the_cells_its_mask_hid);
  g_test_add_func ("/engine/metrics/total-variation-is-zero-for-equal-rows",
                   test_total_variation_is_zero_for_equal_and_one_for_disjoint);
  return g_test_run ();
}
