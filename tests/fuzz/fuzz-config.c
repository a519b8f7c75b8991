#define G_LOG_DOMAIN "attnviz-fuzz-config"
#include "config.h"

/* libFuzzer harness: any byte string handed to the config.json reader either
 * parses or fails with a GError, and clearing never leaks or double-frees. */

#include <stdint.h>
#include <glib.h>

#include "attnviz-config.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  AttnvizConfig config = { 0 };
  GError *error = NULL;

  /* DATA is exactly SIZE bytes with no NUL after it: AddressSanitizer
   * catches a parser that reads one byte too far. */
  if (attnviz_config_parse (&config, (const char *) data, size, "config.json", &error))
    {
      g_assert (error == NULL);
      attnviz_config_n_params (&config);
    }
  else
    {
      g_assert (error != NULL && error->message != NULL);
      g_error_free (error);
    }
  attnviz_config_clear (&config);
  return 0;
}
