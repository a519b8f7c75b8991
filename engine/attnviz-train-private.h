/* attnviz-train-private.h: what the trainer's files share
 *
 * The parameter Layout, the trainer's struct (holding the float network,
 * attnviz-train-net-types.inc) and the functions the files call across:
 *   attnviz-train.c        layout, network, trainer, update, gradient check
 *   attnviz-train-batch.c  options, the config for a task, batches
 *   attnviz-train-loop.c   decoding, evaluation, a CE step, the loop, recording
 *   attnviz-train-pg.c     policy gradient: rewards, baselines, the PG and CE+PG steps
 *   attnviz-train-save.c   config.json + model.safetensors
 */
#pragma once

#include <glib.h>

#include "attnviz-train.h"

G_BEGIN_DECLS

typedef struct {
  gsize norm_w, norm_b;
  gsize wq, bq, wk, bk, wv, bv, wo, bo;
  gsize score_v;             /* additive scoring only */
} AttnOff;

typedef struct {
  AttnOff self;
  AttnOff cross;             /* decoder layers of encoder-decoders */
  gsize mlp_norm_w, mlp_norm_b;
  gsize w_up, b_up, w_down, b_down;
} LayerOff;

typedef struct {
  char *name;
  int n_dims;
  gint64 shape[2];
  gsize offset;
  gsize size;
  int init;                  /* INIT_* */
  gboolean decay;            /* AdamW decays it: matrices and embeddings */
} ParamTensor;

enum { INIT_NORMAL, INIT_EMBED, INIT_RESIDUAL, INIT_ZERO, INIT_ONE, INIT_SCORE_V };

typedef struct {
  gsize n_params;
  gsize tok_emb, pos_emb;
  gsize final_norm_w, final_norm_b;
  gsize enc_norm_w, enc_norm_b;
  LayerOff *dec;             /* (n_layer) */
  LayerOff *enc;             /* (n_enc_layer) */
  GArray *tensors;           /* ParamTensor, in file order */
} Layout;


/* One example's rows before padding. */
typedef struct {
  GArray *src;   /* gint32 */
  GArray *inp;
  GArray *tgt;
} Rows;

#define REAL float
#define R(name) name##_f
#include "attnviz-train-net-types.inc"
#undef REAL
#undef R

struct _AttnvizTrainer
{
  AttnvizConfig config;
  AttnvizTrainOptions opt;
  Layout lay;
  int cap_S, cap_T;

  float *mem;            /* (4, n_params) */
  float *params;
  float *grads;
  float *m;              /* AdamW's first moment */
  float *v;              /* and second */

  Net_f net;
  AttnvizBatch *batch;   /* (opt.batch) sequences */
  AttnvizRng rng;        /* dropout seeds and PG sampling */
  int step;              /* optimizer steps taken */
  double baseline;       /* PG */
  gboolean have_baseline;
  int pg_rows;           /* PG samples since the loop's last report */
  int pg_better;         /* of which the reward beat the baseline */
  int pg_worse;          /* and fell short of it */
};

/* ---- attnviz-train.c ---- */

/* While TRUE (evaluating), GEMM calls are not timed. */
extern gboolean _attnviz_train_gemm_paused;
/* The forward pass in float on NET. */
void _attnviz_train_net_forward (Net_f *net, const AttnvizBatch *batch, gboolean reuse_encoder);
/* Warmup, then cosine decay to min_lr, at STEP. */
double _attnviz_trainer_learning_rate (const AttnvizTrainer *t, int step);
/* attnviz_trainer_forward_backward without zeroing the gradients first:
 * BATCH's gradient is added to what is there. */
double _attnviz_trainer_accumulate (AttnvizTrainer *t, const AttnvizBatch *batch);

/* ---- attnviz-train-loop.c ---- */

/* Decodes N examples (at most the trainer's batch) in t->batch.  OUT[b]
 * gets the tokens produced (without the final <eos>), ENDED[b] whether
 * <eos> came.  RNG samples; NULL decodes greedily. */
void _attnviz_train_decode_batch (AttnvizTrainer *t, const AttnvizTask *task, const AttnvizExample *ex, int n,
                                  int max_new, AttnvizRng *rng, GArray **out, gboolean *ended);
/* Tokens to decode for TASK's targets. */
int _attnviz_train_max_new_tokens (const AttnvizTrainer *t, const AttnvizTask *task);
/* Without a separator the output is cut to the target's length. */
void _attnviz_train_cut_to_target (const AttnvizTrainer *t, const AttnvizTask *task, GArray *out, gboolean *ended,
                                   const GArray *want);
double _attnviz_train_token_accuracy (const GArray *out, const GArray *want);
gboolean _attnviz_train_exact_match (const GArray *out, gboolean ended, const GArray *want);
/* One CE step on examples from TASK (gradients, no update); the loss. */
double _attnviz_train_ce_gradients (AttnvizTrainer *t, const AttnvizExample *ex, int n, const AttnvizTask *task,
                                    double weight, gboolean accumulate, double *accuracy);

/* ---- attnviz-train-pg.c ---- */

double _attnviz_train_pg_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy);

/* ---- attnviz-train-batch.c ---- */

void _attnviz_train_rows_init (Rows *r);
void _attnviz_train_rows_clear (Rows *r);
/* What the model is given before it decodes: the encoder's source and
 * the decoder's first tokens. */
void _attnviz_train_example_prompt (const AttnvizTask *task, gboolean seq2seq, const char *source,
                                    GArray *src, GArray *prompt);

G_END_DECLS
