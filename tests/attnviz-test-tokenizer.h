/* attnviz-test-tokenizer.h: what the tokenizer test programs
 * (test-tokenizer, test-tokenizer-bpe, test-tokenizer-wordpiece-spm) share:
 * tokenizers under ../shared loaded once, encoding, temporary folders. */
#pragma once

#include <glib.h>

#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

/* g_test_init and the table of loaded tokenizers. */
void attnviz_test_tokenizer_init (int *argc, char ***argv);
/* g_test_run, then the loaded tokenizers freed; returns g_test_run's status. */
int attnviz_test_tokenizer_run (void);

/* The tokenizer in ../shared/data/A/B[/C], or NULL after skipping. */
const AttnvizTokenizer *attnviz_test_tokenizer_shared (const char *a, const char *b, const char *c);
/* TEXT's tokens, asserting that it encodes. */
GArray *attnviz_test_encode (const AttnvizTokenizer *tok, const char *text, gboolean add_special);
/* N ids as "1 2 3". */
char *attnviz_test_ids_to_string (const gint32 *ids, gsize n);
/* The ids of TOKENS (an array of AttnvizToken). */
gint32 *attnviz_test_token_ids (GArray *tokens);
/* DIR/NAME holding CONTENTS. */
void attnviz_test_write_file (const char *dir, const char *name, const char *contents);
/* FROM copied to DIR/NAME. */
void attnviz_test_copy_file (const char *from, const char *dir, const char *name);
/* Removes the files this test wrote into DIR, then DIR. */
void attnviz_test_remove_temp_dir (const char *dir);
/* A new temporary folder. */
char *attnviz_test_make_temp_dir (void);

G_END_DECLS
