/* test-bart.c: BART from a Hugging Face folder
 *
 * The fixture (tests/fixtures/bart-tiny) is a random-weight
 * BartForConditionalGeneration with its PyTorch reference
 * (tools/fixtures_bart.py, after transformers' modeling_bart): encoder,
 * decoder and cross-attention of every layer and head, and the logits.
 */
#define G_LOG_DOMAIN "test-bart"
#include "config.h"

#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-test-seq2seq.h"
#include "attnviz-test-util.h"

static void
test_matches_pytorch (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *dir = attnviz_test_fixture_path (fixture, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &model->config;
  g_assert_true (c->encoder_decoder);
  g_assert_cmpint (c->family, ==, ATTNVIZ_FAMILY_BART);

  int S, T;
  g_autofree gint32 *src = attnviz_test_load_ids (fixture, "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids (fixture, "target_ids.npy", &T);
  int H = c->n_head, V = c->vocab_size;
  g_autofree float *enc = attnviz_test_load_reference (fixture, "encoder_attentions.npy", (gsize) c->n_enc_layer * H * S * S);
  g_autofree float *dec = attnviz_test_load_reference (fixture, "attentions.npy", (gsize) c->n_layer * H * T * T);
  g_autofree float *cross = attnviz_test_load_reference (fixture, "cross_attentions.npy", (gsize) c->n_layer * H * T * S);
  g_autofree float *logits = attnviz_test_load_reference (fixture, "logits.npy", (gsize) T * V);

  for (int storage = 0; storage < 2; storage++)
    {
      AttnvizRunOptions o = { .keep_logits = TRUE,
                              .storage = storage ? ATTNVIZ_STORAGE_RECOMPUTE : ATTNVIZ_STORAGE_DENSE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src, S, tgt, T, &o, &error);
      g_assert_no_error (error);
      g_test_message ("%s attention", storage ? "recomputed" : "dense");
      g_assert_cmpint (attnviz_attention_is_dense (rec->attention), ==, !storage);
      g_assert_true (attnviz_test_check_attention (rec->enc_attention, enc, c->n_enc_layer, H, S, S, "encoder"));
      g_assert_true (attnviz_test_check_attention (rec->attention, dec, c->n_layer, H, T, T, "decoder"));
      g_assert_true (attnviz_test_check_attention (rec->cross_attention, cross, c->n_layer, H, T, S, "cross"));
      g_assert_nonnull (rec->logits);
      g_assert_true (attnviz_test_check_tensor (rec->logits, logits, (gsize) T * V, 1e-4f, "logits"));
    }
}

/* config.json saying 32 positions for tables of 66 rows: the position
 * table has the wrong shape, said naming the tensor. */
static void
test_refuses_a_position_table_of_the_wrong_shape (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-bart-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *src_config = attnviz_test_fixture_path ("bart-tiny", "config.json", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (src_config, &text, NULL, NULL));
  g_autoptr(GString) s = g_string_new (text);
  g_assert_cmpuint (g_string_replace (s, "\"max_position_embeddings\": 64", "\"max_position_embeddings\": 32", 1), ==, 1);
  g_autofree char *config = g_build_filename (tmp, "config.json", NULL);
  g_assert_true (g_file_set_contents (config, s->str, -1, NULL));
  g_autofree char *st = g_build_filename (tmp, "model.safetensors", NULL);
  g_autofree char *src_st = attnviz_test_fixture_path ("bart-tiny", "model.safetensors", NULL);
  g_assert_cmpint (symlink (src_st, st), ==, 0);
  g_autoptr(AttnvizModel) model = attnviz_model_load (tmp, &error);
  g_assert_null (model);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "model.safetensors: tensor \"model.encoder.embed_positions.weight\" has shape [66, 32], expected [34, 32]"));
  attnviz_test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/engine/bart/bart-tiny/matches-pytorch", "bart-tiny", test_matches_pytorch);
  g_test_add_func ("/engine/bart/refuses/a-position-table-of-the-wrong-shape",
                   test_refuses_a_position_table_of_the_wrong_shape);
  return g_test_run ();
}
