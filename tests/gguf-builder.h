/* gguf-builder.h: GGUF files built byte by byte in tests (little-endian,
 * as attnviz-gguf.c documents the layout), and the checks the GGUF tests
 * share */
#pragma once

#include <glib.h>

#include "attnviz-gguf.h"
#include "attnviz-quant.h"

G_BEGIN_DECLS

#define T_F32 ATTNVIZ_WEIGHT_F32
#define T_Q8_0 ATTNVIZ_WEIGHT_Q8_0
#define BIG63 (G_GUINT64_CONSTANT (1) << 63)
/* A dimension list: NE (4, 2). */
#define NE(...) ((const guint64[]) { __VA_ARGS__ })

void gguf_put_le (GByteArray *b, guint64 v, gsize size);
#define gguf_put_u8(b, v) gguf_put_le (b, v, 1)
#define gguf_put_u32(b, v) gguf_put_le (b, v, 4)
#define gguf_put_u64(b, v) gguf_put_le (b, v, 8)
/* A GGUF string: the u64 length, then LEN bytes. */
void gguf_put_bytes (GByteArray *b, const char *s, gsize len);
void gguf_put_str (GByteArray *b, const char *s);
void gguf_put_header (GByteArray *b, guint32 version, guint64 n_tensors, guint64 n_kv);
void gguf_put_kv_u32 (GByteArray *b, const char *key, guint32 v);
void gguf_put_kv_str (GByteArray *b, const char *key, const char *v);
/* KEY, the array value type, the element type and the count: the
 * elements are the caller's. */
void gguf_put_array_head (GByteArray *b, const char *key, guint32 type, guint64 n);
/* KEY holding arrays DEPTH deep around one u8. */
void gguf_put_nested (GByteArray *b, const char *key, int depth);
void gguf_put_tensor (GByteArray *b, const char *name, guint32 n_dims, const guint64 *ne,
                      guint32 type, guint64 offset);
/* Zeros up to the next multiple of ALIGNMENT. */
void gguf_put_pad (GByteArray *b, guint alignment);
/* N bytes of a pattern (i * 7 + 1), so misplaced reads show. */
void gguf_put_data (GByteArray *b, gsize n);

/* A small valid file: two keys, an F32 [4, 2] tensor "a" at 0 and a Q8_0
 * [32] one "b" at 32, ending right after the last tensor. */
void gguf_build_valid (GByteArray *b);
/* A valid file with a little of everything (see gguf-builder.c). */
void gguf_build_rich (GByteArray *b);
/* One tensor "a" of TYPE and shape NE (N_DIMS entries) at OFFSET, padding
 * to 32, then DATA bytes. */
void gguf_build_one_tensor (GByteArray *b, guint32 n_dims, const guint64 *ne, guint32 type,
                            guint64 offset, gsize data);

/* ERROR is CODE in G_IO_ERROR, one line starting "FILE: ", holding PHRASE
 * (when not NULL), with no control character. */
void gguf_assert_one_line_error (const GError *error, int code, const char *file,
                                 const char *phrase);
gboolean gguf_opens_exactly (const guint8 *data, gsize len, GError **error);
/* A new temporary folder (attnviz_test_remove_tree it). */
char *gguf_make_tmpdir (void);

G_END_DECLS
