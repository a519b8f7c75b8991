/* GGUF models run as llama.cpp's own references say they should.
 *
 * ../shared/data/models/tiny-{llama,qwen2}-gguf hold one random model
 * quantized by llama.cpp into every type attnviz reads, with the attention
 * and logits of an independent numpy float64 forward on llama.cpp's own
 * dequantization of those weights (ref/TYPE/), and llama.cpp's logits.
 * stories260K and aidreams260K come as GGUF and as Hugging Face folders,
 * converted separately: the same numbers by two routes. */
#define G_LOG_DOMAIN "test-gguf-models"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-gguf.h"
#include "attnviz-model.h"
#include "attnviz-test-util.h"

static const char *const quant_types[] = {
  "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
  "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", NULL,
};

typedef struct {
  const char *set;      /* tiny-llama-gguf */
  const char *prefix;   /* "tiny" or "qwen2-tiny": gguf/PREFIX-TYPE.gguf */
  const char *type;
} QuantCase;

static gint32 *
read_ids (const char *set, int *T)
{
  g_autofree char *path = attnviz_test_shared_path ("models", set, "ref", "ids.txt", NULL);
  if (path == NULL)
    return NULL;
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto(GStrv) parts = g_strsplit (g_strstrip (text), ",", -1);
  *T = (int) g_strv_length (parts);
  gint32 *ids = g_new (gint32, *T);
  for (int i = 0; i < *T; i++)
    ids[i] = (gint32) g_ascii_strtoll (parts[i], NULL, 10);
  return ids;
}

static float *
load_ref (const char *set, const char *type, const char *name, gsize *n)
{
  g_autofree char *path = attnviz_test_shared_path ("models", set, "ref", type, name, NULL);
  gint64 shape[8];
  int n_dims;
  return attnviz_test_load_npy (path, shape, &n_dims, n);
}

/* The attention of every layer and head within 1e-4 of the numpy forward
 * on llama.cpp's dequantization, logits within 1e-3 of it and within the
 * bound the README gives of llama.cpp's own (its kernels also quantize the
 * activations): 5e-2 for quantized types, 1e-4 for F32. */
static void
test_quantized_model_matches_the_reference (gconstpointer data)
{
  const QuantCase *qc = data;
  int T = 0;
  g_autofree gint32 *ids = read_ids (qc->set, &T);
  if (ids == NULL)
    return;
  g_autofree char *name = g_strdup_printf ("%s-%s.gguf", qc->prefix, qc->type);
  g_autofree char *path = attnviz_test_shared_path ("models", qc->set, "gguf", name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (model->gguf);

  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, NULL, &error);
  g_assert_no_error (error);

  gsize n_att, n_logits, n_llama;
  g_autofree float *att = load_ref (qc->set, qc->type, "attentions.npy", &n_att);
  g_autofree float *logits = load_ref (qc->set, qc->type, "logits.npy", &n_logits);
  g_autofree float *llama = load_ref (qc->set, qc->type, "logits-llama.cpp.npy", &n_llama);
  const AttnvizConfig *c = &model->config;
  g_assert_cmpuint (n_att, ==, (gsize) c->n_layer * c->n_head * T * T);
  g_assert_cmpuint (n_logits, ==, (gsize) T * c->vocab_size);
  g_assert_cmpuint (n_llama, ==, n_logits);

  g_autofree char *label = g_strdup_printf ("%s attention", name);
  g_assert_true (attnviz_test_check_tensor (rec->attn, att, n_att, 1e-4f, label));
  g_autofree char *label2 = g_strdup_printf ("%s logits vs numpy", name);
  g_assert_true (attnviz_test_check_tensor (rec->logits, logits, n_logits, 1e-3f, label2));
  g_autofree char *label3 = g_strdup_printf ("%s logits vs llama.cpp", name);
  float bound = strcmp (qc->type, "f32") == 0 ? 1e-4f : 5e-2f;
  g_assert_true (attnviz_test_check_tensor (rec->logits, llama, n_logits, bound, label3));
}

/* The same model as GGUF and as a Hugging Face folder, converted by two
 * routes, records the same attention for the same ids. */
static void
test_gguf_and_hf_copies_agree (gconstpointer data)
{
  const char *const *paths = data;   /* { folder under models, gguf relative, hf relative } */
  g_autofree char *gguf = attnviz_test_shared_path ("models", paths[0], paths[1], NULL);
  g_autofree char *hf = gguf ? attnviz_test_shared_path ("models", paths[0], paths[2], NULL) : NULL;
  if (hf == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) a = attnviz_model_load (gguf, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) b = attnviz_model_load (hf, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->config.n_layer, ==, b->config.n_layer);
  g_assert_cmpint (a->config.n_head, ==, b->config.n_head);
  g_assert_cmpint (a->config.vocab_size, ==, b->config.vocab_size);

  /* 100 tokens (or the context, if shorter) spread over the vocabulary. */
  int T = MIN (100, MIN (a->config.n_ctx, b->config.n_ctx));
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (gint32) ((t * 7919 + 1) % a->config.vocab_size);
  g_autoptr(AttnvizRecording) ra = attnviz_forward (a, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) rb = attnviz_forward (b, ids, T, NULL, &error);
  g_assert_no_error (error);
  gsize n = (gsize) a->config.n_layer * a->config.n_head * T * T;
  g_assert_true (attnviz_test_check_tensor (ra->attn, rb->attn, n, 1e-5f, paths[1]));
  g_assert_true (attnviz_test_check_tensor (ra->logits, rb->logits, (gsize) T * a->config.vocab_size,
                                            1e-3f, "logits"));
}

static const char *const stories_pair[] = { "stories260K", "gguf/stories260K-f32.gguf", "hf" };
static const char *const aidreams_pair[] = { "aidreams260K", "gguf/aidreams260K-f32.gguf", "hf" };
static const char *const tiny_llama_pair[] = { "tiny-llama-gguf", "gguf/tiny-f32.gguf", "hf" };
static const char *const tiny_qwen2_pair[] = { "tiny-qwen2-gguf", "gguf/qwen2-tiny-f32.gguf", "hf" };

/* Matrices keep their stored type: a BF16 safetensors model is not
 * converted to float32 (only its vectors are), and a Q4_K_M GGUF file keeps
 * Q4_K and Q6_K blocks. */
/* A GGUF file renamed .safetensors (or anything else) is still read as
 * GGUF: the magic decides, not the name. */
static void
test_a_gguf_file_is_known_by_its_magic_not_its_name (void)
{
  g_autofree char *src = attnviz_test_shared_path ("models", "tiny-llama-gguf", "gguf", "tiny-q8_0.gguf", NULL);
  if (src == NULL)
    return;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-magic-XXXXXX", NULL);
  g_autofree char *renamed = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (renamed, data, (gssize) len, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) a = attnviz_model_load (src, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) b = attnviz_model_load (renamed, &error);
  g_assert_no_error (error);
  g_autofree char *sa = attnviz_model_describe_storage (a);
  g_autofree char *sb = attnviz_model_describe_storage (b);
  g_assert_cmpstr (sb, ==, sa);
  g_assert_true (g_str_has_prefix (sb, "GGUF · Q8_0"));
  g_assert_cmpint (b->config.n_layer, ==, a->config.n_layer);
  g_unlink (renamed);
  g_rmdir (dir);
}

static void
test_weights_stay_in_their_stored_type (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("llama-gqa-tiny-bf16", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->tok_emb.type, ==, ATTNVIZ_WEIGHT_BF16);
  g_assert_cmpint (m->layers[0].q.w.type, ==, ATTNVIZ_WEIGHT_BF16);
  gsize owned = 0;
  for (guint i = 0; i < m->owned->len; i++)
    owned++;
  /* Norm weights only: 2 per layer and the final one. */
  g_assert_cmpuint (owned, <=, (gsize) 2 * m->config.n_layer + 1);

  g_autofree char *q4 = attnviz_test_shared_path ("models", "tiny-llama-gguf", "gguf", "tiny-q4_k_m.gguf", NULL);
  if (q4 == NULL)
    return;
  g_autoptr(AttnvizModel) g = attnviz_model_load (q4, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g->type_name, ==, "Q4_K_M");
  gboolean q4k = FALSE, q6k = FALSE;
  for (int l = 0; l < g->config.n_layer; l++)
    {
      const AttnvizLinear *lins[] = { &g->layers[l].q, &g->layers[l].k, &g->layers[l].v, &g->layers[l].o,
                                      &g->layers[l].up, &g->layers[l].gate, &g->layers[l].down };
      for (guint i = 0; i < G_N_ELEMENTS (lins); i++)
        {
          q4k |= lins[i]->w.type == ATTNVIZ_WEIGHT_Q4_K;
          q6k |= lins[i]->w.type == ATTNVIZ_WEIGHT_Q6_K;
        }
    }
  g_assert_true (q4k && q6k);
}

/* ---- hostile model files: one line naming the file and the problem ---- */

typedef struct {
  const char *name;
  const char *drop_key;       /* a key left out, or NULL */
  const char *set_key;        /* a key given another value, or NULL */
  AttnvizGgufType set_type;
  gint64 set_int;
  const char *set_string;
  const char *retype_tensor;  /* a tensor given another type, or NULL */
  guint32 new_type;
  const char *file;           /* the tiny-llama file to start from (NULL: tiny-f32.gguf) */
  const char *poke_tensor;    /* a tensor with POKE_SIZE bytes at POKE_AT set to POKE_BITS */
  gsize poke_at;
  guint32 poke_bits;
  int poke_size;
  const char *needle;         /* what the message must say */
  gboolean t5;                /* start from tests/fixtures/t5-gguf-tiny/model-f32.gguf instead */
  const char *drop_tensor;    /* a tensor left out, or NULL */
  const char *reshape_tensor; /* a tensor given the shape RESHAPE (its first bytes), or NULL */
  gint64 reshape[2];
  const char *copy_tensor;    /* a tensor also written as COPY_AS, or NULL */
  const char *copy_as;
} BadModel;

static const BadModel bad_models[] = {
  { "missing-block-count", .drop_key = "llama.block_count", .needle = "missing key \"llama.block_count\"" },
  { "missing-architecture", .drop_key = "general.architecture", .needle = "general.architecture" },
  { "unknown-architecture", .set_key = "general.architecture", .set_type = ATTNVIZ_GGUF_STRING,
    .set_string = "phi3\x1b[31m", .needle = "architecture \"phi3\\033[31m\" is not supported" },
  { "kv-heads-not-dividing", .set_key = "llama.attention.head_count_kv", .set_type = ATTNVIZ_GGUF_UINT32,
    .set_int = 3, .needle = "head_count_kv = 3" },
  { "kv-heads-against-the-tensors", .set_key = "llama.attention.head_count_kv", .set_type = ATTNVIZ_GGUF_UINT32,
    .set_int = 4, .needle = "tensor \"blk.0.attn_k.weight\" has shape [256, 128], expected [256, 256]" },
  { "bos-outside-the-vocabulary", .set_key = "tokenizer.ggml.bos_token_id", .set_type = ATTNVIZ_GGUF_UINT32,
    .set_int = 99999, .needle = "tokenizer.ggml.bos_token_id = 99999 is outside the vocabulary" },
  /* The tiny model has 2 layers: a block count of 1 would load half of it. */
  { "block-count-below-the-layers", .set_key = "llama.block_count", .set_type = ATTNVIZ_GGUF_UINT32,
    .set_int = 1, .needle = "tensor \"blk.1.attn_norm.weight\" belongs to layer 1, but llama.block_count = 1 (the file holds more layers than it says)" },
  { "absurd-layer-count", .set_key = "llama.block_count", .set_type = ATTNVIZ_GGUF_UINT64,
    .set_int = G_MAXINT64, .needle = "llama.block_count" },
  { "context-of-zero", .set_key = "llama.context_length", .set_type = ATTNVIZ_GGUF_UINT32,
    .set_int = 0, .needle = "llama.context_length" },
  { "norm-epsilon-of-two", .set_key = "llama.attention.layer_norm_rms_epsilon", .set_type = ATTNVIZ_GGUF_FLOAT32,
    .set_int = 2, .needle = "llama.attention.layer_norm_rms_epsilon = 2 is outside [0, 1)" },
  { "string-where-a-number-belongs", .set_key = "llama.embedding_length", .set_type = ATTNVIZ_GGUF_STRING,
    .set_string = "256", .needle = "llama.embedding_length" },
  { "yarn-rope-scaling", .set_key = "llama.rope.scaling.type", .set_type = ATTNVIZ_GGUF_STRING,
    .set_string = "yarn", .needle = "llama.rope.scaling.type = \"yarn\" is not supported" },
  { "an-iq2-tensor", .retype_tensor = "blk.0.attn_q.weight", .new_type = 16,
    .needle = "tensor \"blk.0.attn_q.weight\" is IQ2_XXS, a type attnviz cannot read" },
  { "an-mxfp4-tensor", .retype_tensor = "blk.1.ffn_up.weight", .new_type = 39,
    .needle = "tensor \"blk.1.ffn_up.weight\" is MXFP4" },
  /* Matrices stay in their stored type, so they are checked on their bits:
   * a NaN in a query row once went through as a head of zeros. */
  { "a-nan-in-an-f32-matrix", .poke_tensor = "blk.1.attn_q.weight", .poke_at = 4 * 3,
    .poke_bits = 0x7fc00000, .poke_size = 4,
    .needle = "tensor \"blk.1.attn_q.weight\" holds a non-finite value (nan at element 3)" },
  { "an-inf-in-an-f16-matrix", .file = "tiny-f16.gguf", .poke_tensor = "blk.0.ffn_up.weight",
    .poke_at = 2 * 5, .poke_bits = 0x7c00, .poke_size = 2,
    .needle = "tensor \"blk.0.ffn_up.weight\" holds a non-finite value (inf at element 5)" },
  { "a-nan-in-a-bf16-matrix", .file = "tiny-bf16.gguf", .poke_tensor = "blk.1.attn_v.weight",
    .poke_at = 2 * 7, .poke_bits = 0x7fc0, .poke_size = 2,
    .needle = "tensor \"blk.1.attn_v.weight\" holds a non-finite value (nan at element 7)" },
  { "a-nan-scale-in-a-q8_0-block", .file = "tiny-q8_0.gguf", .poke_tensor = "blk.0.attn_k.weight",
    .poke_at = 34 * 3, .poke_bits = 0x7e00, .poke_size = 2,
    .needle = "tensor \"blk.0.attn_k.weight\" holds a non-finite value (nan at element 96)" },
  { "an-inf-min-in-a-q4_k-block", .file = "tiny-q4_k_m.gguf", .poke_tensor = "blk.0.attn_q.weight",
    .poke_at = 144 + 2, .poke_bits = 0xfc00, .poke_size = 2,
    .needle = "tensor \"blk.0.attn_q.weight\" holds a non-finite value (-inf at element 256)" },
  { "a-nan-scale-in-a-q6_k-embedding", .file = "tiny-q4_k_m.gguf", .poke_tensor = "token_embd.weight",
    .poke_at = 210 + 208, .poke_bits = 0x7e00, .poke_size = 2,
    .needle = "tensor \"token_embd.weight\" holds a non-finite value (nan at element 256)" },
  /* T5 (llama.cpp's t5): the relative position bias and what sizes it */
  { "t5-missing-the-encoder-bias", .t5 = TRUE, .drop_tensor = "enc.blk.0.attn_rel_b.weight",
    .needle = "missing tensor \"enc.blk.0.attn_rel_b.weight\" (the encoder's relative position bias" },
  { "t5-missing-the-decoder-bias", .t5 = TRUE, .drop_tensor = "dec.blk.0.attn_rel_b.weight",
    .needle = "missing tensor \"dec.blk.0.attn_rel_b.weight\" (the decoder's relative position bias" },
  { "t5-bias-of-the-wrong-shape", .t5 = TRUE, .reshape_tensor = "dec.blk.0.attn_rel_b.weight", .reshape = { 4, 7 },
    .needle = "tensor \"dec.blk.0.attn_rel_b.weight\" has shape [4, 7], expected [4, 8] from the metadata" },
  { "t5-bias-against-the-bucket-count", .t5 = TRUE, .set_key = "t5.attention.relative_buckets_count",
    .set_type = ATTNVIZ_GGUF_UINT32, .set_int = 16,
    .needle = "tensor \"enc.blk.0.attn_rel_b.weight\" has shape [4, 8], expected [4, 16] from the metadata" },
  { "t5-missing-the-bucket-count", .t5 = TRUE, .drop_key = "t5.attention.relative_buckets_count",
    .needle = "missing key \"t5.attention.relative_buckets_count\"" },
  { "t5-buckets-past-the-maximum-distance", .t5 = TRUE, .set_key = "t5.attention.relative_buckets_count",
    .set_type = ATTNVIZ_GGUF_UINT32, .set_int = 256,
    .needle = "t5.attention.relative_buckets_count = 256: half of it must be below the maximum distance 128" },
  { "t5-a-bias-per-layer", .t5 = TRUE, .copy_tensor = "enc.blk.0.attn_rel_b.weight",
    .copy_as = "enc.blk.1.attn_rel_b.weight",
    .needle = "tensor \"enc.blk.1.attn_rel_b.weight\": a relative position bias in a later layer (UMT5's per-layer bias) is not supported" },
  { "t5-decoder-layers-past-the-count", .t5 = TRUE, .set_key = "t5.decoder_block_count",
    .set_type = ATTNVIZ_GGUF_UINT32, .set_int = 1,
    .needle = "tensor \"dec.blk.1.attn_q.weight\" belongs to layer 1, but t5.decoder_block_count = 1" },
  { "t5-a-gate-in-one-layer-only", .t5 = TRUE, .copy_tensor = "dec.blk.1.ffn_up.weight",
    .copy_as = "dec.blk.1.ffn_gate.weight",
    .needle = "tensor \"dec.blk.1.ffn_gate.weight\": a gated MLP in a model whose enc.blk.0 has none" },
  { "t5-start-token-outside-the-vocabulary", .t5 = TRUE, .set_key = "t5.decoder_start_token_id",
    .set_type = ATTNVIZ_GGUF_UINT32, .set_int = 100,
    .needle = "t5.decoder_start_token_id = 100 is outside the vocabulary (0 to 99)" },
};

static gboolean
skip_key (const char *key, gpointer data)
{
  const BadModel *bad = data;
  return g_strcmp0 (key, bad->drop_key) == 0;
}

static void
test_a_hostile_model_file_is_refused_in_one_line (gconstpointer data)
{
  const BadModel *bad = data;
  g_autofree char *src_path = bad->t5 ? attnviz_test_fixture_path ("t5-gguf-tiny", "model-f32.gguf", NULL)
                                      : attnviz_test_shared_path ("models", "tiny-llama-gguf", "gguf",
                                                                  bad->file ? bad->file : "tiny-f32.gguf", NULL);
  if (src_path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  AttnvizGguf *src = attnviz_gguf_open (src_path, &error);
  g_assert_no_error (error);

  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, src, skip_key, (gpointer) bad);
  if (bad->set_key && bad->set_type == ATTNVIZ_GGUF_STRING)
    attnviz_gguf_writer_add_string (w, bad->set_key, bad->set_string);
  else if (bad->set_key && bad->set_type == ATTNVIZ_GGUF_FLOAT32)
    attnviz_gguf_writer_add_float32 (w, bad->set_key, (float) bad->set_int);
  else if (bad->set_key && bad->set_type == ATTNVIZ_GGUF_UINT32)
    attnviz_gguf_writer_add_uint32 (w, bad->set_key, (guint32) bad->set_int);
  else if (bad->set_key)
    attnviz_gguf_writer_add_uint64 (w, bad->set_key, (guint64) bad->set_int);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (src); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (src, i);
      if (g_strcmp0 (t->name, bad->drop_tensor) == 0)
        continue;
      if (g_strcmp0 (t->name, bad->copy_tensor) == 0)
        attnviz_gguf_writer_add_tensor (w, bad->copy_as, t->type, t->n_dims, t->ne, t->data, t->n_bytes, NULL);
      if (g_strcmp0 (t->name, bad->reshape_tensor) == 0)
        {
          gsize n = (gsize) bad->reshape[0] * bad->reshape[1] * sizeof (float);
          g_assert_cmpuint (n, <=, t->n_bytes);
          attnviz_gguf_writer_add_tensor (w, t->name, t->type, 2, bad->reshape, t->data, n, NULL);
        }
      else if (g_strcmp0 (t->name, bad->retype_tensor) == 0)
        {
          /* The right number of bytes for the new type, so only the type is wrong. */
          int block;
          gsize block_bytes;
          g_assert_true (attnviz_weight_type_known (bad->new_type, NULL, &block, &block_bytes));
          gsize n = (gsize) (t->n_elements / block) * block_bytes;
          attnviz_gguf_writer_add_tensor (w, t->name, bad->new_type, t->n_dims, t->ne, g_malloc0 (n), n, g_free);
        }
      else if (g_strcmp0 (t->name, bad->poke_tensor) == 0)
        {
          guint8 *copy = g_memdup2 (t->data, t->n_bytes);
          g_assert_cmpuint (bad->poke_at + bad->poke_size, <=, t->n_bytes);
          for (int k = 0; k < bad->poke_size; k++)
            copy[bad->poke_at + k] = (guint8) (bad->poke_bits >> (8 * k));
          attnviz_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, copy, t->n_bytes, g_free);
        }
      else
        attnviz_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, NULL);
    }
  g_autofree char *dir = g_dir_make_tmp ("attnviz-gguf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.gguf", NULL);
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
  attnviz_gguf_writer_free (w);
  attnviz_gguf_free (src);

  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  g_assert_null (model);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_null (strchr (error->message, '\x1b'));
  if (strstr (error->message, bad->needle) == NULL)
    g_error ("expected \"%s\" in \"%s\"", bad->needle, error->message);
  attnviz_test_remove_tree (dir);
}

/* Linear RoPE scaling divides positions by its factor: a model scaled by 2
 * at positions 0, 2, 4 ... attends as the unscaled one at 0, 1, 2 ... */
static void
test_linear_rope_scaling_divides_the_positions (void)
{
  g_autofree char *src_path = attnviz_test_shared_path ("models", "tiny-llama-gguf", "gguf", "tiny-f32.gguf", NULL);
  if (src_path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  AttnvizGguf *src = attnviz_gguf_open (src_path, &error);
  g_assert_no_error (error);
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, src, NULL, NULL);
  attnviz_gguf_writer_add_string (w, "llama.rope.scaling.type", "linear");
  attnviz_gguf_writer_add_float32 (w, "llama.rope.scaling.factor", 2.0f);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (src); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (src, i);
      attnviz_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, NULL);
    }
  g_autofree char *dir = g_dir_make_tmp ("attnviz-gguf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "scaled.gguf", NULL);
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  attnviz_gguf_writer_free (w);
  attnviz_gguf_free (src);

  g_autoptr(AttnvizModel) plain = attnviz_model_load (src_path, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) scaled = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (scaled->config.rope_scale, ==, 2.0f);
  int T = 40;
  gint32 ids[40], doubled[40];
  for (int t = 0; t < T; t++)
    {
      ids[t] = (t * 13 + 5) % plain->config.vocab_size;
      doubled[t] = 2 * t;
    }
  AttnvizRunOptions o = { .positions = doubled };
  g_autoptr(AttnvizRecording) a = attnviz_forward (plain, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward (scaled, ids, T, &o, &error);
  g_assert_no_error (error);
  gsize n = (gsize) plain->config.n_layer * plain->config.n_head * T * T;
  g_assert_true (attnviz_test_check_tensor (a->attn, b->attn, n, 1e-5f, "scaled at 2t vs plain at t"));
  attnviz_test_remove_tree (dir);
}

/* ---- RoPE's shape, on a small model written here (no ../shared needed) ---- */

typedef struct {
  const char *name;
  int head_dim;
  int rope_dims;
  float freq_factor;  /* every element of a rope_freqs.weight, when not 0 */
  gboolean zero_factor;
  const char *needle; /* NULL: the model loads and runs */
} RopeShape;

static const RopeShape rope_shapes[] = {
  /* RoPE turns pairs inside a head: a head of 1 once turned half of the
   * next head's first value. */
  { "a-head-of-1-is-refused", 1, 2, 0, FALSE, "the head dimension 1 is below 2, too small for RoPE" },
  { "a-head-of-2-runs", 2, 2, 0, FALSE, NULL },
  { "partial-rotation-runs", 6, 4, 0, FALSE, NULL },
  { "rope-freqs-of-1-run", 8, 8, 1.0f, FALSE, NULL },
  /* A factor divides a frequency: 0 made every angle NaN, and softmax
   * recorded rows of zeros. */
  { "a-rope-freq-factor-of-0-is-refused", 8, 8, 0, TRUE,
    "tensor \"rope_freqs.weight\" holds 0 at element 0; frequency factors must be above 0" },
};

static void
add_f32 (AttnvizGgufWriter *w, const char *name, gint64 ne0, gint64 ne1, float value)
{
  gint64 ne[2] = { ne0, ne1 };
  gsize n = (gsize) (ne0 * MAX (ne1, 1));
  float *v = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    v[i] = value != 0 ? value : (float) ((int) (i * 37 % 19) - 9) / 50.0f;
  attnviz_gguf_writer_add_tensor (w, name, ATTNVIZ_WEIGHT_F32, ne1 > 0 ? 2 : 1, ne, v,
                                  n * sizeof (float), g_free);
}

static void
test_rope_shape (gconstpointer data)
{
  const RopeShape *rs = data;
  const int d = 32, n_head = 2, ff = 64, vocab = 16, hd = rs->head_dim;
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  g_autoptr(GError) error = NULL;

  attnviz_gguf_writer_add_string (w, "general.architecture", "llama");
  attnviz_gguf_writer_add_uint32 (w, "llama.context_length", 16);
  attnviz_gguf_writer_add_uint32 (w, "llama.embedding_length", d);
  attnviz_gguf_writer_add_uint32 (w, "llama.block_count", 1);
  attnviz_gguf_writer_add_uint32 (w, "llama.feed_forward_length", ff);
  attnviz_gguf_writer_add_uint32 (w, "llama.attention.head_count", n_head);
  attnviz_gguf_writer_add_uint32 (w, "llama.attention.head_count_kv", 1);
  attnviz_gguf_writer_add_uint32 (w, "llama.attention.key_length", hd);
  attnviz_gguf_writer_add_uint32 (w, "llama.rope.dimension_count", rs->rope_dims);
  add_f32 (w, "token_embd.weight", d, vocab, 0);
  add_f32 (w, "output_norm.weight", d, 0, 1);
  add_f32 (w, "blk.0.attn_norm.weight", d, 0, 1);
  add_f32 (w, "blk.0.ffn_norm.weight", d, 0, 1);
  add_f32 (w, "blk.0.attn_q.weight", d, n_head * hd, 0);
  add_f32 (w, "blk.0.attn_k.weight", d, hd, 0);
  add_f32 (w, "blk.0.attn_v.weight", d, hd, 0);
  add_f32 (w, "blk.0.attn_output.weight", n_head * hd, d, 0);
  add_f32 (w, "blk.0.ffn_gate.weight", d, ff, 0);
  add_f32 (w, "blk.0.ffn_up.weight", d, ff, 0);
  add_f32 (w, "blk.0.ffn_down.weight", ff, d, 0);
  if (rs->freq_factor != 0 || rs->zero_factor)
    {
      gint64 ne[1] = { rs->rope_dims / 2 };
      float *f = g_new0 (float, ne[0]);
      for (gint64 i = 0; i < ne[0]; i++)
        f[i] = rs->freq_factor;
      attnviz_gguf_writer_add_tensor (w, "rope_freqs.weight", ATTNVIZ_WEIGHT_F32, 1, ne, f,
                                      ne[0] * sizeof (float), g_free);
    }
  g_autofree char *dir = g_dir_make_tmp ("attnviz-gguf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "rope.gguf", NULL);
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  attnviz_gguf_writer_free (w);

  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  if (rs->needle != NULL)
    {
      g_assert_null (model);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, path));
      if (strstr (error->message, rs->needle) == NULL)
        g_error ("expected \"%s\" in \"%s\"", rs->needle, error->message);
    }
  else
    {
      g_assert_no_error (error);
      const gint32 ids[] = { 1, 5, 9, 15 };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, G_N_ELEMENTS (ids), NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (rec);
    }
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (const char *const *t = quant_types; *t; t++)
    {
      static const struct { const char *set, *prefix, *name; } sets[] = {
        { "tiny-llama-gguf", "tiny", "tiny-llama" },
        { "tiny-qwen2-gguf", "qwen2-tiny", "tiny-qwen2" },
      };
      for (guint s = 0; s < G_N_ELEMENTS (sets); s++)
        {
          QuantCase *qc = g_new (QuantCase, 1);
          *qc = (QuantCase) { sets[s].set, sets[s].prefix, *t };
          g_autofree char *test_path = g_strdup_printf ("/engine/gguf/%s/%s/matches-the-reference-forward",
                                                        sets[s].name, *t);
          g_test_add_data_func_full (test_path, qc, test_quantized_model_matches_the_reference, g_free);
        }
    }
  g_test_add_data_func ("/engine/gguf/stories260K/attention-equals-the-hf-copy", stories_pair,
                        test_gguf_and_hf_copies_agree);
  g_test_add_data_func ("/engine/gguf/aidreams260K/attention-equals-the-hf-copy", aidreams_pair,
                        test_gguf_and_hf_copies_agree);
  g_test_add_data_func ("/engine/gguf/tiny-llama/attention-equals-the-hf-copy", tiny_llama_pair,
                        test_gguf_and_hf_copies_agree);
  g_test_add_data_func ("/engine/gguf/tiny-qwen2/attention-equals-the-hf-copy", tiny_qwen2_pair,
                        test_gguf_and_hf_copies_agree);
  g_test_add_func ("/engine/model/weights-stay-in-their-stored-type", test_weights_stay_in_their_stored_type);
  g_test_add_func ("/engine/gguf/a-file-is-known-by-its-magic-not-its-name",
                   test_a_gguf_file_is_known_by_its_magic_not_its_name);
  g_test_add_func ("/engine/gguf/linear-rope-scaling-divides-the-positions",
                   test_linear_rope_scaling_divides_the_positions);
  for (guint i = 0; i < G_N_ELEMENTS (rope_shapes); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/engine/gguf/rope/%s", rope_shapes[i].name);
      g_test_add_data_func (test_path, &rope_shapes[i], test_rope_shape);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_models); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/engine/gguf/refuses-in-one-line/%s", bad_models[i].name);
      g_test_add_data_func (test_path, &bad_models[i], test_a_hostile_model_file_is_refused_in_one_line);
    }
  return g_test_run ();
}
