#define G_LOG_DOMAIN "attnviz-fuzz-npy"
#include "config.h"

/* libFuzzer harness: any byte string handed to the .npy reader (a user's
 * pattern for `attnviz heads --pattern`) either gives values whose count
 * the shape says, or fails with a one-line GError. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "attnviz-npy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gint64 shape[4];
  int n_dims = 0;
  GError *error = NULL;
  float *values = attnviz_npy_read_floats_bytes (data, size, "fuzz.npy", shape, 4, &n_dims, &error);
  if (values == NULL)
    {
      g_assert (error != NULL && error->message != NULL && strchr (error->message, '\n') == NULL);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL && n_dims >= 0 && n_dims <= 4);
  guint64 n = 1;
  for (int i = 0; i < n_dims; i++)
    {
      g_assert (shape[i] >= 0);
      n *= (guint64) shape[i];
    }
  /* every value was read from inside the input: touch them all */
  volatile float sum = 0;
  for (guint64 i = 0; i < n; i++)
    sum += values[i];
  (void) sum;
  g_free (values);
  return 0;
}
