/* attnviz-test-tokenizer-gguf.h: what the GGUF tokenizer test programs
 * (test-tokenizer-gguf, test-tokenizer-gguf-written) share: vocabularies
 * under ../shared loaded once, encoding, llama.cpp's ids for a text. */
#pragma once

#include <glib.h>

#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

/* g_test_init and the table of loaded tokenizers. */
void attnviz_test_tokenizer_gguf_init (int *argc, char ***argv);
/* g_test_run, then the loaded tokenizers freed; returns g_test_run's status. */
int attnviz_test_tokenizer_gguf_run (void);

/* The tokenizer of the GGUF file at PATH, or NULL with ERROR set. */
AttnvizTokenizer *attnviz_test_gguf_tokenizer (const char *path, GError **error);
/* The tokenizer of ../shared/data/A/B/C (a GGUF file; B and C may be NULL
 * when A holds the whole relative path), or NULL after skipping. */
const AttnvizTokenizer *attnviz_test_gguf_tokenizer_shared (const char *a, const char *b, const char *c,
                                                            char **path_out);
/* llama.cpp's vocabulary ggml-vocab-NAME.gguf, or NULL after skipping. */
const AttnvizTokenizer *attnviz_test_vocab (const char *name, char **path_out);
/* TEXT's tokens (LEN bytes, or up to its NUL), asserting that it encodes. */
GArray *attnviz_test_gguf_encode_len (const AttnvizTokenizer *tok, const char *text, gsize len, gboolean add_special);
GArray *attnviz_test_gguf_encode (const AttnvizTokenizer *tok, const char *text, gboolean add_special);
/* "1,2,3" as llama.cpp's tools print them. */
char *attnviz_test_ids_string (GArray *tokens);
/* A new temporary folder. */
char *attnviz_test_gguf_temp_dir (void);

/* TOK (from the GGUF at PATH) and llama.cpp give the same ids for TEXTS
 * (LENS bytes each, or NUL-terminated when LENS is NULL), with add_special
 * off and on; returns how many of those differ (none, saying so, when
 * llref is absent). */
guint attnviz_test_compare_with_llama_cpp (const AttnvizTokenizer *tok, const char *path, const char *const *texts,
                                           const gsize *lens, gsize n_texts);

G_END_DECLS
