/* attnviz-generate.h: greedy (or sampled) decoding with the engine */
#pragma once

#include "attnviz-forward.h"

G_BEGIN_DECLS

/* Called with each step's logits (vocab_size) and the token picked from
 * them, before it is appended (a stop token is picked, then not
 * appended).  STEP counts from 0. */
typedef void (*AttnvizGenerateStepFunc) (int step, const float *logits, int vocab_size, gint32 picked,
                                         gpointer user_data);

typedef struct {
  int max_new;            /* tokens to add at most */
  double temperature;     /* 0: greedy; else sampled from softmax (logits / temperature) */
  int top_k;              /* sampling: only the top_k most likely tokens; 0: all */
  double top_p;           /* sampling: only the most likely tokens whose probabilities (after the
                           * temperature and top_k) first reach top_p of the total; 0 or 1: all */
  guint32 seed;
  int bos_id;             /* seq2seq: the first target token; -1: the tokenizer's / config's */
  int eos_id;             /* stops when produced (not appended); -1: none */
  int stop_id;            /* a second stop token (llama2.c stops at BOS); -1: none */
  gboolean no_cache;      /* run the whole sequence again for each token (the reference the cache
                           * is tested and timed against); decoder-only models */
  AttnvizGenerateStepFunc step_func; /* may be NULL */
  gpointer step_data;
  GCancellable *cancellable;
  /* Called after each token added, with how many so far and the most there
   * can be (max_new, or fewer where the context ends); may be NULL. */
  void (*progress) (int done, int most, gpointer data);
  gpointer progress_data;
} AttnvizGenerateOptions;

/* Appends up to max_new tokens to IDS (decoder-only models): the prompt
 * runs once, then each new token alone against the keys and values kept
 * (attnviz-kv-decoder.h), unless no_cache. */
gboolean attnviz_generate (const AttnvizModel *model, GArray *ids, const AttnvizGenerateOptions *options,
                           GError **error);

/* Decodes a target for SRC_IDS (S tokens) with an encoder-decoder model:
 * returns the target ids starting with BOS (EOS not included). */
GArray *attnviz_generate_seq2seq (const AttnvizModel *model, const gint32 *src_ids, int S,
                                  const AttnvizGenerateOptions *options, GError **error);

/* The most new tokens a target decoded for S source tokens may take when
 * the user gives none: twice the source and 16 more, at least 64, within
 * the context with BOS.  A translation or a date ends far sooner at EOS;
 * a model that never writes EOS (random weights) stops there, not at a
 * context of 512 after minutes of decoding. */
static inline int
attnviz_generate_seq2seq_budget (const AttnvizConfig *config, int S)
{
  return MAX (MIN (MAX (2 * S + 16, 64), config->n_ctx - 1), 0);
}

/* The tokens of an encoder-decoder's target IDS (N, starting with BOS), to
 * label and dump it: *TEXT gets the bytes the tokens after BOS stand for,
 * made valid UTF-8, and each token its span there; the special tokens
 * (BOS, EOS, padding) have an empty span and special set.  Returns an
 * array of AttnvizToken. */
GArray *attnviz_generate_target_tokens (const AttnvizTokenizer *tokenizer, const gint32 *ids, int n, char **text);

G_END_DECLS
