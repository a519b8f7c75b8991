/* test-t5-gguf.c: T5 from GGUF files in llama.cpp's `t5` layout
 *
 * tools/make-t5-gguf.py writes each random T5 twice, as a Hugging Face
 * folder (hf/) and as GGUF (model-f32.gguf, and for t5-gguf-tiny a Q8_0
 * copy), with the PyTorch reference of tools/fixtures_t5.py.  Both files
 * must give the reference's three attentions and logits, and so each
 * other's; the tokenizers in both must give SentencePiece's own ids
 * (nmt_nfkc, the <extra_id_N> sentinels).  llama.cpp's own logits, through
 * its encoder-decoder path (tools/llref-t5.c: llama_encode, then
 * llama_decode), are compared when that driver is built.
 */
#define G_LOG_DOMAIN "test-t5-gguf"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-forward.h"
#include "attnviz-gguf.h"
#include "attnviz-model.h"
#include "attnviz-quant.h"
#include "attnviz-test-seq2seq.h"
#include "attnviz-test-tokenizer-gguf.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

/* tools/build-llref-t5.sh builds it beside llref */
#define LLREF_T5 "/tmp/llref/llref-t5"

typedef struct {
  const char *fixture;   /* tests/fixtures/NAME */
  const char *file;      /* the GGUF in it */
  const char *reference; /* its reference folder */
  gboolean gated, tied;
  int n_enc, n_dec;
} Case;

static const Case cases[] = {
  { "t5-gguf-tiny", "model-f32.gguf", "reference", FALSE, FALSE, 3, 2 },
  { "t5-gguf-tiny", "model-q8_0.gguf", "reference-q8_0", FALSE, FALSE, 3, 2 },
  { "flan-t5-gguf-tiny", "model-f32.gguf", "reference", TRUE, TRUE, 2, 2 },
};

static AttnvizModel *
load (const char *fixture, const char *file)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, file, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizModel *m = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  return m;
}

/* The reference file FILE of CASE's reference folder, of WANT floats. */
static float *
reference (const Case *c, const char *file, gsize want)
{
  g_autofree char *rel = g_build_filename ("..", c->reference, file, NULL);
  return attnviz_test_load_reference (c->fixture, rel, want);
}

static void
test_gguf_reads_the_description (gconstpointer data)
{
  const Case *k = data;
  g_autoptr(AttnvizModel) m = load (k->fixture, k->file);
  const AttnvizConfig *c = &m->config;
  g_assert_cmpint (c->family, ==, ATTNVIZ_FAMILY_T5);
  g_assert_true (c->encoder_decoder);
  g_assert_cmpint (c->n_enc_layer, ==, k->n_enc);
  g_assert_cmpint (c->n_layer, ==, k->n_dec);
  g_assert_cmpint (c->pos, ==, ATTNVIZ_POS_RELATIVE);
  g_assert_cmpint (c->rel_buckets, ==, 8);
  g_assert_cmpint (c->rel_max_distance, ==, 128);
  g_assert_cmpint (c->score, ==, ATTNVIZ_SCORE_DOT);
  g_assert_cmpint (c->gated_mlp, ==, k->gated);
  g_assert_cmpint (c->act, ==, k->gated ? ATTNVIZ_ACT_GELU_TANH : ATTNVIZ_ACT_RELU);
  g_assert_cmpint (c->tied_embeddings, ==, k->tied);
  g_assert_cmpfloat (c->head_scale, ==, k->tied ? 1.0f / sqrtf (32.0f) : 0.0f);
  g_assert_cmpint (c->bos_id, ==, 0);   /* decoder_start_token_id */
  g_assert_cmpint (c->eos_id, ==, 1);
  g_assert_nonnull (m->tokenizer);
  g_assert_cmpstr (attnviz_tokenizer_get_kind_name (m->tokenizer), ==, "sentencepiece-unigram");
}

static void
test_gguf_matches_pytorch (gconstpointer data)
{
  const Case *k = data;
  g_autoptr(AttnvizModel) model = load (k->fixture, k->file);
  const AttnvizConfig *c = &model->config;
  int S, T;
  g_autofree gint32 *src = attnviz_test_load_ids (k->fixture, "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids (k->fixture, "target_ids.npy", &T);
  int H = c->n_head, V = c->vocab_size;
  g_autofree float *enc = reference (k, "encoder_attentions.npy", (gsize) c->n_enc_layer * H * S * S);
  g_autofree float *dec = reference (k, "attentions.npy", (gsize) c->n_layer * H * T * T);
  g_autofree float *cross = reference (k, "cross_attentions.npy", (gsize) c->n_layer * H * T * S);
  g_autofree float *logits = reference (k, "logits.npy", (gsize) T * V);
  for (int storage = 0; storage < 2; storage++)
    {
      AttnvizRunOptions o = { .keep_logits = TRUE,
                              .storage = storage ? ATTNVIZ_STORAGE_RECOMPUTE : ATTNVIZ_STORAGE_DENSE };
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src, S, tgt, T, &o, &error);
      g_assert_no_error (error);
      g_test_message ("%s attention", storage ? "recomputed" : "dense");
      g_assert_true (attnviz_test_check_attention (rec->enc_attention, enc, c->n_enc_layer, H, S, S, "encoder"));
      g_assert_true (attnviz_test_check_attention (rec->attention, dec, c->n_layer, H, T, T, "decoder"));
      g_assert_true (attnviz_test_check_attention (rec->cross_attention, cross, c->n_layer, H, T, S, "cross"));
      g_assert_true (attnviz_test_check_tensor (rec->logits, logits, (gsize) T * V, 1e-4f, "logits"));
    }
}

/* The folder and the F32 file are the same weights read two ways: every
 * attention and the logits agree to float rounding. */
static void
test_folder_and_gguf_agree (gconstpointer data)
{
  const char *fixture = data;
  g_autoptr(AttnvizModel) hf = load (fixture, "hf");
  g_autoptr(AttnvizModel) gguf = load (fixture, "model-f32.gguf");
  g_assert_false (hf->gguf);
  g_assert_true (gguf->gguf);
  int S, T;
  g_autofree gint32 *src = attnviz_test_load_ids (fixture, "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids (fixture, "target_ids.npy", &T);
  AttnvizRunOptions o = { .keep_logits = TRUE, .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizRecording) a = attnviz_forward_seq2seq (hf, src, S, tgt, T, &o, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward_seq2seq (gguf, src, S, tgt, T, &o, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &hf->config;
  int H = c->n_head;
  g_assert_cmpint (gguf->config.n_layer, ==, c->n_layer);
  g_assert_cmpint (gguf->config.vocab_size, ==, c->vocab_size);
  g_assert_true (attnviz_test_check_tensor (a->enc_attn, b->enc_attn, (gsize) c->n_enc_layer * H * S * S, 1e-6f,
                                            "encoder"));
  g_assert_true (attnviz_test_check_tensor (a->attn, b->attn, (gsize) c->n_layer * H * T * T, 1e-6f, "decoder"));
  g_assert_true (attnviz_test_check_tensor (a->cross_attn, b->cross_attn, (gsize) c->n_layer * H * T * S, 1e-6f,
                                            "cross"));
  g_assert_true (attnviz_test_check_tensor (a->logits, b->logits, (gsize) T * c->vocab_size, 1e-5f, "logits"));
}

/* ---- other stored types: a file is read as the weights it holds ---- */

static const AttnvizWeightType stored_types[] = {
  /* (Q4_K needs rows of 256: the fixture has none) */
  ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16, ATTNVIZ_WEIGHT_Q4_0, ATTNVIZ_WEIGHT_Q8_0,
};

/* The F32 fixture written twice by attnviz's GGUF writer: every tensor
 * whose rows split into TYPE's blocks (the relative bias tables and norms
 * too, when they do) in TYPE, and an F32 file of those tensors'
 * dequantized values.  Both are the same weights: the three attentions and
 * the logits agree to float rounding, so the bias tables, the stacks'
 * matrices and the head are read right in TYPE. */
static void
test_stored_type_reads_as_its_dequantized_weights (gconstpointer data)
{
  AttnvizWeightType type = *(const AttnvizWeightType *) data;
  g_autofree char *src_path = attnviz_test_fixture_path ("t5-gguf-tiny", "model-f32.gguf", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *src = attnviz_gguf_open (src_path, &error);
  g_assert_no_error (error);
  AttnvizGgufWriter *wq = attnviz_gguf_writer_new (), *wf = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (wq, src, NULL, NULL);
  attnviz_gguf_writer_copy_kv (wf, src, NULL, NULL);
  int block = attnviz_weight_type_block_size (type), in_type = 0;
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (src); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (src, i);
      g_assert_cmpint (t->type, ==, ATTNVIZ_WEIGHT_F32);
      if (t->ne[0] % block != 0)
        {
          attnviz_gguf_writer_add_tensor (wq, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, NULL);
          attnviz_gguf_writer_add_tensor (wf, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, NULL);
          continue;
        }
      gint64 rows = t->n_elements / t->ne[0];
      gsize row_bytes = 0;
      g_assert_true (attnviz_weight_row_bytes (type, t->ne[0], &row_bytes));
      guint8 *q = g_malloc (row_bytes * rows);
      float *back = g_new (float, t->n_elements);
      for (gint64 r = 0; r < rows; r++)
        {
          attnviz_quantize_row (type, (const float *) t->data + r * t->ne[0], q + r * row_bytes, t->ne[0]);
          attnviz_dequantize_row (type, q + r * row_bytes, back + r * t->ne[0], t->ne[0]);
        }
      attnviz_gguf_writer_add_tensor (wq, t->name, type, t->n_dims, t->ne, q, row_bytes * rows, g_free);
      attnviz_gguf_writer_add_tensor (wf, t->name, ATTNVIZ_WEIGHT_F32, t->n_dims, t->ne, back,
                                      sizeof (float) * t->n_elements, g_free);
      in_type++;
    }
  g_autofree char *dir = g_dir_make_tmp ("attnviz-t5-gguf-XXXXXX", NULL);
  g_autofree char *qpath = g_build_filename (dir, "stored.gguf", NULL);
  g_autofree char *fpath = g_build_filename (dir, "dequantized.gguf", NULL);
  g_assert_true (attnviz_gguf_writer_write (wq, qpath, &error));
  g_assert_true (attnviz_gguf_writer_write (wf, fpath, &error));
  attnviz_gguf_writer_free (wq);
  attnviz_gguf_writer_free (wf);
  attnviz_gguf_free (src);
  g_test_message ("%d tensors in %s", in_type, attnviz_weight_type_name (type));
  g_assert_cmpint (in_type, >=, 20);

  g_autoptr(AttnvizModel) mq = attnviz_model_load (qpath, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) mf = attnviz_model_load (fpath, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mq->layers[0].cq.w.type, ==, type);
  int S, T;
  g_autofree gint32 *srcids = attnviz_test_load_ids ("t5-gguf-tiny", "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids ("t5-gguf-tiny", "target_ids.npy", &T);
  AttnvizRunOptions o = { .keep_logits = TRUE, .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(AttnvizRecording) a = attnviz_forward_seq2seq (mq, srcids, S, tgt, T, &o, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward_seq2seq (mf, srcids, S, tgt, T, &o, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &mf->config;
  int H = c->n_head;
  g_assert_true (attnviz_test_check_tensor (a->enc_attn, b->enc_attn, (gsize) c->n_enc_layer * H * S * S, 1e-5f,
                                            "encoder"));
  g_assert_true (attnviz_test_check_tensor (a->attn, b->attn, (gsize) c->n_layer * H * T * T, 1e-5f, "decoder"));
  g_assert_true (attnviz_test_check_tensor (a->cross_attn, b->cross_attn, (gsize) c->n_layer * H * T * S, 1e-5f,
                                            "cross"));
  g_assert_true (attnviz_test_check_tensor (a->logits, b->logits, (gsize) T * c->vocab_size, 1e-5f, "logits"));
  attnviz_test_remove_tree (dir);
}

/* ---- the tokenizer: SentencePiece's own ids, from the folder and the file ---- */

static void
test_tokenizer_matches_sentencepiece (gconstpointer data)
{
  const char *file = data;
  g_autoptr(AttnvizModel) m = load ("t5-gguf-tiny", file);
  g_assert_nonnull (m->tokenizer);
  g_autofree char *path = attnviz_test_fixture_path ("t5-gguf-tiny", "tokenization.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), >=, 10);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member (o, "text");
      JsonArray *want = json_object_get_array_member (o, "ids");
      g_autoptr(GArray) got = attnviz_tokenizer_encode (m->tokenizer, text, -1, TRUE, &error);
      g_assert_no_error (error);
      g_autoptr(GString) shown = g_string_new (NULL);
      gboolean same = got->len == json_array_get_length (want);
      guint32 prev = 0;
      gsize len = strlen (text);
      for (guint t = 0; t < got->len; t++)
        {
          const AttnvizToken *tok = &g_array_index (got, AttnvizToken, t);
          g_string_append_printf (shown, "%s%d", t ? "," : "", tok->id);
          same &= t < json_array_get_length (want) && tok->id == json_array_get_int_element (want, t);
          /* every span lies inside the text, in order, between characters
           * as typed (the map's rewrites are not cut; </s> is empty at the end) */
          g_assert_cmpuint (tok->start, <=, tok->end);
          g_assert_cmpuint (tok->end, <=, len);
          g_assert_cmpuint (tok->start, >=, prev);
          g_assert_true (tok->start == len || (text[tok->start] & 0xc0) != 0x80);
          g_assert_true (tok->end == len || (text[tok->end] & 0xc0) != 0x80);
          prev = tok->end;
        }
      g_test_message ("%s: \"%s\" -> %s", file, text, shown->str);
      g_assert_true (same);
    }
}

/* llama.cpp's own tokenizer on the GGUF (which reads the precompiled
 * charsmap itself) gives the same ids, with and without </s>. */
static void
test_gguf_tokenizer_matches_llama_cpp (void)
{
  g_autofree char *libdir = NULL;
  if (!attnviz_test_have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent: no comparison with llama.cpp's tokenizer");
      return;
    }
  g_autoptr(AttnvizModel) m = load ("t5-gguf-tiny", "model-f32.gguf");
  g_autofree char *gguf = attnviz_test_fixture_path ("t5-gguf-tiny", "model-f32.gguf", NULL);
  g_autofree char *path = attnviz_test_fixture_path ("t5-gguf-tiny", "tokenization.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  g_autoptr(GPtrArray) texts = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      const char *text = json_object_get_string_member (json_array_get_object_element (cases, i), "text");
      if (text[0] != '\0')   /* llref reads a file: an empty one is no text */
        g_ptr_array_add (texts, (gpointer) text);
    }
  g_assert_cmpuint (attnviz_test_compare_with_llama_cpp (m->tokenizer, gguf, (const char *const *) texts->pdata,
                                                         NULL, texts->len), ==, 0);
}

/* A sentinel is one token whose span is the whole "<extra_id_N>" as
 * typed, and full-width letters keep their own bytes as spans (a word's
 * first token starts at the space before it, its "▁"). */
static void
test_sentinels_and_normalized_text_keep_their_spans (gconstpointer data)
{
  const char *file = data;
  g_autoptr(AttnvizModel) m = load ("t5-gguf-tiny", file);
  g_autoptr(GError) error = NULL;
  const char *text = "say <extra_id_0> \xef\xbc\xb4\xef\xbd\x88\xef\xbd\x85";   /* "Ｔｈｅ" */
  g_autoptr(GArray) toks = attnviz_tokenizer_encode (m->tokenizer, text, -1, FALSE, &error);
  g_assert_no_error (error);
  gboolean found = FALSE;
  for (guint t = 0; t < toks->len; t++)
    {
      const AttnvizToken *tok = &g_array_index (toks, AttnvizToken, t);
      if (tok->id == 99)
        {
          found = TRUE;
          g_assert_true (tok->special);
          g_assert_cmpuint (tok->start, ==, 4);
          g_assert_cmpuint (tok->end, ==, 16);
        }
    }
  g_assert_true (found);
  /* after the sentinel, "Ｔｈｅ" (nine bytes, three letters, NFKC "The")
   * is covered from its space to its end, cut only between letters */
  guint32 at = 16;
  for (guint t = 0; t < toks->len; t++)
    {
      const AttnvizToken *tok = &g_array_index (toks, AttnvizToken, t);
      if (tok->start < 16)
        continue;
      g_assert_cmpuint (tok->start, ==, at);
      g_assert_true (tok->end == 16 || (tok->end > 16 && (tok->end - 17) % 3 == 0));
      at = tok->end;
    }
  g_assert_cmpuint (at, ==, strlen (text));
}

/* ---- llama.cpp's own logits, through llama_encode and llama_decode ---- */

static float *
llref_t5_logits (const char *libdir, const char *gguf, const gint32 *src, int S, const gint32 *tgt, int T,
                 gsize *n)
{
  g_autoptr(GString) s = g_string_new (NULL), t = g_string_new (NULL);
  for (int i = 0; i < S; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", src[i]);
  for (int i = 0; i < T; i++)
    g_string_append_printf (t, "%s%d", i ? "," : "", tgt[i]);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int fd = g_file_open_tmp ("attnviz-llref-t5-XXXXXX.f32", &out, &error);
  g_assert_no_error (error);
  close (fd);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "LLREF_LIBDIR", libdir, TRUE);
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawn (launcher, &error, LLREF_T5, gguf, s->str, t->str, out,
                                                             NULL);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    g_error ("llref-t5 %s failed: %s", gguf, err);
  char *data = NULL;
  g_assert_true (g_file_get_contents (out, &data, n, NULL));
  g_unlink (out);
  *n /= sizeof (float);
  return (float *) data;
}

static void
test_llama_cpp_gives_the_same_decoder_logits (void)
{
  g_autofree char *libdir = NULL;
  if (!g_file_test (LLREF_T5, G_FILE_TEST_IS_EXECUTABLE) || !attnviz_test_have_llref (&libdir))
    {
      g_test_skip (LLREF_T5 " is absent (tools/build-llref-t5.sh builds it; it needs npm): "
                   "no comparison with llama.cpp");
      return;
    }
  const char *fixture = "t5-gguf-tiny";
  g_autofree char *gguf = attnviz_test_fixture_path (fixture, "model-f32.gguf", NULL);
  g_autoptr(AttnvizModel) model = load (fixture, "model-f32.gguf");
  int S, T, V = model->config.vocab_size;
  g_autofree gint32 *src = attnviz_test_load_ids (fixture, "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids (fixture, "target_ids.npy", &T);
  AttnvizRunOptions o = { .keep_logits = TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src, S, tgt, T, &o, &error);
  g_assert_no_error (error);
  gsize n = 0;
  g_autofree float *theirs = llref_t5_logits (libdir, gguf, src, S, tgt, T, &n);
  g_assert_cmpuint (n, ==, (gsize) T * V);
  g_assert_true (attnviz_test_check_tensor (rec->logits, theirs, n, 1e-4f, "llama.cpp's decoder logits"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%s", cases[i].fixture, cases[i].file);
      g_autofree char *p1 = g_strdup_printf ("/engine/t5-gguf/%s/reads-the-description", name);
      g_autofree char *p2 = g_strdup_printf ("/engine/t5-gguf/%s/matches-pytorch", name);
      g_test_add_data_func (p1, &cases[i], test_gguf_reads_the_description);
      g_test_add_data_func (p2, &cases[i], test_gguf_matches_pytorch);
    }
  for (guint i = 0; i < G_N_ELEMENTS (stored_types); i++)
    {
      g_autofree char *p = g_strdup_printf ("/engine/t5-gguf/t5-gguf-tiny/%s/reads-as-its-dequantized-weights",
                                            attnviz_weight_type_name (stored_types[i]));
      g_test_add_data_func (p, &stored_types[i], test_stored_type_reads_as_its_dequantized_weights);
    }
  g_test_add_data_func ("/engine/t5-gguf/t5-gguf-tiny/folder-and-gguf-agree", "t5-gguf-tiny",
                        test_folder_and_gguf_agree);
  g_test_add_data_func ("/engine/t5-gguf/flan-t5-gguf-tiny/folder-and-gguf-agree", "flan-t5-gguf-tiny",
                        test_folder_and_gguf_agree);
  g_test_add_data_func ("/engine/t5-gguf/tokenizer/folder-matches-sentencepiece", "hf",
                        test_tokenizer_matches_sentencepiece);
  g_test_add_data_func ("/engine/t5-gguf/tokenizer/gguf-matches-sentencepiece", "model-f32.gguf",
                        test_tokenizer_matches_sentencepiece);
  g_test_add_func ("/engine/t5-gguf/tokenizer/gguf-matches-llama-cpp", test_gguf_tokenizer_matches_llama_cpp);
  g_test_add_data_func ("/engine/t5-gguf/tokenizer/folder-keeps-sentinel-and-nfkc-spans", "hf",
                        test_sentinels_and_normalized_text_keep_their_spans);
  g_test_add_data_func ("/engine/t5-gguf/tokenizer/gguf-keeps-sentinel-and-nfkc-spans", "model-f32.gguf",
                        test_sentinels_and_normalized_text_keep_their_spans);
  g_test_add_func ("/engine/t5-gguf/llama-cpp-gives-the-same-decoder-logits",
                   test_llama_cpp_gives_the_same_decoder_logits);
  return g_test_run ();
}
