/* attnviz-config-private.h: what attnviz-config.c (the reader, the
 * decoder-only and BERT families), attnviz-config-encoder.c (RoBERTa,
 * DistilBERT) and attnviz-config-seq2seq.c (the pretrained
 * encoder-decoders: T5, BART) share */
#pragma once

#include <json-glib/json-glib.h>

#include "attnviz-config.h"

G_BEGIN_DECLS

/* Sizes beyond these are refused: a hostile config.json must not make us
 * allocate terabytes or overflow an int product. */
#define MAX_DIM   ATTNVIZ_CONFIG_MAX_DIM
#define MAX_LAYER ATTNVIZ_CONFIG_MAX_LAYER
#define MAX_HEAD  ATTNVIZ_CONFIG_MAX_HEAD
#define MAX_VOCAB ATTNVIZ_CONFIG_MAX_VOCAB
#define MAX_CTX   ATTNVIZ_CONFIG_MAX_CTX

#define KEYS(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define REQUIRED G_MININT

/* config.json being read: the first failure is kept, later ones ignored. */
typedef struct {
  JsonObject *obj;
  const char *filename;
  GError **error;
  gboolean failed;
  const char *norm_eps_key;   /* the key norm_eps was read from, NULL: a fixed value */
} Reader;

/* "FILENAME: message", once. */
void _attnviz_config_fail (Reader *r, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* The first of KEYS present as an integer in [LO, HI]; absent: FALLBACK,
 * or an error when that is REQUIRED. */
int _attnviz_config_read_int (Reader *r, const char *const *keys, int fallback, int lo, int hi);
double _attnviz_config_read_double (Reader *r, const char *key, double fallback);
/* The norm's epsilon from KEY, remembered for the range check's message. */
float _attnviz_config_read_norm_eps (Reader *r, const char *key, double fallback);
gboolean _attnviz_config_read_bool (Reader *r, const char *key, gboolean fallback);
/* NULL when absent or null. */
const char *_attnviz_config_read_string (Reader *r, const char *key);
/* A token id inside VOCAB_SIZE (the first of a list), -1 when absent. */
int _attnviz_config_read_token_id (Reader *r, const char *key, int vocab_size);
/* bos/eos/pad_token_id. */
void _attnviz_config_read_special_ids (Reader *r, AttnvizConfig *c);
gboolean _attnviz_config_parse_activation (Reader *r, const char *key, const char *name, AttnvizActivation *act);

/* attnviz-config-seq2seq.c */
void _attnviz_config_parse_t5 (Reader *r, AttnvizConfig *c);
void _attnviz_config_parse_bart (Reader *r, AttnvizConfig *c);
void _attnviz_config_parse_marian (Reader *r, AttnvizConfig *c);
/* attnviz-config.c: BERT's keys and layout, shared with RoBERTa */
void _attnviz_config_parse_bert_layout (Reader *r, AttnvizConfig *c);
/* attnviz-config-encoder.c */
void _attnviz_config_parse_roberta (Reader *r, AttnvizConfig *c);
void _attnviz_config_parse_distilbert (Reader *r, AttnvizConfig *c);

G_END_DECLS
