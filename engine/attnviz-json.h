/* attnviz-json.h: the one JSON reader and the one JSON writer
 *
 * Every JSON file attnviz reads (config.json, tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json, vocab.json,
 * sentencepiece_scores.json, a safetensors header, an index.json) goes
 * through attnviz_json_load () or attnviz_json_parse (), which check, in
 * this order, before json-glib sees a byte:
 *
 *   size     at most the limit of the kind of file (below);
 *   bytes    UTF-8, no NUL;
 *   lexing   strict JSON outside strings: whitespace, { } [ ] , : and
 *            numbers, true, false, null.  Anything else is refused by
 *            name, which covers what json-glib 1.6 accepts beyond JSON
 *            ( / * comments * /, 'single-quoted strings', 0x10) and would
 *            otherwise hide brackets from the depth count;
 *   depth    at most ATTNVIZ_JSON_MAX_DEPTH nested arrays and objects
 *            (json-glib recurses once per level: a file of a million '['
 *            would overflow the stack);
 *   numbers  an integer must fit in 64 bits (json-glib turns
 *            18446744073709551621 into -1) and a float must be finite
 *            (1e999 would become inf).
 *
 * Then json-glib parses, and the root must be an object (an array for a
 * token list).  Every error is one
 * line that names the file (and the key or line at fault).
 *
 * Every JSON attnviz writes is made by json-glib's generator and passed
 * through attnviz_json_to_data (), which escapes what json-glib 1.6 leaves
 * raw (U+001F) and replaces invalid UTF-8, so Python's json.load reads it.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ATTNVIZ_JSON_MAX_DEPTH 64

/* The kind of file: each has its own size limit. */
typedef enum {
  ATTNVIZ_JSON_CONFIG,            /* config.json: 16 MiB */
  ATTNVIZ_JSON_TOKENIZER,         /* tokenizer.json, vocab.json, sentencepiece_scores.json: 256 MiB */
  ATTNVIZ_JSON_TOKENIZER_CONFIG,  /* tokenizer_config.json, special_tokens_map.json: 64 MiB */
  ATTNVIZ_JSON_SAFETENSORS_HEADER,/* the header of a safetensors file: 100 MB */
  ATTNVIZ_JSON_INDEX,             /* model.safetensors.index.json: 100 MB */
  ATTNVIZ_JSON_DUMP,              /* a json dump (attnviz dump --format json): 64 MiB */
  ATTNVIZ_JSON_TOKEN_LIST,        /* a list of token strings (view --tokens): 16 MiB; the root may be an array */
} AttnvizJsonKind;

/* The size limit of KIND in bytes, and what to call it in messages
 * ("a config.json"). */
gsize attnviz_json_kind_max_bytes (AttnvizJsonKind kind);
const char *attnviz_json_kind_name (AttnvizJsonKind kind);

/* Checks TEXT (LEN bytes, not NUL-terminated) as described above and parses
 * it.  The root object (owned by the caller), or NULL with an error
 * "FILE: ..." where FILE names the source. */
JsonNode *attnviz_json_parse (const char *text,
                              gsize len,
                              AttnvizJsonKind kind,
                              const char *file,
                              GError **error);

/* Opens PATH as a regular file (attnviz_read_regular), within the size
 * limit of KIND, then attnviz_json_parse ().  A missing file is
 * G_IO_ERROR_NOT_FOUND. */
JsonNode *attnviz_json_load (const char *path, AttnvizJsonKind kind, GError **error);

/* ROOT as JSON text that any JSON reader accepts: json-glib's generator,
 * control characters escaped, invalid UTF-8 replaced by U+FFFD. */
char *attnviz_json_to_data (JsonNode *root, gboolean pretty, gsize *length);

/* A string as a JSON string literal, quotes included, escaped the same way. */
char *attnviz_json_quote (const char *s);

/* Writes ROOT to PATH through attnviz_file_set_contents (). */
gboolean attnviz_json_write (const char *path, JsonNode *root, gboolean pretty, GError **error);

G_END_DECLS
