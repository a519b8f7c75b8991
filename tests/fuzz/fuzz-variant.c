#define G_LOG_DOMAIN "attnviz-fuzz-variant"
#include "config.h"

/* libFuzzer harness: any --variant spec parses or fails with a GError, and
 * a parsed one prints to a spec that parses to the same canonical string. */

#include <stdint.h>
#include <glib.h>

#include "attnviz-variant.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *spec = g_strndup ((const char *) data, size);
  AttnvizVariant v, w;
  GError *error = NULL;
  if (!attnviz_variant_parse (&v, spec, &error))
    {
      g_assert (error != NULL);
      g_error_free (error);
      return 0;
    }
  g_autofree char *canonical = attnviz_variant_to_string (&v);
  g_assert (attnviz_variant_parse (&w, canonical, NULL));
  g_autofree char *again = attnviz_variant_to_string (&w);
  g_assert (g_str_equal (canonical, again));
  attnviz_variant_clear (&v);
  attnviz_variant_clear (&w);
  return 0;
}
