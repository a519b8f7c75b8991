#define G_LOG_DOMAIN "attnviz-fuzz-special-ids"
#include "config.h"

/* libFuzzer harness for the special-token ids of tokenizer_config.json and
 * config.json (issue 8, class 1: an added token with id -1 wrote
 * flags[-1]).
 *
 * The input: byte 0 picks one of three valid tokenizer.json files
 * (WordPiece, SentencePiece BPE with sentencepiece_scores.json, character),
 * the rest is split at the first "\n===\n" into tokenizer_config.json and
 * config.json (a missing part: no such file).  Whatever the bytes, the
 * tokenizer folder loads or fails with a GError, and config.json parses
 * or fails with one; what loads has every special id inside its
 * vocabulary, and encodes and decodes a text without reading outside
 * it (AddressSanitizer). */

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "attnviz-config.h"
#include "attnviz-tokenizer.h"
#include "fuzz-small-stack.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const tokenizers[] = {
  "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, "
  "\"[SEP]\": 2, \"[PAD]\": 3, \"a\": 4, \"b\": 5, \"##b\": 6}}, \"added_tokens\": [{\"id\": 1, \"content\": "
  "\"[CLS]\", \"special\": true}]}",
  "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, "
  "\"\xe2\x96\x81\": 3, \"a\": 4, \"\xe2\x96\x81" "a\": 5, \"<0x41>\": 6}, \"merges\": [\"\xe2\x96\x81 a\"]}, "
  "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\xe2\x96\x81\"}}",
  "{\"model\": {\"type\": \"attnviz-chars\", \"vocab\": {\"<pad>\": 0, \"<bos>\": 1, \"<eos>\": 2, \"<unk>\": 3, "
  "\"a\": 4, \"b\": 5}, \"pad_token\": \"<pad>\", \"bos_token\": \"<bos>\", \"eos_token\": \"<eos>\", "
  "\"unk_token\": \"<unk>\"}}",
};

#define SCORES "{\"pieces\": [\"a\", \"\xe2\x96\x81" "a\"], \"scores\": [-1.0, -0.5]}"

static char *dir;

static void
put (const char *name, const char *data, gssize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_unlink (path);
  if (data != NULL)
    g_assert (g_file_set_contents (path, data, len, NULL));
}

static void
check_id (int id, int n_vocab)
{
  g_assert (id >= -1 && id < n_vocab);
}

typedef struct {
  const uint8_t *data;
  size_t size;
} Input;

static void run (gpointer p);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  Input in = { data, size };
  fuzz_depth_feedback (data + 1, size - 1);
  fuzz_on_small_stack (run, &in);
  return 0;
}

static void
run (gpointer p)
{
  const uint8_t *data = ((const Input *) p)->data;
  size_t size = ((const Input *) p)->size;
  if (dir == NULL)
    dir = g_dir_make_tmp ("attnviz-fuzz-ids-XXXXXX", NULL);

  guint which = data[0] % G_N_ELEMENTS (tokenizers);
  const char *rest = (const char *) data + 1;
  gsize rest_len = size - 1;
  const char *sep = g_strstr_len (rest, (gssize) rest_len, "\n===\n");
  gsize tc_len = sep ? (gsize) (sep - rest) : rest_len;
  const char *config = sep ? sep + 5 : NULL;
  gsize config_len = sep ? rest_len - tc_len - 5 : 0;

  put ("tokenizer.json", tokenizers[which], -1);
  put ("sentencepiece_scores.json", which == 1 ? SCORES : NULL, -1);
  put ("tokenizer_config.json", rest, (gssize) tc_len);

  GError *error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  if (tok == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_clear_error (&error);
    }
  else
    {
      int n = attnviz_tokenizer_get_vocab_size (tok);
      check_id (attnviz_tokenizer_get_bos_id (tok), n);
      check_id (attnviz_tokenizer_get_eos_id (tok), n);
      check_id (attnviz_tokenizer_get_pad_id (tok), n);
      check_id (attnviz_tokenizer_get_unk_id (tok), n);
      GArray *tokens = attnviz_tokenizer_encode (tok, "a ab b aa", -1, TRUE, &error);
      if (tokens != NULL)
        {
          g_autofree gint32 *ids = g_new (gint32, tokens->len + 1);
          for (guint i = 0; i < tokens->len; i++)
            {
              ids[i] = g_array_index (tokens, AttnvizToken, i).id;
              g_assert (ids[i] >= 0 && ids[i] < n);
            }
          g_free (attnviz_tokenizer_decode (tok, ids, tokens->len));
          g_array_unref (tokens);
        }
      g_clear_error (&error);
      attnviz_tokenizer_free (tok);
    }

  if (config != NULL)
    {
      AttnvizConfig c = { 0 };
      if (attnviz_config_parse (&c, config, config_len, "config.json", &error))
        {
          check_id (c.bos_id, c.vocab_size);
          check_id (c.eos_id, c.vocab_size);
          check_id (c.pad_id, c.vocab_size);
        }
      else
        {
          g_assert (error != NULL && error->message != NULL);
          g_clear_error (&error);
        }
      attnviz_config_clear (&c);
    }
}
