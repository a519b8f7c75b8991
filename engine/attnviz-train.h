/* attnviz-train.h: train small transformers in C
 *
 * llm.c's train_gpt2.c, generalised to the models attnviz trains itself
 * (AttnvizDecoder and AttnvizSeq2Seq, see attnviz-config.c and
 * attnviz-model.c): all parameters in one allocation with the gradients
 * and AdamW's moments beside it in the same layout, activations carved
 * once out of another, forward and backward by hand with cblas_sgemm for
 * every matrix product.  The same code also runs in double precision for
 * the gradient check (attnviz_trainer_gradcheck).
 *
 * Deterministic: the same seed, task and options give bit-identical
 * weights on the same machine with the same number of OpenBLAS threads.
 */
#pragma once

#include <gio/gio.h>

#include "attnviz-config.h"
#include "attnviz-model.h"
#include "attnviz-recording.h"
#include "attnviz-task.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_OBJECTIVE_CE,   /* cross-entropy with teacher forcing */
  ATTNVIZ_OBJECTIVE_PG,   /* policy gradient (REINFORCE) on decoded outputs */
  ATTNVIZ_OBJECTIVE_CE_PG,/* pg_weight * PG + (1 - pg_weight) * CE on the same examples */
} AttnvizObjective;

typedef enum {
  ATTNVIZ_REWARD_EXACT,   /* 1 when the output is the target, else 0 */
  ATTNVIZ_REWARD_TOKENS,  /* the share of target positions the output gets right */
  ATTNVIZ_REWARD_MIX,     /* reward_mix * exact + (1 - reward_mix) * tokens */
} AttnvizReward;

typedef enum {
  ATTNVIZ_BASELINE_GREEDY,  /* self-critical (Rennie et al. 2017): the reward of the
                             * model's own greedy output for the same input */
  ATTNVIZ_BASELINE_AVERAGE, /* a moving average of the mean reward */
} AttnvizBaseline;

typedef struct {
  int steps;              /* optimizer steps */
  int batch;              /* sequences per step */
  double lr;              /* peak learning rate */
  int warmup;             /* steps of linear warm-up; then cosine decay to lr * min_lr */
  double min_lr;          /* fraction of lr at the last step */
  double weight_decay;    /* AdamW's decoupled decay, on matrices and embeddings */
  double beta1;
  double beta2;
  double adam_eps;
  double grad_clip;       /* clip the global gradient norm to this; 0: never */
  double dropout;         /* on each block's output before the residual add */
  guint64 seed;           /* initial weights, batches, dropout, sampling */
  AttnvizObjective objective;
  AttnvizReward reward;   /* PG */
  double reward_mix;      /* PG, ATTNVIZ_REWARD_MIX: the weight of exact match in [0, 1] */
  gboolean pg_sample;     /* PG: sample the output (else the greedy one) */
  AttnvizBaseline baseline;
  double baseline_decay;  /* ATTNVIZ_BASELINE_AVERAGE: baseline = decay * baseline + (1 - decay) * mean reward */
  double pg_weight;       /* CE_PG: lambda in [0, 1], the weight of PG */
  int pg_ramp;            /* CE_PG: lambda grows linearly from 0 over this many steps; 0: at once */
  double entropy;         /* PG, CE_PG: beta, the weight of the entropy bonus on the decoded outputs */
} AttnvizTrainOptions;

/* Defaults: 2000 steps of 32, lr 1e-3 with 100 warm-up steps, weight decay
 * 0.01, betas 0.9/0.98, clip 1, no dropout, seed 1, cross-entropy; for PG
 * sampled outputs, exact-match reward, the self-critical baseline,
 * lambda 0.5 without ramp, no entropy bonus. */
void attnviz_train_options_init (AttnvizTrainOptions *opt);

/* Token ids of a batch, in the model's format:
 *   encoder-decoder: src = characters, <eos>, <pad>...;
 *                    inp = <bos> target; tgt = target <eos>
 *   decoder-only:    inp = <bos> source <eos> target; tgt = the next token
 *                    where it is part of "target <eos>", -1 elsewhere;
 *                    plain text: inp = <bos> text, every next token.
 * Padding (<pad> in inp, -1 in tgt) fills each row to the batch's T. */
typedef struct {
  int B;
  int S;          /* padded source length, 0 for decoder-only */
  int T;          /* padded decoder length */
  int cap_B, cap_S, cap_T;
  gint32 *src;    /* (B, S) */
  int *src_len;   /* (B) */
  gint32 *inp;    /* (B, T) decoder input */
  gint32 *tgt;    /* (B, T) next-token targets, -1: no loss */
  float *weight;  /* (B) per-sequence loss weight: 1, or the PG advantage */
  double entropy; /* beta: the loss subtracts beta times the mean entropy of
                   * the predicted distributions at the target positions */
} AttnvizBatch;

AttnvizBatch *attnviz_batch_new (int cap_B, int cap_S, int cap_T);
void attnviz_batch_free (AttnvizBatch *batch);
/* Fills BATCH from N examples.  Errors: a sequence longer than the
 * batch's capacity. */
gboolean attnviz_batch_fill (AttnvizBatch *batch,
                             const AttnvizTask *task,
                             gboolean seq2seq,
                             const AttnvizExample *examples,
                             int n,
                             GError **error);

typedef struct _AttnvizTrainer AttnvizTrainer;

/* A trainer for CONFIG (family ATTNVIZ; its sizes, position, score, mask
 * and activation) with fresh weights from OPT->seed.  MAX_S and MAX_T bound
 * the source and decoder lengths of every batch (at most n_ctx). */
AttnvizTrainer *attnviz_trainer_new (const AttnvizConfig *config,
                                     const AttnvizTrainOptions *opt,
                                     int max_S,
                                     int max_T,
                                     GError **error);
void attnviz_trainer_free (AttnvizTrainer *t);

/* Copies the weights of MODEL (an attnviz model of the same shape) in,
 * e.g. to fine-tune a cross-entropy model with policy gradient. */
gboolean attnviz_trainer_load_weights (AttnvizTrainer *t, const AttnvizModel *model, GError **error);

const AttnvizConfig *attnviz_trainer_get_config (const AttnvizTrainer *t);
const AttnvizTrainOptions *attnviz_trainer_get_options (const AttnvizTrainer *t);
int attnviz_trainer_get_step (const AttnvizTrainer *t);

/* The parameters and their gradients, one (n_params) array each. */
float *attnviz_trainer_get_params (AttnvizTrainer *t, gsize *n_params);
const float *attnviz_trainer_get_grads (const AttnvizTrainer *t);
/* The named tensors inside them, in file order. */
guint attnviz_trainer_get_n_tensors (const AttnvizTrainer *t);
const char *attnviz_trainer_get_tensor (const AttnvizTrainer *t,
                                        guint i,
                                        gsize *offset,
                                        gsize *size,
                                        int *n_dims,
                                        gint64 *shape);

/* The mean cross-entropy of BATCH (weighted by batch->weight) in nats;
 * with gradients into the trainer's gradient array. */
double attnviz_trainer_forward (AttnvizTrainer *t, const AttnvizBatch *batch);
double attnviz_trainer_forward_backward (AttnvizTrainer *t, const AttnvizBatch *batch);
/* The share of loss positions whose argmax is the target, after a forward. */
double attnviz_trainer_batch_accuracy (const AttnvizTrainer *t, const AttnvizBatch *batch);
/* One AdamW step with the gradients there; returns the gradient norm
 * before clipping. */
double attnviz_trainer_update (AttnvizTrainer *t);

/* One step of the trainer's objective on examples sampled from TASK with
 * RNG: CE, PG (decode, reward, REINFORCE) or both.  Returns the loss (CE)
 * or the mean reward of the decoded outputs (PG, CE_PG); *ACCURACY gets
 * the batch's token accuracy (CE) or their exact match (PG, CE_PG). */
double attnviz_trainer_train_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy);

/* One decoded output of a policy-gradient batch. */
typedef struct {
  double reward;          /* of the output decoded (sampled, unless pg_sample is off) */
  double baseline;        /* what it is measured against: the greedy output's reward, or the moving average */
  gboolean exact;         /* the output is the target */
  gboolean same_as_greedy;/* the output is the greedy one (SCST only; else FALSE) */
} AttnvizPgRow;

/* The policy-gradient surrogate for N examples (at most the trainer's
 * batch): decodes an output for each (and, self-critically, the greedy
 * one), rewards it and fills BATCH so that its weighted cross-entropy is
 * -WEIGHT * sum (reward - baseline) log p (output) (over the output
 * positions, as the loss averages them) minus the entropy bonus.  Its
 * gradient is the policy gradient for these fixed outputs.  ROWS (N)
 * gets each output's reward and baseline.  BATCH may be the trainer's own
 * scratch batch only after it is read. */
void attnviz_trainer_pg_batch (AttnvizTrainer *t,
                               const AttnvizTask *task,
                               const AttnvizExample *examples,
                               int n,
                               double weight,
                               AttnvizBatch *batch,
                               AttnvizPgRow *rows);
/* CE_PG's lambda at STEP (ramped). */
double attnviz_trainer_pg_weight (const AttnvizTrainer *t, int step);

/* Greedy decoding of N examples' sources; ACCURACY: exact match and
 * token accuracy.  Plain text: teacher-forced next-character accuracy in
 * both. */
typedef struct {
  double exact;
  double tokens;
  int n;
} AttnvizEvalResult;

void attnviz_trainer_evaluate (AttnvizTrainer *t,
                               const AttnvizTask *task,
                               const AttnvizExample *examples,
                               int n,
                               AttnvizEvalResult *result);
/* The greedy output for each source (N strings, NULL-terminated). */
char **attnviz_trainer_decode (AttnvizTrainer *t, const AttnvizTask *task, const char *const *sources, int n);

/* Writes the model: PATH is a folder (model.safetensors, config.json and
 * tokenizer.json inside) or a .safetensors file (the other two beside it).
 * EXTRA adds string keys to config.json (training provenance). */
gboolean attnviz_trainer_save (AttnvizTrainer *t,
                               const AttnvizTask *task,
                               const char *path,
                               GHashTable *extra,
                               GError **error);

/* The trainer's forward on one sequence, as the engine's recording
 * (attention of every layer and head; enc_attn/cross_attn for
 * encoder-decoders; logits and loss).  For checking it against
 * attnviz_forward and attnviz_forward_seq2seq. */
AttnvizRecording *attnviz_trainer_record (AttnvizTrainer *t,
                                          const gint32 *src_ids,
                                          int S,
                                          const gint32 *ids,
                                          int T,
                                          GError **error);

/* The gradient check: forward and backward in double precision with the
 * trainer's weights, against central differences (eps EPS) of the loss in
 * double.  One entry per tensor (checking at most MAX_PER_TENSOR entries
 * of each, spread over it). */
typedef struct {
  char *name;
  double max_rel;     /* max |a - n| / max (|a| + |n|, 1e-4): relative, but not for gradients near 0 */
  double max_abs;
  double max_grad;    /* the largest |analytic gradient| checked */
  int n_checked;
} AttnvizGradcheck;

GArray *attnviz_trainer_gradcheck (AttnvizTrainer *t,
                                   const AttnvizBatch *batch,
                                   double eps,
                                   int max_per_tensor);

/* Time spent inside cblas_sgemm (and how many calls) during training
 * steps, when enabled (evaluation is not counted). */
void attnviz_train_gemm_timing (gboolean enable);
double attnviz_train_gemm_seconds (void);
guint64 attnviz_train_gemm_calls (void);

/* ------------------------------------------------------------ the loop */

typedef struct {
  int step;
  int steps;
  double loss;            /* CE: mean loss since the last report; PG: mean reward */
  double accuracy;        /* CE: teacher-forced token accuracy; PG: exact match of the samples */
  double lr;
  double seconds;         /* since the start */
  double train_seconds;   /* of which in training steps (not evaluating or saving) */
  double train_cpu_seconds; /* the CPU time of the process (every thread) in those steps: on a
                             * machine other jobs share, a cost that their load does not inflate */
  double pg_better;       /* PG: the share of samples since the last report whose reward beat their
                           * baseline (self-critical: the greedy output's); < 0 without samples */
  double pg_worse;        /* and of those whose reward fell short of it */
  double heldout_exact;   /* < 0 when not measured at this report */
  double heldout_tokens;
  const char *checkpoint; /* the folder just written, or NULL */
  gboolean final;
} AttnvizTrainReport;

typedef void (*AttnvizTrainReportFunc) (const AttnvizTrainReport *report, gpointer data);

typedef struct {
  int report_every;       /* steps between reports (loss, accuracy) */
  int eval_every;         /* steps between held-out evaluations; 0: only at the end */
  int eval_examples;      /* held-out examples those use; 0: all */
  gboolean eval_first;    /* also one before the first step (reported as step 0) */
  double stop_at;         /* stop once held-out exact match reaches it; 0: never */
  int checkpoint_every;   /* every N steps but the last: checkpoints/step-NNNNNN/ beside the model; 0: none */
  const char *out_path;   /* where the model goes (and checkpoints/ beside it) */
  GHashTable *extra;      /* more config.json keys */
  AttnvizTrainReportFunc report;
  gpointer report_data;
  GCancellable *cancellable;
} AttnvizTrainLoop;

/* Trains for the trainer's steps (or until stop_at), reporting and
 * checkpointing, then evaluates on the whole held-out set into RESULT and
 * saves to loop->out_path when set. */
gboolean attnviz_trainer_run (AttnvizTrainer *t,
                              AttnvizTask *task,
                              const AttnvizTrainLoop *loop,
                              AttnvizEvalResult *result,
                              GError **error);

/* A model description for TASK with attnviz's defaults: 2 layers (and 2
 * encoder layers for SEQ2SEQ), d_model 64, 4 heads of 16, d_ff 256,
 * sinusoidal positions, scaled dot product, causal, ReLU, the context the
 * task's longest example needs. */
void attnviz_train_config_init (AttnvizConfig *config, const AttnvizTask *task, gboolean seq2seq);
/* The context a model needs for TASK's examples. */
int attnviz_train_context_for (const AttnvizTask *task, gboolean seq2seq, int *max_S, int *max_T);

/* "exact", "token" (or "tokens"), "mix:A" (A in [0, 1], the weight of exact match) */
gboolean attnviz_train_parse_reward (const char *s, AttnvizReward *reward, double *mix, GError **error);
/* "sinusoidal", "learned", "rope", "none"; "relu", "gelu", "gelu_new".
 * Scores: attnviz_config_parse_score; masks: attnviz_pattern_parse. */
gboolean attnviz_train_parse_position (const char *s, AttnvizPositionKind *pos, GError **error);
gboolean attnviz_train_parse_activation (const char *s, AttnvizActivation *act, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizTrainer, attnviz_trainer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizBatch, attnviz_batch_free)

G_END_DECLS
