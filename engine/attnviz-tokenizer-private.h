/* attnviz-tokenizer-private.h: what the tokenizer's files share
 *
 * One tokenizer, split over files by job:
 *   attnviz-tokenizer.c            accessors, the encode dispatch, decode
 *   attnviz-tokenizer-load.c       a folder's files: vocab.json + merges.txt,
 *                                  vocab.txt; the vocabulary; finishing
 *   attnviz-tokenizer-json.c       tokenizer.json, the configs, the scores
 *   attnviz-tokenizer-bpe.c        the merge table; GPT-2 and SentencePiece
 *                                  encoding
 *   attnviz-tokenizer-wordpiece.c  WordPiece encoding, the piece index
 *   attnviz-tokenizer-unigram.c    SentencePiece Unigram (tokenizer.json): loading, Viterbi
 *   attnviz-tokenizer-spm.c        Unigram from .spm files (attnviz-spm.c): a bare model, Marian's
 *                                  source.spm + target.spm + vocab.json
 *   attnviz-tokenizer-gguf.c    GGUF metadata (tokenizer.ggml.*)
 *   attnviz-tokenizer-pretok.c  llama.cpp's pre-tokenizers (tokenizer.ggml.pre)
 *   attnviz-tokenizer-llama.c   llama.cpp's other habits: user-defined tokens
 *                               split out of the text first, WordPiece with a
 *                               "▁" on a word's first piece
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "attnviz-charsmap.h"
#include "attnviz-json.h"

#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

#define METASPACE "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK, "▁" */

/* GPT-2's pre-tokenizer (openai/gpt-2 encoder.py). */
#define GPT2_PATTERN \
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* Ids above this are treated as a corrupt file rather than allocated. */
#define MAX_VOCAB_ID (1 << 24)

enum {
  PIECE_SPECIAL = 1 << 0, /* control or added special token: never merged into */
  PIECE_BYTE = 1 << 1,    /* SentencePiece "<0xNN>" byte fallback */
  PIECE_LSTRIP = 1 << 2,  /* split out of the text: eats the white space before it */
  PIECE_RSTRIP = 1 << 3,  /* ... and after it (llama.cpp's phi-3 habit) */
  PIECE_UNUSED = 1 << 4,  /* Unigram: never chosen when segmenting (an UNUSED or BYTE
                           * SentencePiece piece; a Marian vocab.json piece source.spm lacks) */
};

/* (left id, right id) -> merge, open addressing. */
typedef struct {
  guint64 key;   /* (left << 32) | right, or PAIR_EMPTY */
  double score;  /* higher merges first: a SentencePiece score, or -rank */
  gint32 merged; /* id of the concatenation */
} PairSlot;

#define PAIR_EMPTY G_MAXUINT64

typedef struct {
  PairSlot *slots; /* (mask + 1) */
  gsize mask;
  gsize n;
} PairTable;

/* (attnviz-tokenizer-bpe.c) Room for EXPECTED pairs; the first insertion
 * of a pair wins, as the lowest rank should. */
void _attnviz_pair_table_init (PairTable *t, gsize expected);
void _attnviz_pair_table_insert (PairTable *t, gint32 left, gint32 right, double score, gint32 merged);

/* llama.cpp's pre-tokenizer for a tokenizer.ggml.pre value: up to four
 * splitting stages, each applied to the words the previous one made
 * (llama.cpp's regex_exprs), and the flags llama.cpp ties to the name. */
typedef enum {
  PRETOK_GPT2,          /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
  PRETOK_LLAMA3,        /* (?i:'s|..|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
                         * |\s*[\r\n]+|\s+(?!\S)|\s+ */
  PRETOK_QWEN2,         /* the same with \p{N} one at a time */
  PRETOK_PUNCT_RUNS,    /* [\p{P}\$\+<=>\^~\|]+ and the gaps between */
  PRETOK_PUNCT_RUNS_BT, /* [\p{P}\$\+<=>\^~\|`]+ (Falcon) */
  PRETOK_NUMBER_RUNS,   /* \p{N}+ */
  PRETOK_NUMBER_EACH,   /* \p{N} */
  PRETOK_DIGITS3,       /* [0-9][0-9][0-9] */
} AttnvizPretokStage;

typedef struct {
  const char *const *names; /* tokenizer.ggml.pre values, NULL-terminated */
  AttnvizPretokStage stages[4];
  int n_stages;
  gboolean ignore_merges; /* a word that is a piece is not merged (Llama 3) */
  gboolean add_bos;       /* llama.cpp's default for add_bos_token */
} AttnvizPretok;

/* Every piece of a vocabulary by a hash of its bytes (attnviz-tokenizer-wordpiece.c):
 * whether any substring of a string is a piece, in O(1) after O(length)
 * work on the string. */
typedef struct _AttnvizPieceIndexSlot AttnvizPieceIndexSlot;
typedef struct {
  AttnvizPieceIndexSlot *slots;
  gsize mask;
  guint64 base;
  guint32 *lengths; /* (n_lengths) the pieces' distinct byte lengths, longest first */
  guint n_lengths;
} AttnvizPieceIndex;

void _attnviz_piece_index_init (AttnvizPieceIndex *ix, const AttnvizTokenizer *self);
void _attnviz_piece_index_clear (AttnvizPieceIndex *ix);
/* PRE[0..LEN] the hashes of the prefixes of S (LEN bytes), POW[0..LEN] the
 * powers of the base. */
void _attnviz_piece_index_prefixes (const AttnvizPieceIndex *ix, const char *s, gsize len,
                                    guint64 *pre, guint64 *pow);
/* The id of the piece whose hash and length are those of bytes [START, END)
 * of the string PRE and POW were made from, or -1. */
int _attnviz_piece_index_lookup (const AttnvizPieceIndex *ix, const guint64 *pre, const guint64 *pow,
                                 gsize start, gsize end);

struct _AttnvizTokenizer
{
  AttnvizTokenizerKind kind;
  char *file;        /* the file its vocabulary was read from, for messages; NULL when unknown */

  GPtrArray *pieces; /* (vocab_size) id -> piece, owned; NULL for holes */
  GHashTable *vocab; /* piece -> id, keys borrowed from pieces */
  guint8 *flags;     /* (vocab_size) PIECE_* */

  int bos_id;
  int eos_id;
  int pad_id;
  int unk_id;
  int prefix[4]; /* ids add_special puts before the text */
  int n_prefix;
  int suffix[4]; /* and after it */
  int n_suffix;

  /* Special tokens found in the text and split out before it is tokenized
   * (llama.cpp's user-defined tokens), longest first; NULL when none. */
  gint32 *split_ids; /* (n_split) */
  int n_split;

  /* BPE (GPT-2 and SentencePiece) */
  PairTable pairs;
  gboolean ignore_merges;
  gboolean byte_fallback;
  gboolean fuse_unk;
  gint32 byte_ids[256]; /* GPT-2: id of the byte's stand-in character;
                         * SentencePiece: id of "<0xNN>"; -1 when absent */

  /* GPT-2 */
  GRegex *pretokenizer;
  const AttnvizPretok *llama_pretok; /* GGUF: llama.cpp's splitting, used
                                      * instead of PRETOKENIZER */
  gboolean add_prefix_space;
  gunichar byte_to_char[256]; /* bytes_to_unicode() */
  gint16 char_to_byte[324];   /* its inverse, -1 elsewhere */

  /* SentencePiece */
  char *prepend;           /* put before non-empty text ("▁"), or NULL */
  char *space;             /* what ' ' becomes ("▁"), or NULL */
  gboolean split_on_space; /* Metaspace split: merges never cross a "▁" */
  double *scores;          /* (vocab_size) or NULL: merge by rank; Unigram: log probabilities */
  double min_score;        /* Unigram: the lowest score (an unknown costs 10 less) */
  guint n_scores;          /* Unigram: entries of scores, the model's pieces; added tokens
                            * past them are only ever split out of the text */
  AttnvizCharsmap *charsmap; /* Unigram: SentencePiece's precompiled character map (a .spm's,
                              * a Precompiled normalizer's, a GGUF's), applied first; owned */
  gboolean no_dummy_prefix;   /* Unigram after a map: the spec's add_dummy_prefix is false */
  gboolean keep_extra_spaces; /* Unigram after a map: the spec's remove_extra_whitespaces is false */
  gboolean nfkc;           /* Unigram without a map: a tokenizer.json that names NFKC (or a
                            * Precompiled normalizer with no map): GLib's NFKC, controls dropped */
  AttnvizTokenizer *target; /* Marian: the same ids scored by target.spm, for a target text; owned */
  gboolean unk_by_surface; /* Marian: an unknown span whose text is a vocabulary piece (a
                            * target-language piece) gets that piece's id, as MarianTokenizer
                            * looks SentencePiece's pieces up in vocab.json */

  /* WordPiece */
  gboolean clean_text;
  gboolean chinese_chars;
  gboolean lowercase;
  gboolean strip_accents;
  char *subword_prefix; /* "##" */
  int max_word_chars;
  gboolean phantom_space; /* GGUF (llama.cpp's WPM): a word's first piece
                           * starts with "▁", the others carry no prefix */
  AttnvizPieceIndex piece_index; /* WordPiece's longest match, by hash */
};

/* What loading gathers before the tokenizer is complete. */
typedef struct {
  const char *dir;
  GArray *merges; /* (n_merges, 3) gint32 left, right, merged, rank order */
  char *bos_name;
  char *eos_name;
  char *pad_name;
  char *unk_name;
  GPtrArray *prefix_names; /* from a post-processor template, or NULL */
  GPtrArray *suffix_names;
  int add_bos; /* -1 unknown, else the config's add_bos_token */
  int add_eos;
  int strip_accents; /* -1: follow lowercase */
} Loader;

static inline void
_attnviz_tokenizer_push_token (GArray *tokens, gint32 id, guint32 start, guint32 end, gboolean special)
{
  AttnvizToken t = { id, start, end, special };

  g_array_append_val (tokens, t);
}

/* ---- attnviz-tokenizer-load.c, for the other loaders ---- */

AttnvizTokenizer *_attnviz_tokenizer_new (void);
int _attnviz_tokenizer_vocab_lookup (const AttnvizTokenizer *self, const char *piece);
/* Looks up LEN bytes of S without requiring a terminating NUL. */
int _attnviz_tokenizer_vocab_lookup_len (const AttnvizTokenizer *self, const char *s, gsize len);
/* Gives PIECE the id ID; FIELD names where in PATH it comes from, for errors. */
gboolean _attnviz_tokenizer_vocab_add (AttnvizTokenizer *self, const char *piece, gint64 id,
                                       const char *path, const char *field, GError **error);
/* The { piece: id } object VOCAB (FIELD of PATH) into the vocabulary. */
gboolean _attnviz_tokenizer_vocab_from_object (AttnvizTokenizer *self, JsonObject *vocab,
                                               const char *path, const char *field, GError **error);
/* Records the merge LEFT + RIGHT; WHERE names the file and line for errors. */
gboolean _attnviz_tokenizer_add_merge (AttnvizTokenizer *self, Loader *loader, const char *left,
                                       const char *right, const char *where, GError **error);

/* ---- attnviz-tokenizer-json.c ---- */

JsonNode *_attnviz_tokenizer_read_json (const char *path, AttnvizJsonKind kind, GError **error);
gboolean _attnviz_tokenizer_load_json (AttnvizTokenizer *self, Loader *loader, const char *path,
                                       GError **error);
/* NAME (special_tokens_map.json or tokenizer_config.json) in the loader's
 * folder, when there is one. */
gboolean _attnviz_tokenizer_read_config (AttnvizTokenizer *self, Loader *loader, const char *name,
                                         GError **error);
/* sentencepiece_scores.json at PATH into self->scores. */
gboolean _attnviz_tokenizer_read_scores (AttnvizTokenizer *self, const char *path, GError **error);

/* ---- attnviz-tokenizer-bpe.c ---- */

/* The first insertion of a pair wins. */
void _attnviz_tokenizer_pair_insert (AttnvizTokenizer *self, gint32 left, gint32 right,
                                     double score, gint32 merged);
/* SentencePiece merging from self->scores: every piece that splits into two
 * pieces is their merge, with its own score as priority. */
void _attnviz_tokenizer_build_score_pairs (AttnvizTokenizer *self);
gboolean _attnviz_tokenizer_encode_gpt2 (const AttnvizTokenizer *self, const char *text, gsize len,
                                         GArray *tokens, GError **error);
void _attnviz_tokenizer_encode_spm (const AttnvizTokenizer *self, const char *text, gsize len,
                                    GArray *tokens);

/* ---- attnviz-tokenizer-unigram.c ---- */

/* tokenizer.json's Unigram MODEL (pieces, scores, unk_id) into SELF. */
gboolean _attnviz_tokenizer_load_unigram (AttnvizTokenizer *self, Loader *loader, JsonObject *model,
                                          const char *path, GError **error);
gboolean _attnviz_tokenizer_encode_unigram (const AttnvizTokenizer *self, const char *text, gsize len,
                                            GArray *tokens, GError **error);
/* tokenizer.json's normalizer NORM (or a Sequence holding it): a
 * Precompiled normalizer's non-empty precompiled_charsmap, base64, into
 * self->charsmap; a broken one is an error naming PATH. */
gboolean _attnviz_tokenizer_read_precompiled (AttnvizTokenizer *self, JsonObject *norm, const char *path,
                                              GError **error);
/* What a Unigram model needs once its pieces, scores and flags are in:
 * the lowest score, the "▁", the piece index. */
void _attnviz_tokenizer_unigram_finish (AttnvizTokenizer *self);

/* ---- attnviz-tokenizer-spm.c ---- */

/* A Marian folder (loader->dir): SOURCE_PATH (source.spm), target.spm and
 * vocab.json into SELF, and the names finish_loading resolves. */
gboolean _attnviz_tokenizer_load_marian (AttnvizTokenizer *self, Loader *loader, const char *source_path,
                                         GError **error);

/* ---- attnviz-tokenizer-wordpiece.c ---- */

void _attnviz_tokenizer_encode_wordpiece (const AttnvizTokenizer *self, const char *text, gsize len,
                                          GArray *tokens);

/* ---- attnviz-tokenizer-pretok.c ---- */

/* llama.cpp's white space: Unicode's White_Space property (9-13, 32, 0x85,
 * 0xA0, 0x1680, 0x2000-0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000). */
gboolean _attnviz_tokenizer_is_white_space (gunichar c);
/* The pre-tokenizer llama.cpp uses for tokenizer.ggml.pre NAME, or NULL. */
const AttnvizPretok *_attnviz_pretok_lookup (const char *name);
/* Splits TEXT[0, LEN) (valid UTF-8) into words: appends to ENDS (guint32)
 * the byte offset where each word ends, in order; the last is LEN. */
void _attnviz_pretok_split (const AttnvizPretok *pre, const char *text, gsize len, GArray *ends);

/* ---- attnviz-tokenizer-llama.c ---- */

/* A run of the text: plain text (ID -1) or a special token split out. */
typedef struct {
  guint32 start; /* byte span in the text */
  guint32 end;
  gint32 id;
} AttnvizFragment;

/* TEXT[0, LEN) cut at every occurrence of self->split_ids' pieces, longest
 * first, as llama.cpp's tokenizer_st_partition does; empty text runs are
 * left out.  Returns an array of AttnvizFragment. */
GArray *_attnviz_tokenizer_split_specials (const AttnvizTokenizer *self, const char *text, gsize len);
/* The pieces IDS (gint32) as the ones split out of the text, longest
 * first (then by id). */
void _attnviz_tokenizer_set_split (AttnvizTokenizer *self, GArray *ids);
/* llama.cpp's WordPiece (WPM): its own normalisation and word splitting,
 * then greedy longest match over "▁" + word. */
void _attnviz_tokenizer_encode_wpm_phantom (const AttnvizTokenizer *self, const char *text, gsize len,
                                            GArray *tokens);

G_END_DECLS
