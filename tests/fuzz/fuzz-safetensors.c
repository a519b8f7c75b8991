#define G_LOG_DOMAIN "attnviz-fuzz-safetensors"
#include "config.h"

/* libFuzzer harness: any byte string handed to the safetensors reader either
 * opens or fails with a GError; an opened file converts every floating
 * tensor without reading outside the input. */

#include <stdint.h>
#include <glib.h>

#include "attnviz-safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open_bytes (data, size, "fuzz.safetensors",
                                                           &error);
  if (st == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL);

  guint n = attnviz_safetensors_get_n_tensors (st);
  for (guint i = 0; i < n; i++)
    {
      const AttnvizTensorInfo *info = attnviz_safetensors_get_nth (st, i);
      g_assert (attnviz_safetensors_lookup (st, info->name) == info);
      g_assert (info->data >= data && info->data + info->n_bytes <= data + size);
      switch (info->dtype)
        {
        case ATTNVIZ_DTYPE_F32:
        case ATTNVIZ_DTYPE_F16:
        case ATTNVIZ_DTYPE_BF16:
        case ATTNVIZ_DTYPE_F64:
          {
            /* n_bytes <= size, so this allocation is bounded by the input. */
            float *out = g_new (float, info->n_elements + 1);
            attnviz_tensor_to_f32 (info, out);
            g_free (out);
          }
          break;
        default:
          break;
        }
    }
  attnviz_safetensors_get_metadata (st, "format");
  attnviz_safetensors_free (st);
  return 0;
}
