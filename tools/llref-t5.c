/* llref-t5: llama.cpp's logits for an encoder-decoder GGUF (llama.cpp's `t5`),
 * through its own encoder-decoder path, for tests only: never part of attnviz.
 * Built by tools/build-llref-t5.sh against the prebuilt libllama of the npm
 * package node-llama-cpp, exactly as ../shared/tools/llref/build.sh builds llref
 * (whose `logits` command runs llama_decode alone, which a T5 cannot).
 *
 *   llref-t5 MODEL.gguf SOURCE_IDS TARGET_IDS OUT.f32
 *
 * SOURCE_IDS and TARGET_IDS are comma separated; the target's first id is
 * the decoder start token, as attnviz's --target-ids.  llama_encode runs the
 * source, then one llama_decode the whole target with every position's
 * logits; OUT gets them raw, (T, V) float32.  As llref: float32 K/V, no
 * flash attention, the CPU backends loaded from $LLREF_LIBDIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"
#include "ggml-backend.h"

static void quiet (enum ggml_log_level l, const char *t, void *u) { (void) l; (void) t; (void) u; }

/* "1,2,3" into a new array; *N its length.  Exits on anything else. */
static llama_token *
parse_ids (const char *s, int *n)
{
  *n = 1;
  for (const char *p = s; *p; p++)
    *n += *p == ',';
  llama_token *ids = malloc (*n * sizeof *ids);
  char *end = (char *) s;
  for (int i = 0; i < *n; i++)
    {
      const char *start = end;
      ids[i] = (llama_token) strtol (start, &end, 10);
      if (end == start || (*end != ',' && *end != '\0'))
        {
          fprintf (stderr, "llref-t5: bad id list \"%s\"\n", s);
          exit (2);
        }
      if (*end == ',')
        end++;
    }
  return ids;
}

static struct llama_batch
batch_of (const llama_token *ids, int n, int logits)
{
  struct llama_batch b = llama_batch_init (n, 0, 1);
  for (int i = 0; i < n; i++)
    {
      b.token[i] = ids[i];
      b.pos[i] = i;
      b.n_seq_id[i] = 1;
      b.seq_id[i][0] = 0;
      b.logits[i] = logits;
    }
  b.n_tokens = n;
  return b;
}

int
main (int argc, char **argv)
{
  if (argc != 5)
    {
      fprintf (stderr, "usage: llref-t5 MODEL.gguf SOURCE_IDS TARGET_IDS OUT.f32\n");
      return 2;
    }
  if (!getenv ("LLREF_VERBOSE"))
    llama_log_set (quiet, NULL);
  const char *libdir = getenv ("LLREF_LIBDIR");
  if (!libdir)
    {
      fprintf (stderr, "llref-t5: set LLREF_LIBDIR (see ../shared/tools/llref/build.sh)\n");
      return 2;
    }
  llama_backend_init ();
  ggml_backend_load_all_from_path (libdir);

  int S, T;
  llama_token *src = parse_ids (argv[2], &S);
  llama_token *tgt = parse_ids (argv[3], &T);
  struct llama_model_params mp = llama_model_default_params ();
  mp.n_gpu_layers = 0;
  struct llama_model *m = llama_model_load_from_file (argv[1], mp);
  if (!m)
    {
      fprintf (stderr, "llref-t5: cannot load %s\n", argv[1]);
      return 1;
    }
  if (!llama_model_has_encoder (m))
    {
      fprintf (stderr, "llref-t5: %s has no encoder\n", argv[1]);
      return 1;
    }
  int n = S > T ? S : T;
  n = n < 64 ? 64 : n;
  struct llama_context_params cp = llama_context_default_params ();
  cp.n_ctx = n;
  cp.n_batch = n;
  cp.n_ubatch = n;
  cp.n_threads = cp.n_threads_batch = 2;
  cp.type_k = GGML_TYPE_F32;
  cp.type_v = GGML_TYPE_F32;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  struct llama_context *c = llama_init_from_model (m, cp);
  if (!c)
    {
      fprintf (stderr, "llref-t5: cannot make a context\n");
      return 1;
    }

  struct llama_batch enc = batch_of (src, S, 0);
  if (llama_encode (c, enc))
    {
      fprintf (stderr, "llref-t5: encode failed\n");
      return 1;
    }
  struct llama_batch dec = batch_of (tgt, T, 1);
  if (llama_decode (c, dec))
    {
      fprintf (stderr, "llref-t5: decode failed\n");
      return 1;
    }
  int V = llama_vocab_n_tokens (llama_model_get_vocab (m));
  FILE *f = fopen (argv[4], "wb");
  if (!f)
    {
      fprintf (stderr, "llref-t5: cannot write %s\n", argv[4]);
      return 1;
    }
  for (int i = 0; i < T; i++)
    fwrite (llama_get_logits_ith (c, i), sizeof (float), V, f);
  fclose (f);
  printf ("S=%d T=%d V=%d decoder start %d\n", S, T, V, llama_model_decoder_start_token (m));
  llama_batch_free (enc);
  llama_batch_free (dec);
  llama_free (c);
  llama_model_free (m);
  return 0;
}
