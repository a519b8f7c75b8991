/* attnviz-tokenizer.h: text to token ids, each token keeping its byte span
 *
 * Three families, chosen from the files found in a model folder:
 *  - GPT-2 byte-level BPE: `tokenizer.json` with model.type "BPE" and a
 *    "ByteLevel" pre-tokenizer, or `vocab.json` + `merges.txt`.
 *  - BERT WordPiece: `tokenizer.json` with model.type "WordPiece", or
 *    `vocab.txt` (+ `tokenizer_config.json` for do_lower_case/strip_accents).
 *  - SentencePiece-style BPE (LLaMA): `tokenizer.json` with model.type "BPE",
 *    byte_fallback and a "▁" normalizer; merge priority from
 *    `sentencepiece_scores.json` when present, else from the merges ranks.
 *  - SentencePiece Unigram: T5's `tokenizer.json` with model.type "Unigram",
 *    or a Marian folder's `source.spm` + `target.spm` + `vocab.json`
 *    (attnviz-tokenizer-spm.c).
 *  - Characters (attnviz's own trained models): `tokenizer.json` with
 *    model.type "attnviz-chars", model.vocab {piece: id} where every piece
 *    but the special tokens is one Unicode character, model.{pad,bos,eos,
 *    unk}_token naming the specials ("<pad>", "<bos>", "<eos>", "<unk>") and
 *    model.add_bos_token / model.add_eos_token saying what add_special adds.
 *    One token per character, its byte span that character's bytes; a
 *    character outside the vocabulary becomes unk.
 *
 * A GGUF file (llama.cpp's format) carries the same three families in its
 * tokenizer.ggml.* metadata ("llama", "gpt2", "bert"; the keys are listed
 * in attnviz-tokenizer-gguf.c).  A tokenizer read from it encodes exactly
 * as llama.cpp does with parse_special off: llama.cpp's pre-tokenizer for
 * tokenizer.ggml.pre, user-defined tokens cut out of the text first, its
 * WordPiece with a "▁" on a word's first piece.
 */
#pragma once

#include <glib.h>

#include "attnviz-gguf.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_TOKENIZER_GPT2_BPE,
  ATTNVIZ_TOKENIZER_WORDPIECE,
  ATTNVIZ_TOKENIZER_SPM_BPE,
  ATTNVIZ_TOKENIZER_CHARS,
  ATTNVIZ_TOKENIZER_UNIGRAM,   /* SentencePiece Unigram (T5's tokenizer.json) */
} AttnvizTokenizerKind;

/* One token of an encoded text.  [start, end) is the byte span of the
 * input text the token came from; special tokens added by the tokenizer
 * (BOS, [CLS], [SEP]) have start == end (an empty span at the place
 * they were inserted).  A special token found in the text (a GGUF
 * vocabulary's user-defined tokens) is special too and spans its text.
 * A span may be shared by several tokens when one character is split
 * across byte-fallback tokens; SentencePiece's "▁" before the text, when
 * it is a token alone, spans nothing. */
typedef struct {
  gint32 id;
  guint32 start;
  guint32 end;
  gboolean special;
} AttnvizToken;

typedef struct _AttnvizTokenizer AttnvizTokenizer;

/* Opens the tokenizer of the model in DIR (a folder).  Errors name the file
 * and the problem (G_IO_ERROR_NOT_FOUND when no tokenizer file is there). */
AttnvizTokenizer *attnviz_tokenizer_load_dir (const char *dir, GError **error);
/* The tokenizer a GGUF file carries in its tokenizer.ggml.* metadata (a
 * vocabulary-only file is enough).  It encodes as llama.cpp does with
 * parse_special off.  Errors are one line naming the file and the key
 * (G_IO_ERROR_INVALID_DATA, or G_IO_ERROR_NOT_SUPPORTED for a tokenizer or
 * pre-tokenizer attnviz does not know).  GGUF is not needed afterwards. */
AttnvizTokenizer *attnviz_tokenizer_new_from_gguf (const AttnvizGguf *gguf, GError **error);
/* The SentencePiece Unigram model at PATH (a .spm or .model file, read by
 * attnviz-spm.c) with its own ids: encodes as SentencePiece's
 * EncodeAsIds does (without the normalizer's character map).  A file that
 * is not a SentencePiece model, or a BPE one, is a one-line error naming PATH. */
AttnvizTokenizer *attnviz_tokenizer_new_from_spm (const char *path, GError **error);
/* The same from LEN bytes at DATA; FILENAME names them in errors (the fuzz
 * harness uses this). */
AttnvizTokenizer *attnviz_tokenizer_new_from_spm_data (const guint8 *data, gsize len, const char *filename,
                                                       GError **error);
void attnviz_tokenizer_free (AttnvizTokenizer *self);

AttnvizTokenizerKind attnviz_tokenizer_get_kind (const AttnvizTokenizer *self);
/* A short human name: "gpt2-bpe", "wordpiece", "sentencepiece-bpe", "chars". */
const char *attnviz_tokenizer_get_kind_name (const AttnvizTokenizer *self);
/* The file of a folder's tokenizer its vocabulary came from
 * (tokenizer.json, vocab.json or vocab.txt); NULL for one read otherwise. */
const char *attnviz_tokenizer_get_file (const AttnvizTokenizer *self);
int attnviz_tokenizer_get_vocab_size (const AttnvizTokenizer *self);

/* Special token ids, or -1 when the tokenizer has none. */
int attnviz_tokenizer_get_bos_id (const AttnvizTokenizer *self); /* <s>, [CLS] */
int attnviz_tokenizer_get_eos_id (const AttnvizTokenizer *self); /* </s>, [SEP] */
int attnviz_tokenizer_get_pad_id (const AttnvizTokenizer *self);
int attnviz_tokenizer_get_unk_id (const AttnvizTokenizer *self);

/* Encodes TEXT (LEN bytes, or -1 for NUL-terminated).  When ADD_SPECIAL is
 * set, the special tokens the model's tokenizer config asks for are added
 * (LLaMA: BOS if add_bos_token; BERT: [CLS] ... [SEP]; GPT-2: none).
 * Invalid UTF-8 is an error (G_CONVERT_ERROR_ILLEGAL_SEQUENCE) naming the
 * byte offset.  Returns an array of AttnvizToken. */
GArray *attnviz_tokenizer_encode (const AttnvizTokenizer *self,
                                  const char *text,
                                  gssize len,
                                  gboolean add_special,
                                  GError **error);

/* Encodes a seq2seq model's target text, without special tokens: a Marian
 * folder's with target.spm (the same ids, the target language's pieces),
 * any other tokenizer's as attnviz_tokenizer_encode does. */
GArray *attnviz_tokenizer_encode_target (const AttnvizTokenizer *self,
                                         const char *text,
                                         gssize len,
                                         GError **error);

/* The vocabulary entry of ID as stored (e.g. "Ġthe", "##ing", "▁the",
 * "<0x0A>"), or NULL when out of range. */
const char *attnviz_tokenizer_get_piece (const AttnvizTokenizer *self, int id);

/* The bytes ID stands for in running text (GPT-2: byte-decoded; SPM: "▁" as
 * space and <0xNN> as that byte; WordPiece: the piece without "##").  The
 * result may be invalid UTF-8 for partial byte tokens. */
GBytes *attnviz_tokenizer_decode_token (const AttnvizTokenizer *self, int id);

/* The text token ID shows in a label: its span of TEXT (made valid UTF-8)
 * when TOKEN came from encoding TEXT and is not special; else a special's
 * piece, or the bytes it decodes to.  SELF may be NULL (a model without a
 * tokenizer): then, as when ID is out of range, the id as a number. */
char *attnviz_tokenizer_token_display_text (const AttnvizTokenizer *self,
                                            const char *text,
                                            const AttnvizToken *token,
                                            gint32 id);

/* Decodes a whole sequence the way the model's own decoder does (SPM: the
 * leading space after BOS stripped, byte fallbacks fused). */
char *attnviz_tokenizer_decode (const AttnvizTokenizer *self,
                                const gint32 *ids,
                                gsize n_ids);

/* Adds tokenizer.ggml.* to W: the keys llama.cpp (and
 * attnviz_tokenizer_new_from_gguf) read back as a tokenizer that encodes
 * like SELF (attnviz-tokenizer-export.c lists them).  The vocabulary is
 * padded to N_VOCAB pieces (the model's embedding rows) with unused
 * "[PADi]" pieces.  A tokenizer GGUF cannot express (attnviz's character
 * tokenizer, a pre-tokenizer llama.cpp does not know, ...) is a one-line
 * G_IO_ERROR_NOT_SUPPORTED. */
gboolean attnviz_tokenizer_write_gguf (const AttnvizTokenizer *self,
                                       AttnvizGgufWriter *w,
                                       int n_vocab,
                                       GError **error);

G_END_DECLS
