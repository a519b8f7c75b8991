/* attnviz-charsmap.h: SentencePiece's precompiled character map, applied
 *
 * A SentencePiece normalizer (nmt_nfkc, nfkc, a custom rule table) is
 * stored compiled: a trie of UTF-8 keys whose values are replacement
 * strings.  The same bytes travel in a .spm's normalizer_spec
 * (precompiled_charsmap), in tokenizer.json's "Precompiled" normalizer
 * (base64) and in GGUF's tokenizer.ggml.precompiled_charsmap.  The layout
 * is documented at the top of attnviz-charsmap.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 *units;  /* (n_units) darts-clone double-array units, host order */
  gsize n_units;
  char *strings;   /* (n_strings) NUL-terminated replacements; strings[n_strings - 1] == '\0' */
  gsize n_strings;
  guint8 *utf8;    /* (n_strings) 1 where a replacement starting there is UTF-8 up to its NUL */
  char *filename;  /* what errors name */
} AttnvizCharsmap;

/* Reads the map in BLOB (LEN bytes).  A blob too short for its size word,
 * a trie past its end, empty or not whole 32-bit units, or replacement
 * strings whose last one has no NUL, is a one-line
 * G_IO_ERROR_INVALID_DATA "FILENAME: precompiled_charsmap ...". */
AttnvizCharsmap *attnviz_charsmap_new (const guint8 *blob, gsize len, const char *filename, GError **error);
/* The same from B64, its base64 (tokenizer.json's form); NULL or text
 * that is not base64 is the same kind of error. */
AttnvizCharsmap *attnviz_charsmap_new_from_base64 (const char *b64, const char *filename, GError **error);
void attnviz_charsmap_free (AttnvizCharsmap *map);

/* SentencePiece's Normalizer without its white-space rules: from the
 * start of TEXT (LEN bytes) on, the longest prefix that is a key of MAP
 * becomes its replacement; otherwise one UTF-8 character is copied, an
 * invalid byte becoming U+FFFD.  For each byte of the result, FROM and
 * TO (guint32 arrays, appended to) get the span of TEXT it came from.
 * The result is NUL-terminated; its length is the number of entries
 * appended to FROM.  A result longer than the text by more than the
 * text's length or 1 MiB, whichever is more, is refused: NULL and a
 * one-line G_IO_ERROR_INVALID_DATA "FILENAME: precompiled_charsmap makes
 * a text of N bytes longer than M bytes" (FROM and TO then hold part of
 * the spans). */
char *attnviz_charsmap_normalize (const AttnvizCharsmap *map, const char *text, gsize len, GArray *from, GArray *to,
                                  GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizCharsmap, attnviz_charsmap_free)

G_END_DECLS
