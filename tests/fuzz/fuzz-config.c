#define G_LOG_DOMAIN "attnviz-fuzz-config"
#include "config.h"

/* libFuzzer harness: any byte string handed to the config.json reader either
 * parses or fails with a GError, and clearing never leaks or double-frees. */

#include <stdint.h>
#include <glib.h>

#include "attnviz-config.h"
#include "fuzz-small-stack.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  const uint8_t *data;
  size_t size;
} Input;

static void
run (gpointer p)
{
  const Input *in = p;
  AttnvizConfig config = { 0 };
  GError *error = NULL;

  /* DATA is exactly SIZE bytes with no NUL after it: AddressSanitizer
   * catches a parser that reads one byte too far. */
  if (attnviz_config_parse (&config, (const char *) in->data, in->size, "config.json", &error))
    {
      g_assert (error == NULL);
      attnviz_config_n_params (&config);
      /* special ids inside the vocabulary (or -1) */
      g_assert (config.bos_id >= -1 && config.bos_id < config.vocab_size);
      g_assert (config.eos_id >= -1 && config.eos_id < config.vocab_size);
      g_assert (config.pad_id >= -1 && config.pad_id < config.vocab_size);
    }
  else
    {
      g_assert (error != NULL && error->message != NULL);
      g_error_free (error);
    }
  attnviz_config_clear (&config);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Input in = { data, size };
  fuzz_depth_feedback (data, size);
  fuzz_on_small_stack (run, &in);
  return 0;
}
