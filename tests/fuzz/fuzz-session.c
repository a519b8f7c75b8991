#define G_LOG_DOMAIN "attnviz-fuzz-session"
#include "config.h"

/* libFuzzer harness: any byte string opened as a session (attnviz view,
 * render and the app's Open on a dump or a foreign tensor) either gives a
 * recording whose attention has the shape it says, every weight finite
 * and not negative, or fails with a one-line GError.  The first byte picks
 * how the rest is read: a foreign .npy, a .safetensors (a dump or a
 * foreign tensor, by its metadata) or a json dump.  A small budget (16 MiB)
 * keeps the fuzzer's memory bounded and exercises the refusal. */

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "attnviz-session.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  static const char *const names[] = { "fuzz.npy", "fuzz.safetensors", "fuzz.json" };
  const char *name = names[data[0] % 3];
  GError *error = NULL;
  AttnvizSession *s = attnviz_session_load_bytes (data + 1, size - 1, name, (guint64) 16 << 20, &error);
  if (s == NULL)
    {
      g_assert (error != NULL && error->message != NULL && strchr (error->message, '\n') == NULL);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL);
  const AttnvizRecording *rec = s->rec;
  AttnvizAttention *source = rec->S > 0 ? rec->cross_attention : rec->attention;
  int rows = attnviz_attention_get_n_rows (source), cols = attnviz_attention_get_n_cols (source);
  g_assert (rows == rec->T && cols == (rec->S > 0 ? rec->S : rec->T));
  g_assert (g_strv_length (s->token_texts) == (guint) rec->T);
  /* every head that is there reads back finite and not negative */
  float *row = g_new (float, cols);
  for (int l = 0; l < attnviz_attention_get_n_layers (source); l++)
    for (int h = 0; h < attnviz_attention_get_n_heads (source); h++)
      if (attnviz_attention_has_head (source, l, h))
        for (int i = 0; i < rows; i++)
          {
            attnviz_attention_get_row (source, l, h, i, row);
            for (int j = 0; j < cols; j++)
              g_assert (isfinite (row[j]) && row[j] >= 0.0f);
          }
  g_free (row);
  char *summary = attnviz_session_describe (s);
  g_assert (summary != NULL);
  g_free (summary);
  attnviz_session_free (s);
  return 0;
}
